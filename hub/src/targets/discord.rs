//! Discord channel webhooks: `POST {url}` with `{"content": line}`; Discord answers 204.
//!
//! Discord reads the content as Markdown, and a title is whatever its uploader typed: the line
//! goes out with every Markdown character escaped, so `[free](https://phish.example)` shows as
//! typed instead of as a masked link posted by the station's bot. Bare http(s) URLs are left
//! alone, so Discord still links them; no mention pings anyone (`allowed_mentions`).
//!
//! The block has one key of its own, `url`. Its last path segment is the webhook's token, so
//! logs and the dashboard show it as `…/webhooks/ID/***`.
//!
//! Discord allows about 5 requests per 2 s per webhook and says how much is left in
//! `X-RateLimit-Remaining` / `X-RateLimit-Reset-After`: when a send used the last one, the worker
//! pauses until the reset instead of running into a 429. A 429 still happens (a shared limit),
//! and its JSON `retry_after` (seconds) is honoured.

use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde_json::json;
use url::Url;

use super::attempt::{self, Answer, Attempt};
use super::block::{Block, Secret, TargetConfigError};
use super::kind::Kind;
use crate::store::Outgoing;

/// A Discord channel webhook. The URL's last path segment is its token, so the URL itself is a
/// secret: it is only ever shown through [`DiscordTarget::redacted`].
#[derive(Debug, Clone)]
pub struct DiscordTarget {
    pub url: Secret,
    /// The URL's token segment, kept apart so error texts can be scrubbed of it.
    pub token: Secret,
    /// `scheme://host/…/webhooks/ID/***`, for logs and the dashboard.
    pub redacted: String,
}

/// Discord refuses longer messages with a 400.
pub const MAX_CONTENT_CHARS: usize = 2000;

/// Characters Discord's Markdown gives a meaning to (formatting, links, headings, quotes,
/// spoilers, code, `<@…>`/`<t:…>` tags); each shows as typed after a backslash.
const MARKDOWN: &[char] = &[
    '\\', '*', '_', '~', '`', '|', '<', '>', '[', ']', '(', ')', '#',
];

impl Kind for DiscordTarget {
    /// `url`, which must end in `webhooks/ID/TOKEN`.
    fn parse(block: &mut Block) -> Result<DiscordTarget, TargetConfigError> {
        let url = block.take_url("url", |r| &mut r.url)?;
        let (redacted, token) = redact(&url).ok_or_else(|| {
            block.err(
                "url",
                "is not a Discord webhook URL (…/api/webhooks/ID/TOKEN, from the channel's \
                 Integrations → Webhooks → Copy Webhook URL)",
            )
        })?;
        Ok(DiscordTarget {
            url: Secret::new(url.as_str()),
            token: Secret::new(token),
            redacted,
        })
    }

    fn endpoint(&self) -> String {
        self.redacted.clone()
    }

    fn secrets(&self) -> Vec<&str> {
        vec![self.url.expose(), self.token.expose()]
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

/// `scheme://host[:port]/…/webhooks/ID/***` and the token, for a URL whose path ends in
/// `webhooks/ID/TOKEN`.
fn redact(url: &Url) -> Option<(String, String)> {
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let [.., webhooks, id, token] = segments.as_slice() else {
        return None;
    };
    if *webhooks != "webhooks" || id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if token.is_empty() {
        return None;
    }
    let host = url.host_str()?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let shown = format!("{}://{host}{port}/…/webhooks/{id}/***", url.scheme());
    Some((shown, (*token).to_owned()))
}

async fn send(
    http: &reqwest::Client,
    target: &DiscordTarget,
    item: &Outgoing,
    timeout: Duration,
) -> Attempt {
    let body = json!({
        "content": content(item.message().as_str()),
        // A track called "@everyone" must not ping a whole server.
        "allowed_mentions": {"parse": []},
    });
    let request = http.post(target.url.expose()).json(&body);
    attempt::send(request, timeout, judge).await
}

fn judge(answer: Answer) -> Attempt {
    let hint = serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("retry_after").and_then(serde_json::Value::as_f64))
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

/// The line with its Markdown escaped, cut to Discord's 2,000 characters on a character
/// boundary (marked with `…`).
pub fn content(line: &str) -> String {
    let line = escape_markdown(line);
    if line.chars().count() <= MAX_CONTENT_CHARS {
        return line;
    }
    let mut out: String = line.chars().take(MAX_CONTENT_CHARS - 1).collect();
    out.push('…');
    out
}

/// The line as Discord shows it literally: every Markdown character escaped, and `-`/`+` at
/// the start (a list). Words that are plain http(s) URLs are kept as they are, since an escape
/// inside one would end Discord's link there.
pub fn escape_markdown(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 8);
    for (n, word) in line.split_inclusive(char::is_whitespace).enumerate() {
        if is_plain_url(word.trim_end()) {
            out.push_str(word);
            continue;
        }
        for (i, c) in word.chars().enumerate() {
            let list_marker = n == 0 && i == 0 && matches!(c, '-' | '+');
            if list_marker || MARKDOWN.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// Whether a word is an http(s) URL Discord shows as a plain link, with none of the
/// characters that could start Markdown or a `<…>` tag inside it.
fn is_plain_url(word: &str) -> bool {
    let rest = word
        .strip_prefix("https://")
        .or_else(|| word.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.contains(['<', '>', '`', '|', '*', '~', '[', ']', '\\'])
    })
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
    fn markdown_is_escaped_and_urls_are_kept() {
        assert_eq!(
            escape_markdown("[free](https://phish.example) **b** __u__ ~~s~~ ||x|| `c` \\"),
            r"\[free\]\(https://phish.example\) \*\*b\*\* \_\_u\_\_ \~\~s\~\~ \|\|x\|\| \`c\` \\"
        );
        assert_eq!(
            escape_markdown("Now Playing: Song #3: T by A - https://soundcloud.com/a/b_c"),
            r"Now Playing: Song \#3: T by A - https://soundcloud.com/a/b_c"
        );
        assert_eq!(
            escape_markdown("# big > quote <@123> <t:0>"),
            r"\# big \> quote \<@123\> \<t:0\>"
        );
        assert_eq!(escape_markdown("- item + more"), r"\- item + more");
        assert_eq!(
            escape_markdown("see https://a.example/x](https://evil) http://"),
            r"see https://a.example/x\]\(https://evil\) http://"
        );
        assert_eq!(escape_markdown("héllo wörld"), "héllo wörld");
    }

    #[test]
    fn escapes_count_towards_the_limit() {
        let cut = content(&"*".repeat(1500));
        assert_eq!(cut.chars().count(), MAX_CONTENT_CHARS);
        assert!(cut.starts_with(r"\*\*"));
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
