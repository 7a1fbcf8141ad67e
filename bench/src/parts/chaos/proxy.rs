//! A TCP proxy in front of one upstream (a delivery target, the IRC server) whose faults the
//! chaos run triggers: a cut closes every open connection at once and closes each new one for a
//! while, as a network that drops; a delay holds every chunk in both directions for a while, as
//! a congested one. Bytes held by a delay when a cut comes are lost, as on a real network.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Result;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::plan::FaultKind;

/// What the proxy does to a connection right now.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Pass,
    Refuse { until: Instant },
    Delay { latency: Duration, until: Instant },
}

struct Shared {
    upstream: SocketAddr,
    mode: Mutex<Mode>,
    /// Bumped by every cut; each connection ends when it changes.
    cuts: watch::Sender<u64>,
    connections: AtomicU64,
}

impl Shared {
    fn mode(&self) -> Mode {
        let mut mode = self.mode.lock().unwrap_or_else(PoisonError::into_inner);
        let expired = match *mode {
            Mode::Pass => false,
            Mode::Refuse { until } | Mode::Delay { until, .. } => Instant::now() >= until,
        };
        if expired {
            *mode = Mode::Pass;
        }
        *mode
    }

    fn latency(&self) -> Option<Duration> {
        match self.mode() {
            Mode::Delay { latency, .. } => Some(latency),
            _ => None,
        }
    }
}

pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and passes every connection on to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            mode: Mutex::new(Mode::Pass),
            cuts: watch::channel(0).0,
            connections: AtomicU64::new(0),
        });
        let task = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Ok(Proxy { addr, shared, task })
    }

    /// Starts `fault` now.
    pub fn apply(&self, fault: FaultKind) {
        let now = Instant::now();
        let mode = match fault {
            FaultKind::Cut { refuse } => Mode::Refuse {
                until: now + refuse,
            },
            FaultKind::Delay { latency, during } => Mode::Delay {
                latency,
                until: now + during,
            },
        };
        *self
            .shared
            .mode
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = mode;
        if matches!(fault, FaultKind::Cut { .. }) {
            self.shared.cuts.send_modify(|n| *n += 1);
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        shared.connections.fetch_add(1, Ordering::Relaxed);
        if matches!(shared.mode(), Mode::Refuse { .. }) {
            // Accepted and closed at once: the client sees its connection drop.
            drop(client);
            continue;
        }
        tokio::spawn(serve(client, Arc::clone(&shared)));
    }
}

/// Passes bytes both ways until either side closes or a cut comes.
async fn serve(client: TcpStream, shared: Arc<Shared>) {
    let mut cuts = shared.cuts.subscribe();
    cuts.mark_unchanged();
    let Ok(upstream) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (up_read, up_write) = upstream.into_split();
    let both = async {
        tokio::try_join!(
            pump(client_read, up_write, &shared),
            pump(up_read, client_write, &shared)
        )
    };
    tokio::select! {
        _ = both => {}
        _ = cuts.changed() => {}
    }
}

/// Copies one direction chunk by chunk, holding each chunk while a delay is on; passes the
/// end of the stream on as a half-close.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        if let Some(latency) = shared.latency() {
            tokio::time::sleep(latency).await;
        }
        to.write_all(&buf[..n]).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> Result<SocketAddr> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        Ok(addr)
    }

    async fn round_trip(stream: &mut TcpStream) -> std::io::Result<usize> {
        stream.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await
    }

    #[tokio::test]
    async fn passes_bytes_cuts_open_connections_and_delays() -> Result<()> {
        let proxy = Proxy::start(echo_server().await?).await?;
        let mut open = TcpStream::connect(proxy.addr).await?;
        assert_eq!(round_trip(&mut open).await?, 4);

        proxy.apply(FaultKind::Cut {
            refuse: Duration::from_millis(300),
        });
        let mut buf = [0u8; 1];
        // The open connection is closed: a read ends (EOF or reset), never hangs.
        let ended = tokio::time::timeout(Duration::from_secs(5), open.read(&mut buf)).await?;
        assert!(matches!(ended, Ok(0) | Err(_)));
        tokio::time::sleep(Duration::from_millis(400)).await;

        proxy.apply(FaultKind::Delay {
            latency: Duration::from_millis(200),
            during: Duration::from_secs(5),
        });
        let mut fresh = TcpStream::connect(proxy.addr).await?;
        let started = Instant::now();
        assert_eq!(round_trip(&mut fresh).await?, 4);
        // Held once on the way there and once on the way back.
        assert!(started.elapsed() >= Duration::from_millis(400));
        assert_eq!(proxy.connections(), 2);
        proxy.stop();
        Ok(())
    }
}
