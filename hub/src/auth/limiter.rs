//! Login throttling: at most 10 failed attempts per client address per 3 minutes, and the
//! client address itself, which behind a reverse proxy comes from `X-Forwarded-For`.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(180);
/// Addresses tracked at once; beyond this the oldest entries go, so a flood of addresses
/// cannot grow memory without bound.
const MAX_ADDRESSES: usize = 100_000;

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// Whether `addr` may try to log in now; if not, how long until it may.
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let Some(list) = map.get_mut(&addr) else {
            return Ok(());
        };
        while list
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            list.pop_front();
        }
        if list.len() >= MAX_FAILURES {
            let oldest = list.front().copied().unwrap_or(now);
            Err(WINDOW.saturating_sub(now.duration_since(oldest)))
        } else {
            Ok(())
        }
    }

    pub fn record_failure(&self, addr: IpAddr) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&addr) {
            map.retain(|_, l| l.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
            if map.len() >= MAX_ADDRESSES {
                return;
            }
        }
        let list = map.entry(addr).or_default();
        list.push_back(now);
        if list.len() > MAX_FAILURES {
            list.pop_front();
        }
    }

    pub fn record_success(&self, addr: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&addr);
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

    #[test]
    fn ten_failures_then_locked() {
        let l = LoginLimiter::default();
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        for _ in 0..MAX_FAILURES {
            assert!(l.check(a).is_ok());
            l.record_failure(a);
        }
        assert!(l.check(a).is_err());
        assert!(l.check(b).is_ok(), "another address is not locked out");
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
