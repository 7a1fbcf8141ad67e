//! Bluesky (any AT Protocol PDS): a session from `com.atproto.server.createSession` with the
//! handle and an app password, then `com.atproto.repo.createRecord` of an `app.bsky.feed.post`.
//!
//! The session's access token is kept and reused: the PDS limits session creation far more
//! strictly than posting. When it has expired (401, or 400 `ExpiredToken`), a new session is
//! made and the post tried once more in the same attempt.
//!
//! A post holds 300 graphemes; the line is cut to that (a trailing link kept whole). Bluesky
//! does not link URLs in the text by itself: each URL gets a link facet, whose `byteStart` /
//! `byteEnd` count UTF-8 bytes of the text. A 429 is retried at `RateLimit-Reset` (Unix
//! seconds). The API has no idempotency key: a send cut by a kill before the ledger recorded it
//! may be repeated once.
//!
//! Keys: `pds` (default `https://bsky.social`), `handle`, `app_password` (a secret).

use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use super::attempt::{self, Answer, Attempt};
use super::block::{Block, Secret, TargetConfigError, credential_and_url, without_query};
use super::cut::{self, Unit};
use super::kind::Kind;
use crate::store::Outgoing;

/// The lexicon's `maxGraphemes` for a post's text.
pub const MAX_POST_GRAPHEMES: usize = 300;
pub const DEFAULT_PDS: &str = "https://bsky.social";

#[derive(Debug)]
pub struct BlueskyTarget {
    pub pds: Url,
    pub handle: String,
    pub app_password: Secret,
    /// The current session, made on the first send.
    session: Mutex<Option<Session>>,
}

/// What `createSession` answers that a post needs.
#[derive(Debug, Clone)]
struct Session {
    did: String,
    access_jwt: Secret,
}

impl Kind for BlueskyTarget {
    fn parse(block: &mut Block) -> Result<BlueskyTarget, TargetConfigError> {
        let pds = block.take_url_or("pds", |r| &mut r.pds, DEFAULT_PDS)?;
        let handle = block.take_required("handle", |r| &mut r.handle)?;
        let handle = handle.trim().trim_start_matches('@').to_owned();
        if handle.chars().any(char::is_whitespace) {
            return Err(block.err("handle", "is not a handle (like dj.bsky.social)"));
        }
        let app_password = block.take_required("app_password", |r| &mut r.app_password)?;
        Ok(BlueskyTarget {
            pds,
            handle,
            app_password: Secret::new(app_password),
            session: Mutex::new(None),
        })
    }

    fn endpoint(&self) -> String {
        format!("{} as {}", without_query(&self.pds), self.handle)
    }

    fn secrets(&self) -> Vec<&str> {
        credential_and_url([&self.app_password], &self.pds)
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

/// What came of a post.
enum Posted {
    Answer(Attempt),
    /// The session is no longer valid: make a new one.
    Expired,
}

async fn send(
    http: &reqwest::Client,
    target: &BlueskyTarget,
    item: &Outgoing,
    timeout: Duration,
) -> Attempt {
    let record = post_record(item.message().as_str(), jiff::Timestamp::now());
    let mut slot = target.session.lock().await;
    // After an expiry, one new session and one more try: a second expiry is an answer.
    for renew in [slot.is_none(), true] {
        if renew {
            match create_session(http, target, timeout).await {
                Ok(s) => *slot = Some(s),
                Err(a) => return a,
            }
        }
        let Some(session) = slot.clone() else {
            continue;
        };
        match create_record(http, target, &session, &record, timeout).await {
            Posted::Answer(a) => return a,
            Posted::Expired => *slot = None,
        }
    }
    Attempt::Retry {
        error: "the new session expired at once".into(),
        after: None,
    }
}

fn failed(error: &str) -> Attempt {
    Attempt::Failed {
        error: error.into(),
    }
}

async fn create_session(
    http: &reqwest::Client,
    target: &BlueskyTarget,
    timeout: Duration,
) -> Result<Session, Attempt> {
    let Some(url) = xrpc_url(&target.pds, "com.atproto.server.createSession") else {
        return Err(failed("the pds URL cannot take a path"));
    };
    let body = json!({
        "identifier": target.handle,
        "password": target.app_password.expose(),
    });
    let request = http.post(url).json(&body);
    let answer = match request.send().await {
        Ok(resp) => Answer::read(resp).await,
        Err(e) => return Err(attempt::network_error(&e, timeout)),
    };
    if !answer.status.is_success() {
        return Err(labelled("createSession", judge(&answer)));
    }
    let v: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    match (v["did"].as_str(), v["accessJwt"].as_str()) {
        (Some(did), Some(jwt)) => Ok(Session {
            did: did.to_owned(),
            access_jwt: Secret::new(jwt),
        }),
        _ => Err(Attempt::Retry {
            error: "createSession: the answer has no did or accessJwt".into(),
            after: None,
        }),
    }
}

async fn create_record(
    http: &reqwest::Client,
    target: &BlueskyTarget,
    session: &Session,
    record: &Value,
    timeout: Duration,
) -> Posted {
    let Some(url) = xrpc_url(&target.pds, "com.atproto.repo.createRecord") else {
        return Posted::Answer(failed("the pds URL cannot take a path"));
    };
    let body = json!({
        "repo": session.did,
        "collection": "app.bsky.feed.post",
        "record": record,
    });
    let request = http
        .post(url)
        .bearer_auth(session.access_jwt.expose())
        .json(&body);
    let answer = match request.send().await {
        Ok(resp) => Answer::read(resp).await,
        Err(e) => return Posted::Answer(attempt::network_error(&e, timeout)),
    };
    if expired(&answer) {
        return Posted::Expired;
    }
    Posted::Answer(labelled("createRecord", judge(&answer)))
}

/// 401, or the `ExpiredToken` / `InvalidToken` error a PDS answers with a 400.
fn expired(answer: &Answer) -> bool {
    let error = serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned));
    answer.status.as_u16() == 401
        || (answer.status.as_u16() == 400
            && matches!(error.as_deref(), Some("ExpiredToken" | "InvalidToken")))
}

fn judge(answer: &Answer) -> Attempt {
    answer.judge(reset_wait(&answer.headers))
}

/// Names the call that failed: `createSession: 401 Unauthorized: …`.
fn labelled(call: &str, attempt: Attempt) -> Attempt {
    match attempt {
        Attempt::Retry { error, after } => Attempt::Retry {
            error: format!("{call}: {error}"),
            after,
        },
        Attempt::Failed { error } => Attempt::Failed {
            error: format!("{call}: {error}"),
        },
        sent => sent,
    }
}

/// The wait until `RateLimit-Reset` (Unix seconds), zero when it has passed.
fn reset_wait(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("ratelimit-reset")?.to_str().ok()?;
    let at = jiff::Timestamp::from_second(value.trim().parse().ok()?).ok()?;
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// The `app.bsky.feed.post` record of a line: its text cut to [`MAX_POST_GRAPHEMES`] and a
/// link facet per URL in it.
pub fn post_record(line: &str, now: jiff::Timestamp) -> Value {
    let text = cut::fit(line, MAX_POST_GRAPHEMES, Unit::Grapheme);
    let facets: Vec<Value> = cut::links(&text)
        .into_iter()
        .map(|range| {
            json!({
                "index": {"byteStart": range.start, "byteEnd": range.end},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": &text[range]}],
            })
        })
        .collect();
    let mut record = json!({
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    });
    if !facets.is_empty() {
        record["facets"] = Value::Array(facets);
    }
    record
}

fn xrpc_url(pds: &Url, method: &str) -> Option<Url> {
    let mut url = pds.clone();
    url.set_query(None);
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(["xrpc", method]);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_segmentation::UnicodeSegmentation;

    const URL: &str = "https://soundcloud.com/a/b";

    #[test]
    fn the_facet_points_at_the_url_in_bytes() {
        let line = format!("Now Playing: Ünïcødé 日本語 🎧 by Björk - {URL}");
        let record = post_record(&line, jiff::Timestamp::UNIX_EPOCH);
        let text = record["text"].as_str().expect("text");
        let index = &record["facets"][0]["index"];
        let start = index["byteStart"].as_u64().expect("start") as usize;
        let end = index["byteEnd"].as_u64().expect("end") as usize;
        assert_eq!(&text.as_bytes()[start..end], URL.as_bytes());
        assert_eq!(start, line.find(URL).expect("the URL is in the line"));
        assert!(
            start > line[..start].chars().count(),
            "bytes, not characters"
        );
        assert_eq!(record["facets"][0]["features"][0]["uri"], URL);
        assert_eq!(
            record["facets"][0]["features"][0]["$type"],
            "app.bsky.richtext.facet#link"
        );
        assert_eq!(record["$type"], "app.bsky.feed.post");
        assert_eq!(record["createdAt"], "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn a_long_line_is_cut_to_300_graphemes_with_the_link_whole() {
        let line = format!("Now Playing: {} - {URL}", "é".repeat(3000));
        let record = post_record(&line, jiff::Timestamp::UNIX_EPOCH);
        let text = record["text"].as_str().expect("text");
        assert_eq!(text.graphemes(true).count(), MAX_POST_GRAPHEMES);
        assert!(text.ends_with(&format!("… {URL}")), "{text}");
        let index = &record["facets"][0]["index"];
        let start = index["byteStart"].as_u64().expect("start") as usize;
        assert_eq!(&text[start..], URL);
    }

    #[test]
    fn no_url_no_facets() {
        let record = post_record("just text", jiff::Timestamp::UNIX_EPOCH);
        assert!(record.get("facets").is_none());
    }

    #[test]
    fn the_reset_is_read_as_unix_seconds() {
        let mut h = HeaderMap::new();
        let at = jiff::Timestamp::now().as_second() + 60;
        h.insert("ratelimit-reset", at.to_string().parse().expect("value"));
        let wait = reset_wait(&h).expect("a wait");
        assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(60));
        h.insert("ratelimit-reset", "1".parse().expect("value"));
        assert_eq!(reset_wait(&h), Some(Duration::ZERO));
    }
}
