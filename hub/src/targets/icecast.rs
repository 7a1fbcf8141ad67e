//! Icecast stream titles: `GET {url}/admin/metadata?mount=…&mode=updinfo&song=…&charset=UTF-8`
//! with basic auth. The title is `format` rendered from the track (`{artist} - {title}`), or the
//! free text itself. Icecast answers 200 with `<return>1</return>` when it took the title; a 200
//! with `<return>0</return>` is a refusal.
//!
//! Icecast resets the connection without an answer when the request head exceeds about 4 KiB,
//! so the title is cut (on a character boundary) until its encoded form fits well inside that.
//!
//! After each delivery the title is read back from Icecast's public status page,
//! `{url}/status-json.xsl` (no credentials sent), and compared with the one sent: a source
//! client that sends its own metadata overwrites the hub's, and this is how the DJ learns it.
//! The mount is found by the path of its `listenurl`; a page that is not valid JSON (Icecast
//! 2.4.4 writes some: titles that look like numbers unquoted, raw control characters) or lacks
//! the mount is unreadable, which verifies nothing.
//!
//! Keys: `url`, `mount`, `username` (`admin` unless set), `password` (a secret, never shown) and
//! `format`.

use std::time::Duration;

use futures_util::future::BoxFuture;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::Value;
use url::Url;

use super::attempt::{self, Answer, Attempt};
use super::block::{Block, Secret, TargetConfigError, credential_and_url, without_query};
use super::kind::Kind;
use super::readback::{Probe, Read, ReadBack};
use crate::line_template::{AnnounceTemplate, TrackFields};
use crate::store::Outgoing;

/// What the stream title shows unless `format` says otherwise.
pub const DEFAULT_FORMAT: &str = "{artist} - {title}";

/// The most bytes the encoded `song` value may take, leaving room for the rest of the head.
pub const MAX_SONG_ENCODED: usize = 3 * 1024;

/// The most of the status page read: it lists every mount, a few KiB each.
const STATUS_LIMIT: usize = 1024 * 1024;

/// Everything but the unreserved characters is escaped (a space becomes `%20`, never `+`).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone)]
pub struct IcecastTarget {
    pub url: Url,
    /// Starts with `/`.
    pub mount: String,
    pub username: String,
    pub password: Secret,
    pub format: AnnounceTemplate,
}

impl Kind for IcecastTarget {
    fn parse(block: &mut Block) -> Result<IcecastTarget, TargetConfigError> {
        let url = block.take_url("url", |r| &mut r.url)?;
        let mount = block.take_required("mount", |r| &mut r.mount)?;
        if !mount.starts_with('/') || mount.len() < 2 || mount.chars().any(char::is_whitespace) {
            return Err(block.err("mount", format!("`{mount}` is not a mount like /live.mp3")));
        }
        let username = block
            .take(|r| &mut r.username)
            .unwrap_or_else(|| "admin".into());
        if username.is_empty() || username.contains(':') {
            return Err(block.err("username", "must be non-empty and without `:`"));
        }
        let password = block.take_required("password", |r| &mut r.password)?;
        let format_text = block
            .take(|r| &mut r.format)
            .unwrap_or_else(|| DEFAULT_FORMAT.into());
        let format = AnnounceTemplate::parse(&format_text)
            .map_err(|e| block.err("format", e.to_string()))?;
        Ok(IcecastTarget {
            url,
            mount,
            username,
            password: Secret::new(password),
            format,
        })
    }

    fn endpoint(&self) -> String {
        format!("{} mount {}", without_query(&self.url), self.mount)
    }

    fn secrets(&self) -> Vec<&str> {
        credential_and_url([&self.password], &self.url)
    }

    fn send<'a>(
        &'a self,
        http: &'a reqwest::Client,
        item: &'a Outgoing,
        timeout: Duration,
    ) -> BoxFuture<'a, Attempt> {
        Box::pin(send(http, self, item, timeout))
    }

    fn read_back(&self, item: &Outgoing) -> Option<ReadBack> {
        Some(ReadBack {
            expected: capped(&title(self, item)),
            probe: Box::new(StatusPage {
                url: status_url(&self.url)?,
                mount: self.mount.clone(),
            }),
        })
    }
}

async fn send(
    http: &reqwest::Client,
    target: &IcecastTarget,
    item: &Outgoing,
    timeout: Duration,
) -> Attempt {
    let Some(url) = metadata_url(target, &title(target, item)) else {
        return Attempt::Failed {
            error: "the Icecast URL cannot take a path".into(),
        };
    };
    let request = http
        .get(url)
        .basic_auth(&target.username, Some(target.password.expose()));
    attempt::send(request, timeout, judge).await
}

fn judge(answer: Answer) -> Attempt {
    match answer.judge(None) {
        Attempt::Sent { .. } if !answer.body.contains("<return>1</return>") => Attempt::Failed {
            error: format!("Icecast refused the title: {}", answer.error_text()),
        },
        other => other,
    }
}

/// The stream title: a track announce's in the target's `format`, anything else (a free
/// text, a go-live alert) as it is.
pub fn title(target: &IcecastTarget, item: &Outgoing) -> String {
    let Outgoing::Announce(announce) = item else {
        return item.message().as_str().to_owned();
    };
    match (&announce.track, announce.position) {
        (Some(track), Some(position)) => target
            .format
            .render(&TrackFields {
                position,
                title: &track.title,
                artist: &track.artist,
                url: &track.permalink_url,
            })
            .as_str()
            .to_owned(),
        _ => announce.message.as_str().to_owned(),
    }
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// The whole title if it fits [`MAX_SONG_ENCODED`], else its longest prefix that does, plus `…`.
pub fn capped(title: &str) -> String {
    if encode(title).len() <= MAX_SONG_ENCODED {
        return title.to_owned();
    }
    let budget = MAX_SONG_ENCODED - encode("…").len();
    let mut out = String::new();
    let mut used = 0;
    for c in title.chars() {
        let cost = encode(c.encode_utf8(&mut [0; 4])).len();
        if used + cost > budget {
            break;
        }
        used += cost;
        out.push(c);
    }
    out.push('…');
    out
}

fn metadata_url(target: &IcecastTarget, title: &str) -> Option<Url> {
    let mut url = target.url.clone();
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(["admin", "metadata"]);
    url.set_query(Some(&format!(
        "mount={}&mode=updinfo&song={}&charset=UTF-8",
        encode(&target.mount),
        encode(&capped(title))
    )));
    Some(url)
}

/// `{url}/status-json.xsl`, without the URL's user, password or query: the page is public,
/// and credentials are sent to the admin interface only.
fn status_url(base: &Url) -> Option<Url> {
    let mut url = base.clone();
    url.set_username("").ok()?;
    url.set_password(None).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .push("status-json.xsl");
    Some(url)
}

/// Icecast's status page and the mount to find in it.
struct StatusPage {
    url: Url,
    mount: String,
}

impl Probe for StatusPage {
    fn read<'a>(&'a self, http: &'a reqwest::Client, timeout: Duration) -> BoxFuture<'a, Read> {
        Box::pin(async move {
            let title = fetch_status(http, &self.url, timeout)
                .await
                .and_then(|page| shown_title(&page, &self.mount));
            match title {
                Ok(title) => Read::Shows(title),
                Err(why) => Read::Unreadable(why),
            }
        })
    }
}

/// The status page's body, at most [`STATUS_LIMIT`] bytes of it, within `timeout`.
async fn fetch_status(
    http: &reqwest::Client,
    url: &Url,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let read = async {
        let mut resp = http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("{url} answered {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > STATUS_LIMIT {
                return Err(format!("{url} is over {STATUS_LIMIT} bytes"));
            }
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| Err(format!("{url} did not answer within {timeout:?}")))
}

/// The title `status-json.xsl` shows for `mount` (empty when the mount has none), or why it
/// cannot be told. `icestats.source` is one object for one mount and a list for several.
pub fn shown_title(page: &[u8], mount: &str) -> Result<String, String> {
    let status: Value = serde_json::from_slice(page)
        .map_err(|e| format!("the status page is not valid JSON: {e}"))?;
    let sources = match &status["icestats"]["source"] {
        Value::Array(list) => list.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    let source = sources
        .into_iter()
        .find(|s| s["listenurl"].as_str().and_then(listen_path).as_deref() == Some(mount))
        .ok_or_else(|| format!("the status page does not list the mount {mount}"))?;
    Ok(match &source["title"] {
        Value::String(title) => title.clone(),
        // Icecast writes a title that looks like a number or a boolean unquoted.
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    })
}

/// The mount a `listenurl` points at: its path, decoded. The host part is whatever Icecast's
/// `<hostname>` says, not necessarily the address the hub uses.
fn listen_path(listenurl: &str) -> Option<String> {
    let url = Url::parse(listenurl).ok()?;
    let path = percent_decode_str(url.path()).decode_utf8().ok()?;
    Some(path.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> IcecastTarget {
        IcecastTarget {
            url: Url::parse("http://127.0.0.1:8010").expect("url"),
            mount: "/live.mp3".into(),
            username: "admin".into(),
            password: Secret::new("hackme"),
            format: AnnounceTemplate::parse(DEFAULT_FORMAT).expect("format"),
        }
    }

    #[test]
    fn the_url_encodes_the_title() {
        let url = metadata_url(&target(), "Ünïcødé & more").expect("url");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8010/admin/metadata?mount=%2Flive.mp3&mode=updinfo&song=%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%26%20more&charset=UTF-8"
        );
    }

    #[test]
    fn the_status_url_carries_no_credentials() {
        let base = Url::parse("http://admin:hackme@127.0.0.1:8010/icecast/?key=1").expect("url");
        let url = status_url(&base).expect("status url");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8010/icecast/status-json.xsl"
        );
    }

    const ONE_MOUNT: &str = r#"{"icestats":{"admin":"a@b","host":"127.0.0.1",
        "source":{"listenurl":"http://127.0.0.1:8010/live.mp3","server_name":"test",
        "title":"Ärtist - Söng \"quoted\" \\ \u00e9 \ud83c\udf99","dummy":null}}}"#;

    #[test]
    fn one_mount_is_an_object_and_escapes_are_decoded() {
        let title = shown_title(ONE_MOUNT.as_bytes(), "/live.mp3");
        assert_eq!(title.as_deref(), Ok("Ärtist - Söng \"quoted\" \\ é 🎙"));
    }

    #[test]
    fn several_mounts_are_a_list_found_by_their_path() {
        let page = r#"{"icestats":{"source":[
            {"listenurl":"http://example.org:8000/other/live.mp3","title":"not this"},
            {"listenurl":"http://example.org:8000/live.mp3","title":"this one"},
            {"listenurl":"http://example.org:8000/live.ogg","title":"nor this"}]}}"#;
        let title = |mount| shown_title(page.as_bytes(), mount);
        assert_eq!(title("/live.mp3").as_deref(), Ok("this one"));
        assert_eq!(title("/live.ogg").as_deref(), Ok("nor this"));
    }

    #[test]
    fn a_mount_without_a_title_shows_an_empty_one_and_numbers_read_as_text() {
        let page = r#"{"icestats":{"source":[{"listenurl":"http://h/a"},
            {"listenurl":"http://h/b","title":42}]}}"#;
        assert_eq!(shown_title(page.as_bytes(), "/a").as_deref(), Ok(""));
        assert_eq!(shown_title(page.as_bytes(), "/b").as_deref(), Ok("42"));
    }

    #[test]
    fn invalid_json_or_an_absent_mount_is_unreadable() {
        let invalid = [
            // What Icecast 2.4.4 can write: a raw control character inside a string, a bare
            // `-`, a number JSON does not allow.
            "{\"icestats\":{\"source\":{\"listenurl\":\"http://h/live.mp3\",\"title\":\"a\u{1}b\"}}}",
            r#"{"icestats":{"source":{"listenurl":"http://h/live.mp3","title":-}}}"#,
            r#"{"icestats":{"source":{"listenurl":"http://h/live.mp3","title":.5}}}"#,
            "",
        ];
        for page in invalid {
            let read = shown_title(page.as_bytes(), "/live.mp3");
            let unreadable = read.as_ref().is_err_and(|e| e.contains("not valid JSON"));
            assert!(unreadable, "{page}: {read:?}");
        }
        let no_source = r#"{"icestats":{"admin":"a@b"}}"#;
        for (page, mount) in [(ONE_MOUNT, "/other.mp3"), (no_source, "/live.mp3")] {
            let read = shown_title(page.as_bytes(), mount);
            let unreadable = read.as_ref().is_err_and(|e| e.contains("does not list"));
            assert!(unreadable, "{read:?}");
        }
    }

    #[test]
    fn long_titles_fit_the_request_head() {
        let long = "日本".repeat(2000);
        let cut = capped(&long);
        assert!(encode(&cut).len() <= MAX_SONG_ENCODED);
        assert!(cut.ends_with('…'));
        assert!(long.starts_with(cut.trim_end_matches('…')));
        assert_eq!(capped("short"), "short");
    }
}
