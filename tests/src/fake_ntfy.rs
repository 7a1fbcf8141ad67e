//! A fake ntfy server: `POST /{topic}` as ntfy documents it. It checks the access token when one
//! is set (403 otherwise), decodes the `Title` header as ntfy does (an RFC 2047
//! `=?UTF-8?B?…?=` word, or plain ASCII) and refuses a body over 4,096 bytes (413). A rate limit
//! is 429, with `Retry-After` when the script asks for a wait.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::json;

use crate::fake_api::{FakeApi, Received, Reply, retry_time};

pub const NTFY_TOKEN: &str = "tk_ntfy-token-never-shown";
pub const NTFY_MAX_BYTES: usize = 4096;

pub async fn start() -> FakeApi {
    FakeApi::serve(Router::new().route("/{topic}", post(publish))).await
}

/// The `Title` header as ntfy shows it: an RFC 2047 B-encoded UTF-8 word decoded, else as sent.
pub fn decoded_title(received: &Received) -> Option<String> {
    let raw = received.header("title")?;
    let Some(b64) = raw
        .strip_prefix("=?UTF-8?B?")
        .or_else(|| raw.strip_prefix("=?utf-8?b?"))
        .and_then(|r| r.strip_suffix("?="))
    else {
        return Some(raw.to_owned());
    };
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    String::from_utf8(bytes).ok()
}

async fn publish(
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
    let mut retry_after = None;
    let status = match fake.scripted() {
        Some(Reply::Status(code)) => code,
        Some(Reply::RateLimited(secs)) => {
            let whole = secs.ceil() as u64;
            received.retry_at = Some(retry_time(whole as f64));
            retry_after = Some(whole.to_string());
            429
        }
        None => {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
            if auth != Some(&format!("Bearer {NTFY_TOKEN}")) {
                403
            } else if body.len() > NTFY_MAX_BYTES {
                413
            } else if decoded_title(&received).is_none() {
                400
            } else {
                200
            }
        }
    };
    received.status = status;
    fake.record(received);
    let code = StatusCode::from_u16(status).expect("status");
    let answer = json!({"code": u32::from(status) * 100 + 1, "http": status, "error": "fake ntfy"});
    let mut resp = (code, axum::Json(answer)).into_response();
    if let Some(wait) = retry_after {
        resp.headers_mut()
            .insert("retry-after", wait.parse().expect("header value"));
    }
    resp
}
