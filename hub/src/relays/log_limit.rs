//! A per-address log limiter: the first failure from an address is logged at once, repeats
//! within the next minute are only counted, and the count is logged with the next failure
//! after that minute. An old plugin with a mistyped token then fills the log with one line a
//! minute, not one a second, and the operator still sees that it keeps trying.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const QUIET_PERIOD: Duration = Duration::from_secs(60);
/// Addresses remembered at once; a flood of distinct addresses evicts the quiet ones first.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Default)]
pub struct LogLimiter {
    seen: Mutex<HashMap<IpAddr, Window>>,
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

impl LogLimiter {
    pub fn failure(&self, addr: IpAddr) -> Verdict {
        self.failure_at(addr, Instant::now())
    }

    fn failure_at(&self, addr: IpAddr, now: Instant) -> Verdict {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_ADDRESSES && !seen.contains_key(&addr) {
            seen.retain(|_, w| now.duration_since(w.logged_at) < QUIET_PERIOD);
        }
        match seen.get_mut(&addr) {
            Some(w) if now.duration_since(w.logged_at) < QUIET_PERIOD => {
                w.repeats += 1;
                Verdict::Count
            }
            Some(w) => {
                let unlogged_repeats = std::mem::take(&mut w.repeats);
                w.logged_at = now;
                Verdict::Log { unlogged_repeats }
            }
            None => {
                if seen.len() < MAX_ADDRESSES {
                    seen.insert(
                        addr,
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
    use super::*;

    #[test]
    fn once_a_minute_per_address_with_the_count() {
        let limiter = LogLimiter::default();
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
