//! Login throttling: at most 10 failed attempts per client address per 3 minutes, and the
//! client address itself, which behind a reverse proxy comes from `X-Forwarded-For`.
//!
//! An attempt is counted when it is let through, before its password is checked, under one
//! lock: concurrent attempts cannot all pass a check that none of them has counted yet, so 40
//! wrong passwords sent at once get at most 10 checks. A successful login gives back only its
//! own attempt; the address's earlier failures stay, so someone who shares the DJ's address
//! gets no fresh guesses when the DJ logs in.
//!
//! An IPv6 client is counted by its /64: one home or phone connection gets a whole /64, so
//! counting single addresses would give a guesser 2^64 fresh sets of attempts.
//!
//! Hand-written rather than `governor`: its GCRA refills one attempt every 18 s after a burst
//! of 10, so an address could fail about 19 times in 3 minutes instead of 10; it cannot give an
//! attempt back after a right password; and its keyed store has no bound on addresses.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use hashlink::LruCache;

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(180);
/// Addresses tracked at once; a new one beyond this evicts the address seen least recently, so
/// a flood of addresses cannot grow memory without bound and every new address is counted.
const MAX_ADDRESSES: usize = 100_000;

pub struct LoginLimiter {
    /// Per address, the times of its counted attempts in the window, oldest first; the table
    /// is ordered by when each address was last seen.
    attempts: Mutex<LruCache<IpAddr, VecDeque<Instant>>>,
}

/// An attempt counted against its address. Hand it to [`LoginLimiter::succeeded`] when the
/// password was right; otherwise it stays counted as a failure.
#[derive(Debug)]
#[must_use]
pub struct Attempt {
    addr: IpAddr,
    at: Instant,
}

/// The address has used up its attempts for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed login attempts; try again in {} s", .retry_after.as_secs().max(1))]
pub struct Locked {
    pub retry_after: Duration,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::new(MAX_ADDRESSES)
    }
}

impl LoginLimiter {
    /// A limiter that tracks at most `capacity` addresses.
    pub fn new(capacity: usize) -> LoginLimiter {
        LoginLimiter {
            attempts: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// Counts an attempt from `addr` before its password is checked, or refuses it if the
    /// address already has [`MAX_FAILURES`] attempts in the window.
    pub fn try_attempt(&self, addr: IpAddr) -> Result<Attempt, Locked> {
        let addr = counted_as(addr);
        let now = Instant::now();
        let mut table = self
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Taken out and put back, so the address moves to the most recently seen end.
        let mut list = table.remove(&addr).unwrap_or_default();
        while list
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            list.pop_front();
        }
        let locked = list
            .front()
            .filter(|_| list.len() >= MAX_FAILURES)
            .map(|oldest| Locked {
                retry_after: WINDOW.saturating_sub(now.duration_since(*oldest)),
            });
        if locked.is_none() {
            list.push_back(now);
        }
        // Evicts the address seen least recently when the table is full.
        table.insert(addr, list);
        match locked {
            Some(locked) => Err(locked),
            None => Ok(Attempt { addr, at: now }),
        }
    }

    /// The attempt's password was right: it no longer counts as a failure.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut table = self
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(list) = table.peek_mut(&attempt.addr)
            && let Some(i) = list.iter().position(|t| *t == attempt.at)
        {
            list.remove(i);
        }
    }
}

/// The key a client's attempts count under: an IPv4 address as it is, an IPv6 one by its /64.
pub(super) fn counted_as(addr: IpAddr) -> IpAddr {
    match addr.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

/// The client's address: the socket peer, or, when the peer is a trusted proxy, the nearest
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_addr(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.ip().to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(n))
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let l = LoginLimiter::default();
        let v6 = |s: &str| s.parse::<IpAddr>().expect("ip");
        for i in 1..=MAX_FAILURES {
            let a = v6(&format!("2001:db8:1:2::{i:x}"));
            let _failed = l.try_attempt(a).expect("not locked yet");
        }
        assert!(
            l.try_attempt(v6("2001:db8:1:2:ffff:ffff:ffff:ffff"))
                .is_err(),
            "another address of the same /64 is locked too"
        );
        assert!(
            l.try_attempt(v6("2001:db8:1:3::1")).is_ok(),
            "the next /64 is someone else"
        );
        let mapped = v6("::ffff:192.0.2.1");
        for _ in 0..MAX_FAILURES {
            let _failed = l.try_attempt(mapped).expect("IPv4 counts alone");
        }
        assert!(
            l.try_attempt(v6("192.0.2.1")).is_err(),
            "a mapped IPv4 is that IPv4"
        );
        assert!(l.try_attempt(v6("192.0.2.2")).is_ok());
    }

    #[test]
    fn ten_attempts_then_locked_and_a_success_gives_back_only_its_own() {
        let l = LoginLimiter::default();
        let (a, b) = (ip(1), ip(2));
        let mut right = None;
        for i in 0..MAX_FAILURES {
            let attempt = l.try_attempt(a).expect("not locked yet");
            if i == 0 {
                right = Some(attempt);
            }
        }
        let locked = l.try_attempt(a).expect_err("locked after ten");
        assert!(locked.retry_after > Duration::ZERO && locked.retry_after <= WINDOW);
        assert!(
            l.try_attempt(b).is_ok(),
            "another address is not locked out"
        );
        l.succeeded(right.expect("first attempt"));
        assert!(
            l.try_attempt(a).is_ok(),
            "the right password freed its own slot"
        );
        assert!(l.try_attempt(a).is_err(), "but not the nine failures");
    }

    #[test]
    fn a_full_table_evicts_the_oldest_address_and_keeps_counting() {
        let l = LoginLimiter::default();
        let oldest = ip(1);
        for _ in 0..MAX_FAILURES {
            let _ = l.try_attempt(oldest);
        }
        for i in 1..MAX_ADDRESSES {
            let n = u32::try_from(i).expect("small");
            let _ = l.try_attempt(ip(0x0b00_0000 + n));
        }
        let newcomer = ip(0xc000_0201);
        for _ in 0..MAX_FAILURES {
            assert!(l.try_attempt(newcomer).is_ok());
        }
        assert!(
            l.try_attempt(newcomer).is_err(),
            "a new address is counted when the table is full"
        );
        let table = l.attempts.lock().expect("lock");
        assert!(!table.contains_key(&oldest), "the oldest address made room");
        assert_eq!(table.len(), MAX_ADDRESSES);
    }

    #[test]
    fn eviction_takes_the_address_seen_least_recently() {
        let l = LoginLimiter::new(3);
        for n in 1..=3 {
            let _ = l.try_attempt(ip(n));
        }
        let _ = l.try_attempt(ip(1)); // seen again: now the most recent
        let _ = l.try_attempt(ip(4));
        let table = l.attempts.lock().expect("lock");
        let kept: Vec<IpAddr> = table.iter().map(|(a, _)| *a).collect();
        assert_eq!(kept, [ip(3), ip(1), ip(4)], "address 2 was the oldest");
        assert_eq!(table.peek(&ip(1)).map(VecDeque::len), Some(2));
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().expect("hv"),
        );
        let proxy: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let trusted: Vec<IpAddr> = vec!["127.0.0.1".parse().expect("ip")];
        assert_eq!(client_addr(proxy, &h, &trusted).to_string(), "198.51.100.7");
        let trusted2: Vec<IpAddr> = vec![
            "127.0.0.1".parse().expect("ip"),
            "198.51.100.7".parse().expect("ip"),
        ];
        assert_eq!(client_addr(proxy, &h, &trusted2).to_string(), "203.0.113.9");
        assert_eq!(client_addr(proxy, &h, &[]).to_string(), "127.0.0.1");
    }
}
