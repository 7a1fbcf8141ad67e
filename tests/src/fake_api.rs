//! What the fakes of Mastodon, Bluesky, Telegram and ntfy share: a server on 127.0.0.1, every
//! request recorded with the answer it got, and answers scripted ahead (a status, a rate limit
//! that each fake words as its real API does).
//!
//! A fake is an axum router whose handlers take a [`FakeApi`] as state; each handler checks
//! what the real API checks, asks [`FakeApi::scripted`] whether to answer otherwise, and records
//! the request with [`FakeApi::record`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

/// A scripted answer for the next request, instead of the normal one.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// This status with the API's usual error body.
    Status(u16),
    /// The API's rate-limit answer, asking for a wait of this many seconds.
    RateLimited(f64),
}

/// One request as a fake saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    /// The raw body (JSON for most APIs, text for ntfy).
    pub body: String,
    pub status: u16,
    /// For a rate-limit answer: when it told the client to come back.
    pub retry_at: Option<jiff::Timestamp>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    received: Vec<Received>,
    mark: usize,
}

/// A fake API's shared state. Cheap to clone.
#[derive(Clone)]
pub struct FakeApi {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
    addr: SocketAddr,
}

impl FakeApi {
    /// Serves `routes` (handlers with a `FakeApi` state) on a free port of 127.0.0.1.
    pub async fn serve(routes: Router<FakeApi>) -> FakeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake API");
        let api = FakeApi {
            inner: Arc::default(),
            changed: Arc::new(Notify::new()),
            addr: listener.local_addr().expect("fake API address"),
        };
        let app = routes.with_state(api.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        api
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().expect("fake API state"))
    }

    /// Answers the next requests with these, in order, then normally again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.with(|i| i.script.extend(replies));
    }

    /// A number a fake keeps for itself (Bluesky: how many sessions are expired).
    pub fn mark(&self) -> usize {
        self.with(|i| i.mark)
    }

    pub fn set_mark(&self, mark: usize) {
        self.with(|i| i.mark = mark);
    }

    /// The next scripted answer, if any.
    pub fn scripted(&self) -> Option<Reply> {
        self.with(|i| i.script.pop_front())
    }

    pub fn record(&self, received: Received) {
        self.with(|i| i.received.push(received));
        self.changed.notify_waiters();
    }

    pub fn received(&self) -> Vec<Received> {
        self.with(|i| i.received.clone())
    }

    /// The accepted (2xx) requests to paths ending in `suffix`, in arrival order.
    pub fn accepted(&self, suffix: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.accepted() && r.path.ends_with(suffix))
            .collect()
    }

    /// Waits until `done` holds, or panics after `limit` with what was received.
    pub async fn wait_until(&self, limit: Duration, what: &str, done: impl Fn(&FakeApi) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            if done(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "{what}: not within {limit:?}; received {:?}",
                    self.received()
                );
            }
        }
    }

    /// Waits for `n` accepted requests to paths ending in `suffix` and returns them.
    pub async fn wait_accepted(&self, suffix: &str, n: usize, limit: Duration) -> Vec<Received> {
        let what = format!("{n} accepted requests to …{suffix}");
        self.wait_until(limit, &what, |f| f.accepted(suffix).len() >= n)
            .await;
        self.accepted(suffix)
    }
}

/// The time `secs` from now, in whole milliseconds (what the hub's ledger keeps).
pub fn retry_time(secs: f64) -> jiff::Timestamp {
    let ms = (secs * 1000.0).round() as i64;
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(ms);
    jiff::Timestamp::from_millisecond(at.as_millisecond()).unwrap_or(at)
}
