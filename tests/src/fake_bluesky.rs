//! A fake Bluesky PDS: `com.atproto.server.createSession` and `com.atproto.repo.createRecord`
//! as the AT Protocol documents them, checking what the real PDS checks:
//!
//! - the session: handle and app password (401 `AuthenticationRequired` otherwise); each session
//!   gets a fresh access token, and [`expire_sessions`] makes every token so far answer 400
//!   `ExpiredToken`, as an expired JWT does;
//! - the post: the bearer token, `repo` (the session's DID), `collection`, and the
//!   `app.bsky.feed.post` lexicon's required fields `$type`, `text`, `createdAt` (a datetime);
//!   `text` at most 300 graphemes and 3,000 bytes; each facet's `byteStart`/`byteEnd` inside the
//!   text's UTF-8 bytes, and a link feature's `uri` exactly the bytes it indexes (400
//!   `InvalidRequest` otherwise).
//!
//! A rate limit is 429 `RateLimitExceeded` with `RateLimit-Reset` in Unix seconds.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use unicode_segmentation::UnicodeSegmentation;

use crate::fake_api::{FakeApi, Received, Reply, retry_time};

pub const BLUESKY_HANDLE: &str = "station.bsky.test";
pub const BLUESKY_APP_PASSWORD: &str = "bsky-app-password-never-shown";
pub const BLUESKY_DID: &str = "did:plc:fakestation";
pub const BLUESKY_MAX_GRAPHEMES: usize = 300;
pub const SESSION_PATH: &str = "/xrpc/com.atproto.server.createSession";
pub const RECORD_PATH: &str = "/xrpc/com.atproto.repo.createRecord";

pub async fn start() -> FakeApi {
    FakeApi::serve(
        Router::new()
            .route(SESSION_PATH, post(handle))
            .route(RECORD_PATH, post(handle)),
    )
    .await
}

/// Makes every session made so far by `fake` expired (the fake's mark counts them).
pub fn expire_sessions(fake: &FakeApi) {
    fake.set_mark(fake.accepted(SESSION_PATH).len());
}

fn xrpc_error(status: u16, error: &str, message: &str) -> (u16, Value) {
    (status, json!({"error": error, "message": message}))
}

async fn handle(
    State(fake): State<FakeApi>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let path = uri.path().to_owned();
    let mut received = Received {
        path: path.clone(),
        headers: headers.clone(),
        body: body.clone(),
        status: 200,
        retry_at: None,
    };
    let mut reset = None;
    let (status, answer) = match fake.scripted() {
        Some(Reply::Status(code)) => xrpc_error(code, "InternalServerError", "scripted failure"),
        Some(Reply::RateLimited(secs)) => {
            let at = retry_time(secs.ceil()).as_second();
            received.retry_at = jiff::Timestamp::from_second(at).ok();
            reset = Some(at.to_string());
            xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        }
        None if path == SESSION_PATH => create_session(&fake, &body),
        None => create_record(&fake, &headers, &body),
    };
    received.status = status;
    fake.record(received);
    let mut resp = (
        StatusCode::from_u16(status).expect("status"),
        axum::Json(answer),
    )
        .into_response();
    if let Some(reset) = reset {
        resp.headers_mut()
            .insert("ratelimit-reset", reset.parse().expect("header value"));
    }
    resp
}

fn create_session(fake: &FakeApi, body: &str) -> (u16, Value) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if v["identifier"] != BLUESKY_HANDLE || v["password"] != BLUESKY_APP_PASSWORD {
        return xrpc_error(
            401,
            "AuthenticationRequired",
            "Invalid identifier or password",
        );
    }
    let n = fake.accepted(SESSION_PATH).len();
    (
        200,
        json!({
            "accessJwt": format!("access-jwt-{n}"),
            "refreshJwt": format!("refresh-jwt-{n}"),
            "did": BLUESKY_DID,
            "handle": BLUESKY_HANDLE,
        }),
    )
}

fn create_record(fake: &FakeApi, headers: &HeaderMap, body: &str) -> (u16, Value) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let session = auth
        .strip_prefix("Bearer access-jwt-")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n < fake.accepted(SESSION_PATH).len());
    match session {
        None => return xrpc_error(401, "AuthenticationRequired", "Invalid token"),
        Some(n) if n < fake.mark() => {
            return xrpc_error(400, "ExpiredToken", "Token has expired");
        }
        Some(_) => {}
    }
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if v["repo"] != BLUESKY_DID || v["collection"] != "app.bsky.feed.post" {
        return xrpc_error(400, "InvalidRequest", "repo or collection");
    }
    match check_post(&v["record"]) {
        Ok(()) => (
            200,
            json!({"uri": format!("at://{BLUESKY_DID}/app.bsky.feed.post/3k"), "cid": "bafyfake"}),
        ),
        Err(message) => xrpc_error(400, "InvalidRequest", &message),
    }
}

/// The `app.bsky.feed.post` lexicon's checks on a record.
pub fn check_post(record: &Value) -> Result<(), String> {
    if record["$type"] != "app.bsky.feed.post" {
        return Err("Invalid app.bsky.feed.post record: $type".into());
    }
    let text = record["text"]
        .as_str()
        .ok_or("Record must have the property \"text\"")?;
    let created = record["createdAt"]
        .as_str()
        .ok_or("Record must have the property \"createdAt\"")?;
    created
        .parse::<jiff::Timestamp>()
        .map_err(|e| format!("createdAt must be a datetime: {e}"))?;
    if text.graphemes(true).count() > BLUESKY_MAX_GRAPHEMES || text.len() > 3000 {
        return Err("Record/text must not be longer than 300 graphemes".into());
    }
    for facet in record["facets"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        check_facet(text, facet)?;
    }
    Ok(())
}

fn check_facet(text: &str, facet: &Value) -> Result<(), String> {
    let start = facet["index"]["byteStart"]
        .as_u64()
        .ok_or("facet without byteStart")? as usize;
    let end = facet["index"]["byteEnd"]
        .as_u64()
        .ok_or("facet without byteEnd")? as usize;
    let indexed = text
        .as_bytes()
        .get(start..end)
        .filter(|_| start < end)
        .ok_or_else(|| {
            format!(
                "facet {start}..{end} outside the text's {} bytes",
                text.len()
            )
        })?;
    for feature in facet["features"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if feature["$type"] == "app.bsky.richtext.facet#link"
            && feature["uri"].as_str().map(str::as_bytes) != Some(indexed)
        {
            return Err(format!("link facet {start}..{end} does not index its uri"));
        }
    }
    Ok(())
}
