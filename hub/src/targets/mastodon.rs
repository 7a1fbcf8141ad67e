//! Mastodon: `POST {instance}/api/v1/statuses` with `{"status": line}`, authorised by an
//! access token (`Authorization: Bearer`).
//!
//! `Idempotency-Key: announce-{seq}` (`live-{show_id}`, `reminder-{show_id}`): Mastodon answers a repeated key (for about an hour) with
//! the status it already made, so a retry after a lost answer never posts twice.
//!
//! A status holds 500 characters. The line is cut to that, counting a URL at its full length
//! (Mastodon itself counts every URL as 23, so a cut line always fits), and a trailing link is
//! kept whole. A 429 is retried at `X-RateLimit-Reset`, the RFC 3339 time the instance names.
//!
//! Keys: `instance` (the server's base URL) and `access_token` (a secret, never shown).

use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde_json::json;
use url::Url;

use super::attempt::{self, Answer, Attempt};
use super::block::{Block, Secret, TargetConfigError, credential_and_url, without_query};
use super::cut::{self, Unit};
use super::kind::Kind;
use crate::store::Outgoing;

/// Mastodon's default limit on a status.
pub const MAX_STATUS_CHARS: usize = 500;

#[derive(Debug, Clone)]
pub struct MastodonTarget {
    pub instance: Url,
    pub access_token: Secret,
}

impl Kind for MastodonTarget {
    fn parse(block: &mut Block) -> Result<MastodonTarget, TargetConfigError> {
        let instance = block.take_url("instance", |r| &mut r.instance)?;
        let token = block.take_required("access_token", |r| &mut r.access_token)?;
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(block.err(
                "access_token",
                "may only hold printable ASCII characters without spaces",
            ));
        }
        Ok(MastodonTarget {
            instance,
            access_token: Secret::new(token),
        })
    }

    fn endpoint(&self) -> String {
        without_query(&self.instance)
    }

    fn secrets(&self) -> Vec<&str> {
        credential_and_url([&self.access_token], &self.instance)
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
    target: &MastodonTarget,
    item: &Outgoing,
    timeout: Duration,
) -> Attempt {
    let Some(url) = statuses_url(&target.instance) else {
        return Attempt::Failed {
            error: "the instance URL cannot take a path".into(),
        };
    };
    let request = http
        .post(url)
        .bearer_auth(target.access_token.expose())
        .header("idempotency-key", item.idempotency_key())
        .json(&json!({ "status": status(item.message().as_str()) }));
    attempt::send(request, timeout, |a: Answer| {
        let hint = reset_wait(&a.headers);
        a.judge(hint)
    })
    .await
}

/// The line as a status: at most [`MAX_STATUS_CHARS`] characters, a trailing link whole.
pub fn status(line: &str) -> String {
    cut::fit(line, MAX_STATUS_CHARS, Unit::Char)
}

/// The wait until `X-RateLimit-Reset` (an RFC 3339 time), zero when it has passed.
fn reset_wait(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("x-ratelimit-reset")?.to_str().ok()?;
    let at: jiff::Timestamp = value.trim().parse().ok()?;
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

fn statuses_url(instance: &Url) -> Option<Url> {
    let mut url = instance.clone();
    url.set_query(None);
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(["api", "v1", "statuses"]);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_time_is_read_as_rfc_3339() {
        let mut h = HeaderMap::new();
        let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(90);
        h.insert(
            "x-ratelimit-reset",
            at.to_string().parse().expect("header value"),
        );
        let wait = reset_wait(&h).expect("a wait");
        assert!(wait > Duration::from_secs(85) && wait <= Duration::from_secs(90));
        h.insert(
            "x-ratelimit-reset",
            "2020-01-01T00:00:00.000Z".parse().expect("value"),
        );
        assert_eq!(reset_wait(&h), Some(Duration::ZERO));
        h.insert("x-ratelimit-reset", "soon".parse().expect("value"));
        assert_eq!(reset_wait(&h), None);
    }

    #[test]
    fn the_url_is_under_the_instance() {
        let url = statuses_url(&Url::parse("https://m.example/").expect("url")).expect("url");
        assert_eq!(url.as_str(), "https://m.example/api/v1/statuses");
    }

    #[test]
    fn a_status_is_cut_to_500_characters() {
        let line = format!(
            "Now Playing: {} - https://soundcloud.com/a/b",
            "日".repeat(3000)
        );
        let s = status(&line);
        assert_eq!(s.chars().count(), MAX_STATUS_CHARS);
        assert!(s.ends_with("… https://soundcloud.com/a/b"));
    }
}
