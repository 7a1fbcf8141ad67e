//! Connection caps: a client address may hold at most [`PER_ADDRESS`] connections at once and
//! the hub at most `hub.max_connections`, so one hostile host cannot use up the file
//! descriptors the DJ's browser and the relay need.
//!
//! A connection holds a [`ConnectionSlot`] from accept until it closes, or until it becomes a
//! WebSocket that has proved its credentials: those are the subscribers the hub exists for, and
//! ten thousand of them may come from one host. Trusted proxies are exempt from the per-address
//! cap, since behind a reverse proxy every connection comes from the proxy.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::http::request::Parts;

/// Open connections allowed per client address.
pub const PER_ADDRESS: usize = 256;

/// Why a new connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{addr} already holds {limit} connections")]
    PerAddress { addr: IpAddr, limit: usize },
    #[error("the hub already holds {limit} connections (hub.max_connections)")]
    Global { limit: usize },
}

pub struct ConnectionLimits {
    per_address: usize,
    global: usize,
    exempt: Vec<IpAddr>,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl ConnectionLimits {
    /// `exempt` addresses (trusted proxies) count only towards the global cap.
    pub fn new(per_address: usize, global: usize, exempt: &[IpAddr]) -> Arc<Self> {
        Arc::new(ConnectionLimits {
            per_address,
            global,
            exempt: exempt.iter().map(std::net::IpAddr::to_canonical).collect(),
            counts: Mutex::default(),
        })
    }

    /// Takes a slot for a new connection from `peer`, or says why there is none.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<ConnectionSlot, Refused> {
        let peer = peer.to_canonical();
        let counted = (!self.exempt.contains(&peer)).then_some(peer);
        let mut counts = self.lock();
        if counts.total >= self.global {
            return Err(Refused::Global { limit: self.global });
        }
        if let Some(addr) = counted {
            let held = counts.by_address.entry(addr).or_insert(0);
            if *held >= self.per_address {
                return Err(Refused::PerAddress {
                    addr,
                    limit: self.per_address,
                });
            }
            *held += 1;
        }
        counts.total += 1;
        Ok(ConnectionSlot {
            _held: Arc::new(Held {
                limits: Arc::clone(self),
                addr: counted,
            }),
        })
    }

    /// Connections holding a slot now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.lock().total
    }

    fn release(&self, addr: Option<IpAddr>) {
        let mut counts = self.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(addr) = addr
            && let Some(held) = counts.by_address.get_mut(&addr)
        {
            *held -= 1;
            if *held == 0 {
                counts.by_address.remove(&addr);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // The counts are updated in single statements, so a panic elsewhere cannot leave them
        // half-changed: a poisoned lock is still accurate.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A connection's place under the caps, freed when the last clone is dropped: the connection
/// task holds one, and every request on it carries one in its extensions, so a WebSocket
/// handler can keep it until the socket has authenticated.
#[derive(Clone)]
pub struct ConnectionSlot {
    _held: Arc<Held>,
}

struct Held {
    limits: Arc<ConnectionLimits>,
    addr: Option<IpAddr>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.limits.release(self.addr);
    }
}

impl ConnectionSlot {
    /// The slot of the connection a request came in on (none when the router is driven
    /// without the hub's own server, as in unit tests).
    pub fn of(parts: &Parts) -> Option<ConnectionSlot> {
        parts.extensions.get::<ConnectionSlot>().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));
    const PROXY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn an_address_over_its_cap_is_refused_until_one_of_its_connections_closes() {
        let limits = ConnectionLimits::new(2, 100, &[]);
        let first = limits.admit(A).expect("first");
        let _second = limits.admit(A).expect("second");
        assert_eq!(
            limits.admit(A).err(),
            Some(Refused::PerAddress { addr: A, limit: 2 })
        );
        assert!(limits.admit(B).is_ok(), "another address is unaffected");
        drop(first);
        assert!(limits.admit(A).is_ok());
    }

    #[test]
    fn the_global_cap_counts_every_address_and_trusted_proxies() {
        let limits = ConnectionLimits::new(10, 2, &[PROXY]);
        let _a = limits.admit(A).expect("a");
        let _p = limits.admit(PROXY).expect("proxy");
        assert_eq!(limits.admit(B).err(), Some(Refused::Global { limit: 2 }));
        assert_eq!(limits.open(), 2);
    }

    #[test]
    fn a_trusted_proxy_is_exempt_from_the_per_address_cap() {
        let limits = ConnectionLimits::new(1, 100, &[PROXY]);
        let held: Vec<_> = (0..5)
            .map(|_| limits.admit(PROXY).expect("proxy"))
            .collect();
        assert_eq!(limits.open(), held.len());
        let mapped = IpAddr::V6(std::net::Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        assert!(
            limits.admit(mapped).is_ok(),
            "the v4-mapped form is the same proxy"
        );
    }

    #[test]
    fn a_slot_is_freed_when_its_last_clone_goes() {
        let limits = ConnectionLimits::new(1, 100, &[]);
        let slot = limits.admit(A).expect("slot");
        let kept = slot.clone();
        drop(slot);
        assert!(limits.admit(A).is_err(), "a clone still holds the slot");
        drop(kept);
        assert_eq!(limits.open(), 0);
        assert!(limits.admit(A).is_ok());
    }
}
