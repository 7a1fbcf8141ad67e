//! Discord channel webhooks: `POST {url}` with `{"content": line}`; Discord answers 204.
//!
//! Discord allows about 5 requests per 2 s per webhook and says how much is left in
//! `X-RateLimit-Remaining` / `X-RateLimit-Reset-After`: when a send used the last one, the worker
//! pauses until the reset instead of running into a 429. A 429 still happens (a shared limit),
//! and its JSON `retry_after` (seconds) is honoured.

use std::time::Duration;

use crate::store::Announcement;
use reqwest::header::HeaderMap;
use serde_json::json;

use super::attempt::{self, Answer, Attempt};
use super::config::DiscordTarget;

/// Discord refuses longer messages with a 400.
pub const MAX_CONTENT_CHARS: usize = 2000;

pub async fn send(
    http: &reqwest::Client,
    target: &DiscordTarget,
    announce: &Announcement,
    timeout: Duration,
) -> Attempt {
    let body = json!({
        "content": content(announce.message.as_str()),
        // A track called "@everyone" must not ping a whole server.
        "allowed_mentions": {"parse": []},
    });
    let request = http.post(target.url.expose()).json(&body);
    attempt::send(request, timeout, judge).await
}

fn judge(answer: Answer) -> Attempt {
    let hint = serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("retry_after").and_then(|r| r.as_f64()))
        .and_then(attempt::seconds);
    match answer.judge(hint) {
        Attempt::Sent { .. } => Attempt::Sent {
            pause: exhausted(&answer.headers),
        },
        other => other,
    }
}

/// The wait until the bucket refills, when this send used its last request.
fn exhausted(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("x-ratelimit-remaining")?.trim() != "0" {
        return None;
    }
    header("x-ratelimit-reset-after")?
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(attempt::seconds)
}

/// The line, cut to Discord's 2,000 characters on a character boundary (marked with `…`).
pub fn content(line: &str) -> String {
    if line.chars().count() <= MAX_CONTENT_CHARS {
        return line.to_owned();
    }
    let mut out: String = line.chars().take(MAX_CONTENT_CHARS - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_cut_on_a_character_boundary() {
        assert_eq!(content("short"), "short");
        let long = "é".repeat(2500);
        let cut = content(&long);
        assert_eq!(cut.chars().count(), MAX_CONTENT_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(content(&"a".repeat(2000)), "a".repeat(2000));
    }

    #[test]
    fn a_used_up_bucket_pauses() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", "0".parse().expect("value"));
        h.insert("x-ratelimit-reset-after", "0.75".parse().expect("value"));
        assert_eq!(exhausted(&h), Some(Duration::from_millis(750)));
        h.insert("x-ratelimit-remaining", "3".parse().expect("value"));
        assert_eq!(exhausted(&h), None);
    }
}
