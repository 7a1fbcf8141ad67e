//! One throttle for log lines about repeated failures: the first failure of a kind (per client
//! address, or one for the whole hub) is logged at once, repeats within the quiet period are
//! only counted, and the count is logged with the next failure after it. An old plugin with a
//! mistyped token then fills the log with one line a minute, not one a second, and a flood of
//! refused connections with one line every few seconds; the operator still sees the count.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys remembered at once; a flood of distinct addresses evicts the quiet ones first.
const MAX_KEYS: usize = 10_000;

pub struct LogThrottle<K> {
    quiet: Duration,
    seen: Mutex<HashMap<K, Window>>,
}

struct Window {
    logged_at: Instant,
    /// Failures since `logged_at` that were not logged.
    repeats: u64,
}

/// Whether to log this failure, and how many went unlogged before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Log { unlogged_repeats: u64 },
    Count,
}

impl<K: Hash + Eq> LogThrottle<K> {
    /// A throttle that logs each key at most once per `quiet`.
    pub fn new(quiet: Duration) -> LogThrottle<K> {
        LogThrottle {
            quiet,
            seen: Mutex::default(),
        }
    }

    pub fn failure(&self, key: K) -> Verdict {
        self.failure_at(key, Instant::now())
    }

    fn failure_at(&self, key: K, now: Instant) -> Verdict {
        let quiet = self.quiet;
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_KEYS && !seen.contains_key(&key) {
            seen.retain(|_, w| now.duration_since(w.logged_at) < quiet);
        }
        match seen.get_mut(&key) {
            Some(w) if now.duration_since(w.logged_at) < quiet => {
                w.repeats += 1;
                Verdict::Count
            }
            Some(w) => {
                let unlogged_repeats = std::mem::take(&mut w.repeats);
                w.logged_at = now;
                Verdict::Log { unlogged_repeats }
            }
            None => {
                if seen.len() < MAX_KEYS {
                    seen.insert(
                        key,
                        Window {
                            logged_at: now,
                            repeats: 0,
                        },
                    );
                }
                Verdict::Log {
                    unlogged_repeats: 0,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    const QUIET_PERIOD: Duration = Duration::from_secs(60);

    #[test]
    fn once_a_minute_per_address_with_the_count() {
        let limiter = LogThrottle::new(QUIET_PERIOD);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        let t0 = Instant::now();
        assert_eq!(
            limiter.failure_at(a, t0),
            Verdict::Log {
                unlogged_repeats: 0
            }
        );
        for s in 1..=5 {
            assert_eq!(
                limiter.failure_at(a, t0 + Duration::from_secs(s)),
                Verdict::Count
            );
        }
        assert_eq!(
            limiter.failure_at(b, t0 + Duration::from_secs(5)),
            Verdict::Log {
                unlogged_repeats: 0
            }
        );
        assert_eq!(
            limiter.failure_at(a, t0 + QUIET_PERIOD + Duration::from_secs(1)),
            Verdict::Log {
                unlogged_repeats: 5
            }
        );
        assert_eq!(
            limiter.failure_at(a, t0 + QUIET_PERIOD + Duration::from_secs(2)),
            Verdict::Count
        );
    }
}
