//! A minimal in-test hub speaking the `/ws/announce` protocol (`ntr-protocol`), for the one relay test the
//! real hub cannot serve: a hub that replays more than it was asked for
//! ([`FakeHub::replay_overlap`]), so the relay's own "skip what was seen" rule is exercised.
//! Every other relay test runs against the real hub ([`crate::hub::TestHub`]).
//!
//! It keeps its announce log in memory across [`FakeHub::stop`] / [`FakeHub::restart`] (same
//! port, sequence numbers continue), and records the `since` of every subscription.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ntr_protocol::{Announce, ClientMessage, Seq, ServerMessage};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;

#[derive(Clone)]
struct Logged {
    seq: u64,
    json: String,
}

struct Inner {
    log: Vec<Logged>,
    next_seq: u64,
    acks: Vec<(u64, String)>,
    sinces: Vec<Option<u64>>,
    /// Extra announces at or below `since` to replay (see `replay_overlap`).
    overlap: u64,
}

struct Shared {
    token: String,
    inner: Mutex<Inner>,
    live: broadcast::Sender<(u64, String)>,
    /// Bumped by `stop`: every open WebSocket ends at once, like a crashed hub.
    generation: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the state from the others.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Server {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

pub struct FakeHub {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Mutex<Option<Server>>,
}

impl FakeHub {
    /// Starts on a free 127.0.0.1 port.
    pub async fn start() -> FakeHub {
        let (live, _) = broadcast::channel(1024);
        let token = format!("relay-{:016x}", rand_u64());
        let shared = Arc::new(Shared {
            token,
            inner: Mutex::new(Inner {
                log: Vec::new(),
                next_seq: 1,
                acks: Vec::new(),
                sinces: Vec::new(),
                overlap: 0,
            }),
            live,
            generation: watch::channel(0).0,
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake hub bind");
        let addr = listener.local_addr().expect("fake hub addr");
        let hub = FakeHub {
            addr,
            shared,
            server: Mutex::new(None),
        };
        hub.serve(listener);
        hub
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A token accepted on `/ws/announce`.
    pub fn relay_token(&self) -> String {
        self.shared.token.clone()
    }

    /// Announces free text; returns its sequence number. Works while stopped (it is logged and
    /// replayed after `restart`).
    pub fn announce_text(&self, text: &str) -> u64 {
        let mut inner = self.shared.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let json = ServerMessage::Announce(Box::new(Announce {
            seq: Seq::new(seq),
            message: text.to_string(),
            show_id: None,
            position: None,
            track: None,
            announced_at: jiff::Timestamp::now(),
            corrects: None,
            show: None,
        }))
        .to_json();
        inner.log.push(Logged {
            seq,
            json: json.clone(),
        });
        // Sent under the lock so a subscriber's replay snapshot and the live stream agree.
        let _ = self.shared.live.send((seq, json));
        seq
    }

    /// Every ack received, as `(seq, target)`, in arrival order.
    pub fn acks(&self) -> Vec<(u64, String)> {
        self.shared.lock().acks.clone()
    }

    /// The `since` of every WebSocket subscription, in order (`None` without one).
    pub fn subscriptions(&self) -> Vec<Option<u64>> {
        self.shared.lock().sinces.clone()
    }

    /// Makes resumed subscriptions also replay the last `n` announces at or below `since`,
    /// as a hub that errs on the side of replaying too much; a client must skip them.
    pub fn replay_overlap(&self, n: u64) {
        self.shared.lock().overlap = n;
    }

    /// Closes the listener and every socket (WebSockets are cut without a close frame).
    pub async fn stop(&self) {
        let server = self
            .server
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        self.shared.generation.send_modify(|g| *g += 1);
        if let Some(server) = server {
            let _ = server.stop.send(());
            let abort = server.task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), server.task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Starts again on the same port with the same log; sequence numbers continue.
    pub async fn restart(&self) {
        self.stop().await;
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("fake hub rebind {}: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let app = Router::new()
            .route("/ws/announce", get(ws))
            .with_state(Arc::clone(&self.shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        *self
            .server
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Server { stop, task });
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

async fn ws(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let expected = format!("Bearer {}", shared.token);
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong token");
    }
    let since = match query.get("since").map(|s| s.parse::<u64>()) {
        None => None,
        Some(Ok(since)) => Some(since),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "since must be a number"),
    };
    upgrade.on_upgrade(move |socket| subscriber(shared, socket, since))
}

async fn subscriber(shared: Arc<Shared>, mut socket: WebSocket, since: Option<u64>) {
    let mut generation = shared.generation.subscribe();
    generation.mark_unchanged();
    // Snapshot and subscribe under one lock: nothing falls between replay and live.
    let (replay, mut live, mut last) = {
        let mut inner = shared.lock();
        inner.sinces.push(since);
        let live = shared.live.subscribe();
        let replay: Vec<Logged> = match since {
            Some(since) => inner
                .log
                .iter()
                .filter(|l| l.seq > since.saturating_sub(inner.overlap))
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        let last = inner.next_seq - 1;
        (replay, live, last)
    };
    let status = ServerMessage::Status { subscribers: 1 }.to_json();
    if socket.send(Message::Text(status.into())).await.is_err() {
        return;
    }
    for logged in replay {
        if socket
            .send(Message::Text(logged.json.into()))
            .await
            .is_err()
        {
            return;
        }
    }
    loop {
        tokio::select! {
            _ = generation.changed() => return,
            live_message = live.recv() => match live_message {
                Ok((seq, json)) if seq > last => {
                    last = seq;
                    if socket.send(Message::Text(json.into())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => {
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(ClientMessage::Ack { seq, target }) = serde_json::from_str(text.as_str()) {
                        shared.lock().acks.push((seq.get(), target));
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
