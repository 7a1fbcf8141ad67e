//! Exponential reconnect delays with jitter, shared by the hub and IRC reconnect loops.
//!
//! Jitter keeps many relays (or a relay and its own two loops) from reconnecting in lockstep
//! after a server restart. The delay only starts over once a connection has stayed up for a
//! while: a server that accepts and at once drops us (a ban, a bad token) must not be hammered
//! at the initial rate.

use std::time::{Duration, Instant};

use rand::Rng;

#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    stable_after: Duration,
    connected_at: Option<Instant>,
}

/// A connection that lasted this long counts as having worked.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            attempt: 0,
            stable_after: STABLE_AFTER,
            connected_at: None,
        }
    }

    /// Changes how long a connection must last before the delay starts over.
    pub fn with_stable_after(mut self, stable_after: Duration) -> Backoff {
        self.stable_after = stable_after;
        self
    }

    /// Records that a connection is established (registered on IRC, subscribed to the hub).
    pub fn connected(&mut self) {
        self.connected_at = Some(Instant::now());
    }

    /// The delay before the next attempt: `initial · 2^attempt` capped at `max`, then a
    /// uniformly random point in its upper half (never less than half the step, so the delay
    /// still grows).
    pub fn next_delay(&mut self) -> Duration {
        if let Some(at) = self.connected_at.take()
            && at.elapsed() >= self.stable_after
        {
            self.attempt = 0;
        }
        let step = self.current_step();
        self.attempt = self.attempt.saturating_add(1);
        let half = step / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        (half + Duration::from_millis(jitter)).min(self.max)
    }

    fn current_step(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(31));
        self.initial.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter_in_the_upper_half() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let steps = [1u64, 2, 4, 8, 16, 32, 60, 60, 60];
        for step in steps {
            let step = Duration::from_secs(step);
            let delay = backoff.next_delay();
            assert!(
                delay >= step / 2 && delay <= step,
                "{delay:?} not in [{:?}, {step:?}]",
                step / 2
            );
        }
    }

    #[test]
    fn a_connection_that_lasted_starts_over() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10))
            .with_stable_after(Duration::from_millis(20));
        for _ in 0..10 {
            backoff.next_delay();
        }
        backoff.connected();
        std::thread::sleep(Duration::from_millis(30));
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn a_connection_dropped_at_once_keeps_growing() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        for _ in 0..5 {
            backoff.next_delay();
        }
        backoff.connected();
        // Attempt 5: step 3.2 s, so at least 1.6 s.
        assert!(backoff.next_delay() >= Duration::from_millis(1600));
    }

    #[test]
    fn many_attempts_do_not_overflow() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..1000 {
            assert!(backoff.next_delay() <= Duration::from_secs(60));
        }
    }
}
