//! A fleet of WebSocket subscribers (tokio-tungstenite, one small task per socket, 4 KiB read
//! buffers unless its [`Dial`] says otherwise) and the rounds measured with it. The same code subscribes to the hub and to the
//! floor, so the client's own cost is the same for both.
//!
//! Each task stamps an announce the moment its frame is read, before anything else, into a
//! shared board of atomics; the coordinator thread sends the trigger and collects the stamps.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::dial::Dial;

const SEQ_SHIFT: u32 = 48;
const NANOS_MASK: u64 = (1 << SEQ_SHIFT) - 1;

/// The seq of an announce frame, or `None` for anything else (status, ack). Both the hub and the
/// floor send `…"seq":N,…"type":"announce"}`; a substring scan keeps the client's cost tiny.
pub fn announce_seq(text: &str) -> Option<u64> {
    if !text.contains("\"type\":\"announce\"") {
        return None;
    }
    let start = text.find("\"seq\":")? + 6;
    let digits: &str = &text[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// What the subscriber tasks write and the coordinator reads.
pub struct Board {
    base: Instant,
    /// The seq the current round waits for.
    target: AtomicU64,
    /// Subscribers that have the target seq.
    received: AtomicUsize,
    /// Per subscriber: (seq & 0xFFFF) << 48 | nanos since `base` when the target arrived.
    stamp: Box<[AtomicU64]>,
    /// Per subscriber: announces received, and seq jumps seen (a missed line).
    lines: Box<[AtomicU32]>,
    gaps: Box<[AtomicU32]>,
    /// Sockets that ended (closed by the server, or an error).
    ended: AtomicUsize,
}

impl Board {
    fn new(n: usize) -> Board {
        let zeros32 = || (0..n).map(|_| AtomicU32::new(0)).collect();
        Board {
            base: Instant::now(),
            target: AtomicU64::new(u64::MAX),
            received: AtomicUsize::new(0),
            stamp: (0..n).map(|_| AtomicU64::new(0)).collect(),
            lines: zeros32(),
            gaps: zeros32(),
            ended: AtomicUsize::new(0),
        }
    }

    fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64 & NANOS_MASK
    }

    fn record(&self, idx: usize, seq: u64, last: &mut u64) {
        let now = self.now();
        if *last != 0 && seq != *last + 1 {
            self.gaps[idx].fetch_add(1, Ordering::Relaxed);
        }
        *last = seq;
        self.lines[idx].fetch_add(1, Ordering::Relaxed);
        if seq == self.target.load(Ordering::Acquire) {
            self.stamp[idx].store(((seq & 0xFFFF) << SEQ_SHIFT) | now, Ordering::Relaxed);
            self.received.fetch_add(1, Ordering::Release);
        }
    }
}

/// One measured announce.
#[derive(Clone)]
pub struct Round {
    /// Until the trigger's HTTP response was read.
    pub response: Duration,
    /// Per subscriber that got it: from just before the trigger was sent until receipt.
    pub latencies: Vec<Duration>,
    /// Subscribers that did not get it within the round's time limit.
    pub missing: usize,
}

impl Round {
    pub fn last(&self) -> Duration {
        self.latencies.iter().copied().max().unwrap_or_default()
    }
}

pub struct Fleet {
    board: Arc<Board>,
    tasks: Vec<JoinHandle<()>>,
}

/// A fleet that connected as far as it could: those that did not are counted, not fatal.
pub struct Dialled {
    pub fleet: Fleet,
    pub failed: usize,
    pub first_error: Option<anyhow::Error>,
}

impl Fleet {
    /// Opens `n` subscriptions to `url` (with `Authorization: Bearer token` if given); every one
    /// must connect.
    pub fn connect(rt: &Runtime, url: &str, token: Option<&str>, n: usize) -> Result<Fleet> {
        let dialled = Fleet::dial(rt, url, token, n, &Dial::default())?;
        if let Some(e) = dialled.first_error {
            bail!(
                "only {} of {n} subscribers connected to {url}: {e:#}",
                dialled.fleet.len()
            );
        }
        Ok(dialled.fleet)
    }

    /// Opens up to `n` subscriptions to `url` as `dial` says, and says how many failed. The
    /// handshakes run on the client runtime, so they load the client's CPU, not the caller's.
    pub fn dial(
        rt: &Runtime,
        url: &str,
        token: Option<&str>,
        n: usize,
        dial: &Dial,
    ) -> Result<Dialled> {
        let board = Arc::new(Board::new(n));
        let request = ws_request(url, token)?;
        let addr = server_addr(&request)?;
        let config = WebSocketConfig::default()
            .read_buffer_size(dial.read_buffer)
            .write_buffer_size(0)
            .max_write_buffer_size(64 * 1024);
        let (limit, dial, shared) = (dial.limit, dial.clone(), Arc::clone(&board));
        let deadline = tokio::time::Instant::now() + limit;
        let connect_all = futures_util::stream::iter(0..n)
            .map(move |idx| {
                let (board, request) = (Arc::clone(&shared), request.clone());
                let source = dial.source(idx);
                async move {
                    let open = async {
                        let stream = crate::dial::open(addr, source).await?;
                        let (ws, _) = tokio_tungstenite::client_async_with_config(
                            request,
                            stream,
                            Some(config),
                        )
                        .await?;
                        Ok::<_, anyhow::Error>(ws)
                    };
                    let ws = tokio::time::timeout_at(deadline, open)
                        .await
                        .map_err(|_| anyhow!("not connected within {limit:?}"))??;
                    Ok::<_, anyhow::Error>(tokio::spawn(subscriber(idx, ws, board)))
                }
            })
            .buffer_unordered(crate::dial::PARALLELISM)
            .collect::<Vec<_>>();
        let results = rt
            .block_on(rt.spawn(connect_all))
            .context("the connecting task ended")?;
        let mut tasks = Vec::with_capacity(n);
        let (mut failed, mut first_error) = (0, None);
        for r in results {
            match r {
                Ok(task) => tasks.push(task),
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        Ok(Dialled {
            fleet: Fleet { board, tasks },
            failed,
            first_error,
        })
    }

    /// Opens `n` Server-Sent Event streams (`GET /events`) on the hub at `addr`. Each reader
    /// is a raw socket task: the client's cost stays as small as a WebSocket subscriber's.
    pub fn listen(rt: &Runtime, addr: SocketAddr, n: usize) -> Result<Fleet> {
        let board = Arc::new(Board::new(n));
        let connect_all = futures_util::stream::iter(0..n)
            .map(|idx| {
                let board = Arc::clone(&board);
                let handle = rt.handle().clone();
                async move {
                    let stream = open_events(addr).await?;
                    Ok::<_, anyhow::Error>(handle.spawn(listener(idx, stream, board)))
                }
            })
            .buffer_unordered(crate::dial::PARALLELISM)
            .collect::<Vec<_>>();
        let limit = Dial::default().limit;
        let results = rt
            .block_on(async { tokio::time::timeout(limit, connect_all).await })
            .with_context(|| format!("opening {n} event streams took over {limit:?}"))?;
        let tasks = results.into_iter().collect::<Result<Vec<_>>>()?;
        Ok(Fleet { board, tasks })
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Sockets that have ended so far.
    pub fn ended(&self) -> usize {
        self.board.ended.load(Ordering::Relaxed)
    }

    /// Announces received per subscriber, and how many of them saw a seq jump.
    pub fn lines(&self) -> (Vec<u32>, usize) {
        let lines = self
            .board
            .lines
            .iter()
            .map(|l| l.load(Ordering::Relaxed))
            .collect();
        let gaps = self
            .board
            .gaps
            .iter()
            .filter(|g| g.load(Ordering::Relaxed) > 0)
            .count();
        (lines, gaps)
    }

    /// One measured round: arms the board for `seq`, calls `trigger` (which sends the announce
    /// and returns once its HTTP response is read), then waits until every subscriber has it or
    /// `limit` has passed.
    pub fn round(
        &self,
        seq: u64,
        limit: Duration,
        trigger: impl FnOnce() -> Result<()>,
    ) -> Result<Round> {
        let mut rounds = Fleet::round_all(&[self], seq, limit, trigger)?;
        rounds.pop().context("no round")
    }

    /// Like [`Fleet::round`] over several fleets at once (e.g. the subscribers of two
    /// replicas): one [`Round`] per fleet, in their order, all timed from the same trigger.
    pub fn round_all(
        fleets: &[&Fleet],
        seq: u64,
        limit: Duration,
        trigger: impl FnOnce() -> Result<()>,
    ) -> Result<Vec<Round>> {
        let starts: Vec<u64> = fleets.iter().map(|f| f.arm(seq)).collect();
        let t0 = Instant::now();
        trigger()?;
        let response = t0.elapsed();
        let deadline = t0 + limit;
        while fleets.iter().any(|f| !f.complete()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(fleets
            .iter()
            .zip(starts)
            .map(|(fleet, start)| fleet.collect(seq, start, response))
            .collect())
    }

    /// Readies the board for `seq`; returns the board's clock at that moment.
    fn arm(&self, seq: u64) -> u64 {
        self.board.received.store(0, Ordering::Release);
        self.board.target.store(seq, Ordering::Release);
        self.board.now()
    }

    fn complete(&self) -> bool {
        self.board.received.load(Ordering::Acquire) >= self.len()
    }

    /// The arrivals of `seq` since `start` (the board's clock when it was armed).
    fn collect(&self, seq: u64, start: u64, response: Duration) -> Round {
        let tag = seq & 0xFFFF;
        let latencies: Vec<Duration> = self
            .board
            .stamp
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|s| s >> SEQ_SHIFT == tag)
            .map(|s| Duration::from_nanos((s & NANOS_MASK).saturating_sub(start)))
            .collect();
        Round {
            response,
            missing: self.len() - latencies.len(),
            latencies,
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The upgrade request to `url`, with the bearer token if given.
fn ws_request(url: &str, token: Option<&str>) -> Result<Request> {
    let mut request = url.into_client_request().context("WebSocket URL")?;
    if let Some(token) = token {
        request.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}"))?,
        );
    }
    Ok(request)
}

/// The server's address: the bench's servers listen on IP literals.
fn server_addr(request: &Request) -> Result<SocketAddr> {
    let host = request.uri().host().unwrap_or("127.0.0.1");
    let port = request.uri().port_u16().unwrap_or(80);
    let ip: std::net::IpAddr = host
        .parse()
        .with_context(|| format!("the bench dials IP addresses only, not {host}"))?;
    Ok(SocketAddr::new(ip, port))
}

async fn subscriber(
    idx: usize,
    mut ws: tokio_tungstenite::WebSocketStream<TcpStream>,
    board: Arc<Board>,
) {
    let mut last = 0;
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(Message::Text(text)) => {
                if let Some(seq) = announce_seq(text.as_str()) {
                    board.record(idx, seq, &mut last);
                }
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    board.ended.fetch_add(1, Ordering::Relaxed);
}

/// Sends `GET /events` and reads the answer's head; the stream's body follows on the socket.
async fn open_events(addr: SocketAddr) -> Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    stream
        .write_all(b"GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        .await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 4096 {
            bail!("/events closed before its head");
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        bail!("/events answered {}", String::from_utf8_lossy(&head));
    }
    Ok(stream)
}

/// Reads an event stream, recording each `data:` line that is an announce. The chunked
/// framing's size lines are not `data:` lines, so a line scan needs no HTTP parser.
async fn listener(idx: usize, mut stream: TcpStream, board: Arc<Board>) {
    let mut last = 0;
    let mut buf = vec![0u8; 4 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        pending.extend_from_slice(&buf[..n]);
        let Some(end) = pending.iter().rposition(|b| *b == b'\n') else {
            continue;
        };
        for line in pending[..end].split(|b| *b == b'\n') {
            if let Some(data) = line.strip_prefix(b"data: ")
                && let Some(seq) = std::str::from_utf8(data).ok().and_then(announce_seq)
            {
                board.record(idx, seq, &mut last);
            }
        }
        pending.drain(..=end);
    }
    board.ended.fetch_add(1, Ordering::Relaxed);
}

/// The client runtime: one worker pinned to `cpu`, or one per CPU when not pinned.
pub fn runtime(cpu: Option<usize>) -> Result<Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(cpu) = cpu {
        builder.worker_threads(1).on_thread_start(move || {
            let _ = crate::procs::pin_current_thread(cpu);
        });
    }
    builder.build().context("client runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_seq_of_announces_only() {
        let hub = r#"{"announced_at":"2026-01-01T00:00:00Z","message":"x \"seq\":9","position":null,"seq":42,"show_id":null,"track":null,"type":"announce"}"#;
        assert_eq!(announce_seq(r#"{"seq":42,"type":"announce"}"#), Some(42));
        assert_eq!(announce_seq(r#"{"subscribers":3,"type":"status"}"#), None);
        assert_eq!(
            announce_seq(r##"{"seq":4,"target":"#a","type":"ack"}"##),
            None
        );
        // A message text is escaped JSON, so `"seq":` inside it reads `\"seq\":`.
        assert_eq!(announce_seq(hub), Some(42));
    }
}
