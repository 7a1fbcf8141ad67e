//! A fake Telegram Bot API: `POST /bot{token}/sendMessage` as Telegram documents it. It checks
//! the token in the path (401 `Unauthorized` otherwise), `chat_id` (400 `chat not found` for
//! another chat) and the text (400 `message is too long` over 4,096 characters). Answers are
//! Telegram's `{"ok":…}` objects; a rate limit is 429 with `parameters.retry_after` in the body.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::fake_api::{FakeApi, Received, Reply, retry_time};

pub const TELEGRAM_TOKEN: &str = "123456789:telegram-bot-token-never-shown";
pub const TELEGRAM_CHAT: i64 = -1_001_234_567_890;
pub const TELEGRAM_MAX_CHARS: usize = 4096;

pub async fn start() -> FakeApi {
    FakeApi::serve(Router::new().route("/{bot}/sendMessage", post(send_message))).await
}

fn error(code: u16, description: &str) -> (u16, Value) {
    (
        code,
        json!({"ok": false, "error_code": code, "description": description}),
    )
}

async fn send_message(
    State(fake): State<FakeApi>,
    Path(bot): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut received = Received {
        path: uri.path().to_owned(),
        headers,
        body: body.clone(),
        status: 200,
        retry_at: None,
    };
    let (status, answer) = match fake.scripted() {
        Some(Reply::Status(code)) => error(code, "scripted failure"),
        Some(Reply::RateLimited(secs)) => {
            let whole = secs.ceil() as u64;
            received.retry_at = Some(retry_time(whole as f64));
            let (code, mut v) = error(429, &format!("Too Many Requests: retry after {whole}"));
            v["parameters"] = json!({"retry_after": whole});
            (code, v)
        }
        None => judge(&bot, &body),
    };
    received.status = status;
    fake.record(received);
    (
        StatusCode::from_u16(status).expect("status"),
        axum::Json(answer),
    )
        .into_response()
}

fn judge(bot: &str, body: &str) -> (u16, Value) {
    if bot.strip_prefix("bot") != Some(TELEGRAM_TOKEN) {
        return error(401, "Unauthorized");
    }
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let chat_ok = v["chat_id"].as_i64() == Some(TELEGRAM_CHAT)
        || v["chat_id"].as_str() == Some(&TELEGRAM_CHAT.to_string());
    if !chat_ok {
        return error(400, "Bad Request: chat not found");
    }
    match v["text"].as_str() {
        None | Some("") => error(400, "Bad Request: message text is empty"),
        Some(t) if t.chars().count() > TELEGRAM_MAX_CHARS => {
            error(400, "Bad Request: message is too long")
        }
        Some(t) => (
            200,
            json!({"ok": true, "result": {"message_id": 1, "text": t}}),
        ),
    }
}
