//! Flood control: a token bucket per IRC target.
//!
//! The `irc` crate writes every queued line at once, and networks disconnect ("Excess Flood")
//! a client that sends faster than about one line a second. The bucket allows a short burst
//! (so a single announce goes out with no delay) and then a steady rate.
//!
//! Time is `tokio::time::Instant`, so tests can run with a paused clock.

use std::time::Duration;

use tokio::time::Instant;

/// Absorbs float rounding so a bucket refilled for exactly the computed wait is ready.
const EPSILON: f64 = 1e-6;

#[derive(Debug, Clone)]
pub struct TokenBucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket: `burst` lines may go at once, then `per_second` lines a second.
    pub fn new(burst: u32, per_second: f64, now: Instant) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            burst,
            // A zero rate would never refill; config validation rejects it, this keeps the
            // arithmetic finite regardless.
            per_second: per_second.max(1e-6),
            tokens: burst,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.updated = now;
    }

    /// When the next line may be sent (`now` if it may be sent now).
    pub fn ready_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        if self.tokens + EPSILON >= 1.0 {
            now
        } else {
            let wait = (1.0 - self.tokens) / self.per_second;
            now + Duration::from_secs_f64(wait)
        }
    }

    /// Takes a token if one is available.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens + EPSILON >= 1.0 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `n` lines as fast as the bucket allows and returns each send time since start.
    async fn send_times(bucket: &mut TokenBucket, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let mut times = Vec::new();
        while times.len() < n {
            let at = bucket.ready_at(Instant::now());
            tokio::time::sleep_until(at).await;
            if bucket.try_take(Instant::now()) {
                times.push(Instant::now() - start);
            }
        }
        times
    }

    #[tokio::test(start_paused = true)]
    async fn burst_of_four_then_one_per_second() {
        let mut bucket = TokenBucket::new(4, 1.0, Instant::now());
        let times = send_times(&mut bucket, 10).await;
        for t in &times[..4] {
            assert_eq!(*t, Duration::ZERO);
        }
        for (i, t) in times[4..].iter().enumerate() {
            let expected = Duration::from_secs(i as u64 + 1);
            assert!(
                t.abs_diff(expected) < Duration::from_millis(5),
                "line {} at {t:?}, expected {expected:?}",
                i + 5
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_refills_up_to_the_burst_only() {
        let mut bucket = TokenBucket::new(4, 1.0, Instant::now());
        assert_eq!(send_times(&mut bucket, 4).await.len(), 4);
        assert!(!bucket.try_take(Instant::now()));
        tokio::time::advance(Duration::from_secs(60)).await;
        let times = send_times(&mut bucket, 5).await;
        assert!(times[..4].iter().all(Duration::is_zero), "{times:?}");
        assert!(times[4] >= Duration::from_millis(995), "{times:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn configurable_rate() {
        let mut bucket = TokenBucket::new(1, 5.0, Instant::now());
        let times = send_times(&mut bucket, 3).await;
        assert_eq!(times[0], Duration::ZERO);
        assert!(times[1].abs_diff(Duration::from_millis(200)) < Duration::from_millis(2));
        assert!(times[2].abs_diff(Duration::from_millis(400)) < Duration::from_millis(2));
    }

    #[test]
    fn ready_at_reports_the_wait() {
        let now = Instant::now();
        let mut bucket = TokenBucket::new(1, 2.0, now);
        assert_eq!(bucket.ready_at(now), now);
        assert!(bucket.try_take(now));
        let at = bucket.ready_at(now);
        assert!(
            at.duration_since(now).abs_diff(Duration::from_millis(500)) < Duration::from_millis(1)
        );
    }
}
