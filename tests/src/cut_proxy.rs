//! A TCP proxy in front of the hub that a test can make lose announces on purpose: the
//! browser opens the dashboard through it, and every other request (pages, the WebSocket)
//! passes untouched. Each connection is two pumps, one per direction.
//!
//! - [`Cut::LoseAnswer`]: the next `POST /admin/announce` reaches the hub, but its answer does
//!   not reach the browser (the client side is closed as the answer starts); then back to
//!   passing everything.
//! - [`Cut::Refuse`]: every `POST /admin/announce` is closed without reaching the hub, like a
//!   link that is down for announces only (so the page itself can still be reloaded).
//! - [`Cut::Silent`]: nothing passes either way and nothing is closed, on open connections and
//!   new ones alike: a link that died without telling anyone.
//! - [`Cut::Down`]: every open connection is closed and new ones are closed as they come, like
//!   a hub address that went away (a relay with a second hub URL then fails over).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does to announce requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Cut {
    Pass = 0,
    LoseAnswer = 1,
    Refuse = 2,
    Silent = 3,
    Down = 4,
}

const NEEDLE: &[u8] = b"POST /admin/announce";

/// The proxy; dropping it stops accepting (connections already open run to their end).
pub struct CutProxy {
    port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    mode: AtomicU8,
    /// Announce requests refused or answers lost so far.
    cuts: AtomicUsize,
    /// Whether the link is [`Cut::Down`]; a watch, so open connections learn it at once.
    down: watch::Sender<bool>,
}

impl CutProxy {
    /// Listens on a free 127.0.0.1 port and forwards to 127.0.0.1:`upstream_port`.
    pub async fn start(upstream_port: u16) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let port = listener.local_addr().expect("proxy addr").port();
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *accepting.down.borrow() {
                    drop(client);
                    continue;
                }
                let shared = Arc::clone(&accepting);
                tokio::spawn(async move {
                    if let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await {
                        relay(client, upstream, &shared).await;
                    }
                });
            }
        });
        CutProxy { port, shared, task }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, cut: Cut) {
        self.shared.mode.store(cut as u8, Ordering::SeqCst);
        self.shared.down.send_replace(cut == Cut::Down);
    }

    /// How many announce requests were refused or had their answer lost.
    pub fn cuts(&self) -> usize {
        self.shared.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs both pumps of one connection until either ends or the link goes down; then both
/// sockets close.
async fn relay(client: TcpStream, upstream: TcpStream, shared: &Shared) {
    let (from_client, to_client) = client.into_split();
    let (from_hub, to_hub) = upstream.into_split();
    let lose_answer = AtomicBool::new(false);
    let mut down = shared.down.subscribe();
    tokio::select! {
        () = requests(from_client, to_hub, shared, &lose_answer) => {}
        () = answers(from_hub, to_client, shared, &lose_answer) => {}
        _ = down.wait_for(|down| *down) => {}
    }
}

/// Browser → hub: forwards bytes, watching for an announce request.
async fn requests(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: &Shared,
    lose_answer: &AtomicBool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    // The end of the previous read, so a request line split across reads is still seen.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if shared.mode.load(Ordering::SeqCst) == Cut::Silent as u8 {
            continue;
        }
        let chunk = &buf[..n];
        let mut window = std::mem::take(&mut tail);
        window.extend_from_slice(chunk);
        if window.windows(NEEDLE.len()).any(|w| w == NEEDLE) {
            let refuse = Cut::Refuse as u8;
            let lose = Cut::LoseAnswer as u8;
            if shared.mode.load(Ordering::SeqCst) == refuse {
                shared.cuts.fetch_add(1, Ordering::SeqCst);
                return;
            }
            let once = shared
                .mode
                .compare_exchange(lose, 0, Ordering::SeqCst, Ordering::SeqCst);
            if once.is_ok() {
                lose_answer.store(true, Ordering::SeqCst);
            }
        }
        tail = window[window.len().saturating_sub(NEEDLE.len())..].to_vec();
        if to.write_all(chunk).await.is_err() {
            return;
        }
    }
}

/// Hub → browser: forwards bytes, unless the answer now starting is one to lose.
async fn answers(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: &Shared,
    lose_answer: &AtomicBool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if lose_answer.load(Ordering::SeqCst) {
            shared.cuts.fetch_add(1, Ordering::SeqCst);
            return;
        }
        if shared.mode.load(Ordering::SeqCst) == Cut::Silent as u8 {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
