//! SoundCloud's unofficial api-v2, as far as the hub needs it: resolve the DJ's profile, page
//! through their likes newest first, resolve a pasted track URL, and find a public `client_id`
//! in the web site's scripts when none is configured.
//!
//! Failures are typed ([`SoundcloudError`]) and never partial: a fetch either returns every like
//! it was asked for or an error, so the caller can keep the last good playlist.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use regex::Regex;
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use crate::store::{Like, TrackInfo};
use crate::web_url::WebUrl;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SoundcloudError {
    #[error("cannot reach SoundCloud ({0})")]
    Network(String),
    #[error("SoundCloud answered HTTP {status} for {what}")]
    Status { status: u16, what: &'static str },
    #[error("SoundCloud refused the client_id (HTTP {0}), also after scraping a fresh one")]
    Unauthorized(u16),
    #[error("SoundCloud kept answering HTTP {status} for {what}; gave up after {attempts} tries")]
    GaveUp {
        status: u16,
        what: &'static str,
        attempts: u32,
    },
    #[error("SoundCloud sent malformed data for {what}: {message}")]
    Malformed { what: &'static str, message: String },
    #[error("no client_id found in the scripts of {0}")]
    NoClientId(String),
    #[error("SoundCloud has no {0}")]
    NotFound(String),
    #[error("more than {0} pages of likes; stopped")]
    TooManyPages(u32),
}

/// `[soundcloud]`, validated: whose likes, where the API and the web pages are, a configured
/// client_id, and the poll intervals.
#[derive(Debug, Clone)]
pub struct SoundcloudConfig {
    pub api_base: Url,
    pub web_base: Url,
    pub client_id: Option<String>,
    pub poll_interval_seconds: u64,
    pub live_poll_interval_seconds: u64,
}

/// How hard to try when SoundCloud is rate limiting or failing.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries per request for 429, 5xx and network errors (at least 1).
    pub attempts: u32,
    /// The first retry waits between half of this and this; each further retry doubles it
    /// (the shared backoff rule), unless SoundCloud sends `Retry-After`.
    pub base: Duration,
    pub max: Duration,
    /// Per-request timeout, so a hung SoundCloud cannot stall the poller.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_secs(1),
            max: Duration::from_secs(30),
            timeout: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// SoundCloud's `Retry-After` when it sent one, else the shared backoff; never above `max`.
    fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        retry_after
            .unwrap_or_else(|| ntr_common::backoff::delay(self.base, self.max, retry))
            .min(self.max)
    }
}

/// What a fetch of likes found (newest first) or why it failed, and the requests it sent
/// either way, counted by the fetch itself so requests of concurrent work are not included.
#[derive(Debug)]
pub struct LikesFetch {
    pub likes: Result<Vec<Like>, SoundcloudError>,
    pub requests: u32,
}

const MAX_PAGES: u32 = 100;
const PAGE_SIZE: u32 = 200;

/// One client for the station: every show's poller shares its client_id, its backoff and its
/// request count, and each profile is resolved to its numeric id once.
pub struct SoundcloudClient {
    http: reqwest::Client,
    config: SoundcloudConfig,
    retry: RetryPolicy,
    client_id: Mutex<Option<String>>,
    /// Profile permalink → SoundCloud's numeric user id.
    user_ids: Mutex<HashMap<String, i64>>,
    requests: AtomicU32,
}

impl SoundcloudClient {
    pub fn new(config: SoundcloudConfig, retry: RetryPolicy) -> Result<Self, SoundcloudError> {
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .connect_timeout(retry.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("ntr-hub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SoundcloudError::Network(describe(e)))?;
        Ok(SoundcloudClient {
            http,
            client_id: Mutex::new(config.client_id.clone()),
            config,
            retry,
            user_ids: Mutex::new(HashMap::new()),
            requests: AtomicU32::new(0),
        })
    }

    /// Requests sent since the client was made, by everything that uses it (for `/metrics`).
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The client_id learnt so far (scraped or configured), to persist across restarts.
    pub fn known_client_id(&self) -> Option<String> {
        lock(&self.client_id).clone()
    }

    /// Seeds a client_id an earlier run learnt; a configured one wins.
    pub fn remember_client_id(&self, client_id: Option<String>) {
        let mut id = lock(&self.client_id);
        if id.is_none() {
            *id = client_id;
        }
    }

    /// `user`'s numeric id, if it has been resolved.
    pub fn user_id(&self, user: &str) -> Option<i64> {
        lock(&self.user_ids).get(user).copied()
    }

    /// Seeds `user`'s numeric id as an earlier run resolved it.
    pub fn remember_user_id(&self, user: &str, id: i64) {
        lock(&self.user_ids).insert(user.to_owned(), id);
    }

    /// Every like `user` made at or after `since`, newest first, and the requests that took.
    pub async fn likes_since(&self, user: &str, since: Timestamp) -> LikesFetch {
        let mut requests = 0;
        let likes = self.fetch_likes(user, since, &mut requests).await;
        LikesFetch { likes, requests }
    }

    /// `sent` counts every request this fetch makes, whether or not it succeeds.
    async fn fetch_likes(
        &self,
        user: &str,
        since: Timestamp,
        sent: &mut u32,
    ) -> Result<Vec<Like>, SoundcloudError> {
        let user_id = self.resolve_user(user, sent).await?;
        let mut url = self.api_url(&format!("users/{user_id}/track_likes"))?;
        url.query_pairs_mut()
            .append_pair("limit", &PAGE_SIZE.to_string())
            .append_pair("linked_partitioning", "1");
        let mut likes = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: LikesPage = self.get_json(url.clone(), "the likes", sent).await?;
            match take_page(page, since, &mut likes) {
                Some(next) => {
                    url = Url::parse(&next).map_err(|e| SoundcloudError::Malformed {
                        what: "next_href",
                        message: e.to_string(),
                    })?;
                }
                None => return Ok(likes),
            }
        }
        Err(SoundcloudError::TooManyPages(MAX_PAGES))
    }

    /// Resolves a track page URL (`https://soundcloud.com/artist/title`) to its details.
    pub async fn resolve_track(&self, page_url: &str) -> Result<TrackInfo, SoundcloudError> {
        let mut url = self.api_url("resolve")?;
        url.query_pairs_mut().append_pair("url", page_url);
        let resolved: ResolvedTrack = self.get_json(url, "the track URL", &mut 0).await?;
        if resolved.kind.as_deref() != Some("track") {
            return Err(SoundcloudError::NotFound(format!("track at {page_url}")));
        }
        Ok(resolved.track.into_info())
    }

    async fn resolve_user(&self, user: &str, sent: &mut u32) -> Result<i64, SoundcloudError> {
        if let Some(id) = self.user_id(user) {
            return Ok(id);
        }
        let mut url = self.api_url("resolve")?;
        let profile = format!(
            "{}/{}",
            self.config.web_base.as_str().trim_end_matches('/'),
            user
        );
        url.query_pairs_mut().append_pair("url", &profile);
        let resolved: ResolvedUser = self.get_json(url, "the user profile", sent).await?;
        self.remember_user_id(user, resolved.id);
        Ok(resolved.id)
    }

    fn api_url(&self, path: &str) -> Result<Url, SoundcloudError> {
        let base = self.config.api_base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/{path}")).map_err(|e| SoundcloudError::Malformed {
            what: "api_base",
            message: e.to_string(),
        })
    }

    /// GETs an api-v2 URL with the client_id, handling auth refresh and backoff; every request
    /// sent, retries and scrapes included, is added to `sent`.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        what: &'static str,
        sent: &mut u32,
    ) -> Result<T, SoundcloudError> {
        let mut rescraped = false;
        let mut retries = 0;
        loop {
            let client_id = self.client_id(sent).await?;
            let result = self.send(with_client_id(&url, &client_id), sent).await;
            let (status, retry_after) = match result {
                Ok(resp) if resp.status().is_success() => {
                    let body = resp
                        .bytes()
                        .await
                        .map_err(|e| SoundcloudError::Network(describe(e)))?;
                    return parse_body(&body, what, &client_id);
                }
                Ok(resp) => (resp.status(), retry_after(&resp)),
                Err(e) if retries + 1 < self.retry.attempts => {
                    tracing::warn!(error = %e, "SoundCloud request failed; retrying");
                    tokio::time::sleep(self.retry.delay(retries, None)).await;
                    retries += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if !rescraped => {
                    tracing::info!(%status, "SoundCloud refused the client_id; scraping a fresh one");
                    rescraped = true;
                    let fresh = self.scrape_client_id(sent).await?;
                    *lock(&self.client_id) = Some(fresh);
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(SoundcloudError::Unauthorized(status.as_u16()));
                }
                StatusCode::NOT_FOUND => {
                    return Err(SoundcloudError::NotFound(
                        what.trim_start_matches("the ").into(),
                    ));
                }
                s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                    retries += 1;
                    if retries >= self.retry.attempts {
                        return Err(SoundcloudError::GaveUp {
                            status: s.as_u16(),
                            what,
                            attempts: retries,
                        });
                    }
                    let delay = self.retry.delay(retries - 1, retry_after);
                    tracing::warn!(status = %s, ?delay, "SoundCloud is busy; backing off");
                    tokio::time::sleep(delay).await;
                }
                s => {
                    return Err(SoundcloudError::Status {
                        status: s.as_u16(),
                        what,
                    });
                }
            }
        }
    }

    async fn send(&self, url: Url, sent: &mut u32) -> Result<reqwest::Response, SoundcloudError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        *sent += 1;
        self.http
            .get(url)
            .send()
            .await
            .map_err(|e| SoundcloudError::Network(describe(e)))
    }

    async fn client_id(&self, sent: &mut u32) -> Result<String, SoundcloudError> {
        if let Some(id) = lock(&self.client_id).clone() {
            return Ok(id);
        }
        let id = self.scrape_client_id(sent).await?;
        *lock(&self.client_id) = Some(id.clone());
        Ok(id)
    }

    /// Follows the home page's `<script src>` assets, last to first, looking for a client_id.
    async fn scrape_client_id(&self, sent: &mut u32) -> Result<String, SoundcloudError> {
        let home = self.config.web_base.clone();
        let html = self.fetch_text(home.clone(), "the home page", sent).await?;
        for src in script_sources(&html).into_iter().rev() {
            let Ok(asset) = home.join(&src) else { continue };
            // One unreachable asset should not hide a client_id in another.
            match self.fetch_text(asset, "a script", sent).await {
                Ok(js) => {
                    if let Some(id) = find_client_id(&js) {
                        return Ok(id);
                    }
                }
                Err(e) => tracing::debug!(error = %e, %src, "skipping a script"),
            }
        }
        Err(SoundcloudError::NoClientId(home.to_string()))
    }

    async fn fetch_text(
        &self,
        url: Url,
        what: &'static str,
        sent: &mut u32,
    ) -> Result<String, SoundcloudError> {
        let resp = self.send(url, sent).await?;
        if !resp.status().is_success() {
            return Err(SoundcloudError::Status {
                status: resp.status().as_u16(),
                what,
            });
        }
        resp.text()
            .await
            .map_err(|e| SoundcloudError::Network(describe(e)))
    }
}

/// A JSON answer as `T`. serde's message quotes the value it refused, and a body that echoes
/// the request's URL would put the client_id in it, so the client_id is masked: these texts
/// reach `/health` and the dashboard.
fn parse_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &'static str,
    client_id: &str,
) -> Result<T, SoundcloudError> {
    serde_json::from_slice(body).map_err(|e| {
        let mut message = e.to_string();
        if !client_id.is_empty() {
            message = message.replace(client_id, "***");
        }
        SoundcloudError::Malformed { what, message }
    })
}

/// Adds the page's likes made at or after `since` to `likes` (a like without its track, one
/// since deleted, is skipped); the next page's address, unless there is none or this page
/// already reached older likes.
fn take_page(page: LikesPage, since: Timestamp, likes: &mut Vec<Like>) -> Option<String> {
    for item in page.collection {
        if item.created_at < since {
            return None;
        }
        if let Some(track) = item.track {
            likes.push(Like {
                liked_at: item.created_at,
                track: track.into_info(),
            });
        }
    }
    page.next_href
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A failed request in words, without its URL: reqwest's text names the URL with its query,
/// which carries the client_id, and these texts reach `/health` and the dashboard.
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        e.without_url().to_string()
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// `url` with `client_id` set, replacing one that is already there (`next_href` lacks it, but
/// a stale one must not be sent twice).
fn with_client_id(url: &Url, client_id: &str) -> Url {
    let mut out = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "client_id")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("client_id", client_id);
    out
}

/// `<script … src="…">`. A literal that does not compile is a programming error, which the
/// unit tests catch by forcing every regex.
static SCRIPT_SRC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<script[^>]*\ssrc\s*=\s*["']([^"']+)["']"#).expect("valid regex literal")
});

/// `client_id`, then `:` or `=`, then a quoted 32-character id.
static CLIENT_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"client_id\s*[:=]\s*["']([A-Za-z0-9]{32})["']"#).expect("valid regex literal")
});

fn script_sources(html: &str) -> Vec<String> {
    SCRIPT_SRC
        .captures_iter(html)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_owned()))
        .collect()
}

/// Finds `client_id` followed by `:` or `=` and a quoted 32-character id (the bundle switched
/// from `client_id="…"` to `client_id:"…"` in 2026; both are accepted).
pub fn find_client_id(js: &str) -> Option<String> {
    CLIENT_ID
        .captures(js)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_owned())
}

#[derive(Deserialize)]
struct LikesPage {
    collection: Vec<LikeItem>,
    #[serde(default)]
    next_href: Option<String>,
}

#[derive(Deserialize)]
struct LikeItem {
    created_at: Timestamp,
    #[serde(default)]
    track: Option<ScTrack>,
}

#[derive(Deserialize)]
struct ScTrack {
    id: i64,
    title: String,
    user: ScUser,
    permalink_url: String,
    #[serde(default)]
    artwork_url: Option<String>,
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default)]
    license: Option<String>,
}

#[derive(Deserialize)]
struct ScUser {
    username: String,
}

impl ScTrack {
    fn into_info(self) -> TrackInfo {
        TrackInfo {
            soundcloud_id: Some(self.id),
            title: self.title,
            artist: self.user.username,
            permalink_url: web_link(self.id, &self.permalink_url),
            artwork_url: self.artwork_url,
            duration_ms: self.duration,
            license: self.license,
        }
    }
}

/// SoundCloud's link for a track, if it is a web link at all; the track is kept either way.
fn web_link(id: i64, text: &str) -> Option<WebUrl> {
    let link = WebUrl::link(text);
    if link.is_none() && !text.is_empty() {
        tracing::warn!(
            track = id,
            url = text,
            "SoundCloud sent a track link that is not http(s); keeping the track without it"
        );
    }
    link
}

#[derive(Deserialize)]
struct ResolvedUser {
    id: i64,
}

#[derive(Deserialize)]
struct ResolvedTrack {
    #[serde(default)]
    kind: Option<String>,
    #[serde(flatten)]
    track: ScTrack,
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_literals_compile() {
        LazyLock::force(&SCRIPT_SRC);
        LazyLock::force(&CLIENT_ID);
    }

    #[test]
    fn finds_both_client_id_forms() {
        let id = "abcdefghijklmnopqrstuvwxyz012345";
        assert_eq!(
            find_client_id(&format!(r#"x={{client_id:"{id}"}}"#)).as_deref(),
            Some(id)
        );
        assert_eq!(
            find_client_id(&format!(r#"a.client_id="{id}";"#)).as_deref(),
            Some(id)
        );
        assert_eq!(find_client_id(r#"client_id:"tooshort""#), None);
    }

    #[test]
    fn script_sources_in_order() {
        let html = r#"<script src="/a.js"></script><SCRIPT crossorigin src='https://x/b.js'>"#;
        assert_eq!(script_sources(html), vec!["/a.js", "https://x/b.js"]);
    }

    #[test]
    fn a_malformed_answer_does_not_repeat_the_client_id() {
        let id = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE";
        let body = format!(
            r#"{{"collection":"https://api-v2.soundcloud.com/users/1/track_likes?client_id={id}"}}"#
        );
        let err = parse_body::<LikesPage>(body.as_bytes(), "the likes", id)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "SoundCloud sent malformed data for the likes: invalid type: string \
                 \"https://api-v2.soundcloud.com/users/1/track_likes?client_id=***\", expected a \
                 sequence at line 1 column 108"
            )
        );
    }

    #[test]
    fn client_id_is_replaced_not_doubled() {
        let url = Url::parse("http://x/likes?offset=5&client_id=old").expect("url");
        assert_eq!(
            with_client_id(&url, "new").as_str(),
            "http://x/likes?offset=5&client_id=new"
        );
    }
}
