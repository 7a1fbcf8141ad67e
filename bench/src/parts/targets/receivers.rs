//! The local servers part 11's targets point at: one per kind (Discord, Matrix, Icecast,
//! Mastodon, Bluesky, Telegram, ntfy), each on its own port of 127.0.0.1 and served by the
//! bench's runtime, plus one that accepts connections and never answers (the `webhook` target).
//!
//! They are deliberately minimal, not the end-to-end tests' fakes: each answers only what the
//! hub's send for its kind needs to count the delivery as sent (Discord's 204, Icecast's
//! `<return>1</return>`, Bluesky's session, Telegram's `ok`…), with no checks, scripts or rate
//! limits, and stamps when the line arrived. The bench measures the hub, so a receiver must cost
//! as little as possible and never push back.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Result;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// The kinds that answer; a `webhook` target is the hung one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Discord,
    Matrix,
    Icecast,
    Mastodon,
    Bluesky,
    Telegram,
    Ntfy,
}

pub const ANSWERING: [Kind; 7] = [
    Kind::Discord,
    Kind::Matrix,
    Kind::Icecast,
    Kind::Mastodon,
    Kind::Bluesky,
    Kind::Telegram,
    Kind::Ntfy,
];

/// Every target, the hung one included.
pub const TARGETS: usize = ANSWERING.len() + 1;

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Discord => "discord",
            Kind::Matrix => "matrix",
            Kind::Icecast => "icecast",
            Kind::Mastodon => "mastodon",
            Kind::Bluesky => "bluesky",
            Kind::Telegram => "telegram",
            Kind::Ntfy => "ntfy",
        }
    }

    /// The `[[targets]]` block pointing at a receiver on `addr`; the target is named as its kind.
    fn toml(self, addr: SocketAddr) -> String {
        let base = format!("http://{addr}");
        let keys = match self {
            Kind::Discord => format!("url = \"{base}/api/webhooks/1/bench-token\""),
            Kind::Matrix => format!(
                "homeserver = \"{base}\"\nroom_id = \"!bench:127.0.0.1\"\naccess_token = \"bench-token\""
            ),
            Kind::Icecast => {
                format!("url = \"{base}\"\nmount = \"/live.mp3\"\npassword = \"bench-password\"")
            }
            Kind::Mastodon => format!("instance = \"{base}\"\naccess_token = \"bench-token\""),
            Kind::Bluesky => format!(
                "pds = \"{base}\"\nhandle = \"bench.bsky.test\"\napp_password = \"bench-app-password\""
            ),
            Kind::Telegram => format!(
                "api_base = \"{base}\"\nbot_token = \"123456:bench-token\"\nchat_id = -100123"
            ),
            Kind::Ntfy => format!("url = \"{base}/bench-live\""),
        };
        let name = self.name();
        format!("[[targets]]\nname = \"{name}\"\nkind = \"{name}\"\n{keys}\n\n")
    }

    /// The routes the hub's send for this kind calls.
    fn routes(self) -> Router<Stamp> {
        let router = Router::new();
        match self {
            Kind::Discord => router.route("/api/webhooks/{id}/{token}", post(discord)),
            Kind::Matrix => router.route(
                "/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}",
                put(matrix),
            ),
            Kind::Icecast => router.route("/admin/metadata", get(icecast)),
            Kind::Mastodon => router.route("/api/v1/statuses", post(mastodon)),
            Kind::Bluesky => router
                .route("/xrpc/com.atproto.server.createSession", post(session))
                .route("/xrpc/com.atproto.repo.createRecord", post(record)),
            Kind::Telegram => router.route("/{bot}/sendMessage", post(telegram)),
            Kind::Ntfy => router.route("/{topic}", post(ntfy)),
        }
    }
}

/// When each receiver got each round's line: (kind, round, instant).
type Arrivals = Arc<Mutex<Vec<(Kind, usize, Instant)>>>;

/// A receiver's state: its kind and where it writes down arrivals.
#[derive(Clone)]
struct Stamp {
    kind: Kind,
    arrivals: Arrivals,
}

impl Stamp {
    /// Writes down the round whose line `text` carries (a request without one, such as
    /// Bluesky's session, is not a delivery).
    fn arrived(&self, text: &str) {
        let at = Instant::now();
        if let Some(round) = round_of(text) {
            lock(&self.arrivals).push((self.kind, round, at));
        }
    }
}

fn lock(arrivals: &Arrivals) -> MutexGuard<'_, Vec<(Kind, usize, Instant)>> {
    arrivals.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The text the bench announces in round `round`: its number survives every kind's payload
/// (JSON, plain text, a percent-encoded query) because it is made of unreserved characters.
pub fn line(round: usize) -> String {
    format!(
        "Now Playing: Song #{round}: Bench track by Bench Artist - https://soundcloud.com/bench/track-{round:05}"
    )
}

/// The round number in a request carrying [`line`].
pub fn round_of(text: &str) -> Option<usize> {
    let start = text.find("track-")? + "track-".len();
    text.get(start..start + 5)?.parse().ok()
}

/// Each kind's delivery latencies, and how many deliveries never came.
pub struct Latencies {
    pub per_kind: Vec<(Kind, Vec<Duration>)>,
    pub missing: usize,
}

/// The receivers, served by the bench's runtime until [`Receivers::stop`].
pub struct Receivers {
    answering: Vec<(Kind, SocketAddr)>,
    hung: SocketAddr,
    arrivals: Arrivals,
    tasks: Vec<JoinHandle<()>>,
}

impl Receivers {
    pub fn start(rt: &Runtime) -> Result<Receivers> {
        let arrivals: Arrivals = Arc::default();
        let mut tasks = Vec::new();
        let mut answering = Vec::new();
        for kind in ANSWERING {
            let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
            answering.push((kind, listener.local_addr()?));
            let stamp = Stamp {
                kind,
                arrivals: Arc::clone(&arrivals),
            };
            let app = kind.routes().with_state(stamp);
            tasks.push(rt.spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
        }
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let hung = listener.local_addr()?;
        tasks.push(rt.spawn(hang(listener)));
        Ok(Receivers {
            answering,
            hung,
            arrivals,
            tasks,
        })
    }

    /// One `[[targets]]` block per receiver.
    pub fn targets_toml(&self) -> String {
        let mut toml: String = self
            .answering
            .iter()
            .map(|(kind, addr)| kind.toml(*addr))
            .collect();
        toml.push_str(&format!(
            "[[targets]]\nname = \"hung\"\nkind = \"webhook\"\nurl = \"http://{}/\"\n",
            self.hung
        ));
        toml
    }

    pub fn clear(&self) {
        lock(&self.arrivals).clear();
    }

    /// Per answering receiver and round: from the round's POST (`sent[round]`) until the
    /// receiver had the line. Waits up to `wait` for all of them.
    pub fn latencies(&self, sent: &[Instant], wait: Duration) -> Latencies {
        let expected = sent.len() * ANSWERING.len();
        let deadline = Instant::now() + wait;
        while lock(&self.arrivals).len() < expected && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let arrivals = lock(&self.arrivals);
        let per_kind: Vec<(Kind, Vec<Duration>)> = ANSWERING
            .iter()
            .map(|&kind| {
                let got = arrivals
                    .iter()
                    .filter(|(k, _, _)| *k == kind)
                    .filter_map(|(_, round, at)| {
                        sent.get(*round).map(|t| at.saturating_duration_since(*t))
                    })
                    .collect();
                (kind, got)
            })
            .collect();
        let got: usize = per_kind.iter().map(|(_, l)| l.len()).sum();
        Latencies {
            per_kind,
            missing: expected.saturating_sub(got),
        }
    }

    pub fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The hung target: accepts and never reads or answers. Hand-written rather than an axum
/// handler that never returns, so aborting this one task closes every socket it holds.
async fn hang(listener: TcpListener) {
    let mut held = Vec::new();
    while let Ok((stream, _)) = listener.accept().await {
        held.push(stream);
    }
}

async fn discord(State(stamp): State<Stamp>, body: String) -> StatusCode {
    stamp.arrived(&body);
    StatusCode::NO_CONTENT
}

async fn matrix(State(stamp): State<Stamp>, body: String) -> Response {
    stamp.arrived(&body);
    axum::Json(json!({"event_id": "$bench"})).into_response()
}

async fn icecast(State(stamp): State<Stamp>, RawQuery(query): RawQuery) -> Response {
    stamp.arrived(query.as_deref().unwrap_or_default());
    let xml = "<?xml version=\"1.0\"?>\n<iceresponse><message>Metadata update successful</message><return>1</return></iceresponse>\n";
    ([(header::CONTENT_TYPE, "text/xml")], xml).into_response()
}

async fn mastodon(State(stamp): State<Stamp>, body: String) -> Response {
    stamp.arrived(&body);
    axum::Json(json!({"id": "1"})).into_response()
}

async fn session() -> Response {
    axum::Json(json!({
        "did": "did:plc:bench",
        "handle": "bench.bsky.test",
        "accessJwt": "bench-access",
        "refreshJwt": "bench-refresh",
    }))
    .into_response()
}

async fn record(State(stamp): State<Stamp>, body: String) -> Response {
    stamp.arrived(&body);
    axum::Json(json!({"uri": "at://did:plc:bench/app.bsky.feed.post/1", "cid": "bench"}))
        .into_response()
}

async fn telegram(State(stamp): State<Stamp>, body: String) -> Response {
    stamp.arrived(&body);
    axum::Json(json!({"ok": true, "result": {"message_id": 1}})).into_response()
}

async fn ntfy(State(stamp): State<Stamp>, body: String) -> Response {
    stamp.arrived(&body);
    axum::Json(json!({"id": "bench", "event": "message"})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_round_survives_each_payload() {
        assert_eq!(round_of(&line(42)), Some(42));
        let json = serde_json::to_string(&json!({"status": line(7)})).expect("json");
        assert_eq!(round_of(&json), Some(7));
        let query = "mount=%2Flive.mp3&song=Now%20Playing%3A%20https%3A%2F%2Fsoundcloud.com%2Fbench%2Ftrack-00123";
        assert_eq!(round_of(query), Some(123));
        assert_eq!(round_of("bench warm-up"), None);
        assert_eq!(round_of("track-12"), None);
    }
}
