//! How a crowd of clients dials a server: from which source addresses, within what time, with
//! what read buffer per socket.
//!
//! One source address has only as many ports toward one server address and port as the
//! ephemeral range holds (32768–60999 by default: ~28,000). A crowd beyond that binds each
//! socket to one of several loopback source addresses (127.0.0.2, 127.0.0.3, …; all of 127/8
//! is the loopback) before connecting.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};

/// Handshakes in flight at once while connecting (the listen backlog stays far from full).
pub const PARALLELISM: usize = 200;

/// How a fleet connects.
#[derive(Debug, Clone)]
pub struct Dial {
    /// Source addresses, used in turn; empty lets the kernel choose (127.0.0.1).
    pub sources: Vec<Ipv4Addr>,
    /// The whole fleet must be connected within this.
    pub limit: Duration,
    /// Each socket's read buffer (the frames read are a few hundred bytes).
    pub read_buffer: usize,
}

impl Default for Dial {
    fn default() -> Dial {
        Dial {
            sources: Vec::new(),
            limit: Duration::from_secs(120),
            read_buffer: 4 * 1024,
        }
    }
}

impl Dial {
    /// `n` clients spread over as many source addresses as `per_source` clients each need,
    /// from 127.0.0.2 on.
    pub fn spread(n: usize, per_source: usize) -> Dial {
        let count = n.div_ceil(per_source.max(1));
        Dial {
            sources: (0..count).map(source_address).collect(),
            ..Dial::default()
        }
    }

    /// The source address of client `idx`, if the fleet spreads them.
    pub fn source(&self, idx: usize) -> Option<Ipv4Addr> {
        self.sources.get(idx % self.sources.len().max(1)).copied()
    }
}

/// The `i`-th source address after 127.0.0.1: 127.0.0.2, …, 127.0.0.255, 127.0.1.0, …
fn source_address(i: usize) -> Ipv4Addr {
    let [_, b, c, d] = (0x7f00_0002_u32.saturating_add(i as u32)).to_be_bytes();
    Ipv4Addr::new(127, b, c, d)
}

/// A TCP connection to `addr` from `source` (or one the kernel picks), without Nagle's delay.
///
/// A socket bound to a source address closes with a reset: a normal close would leave it in
/// TIME_WAIT on our side for a minute, holding its port, and the next crowd from the same
/// addresses would find too few ports free.
pub async fn open(addr: SocketAddr, source: Option<Ipv4Addr>) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(source) = source {
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
        socket.set_zero_linger()?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_clients_over_enough_source_addresses() {
        let dial = Dial::spread(100_000, 20_000);
        assert_eq!(dial.sources.len(), 5);
        assert_eq!(dial.source(0), Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(dial.source(4), Some(Ipv4Addr::new(127, 0, 0, 6)));
        assert_eq!(dial.source(5), Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(Dial::default().source(7), None);
        assert_eq!(source_address(254), Ipv4Addr::new(127, 0, 1, 0));
    }
}
