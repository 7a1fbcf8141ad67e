//! Telegram bots: `POST {api_base}/bot{bot_token}/sendMessage` with `{"chat_id", "text"}`, the
//! text cut to Telegram's 4,096 characters. No parse mode: the line shows as typed, and
//! Telegram links the URL itself.
//!
//! The bot token is part of the URL, so the URL is never shown: logs and the dashboard see
//! `{api_base}/bot***/sendMessage`, and error texts are scrubbed of the token (the worker
//! replaces every secret a kind lists; network errors never carry the URL).
//!
//! A 429 answers `{"ok":false,"error_code":429,"parameters":{"retry_after":N}}`; the retry waits
//! those N seconds. Telegram has no idempotency key: a send cut by a kill before the ledger
//! recorded it may be repeated once.
//!
//! Keys: `bot_token` (a secret), `chat_id` (a number, or `@channelname`), `api_base` (default
//! `https://api.telegram.org`, for a local Bot API server).

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::json;
use url::Url;

use super::attempt::{self, Answer, Attempt};
use super::block::{Block, ChatId, Secret, TargetConfigError, credential_and_url, without_query};
use super::cut::{self, Unit};
use super::kind::Kind;
use crate::store::Outgoing;

/// Telegram refuses longer messages.
pub const MAX_TEXT_CHARS: usize = 4096;
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

#[derive(Debug, Clone)]
pub struct TelegramTarget {
    pub api_base: Url,
    pub bot_token: Secret,
    pub chat_id: ChatId,
}

impl Kind for TelegramTarget {
    fn parse(block: &mut Block) -> Result<TelegramTarget, TargetConfigError> {
        let api_base = block.take_url_or("api_base", |r| &mut r.api_base, DEFAULT_API_BASE)?;
        let token = block.take_required("bot_token", |r| &mut r.bot_token)?;
        if !token.chars().all(|c| c.is_ascii_graphic() && c != '/') {
            return Err(block.err(
                "bot_token",
                "is not a bot token (like 123456:ABC-DEF…, from @BotFather)",
            ));
        }
        let chat_id = match block.raw.chat_id.take() {
            Some(ChatId::Text(t)) if t.trim().is_empty() => None,
            other => other,
        }
        .ok_or_else(|| block.err("chat_id", "is required for a telegram target"))?;
        Ok(TelegramTarget {
            api_base,
            bot_token: Secret::new(token),
            chat_id,
        })
    }

    fn endpoint(&self) -> String {
        let chat = match &self.chat_id {
            ChatId::Number(n) => n.to_string(),
            ChatId::Text(t) => t.clone(),
        };
        format!(
            "{}/bot***/sendMessage chat {chat}",
            without_query(&self.api_base)
        )
    }

    fn secrets(&self) -> Vec<&str> {
        credential_and_url([&self.bot_token], &self.api_base)
    }

    fn send<'a>(
        &'a self,
        http: &'a reqwest::Client,
        item: &'a Outgoing,
        timeout: Duration,
    ) -> BoxFuture<'a, Attempt> {
        Box::pin(send(http, self, item, timeout))
    }
}

async fn send(
    http: &reqwest::Client,
    target: &TelegramTarget,
    item: &Outgoing,
    timeout: Duration,
) -> Attempt {
    let Some(url) = send_url(target) else {
        return Attempt::Failed {
            error: "the api_base URL cannot take a path".into(),
        };
    };
    let chat_id = match &target.chat_id {
        ChatId::Number(n) => json!(n),
        ChatId::Text(t) => json!(t),
    };
    let body = json!({
        "chat_id": chat_id,
        "text": text(item.message().as_str()),
    });
    attempt::send(http.post(url).json(&body), timeout, judge).await
}

/// Telegram's error JSON: `description` says what went wrong, `parameters.retry_after` how
/// long to wait after a 429.
fn judge(answer: Answer) -> Attempt {
    let body = serde_json::from_str::<serde_json::Value>(&answer.body).ok();
    let hint = body
        .as_ref()
        .and_then(|v| v["parameters"]["retry_after"].as_f64())
        .and_then(attempt::seconds);
    let described = |error: String| match body.as_ref().and_then(|v| v["description"].as_str()) {
        Some(d) => format!(
            "{}: {}",
            answer.status.as_u16(),
            cut::fit(d, 200, Unit::Char)
        ),
        None => error,
    };
    match answer.judge(hint) {
        Attempt::Retry { error, after } => Attempt::Retry {
            error: described(error),
            after,
        },
        Attempt::Failed { error } => Attempt::Failed {
            error: described(error),
        },
        sent => sent,
    }
}

/// The line as a message: at most [`MAX_TEXT_CHARS`] characters.
pub fn text(line: &str) -> String {
    cut::fit(line, MAX_TEXT_CHARS, Unit::Char)
}

/// `{api_base}/bot{token}/sendMessage`: the token is one path segment.
fn send_url(target: &TelegramTarget) -> Option<Url> {
    let mut url = target.api_base.clone();
    url.path_segments_mut().ok()?.pop_if_empty().extend([
        format!("bot{}", target.bot_token.expose()).as_str(),
        "sendMessage",
    ]);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn target() -> TelegramTarget {
        TelegramTarget {
            api_base: Url::parse(DEFAULT_API_BASE).expect("url"),
            bot_token: Secret::new("123:abc"),
            chat_id: ChatId::Number(-100),
        }
    }

    #[test]
    fn the_token_is_in_the_path_and_not_in_the_endpoint() {
        let t = target();
        assert_eq!(
            send_url(&t).expect("url").as_str(),
            "https://api.telegram.org/bot123:abc/sendMessage"
        );
        assert_eq!(
            t.endpoint(),
            "https://api.telegram.org/bot***/sendMessage chat -100"
        );
    }

    #[test]
    fn retry_after_in_the_body_is_honoured() {
        let answer = Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers: reqwest::header::HeaderMap::new(),
            body: r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#.into(),
        };
        assert_eq!(
            judge(answer),
            Attempt::Retry {
                error: "429: Too Many Requests: retry after 7".into(),
                after: Some(Duration::from_secs(7))
            }
        );
    }

    #[test]
    fn a_long_line_is_cut_to_4096() {
        assert_eq!(text(&"ж".repeat(5000)).chars().count(), MAX_TEXT_CHARS);
    }
}
