//! Icecast stream titles: `GET {url}/admin/metadata?mount=…&mode=updinfo&song=…&charset=UTF-8`
//! with basic auth. The title is `format` rendered from the track (`{artist} - {title}`), or the
//! free text itself. Icecast answers 200 with `<return>1</return>` when it took the title; a 200
//! with `<return>0</return>` is a refusal.
//!
//! Icecast resets the connection without an answer when the request head exceeds about 4 KiB,
//! so the title is cut (on a character boundary) until its encoded form fits well inside that.
//!
//! Keys: `url`, `mount`, `username` (`admin` unless set), `password` (a secret, never shown) and
//! `format`.

use std::time::Duration;

use futures_util::future::BoxFuture;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use super::attempt::{self, Answer, Attempt};
use super::block::{Block, Secret, TargetConfigError, credential_and_url, without_query};
use super::kind::Kind;
use crate::line_template::{AnnounceTemplate, TrackFields};
use crate::store::Outgoing;

/// What the stream title shows unless `format` says otherwise.
pub const DEFAULT_FORMAT: &str = "{artist} - {title}";

/// The most bytes the encoded `song` value may take, leaving room for the rest of the head.
pub const MAX_SONG_ENCODED: usize = 3 * 1024;

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
    fn long_titles_fit_the_request_head() {
        let long = "日本".repeat(2000);
        let cut = capped(&long);
        assert!(encode(&cut).len() <= MAX_SONG_ENCODED);
        assert!(cut.ends_with('…'));
        assert!(long.starts_with(cut.trim_end_matches('…')));
        assert_eq!(capped("short"), "short");
    }
}
