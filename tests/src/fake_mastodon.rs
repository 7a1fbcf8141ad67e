//! A fake Mastodon instance: `POST /api/v1/statuses` as Mastodon documents it. It checks the
//! bearer token (401 `The access token is invalid` otherwise), that an `Idempotency-Key` is sent
//! (the hub promises one), and the status' length (422 over 500 characters, counting a URL at
//! its full length as the hub's contract says). A repeated `Idempotency-Key` answers the status
//! made before without making another, as Mastodon does. Rate limits answer 429 with
//! `X-RateLimit-Reset` as an RFC 3339 time.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::fake_api::{FakeApi, Received, Reply, retry_time};

pub const MASTODON_TOKEN: &str = "mastodon-access-token-never-shown";
pub const MASTODON_MAX_CHARS: usize = 500;

pub async fn start() -> FakeApi {
    FakeApi::serve(Router::new().route("/api/v1/statuses", post(statuses))).await
}

async fn statuses(
    State(fake): State<FakeApi>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut received = Received {
        path: uri.path().to_owned(),
        headers: headers.clone(),
        body: body.clone(),
        status: 200,
        retry_at: None,
    };
    let (status, answer, extra) = answer(&fake, &headers, &body, &mut received);
    received.status = status;
    fake.record(received);
    let mut resp = (
        StatusCode::from_u16(status).expect("status"),
        axum::Json(answer),
    )
        .into_response();
    if let Some(reset) = extra {
        resp.headers_mut()
            .insert("x-ratelimit-reset", reset.parse().expect("header value"));
    }
    resp
}

fn answer(
    fake: &FakeApi,
    headers: &HeaderMap,
    body: &str,
    received: &mut Received,
) -> (u16, Value, Option<String>) {
    match fake.scripted() {
        Some(Reply::Status(code)) => return (code, json!({"error": "scripted failure"}), None),
        Some(Reply::RateLimited(secs)) => {
            let at = retry_time(secs);
            received.retry_at = Some(at);
            let reset = at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            return (429, json!({"error": "Too many requests"}), Some(reset));
        }
        None => {}
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {MASTODON_TOKEN}")) {
        return (401, json!({"error": "The access token is invalid"}), None);
    }
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return (
            400,
            json!({"error": "the hub always sends an Idempotency-Key"}),
            None,
        );
    };
    let status = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["status"].as_str().map(str::to_owned));
    match status {
        None => (
            422,
            json!({"error": "Validation failed: Text can't be blank"}),
            None,
        ),
        Some(s) if s.chars().count() > MASTODON_MAX_CHARS => (
            422,
            json!({"error": "Validation failed: Text character limit of 500 exceeded"}),
            None,
        ),
        Some(s) => {
            let repeat = fake
                .accepted("/api/v1/statuses")
                .iter()
                .any(|r| r.header("idempotency-key") == Some(key));
            let id = if repeat { "repeat" } else { "new" };
            (200, json!({"id": id, "content": s}), None)
        }
    }
}
