//! Exponential delays with jitter: the relay's reconnect loops (hub and IRC) and the hub's
//! SoundCloud retries all wait by this one rule.
//!
//! Step `n` is `initial · 2^n`, capped at `max`; the delay is a uniformly random point in the
//! upper half of the step (never less than half of it, so delays still grow). Jitter keeps
//! many clients (or one relay's two loops) from retrying in lockstep after a server restart.
//!
//! [`Backoff`] also remembers when a connection came up: the delay starts over only once a
//! connection has stayed up for a while, so a server that accepts and at once drops us (a ban,
//! a bad token) is not hammered at the initial rate.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// The delay before retry number `attempt` (0 for the first retry).
pub fn delay(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let max = max.max(initial);
    let factor = 2u32.saturating_pow(attempt.min(31));
    let step = initial.saturating_mul(factor).min(max);
    let half = step / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX).max(1);
    let jitter = Duration::from_millis(rand::rng().random_range(0..=jitter_ms));
    half.saturating_add(jitter).min(max)
}

/// A connection that lasted this long counts as having worked.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);

/// The delays of one reconnect loop.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    stable_after: Duration,
    connected_at: Option<Instant>,
}

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

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        if let Some(at) = self.connected_at.take()
            && at.elapsed() >= self.stable_after
        {
            self.attempt = 0;
        }
        let delay = delay(self.initial, self.max, self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        delay
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
    fn the_free_function_follows_the_same_steps() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_secs(1));
        for (attempt, step_ms) in [(0, 100), (1, 200), (3, 800), (4, 1000), (40, 1000)] {
            let step = Duration::from_millis(step_ms);
            let d = delay(initial, max, attempt);
            assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_lasted_starts_over() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10))
            .with_stable_after(Duration::from_secs(5));
        for _ in 0..10 {
            backoff.next_delay();
        }
        backoff.connected();
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_dropped_at_once_keeps_growing() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        for _ in 0..5 {
            backoff.next_delay();
        }
        backoff.connected();
        tokio::time::advance(Duration::from_secs(1)).await;
        // Attempt 5: step 3.2 s, so at least 1.6 s.
        assert!(backoff.next_delay() >= Duration::from_millis(1600));
    }

    #[test]
    fn many_attempts_do_not_overflow() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..1000 {
            assert!(backoff.next_delay() <= Duration::from_secs(60));
        }
        assert!(delay(Duration::MAX, Duration::MAX, u32::MAX) <= Duration::MAX);
    }
}
