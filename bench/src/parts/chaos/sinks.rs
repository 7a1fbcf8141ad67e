//! The fake delivery targets the hub posts to (through the proxies): a webhook receiver and a
//! Discord-style channel webhook, on one local server. Each records every request it accepted,
//! in arrival order, with the `Idempotency-Key` header when there is one, so the verdict counts
//! what arrived instead of assuming it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Result;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The Discord webhook's path (a numeric id and a token, as Discord's URLs have).
pub const DISCORD_PATH: &str = "/api/webhooks/424242424242424242/chaos-token";
pub const WEBHOOK_PATH: &str = "/hook";

/// One accepted request.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The webhook body's `seq` (Discord's body has none).
    pub seq: Option<u64>,
    /// The webhook body's `message`, Discord's `content`.
    pub text: String,
    pub key: Option<String>,
}

#[derive(Default)]
pub struct Log {
    pub webhook: Vec<Arrival>,
    pub discord: Vec<Arrival>,
}

pub type Shared = Arc<Mutex<Log>>;

pub struct Sinks {
    pub addr: SocketAddr,
    pub log: Shared,
    task: JoinHandle<()>,
}

impl Sinks {
    pub async fn start() -> Result<Sinks> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let log = Shared::default();
        let app = Router::new()
            .route(WEBHOOK_PATH, post(webhook))
            .route(DISCORD_PATH, post(discord))
            .with_state(Arc::clone(&log));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sinks { addr, log, task })
    }

    /// A copy of what arrived so far.
    pub fn snapshot(&self) -> (Vec<Arrival>, Vec<Arrival>) {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        (log.webhook.clone(), log.discord.clone())
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

fn key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The announce frame as JSON; anything else is refused with 400 (and so not recorded).
async fn webhook(State(log): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    let Ok(frame) = serde_json::from_str::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let arrival = Arrival {
        seq: frame["seq"].as_u64(),
        text: frame["message"].as_str().unwrap_or_default().to_string(),
        key: key(&headers),
    };
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .webhook
        .push(arrival);
    StatusCode::OK
}

/// `{"content": …}`, answered 204 as Discord does.
async fn discord(State(log): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    let Ok(message) = serde_json::from_str::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(content) = message["content"].as_str() else {
        return StatusCode::BAD_REQUEST;
    };
    let arrival = Arrival {
        seq: None,
        text: content.to_string(),
        key: key(&headers),
    };
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .discord
        .push(arrival);
    StatusCode::NO_CONTENT
}
