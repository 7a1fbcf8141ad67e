//! Fake delivery targets for the hub's `[[targets]]`: a Discord webhook and a generic webhook
//! receiver, on 127.0.0.1, behaving as the real ones document.
//!
//! - Discord (`POST /api/webhooks/{id}/{token}`): 204 for a good message, 400 with Discord's
//!   error JSON for `content` over 2,000 characters, 401 for a wrong token, and on demand 429
//!   with `retry_after` (seconds) in the JSON and `Retry-After`, a 5xx, or a hang.
//! - Webhook (`POST /hook`): verifies `X-Announce-Signature: sha256=<hex HMAC-SHA256>` of the
//!   body with the shared secret (401 when it does not match), then 200.
//!
//! Every request is recorded (with whether it was accepted) so tests count deliveries instead
//! of assuming them. [`FakeTarget::stop`] closes the port (connection refused, like a server
//! that is down) and [`FakeTarget::resume`] opens it again on the same port.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Notify;
use tokio::time::Instant;

pub const DISCORD_ID: &str = "112233445566778899";
pub const DISCORD_TOKEN: &str = "discord-webhook-token-that-must-stay-secret";
/// Discord's limit on `content`.
pub const DISCORD_MAX_CHARS: usize = 2000;

/// A scripted answer for the next request, instead of the normal one.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// 429 with `retry_after` seconds in the body and the `Retry-After` header.
    RateLimited(f64),
    /// Never answers (the request stays open until the client gives up).
    Hang,
    /// Takes the line (it counts as delivered at once, as a server that posted it before
    /// answering) and answers 200 only after this long; counted as hanging meanwhile.
    Slow(std::time::Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Discord,
    Webhook,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: Value,
    /// The status answered (`None` for a hang).
    pub status: Option<u16>,
}

struct Inner {
    flavor: Flavor,
    secret: Option<String>,
    script: VecDeque<Reply>,
    received: Vec<Received>,
    /// Requests hanging right now.
    hanging: usize,
}

#[derive(Clone)]
pub struct FakeTarget {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
    addr: SocketAddr,
    /// Fires the running server's graceful shutdown: it stops accepting and closes its idle
    /// keep-alive connections, so the hub's next request is refused like a server that is down.
    server: Arc<Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
}

impl FakeTarget {
    pub async fn discord() -> FakeTarget {
        Self::start(Flavor::Discord, None).await
    }

    /// A webhook receiver that checks signatures made with `secret` (none: no check).
    pub async fn webhook(secret: Option<&str>) -> FakeTarget {
        Self::start(Flavor::Webhook, secret.map(str::to_owned)).await
    }

    async fn start(flavor: Flavor, secret: Option<String>) -> FakeTarget {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake target");
        let fake = FakeTarget {
            inner: Arc::new(Mutex::new(Inner {
                flavor,
                secret,
                script: VecDeque::new(),
                received: Vec::new(),
                hanging: 0,
            })),
            changed: Arc::new(Notify::new()),
            addr: listener.local_addr().expect("fake target address"),
            server: Arc::new(Mutex::new(None)),
        };
        fake.serve(listener);
        fake
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/api/webhooks/{id}/{token}", post(discord))
            .route("/hook", post(webhook))
            .with_state(self.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        *self.server.lock().expect("server slot") = Some(stop);
    }

    /// The URL to configure: Discord's webhook URL shape, or `/hook`.
    pub fn url(&self) -> String {
        match self.with(|i| i.flavor) {
            Flavor::Discord => format!(
                "http://{}/api/webhooks/{DISCORD_ID}/{DISCORD_TOKEN}",
                self.addr
            ),
            Flavor::Webhook => format!("http://{}/hook", self.addr),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().expect("fake target state"))
    }

    /// Answers the next requests with these, in order, then normally again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.with(|i| i.script.extend(replies));
    }

    pub fn received(&self) -> Vec<Received> {
        self.with(|i| i.received.clone())
    }

    /// The bodies of the requests that were accepted (2xx), in arrival order.
    pub fn delivered(&self) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|r| r.status.is_some_and(|s| (200..300).contains(&s)))
            .map(|r| r.body)
            .collect()
    }

    pub fn hanging(&self) -> usize {
        self.with(|i| i.hanging)
    }

    /// Waits until `done` holds for the fake's state, or panics after `limit`.
    pub async fn wait_until(
        &self,
        limit: Duration,
        what: &str,
        done: impl Fn(&FakeTarget) -> bool,
    ) {
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

    /// Waits for `n` accepted deliveries.
    pub async fn wait_delivered(&self, n: usize, limit: Duration) -> Vec<Value> {
        self.wait_until(limit, &format!("{n} deliveries"), |f| {
            f.delivered().len() >= n
        })
        .await;
        self.delivered()
    }

    /// Closes the port: connections are refused until [`FakeTarget::resume`].
    pub fn stop(&self) {
        if let Some(stop) = self.server.lock().expect("server slot").take() {
            let _ = stop.send(());
        }
    }

    /// Listens on the same port again.
    pub async fn resume(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("rebind {}: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    fn record(&self, headers: HeaderMap, body: Value, status: Option<u16>) {
        self.with(|i| {
            i.received.push(Received {
                at: Instant::now(),
                headers,
                body,
                status,
            });
        });
        self.changed.notify_waiters();
    }

    /// The scripted reply, if any, as a response (a hang never returns).
    async fn scripted(&self, headers: &HeaderMap, body: &Value) -> Option<Response> {
        let reply = self.with(|i| i.script.pop_front())?;
        match reply {
            Reply::Status(code) => {
                self.record(headers.clone(), body.clone(), Some(code));
                let status = StatusCode::from_u16(code).expect("scripted status");
                Some(
                    (
                        status,
                        axum::Json(json!({"message": "scripted failure", "code": 0})),
                    )
                        .into_response(),
                )
            }
            Reply::RateLimited(secs) => {
                self.record(headers.clone(), body.clone(), Some(429));
                let body = json!({"message": "You are being rate limited.", "retry_after": secs, "global": false});
                Some(
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", format!("{}", secs.ceil() as u64))],
                        axum::Json(body),
                    )
                        .into_response(),
                )
            }
            Reply::Slow(wait) => {
                self.record(headers.clone(), body.clone(), Some(200));
                self.with(|i| i.hanging += 1);
                self.changed.notify_waiters();
                let still = HangGuard(self.clone());
                tokio::time::sleep(wait).await;
                drop(still);
                Some((StatusCode::OK, axum::Json(json!({}))).into_response())
            }
            Reply::Hang => {
                self.record(headers.clone(), body.clone(), None);
                self.with(|i| i.hanging += 1);
                self.changed.notify_waiters();
                let _still = HangGuard(self.clone());
                std::future::pending::<()>().await;
                None
            }
        }
    }
}

/// Counts a hanging request down when the client gives up on it.
struct HangGuard(FakeTarget);

impl Drop for HangGuard {
    fn drop(&mut self) {
        self.0.with(|i| i.hanging -= 1);
        self.0.changed.notify_waiters();
    }
}

async fn discord(
    State(fake): State<FakeTarget>,
    Path((id, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(r) = fake.scripted(&headers, &json).await {
        return r;
    }
    let (status, answer) = if id != DISCORD_ID || token != DISCORD_TOKEN {
        (
            401,
            json!({"message": "Invalid Webhook Token", "code": 50027}),
        )
    } else {
        match json["content"].as_str() {
            None => (
                400,
                json!({"message": "Cannot send an empty message", "code": 50006}),
            ),
            Some(c) if c.chars().count() > DISCORD_MAX_CHARS => (
                400,
                json!({"content": ["Must be 2000 or fewer in length."]}),
            ),
            Some(_) => (204, Value::Null),
        }
    };
    fake.record(headers, json, Some(status));
    let code = StatusCode::from_u16(status).expect("status");
    if status == 204 {
        // Discord's bucket: 5 per 2 s; the hub may pause on the last one.
        return (
            code,
            [("x-ratelimit-limit", "5"), ("x-ratelimit-remaining", "4")],
        )
            .into_response();
    }
    (code, axum::Json(answer)).into_response()
}

async fn webhook(State(fake): State<FakeTarget>, headers: HeaderMap, body: Bytes) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(r) = fake.scripted(&headers, &json).await {
        return r;
    }
    let secret = fake.with(|i| i.secret.clone());
    let signed_ok = match &secret {
        None => true,
        Some(secret) => headers
            .get("x-announce-signature")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == signature(secret, &body)),
    };
    let status = if signed_ok { 200 } else { 401 };
    fake.record(headers, json, Some(status));
    StatusCode::from_u16(status)
        .expect("status")
        .into_response()
}

/// `sha256=<hex>` of the body, computed here independently of the hub's code.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}
