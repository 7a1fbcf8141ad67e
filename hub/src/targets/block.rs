//! The pieces every kind's parser uses: the error of a `[[targets]]` block, the block as
//! written ([`RawTarget`]) and being taken apart ([`Block`]), [`Secret`], and the checks and
//! redaction of names and URLs. A leaf: the kinds and the walk over the blocks build on it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use url::Url;

use crate::station::Station;

/// Why a `[[targets]]` block cannot be used; `key` is like `targets[1].room_id`.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TargetConfigError {
    pub key: String,
    pub message: String,
}

/// A `[[targets]]` block as written: every key of every kind, each optional, checked per kind by
/// `config::validate`. One struct for all kinds, so that serde itself rejects a key no kind knows
/// (with the file it came from); a new kind adds its keys here and to [`Block::leftover`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub(super) name: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) url: Option<String>,
    pub(super) delay_seconds: Option<i64>,
    pub(super) enabled: Option<bool>,
    pub(super) shows: Option<Vec<String>>,
    pub(super) events: Option<Vec<String>>,
    pub(super) secret: Option<String>,
    pub(super) homeserver: Option<String>,
    pub(super) room_id: Option<String>,
    pub(super) access_token: Option<String>,
    pub(super) mount: Option<String>,
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
    pub(super) format: Option<String>,
    pub(super) instance: Option<String>,
    pub(super) pds: Option<String>,
    pub(super) handle: Option<String>,
    pub(super) app_password: Option<String>,
    pub(super) bot_token: Option<String>,
    pub(super) chat_id: Option<ChatId>,
    pub(super) api_base: Option<String>,
    pub(super) token: Option<String>,
}

/// A Telegram chat: a number (`-1001234567890`) or a public channel's `@name`; TOML may give
/// either, and Telegram takes either as it was written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ChatId {
    Number(i64),
    Text(String),
}

/// A credential: shown as `***` by `Debug` and `Display`, so a logged config or error never
/// carries it; only [`Secret::expose`] gives the value, at the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The parts of a URL that may hold a credential, for a kind's list of secrets.
pub fn url_parts(u: &Url) -> [Option<&str>; 2] {
    [u.query(), u.password()]
}

/// A kind's secrets when it has a credential (or none) and an API URL: the credential and the
/// parts of the URL that may hold another.
pub fn credential_and_url<'a>(
    credential: impl IntoIterator<Item = &'a Secret>,
    url: &'a Url,
) -> Vec<&'a str> {
    credential
        .into_iter()
        .map(Secret::expose)
        .chain(url_parts(url).into_iter().flatten())
        .collect()
}

/// A URL without its userinfo, query or fragment (any could hold a credential).
pub fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    let had_query = shown.query().is_some();
    shown.set_query(None);
    shown.set_fragment(None);
    // Only URLs that cannot have userinfo refuse these; http(s) URLs always can.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    let base = shown.as_str().trim_end_matches('/').to_owned();
    if had_query {
        format!("{base}?***")
    } else {
        base
    }
}

/// One block being validated, with its position for error keys. A kind's parser takes its keys
/// out of it; whatever is left belongs to another kind.
pub struct Block {
    pub(super) index: usize,
    pub(super) raw: RawTarget,
    /// The block's kind once known, for "is required for a matrix target".
    pub(super) kind: &'static str,
    /// The station's show titles, for kinds that name the show.
    pub(super) titles: ShowTitles,
}

impl Block {
    /// The error for `key` of this block: `targets[1].room_id: …`.
    pub fn err(&self, key: &str, message: impl Into<String>) -> TargetConfigError {
        TargetConfigError {
            key: format!("targets[{}].{key}", self.index),
            message: message.into(),
        }
    }

    /// The kind being parsed (`matrix`).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Keys still set after the kind took its own belong to another kind.
    pub(super) fn reject_leftovers(&self) -> Result<(), TargetConfigError> {
        match self.leftover() {
            Some(key) => Err(self.err(key, format!("is not a key of a {} target", self.kind))),
            None => Ok(()),
        }
    }

    /// The first kind-specific key still in the block.
    fn leftover(&self) -> Option<&'static str> {
        let r = &self.raw;
        let set = [
            ("url", r.url.is_some()),
            ("secret", r.secret.is_some()),
            ("homeserver", r.homeserver.is_some()),
            ("room_id", r.room_id.is_some()),
            ("access_token", r.access_token.is_some()),
            ("mount", r.mount.is_some()),
            ("username", r.username.is_some()),
            ("password", r.password.is_some()),
            ("format", r.format.is_some()),
            ("instance", r.instance.is_some()),
            ("pds", r.pds.is_some()),
            ("handle", r.handle.is_some()),
            ("app_password", r.app_password.is_some()),
            ("bot_token", r.bot_token.is_some()),
            ("chat_id", r.chat_id.is_some()),
            ("api_base", r.api_base.is_some()),
            ("token", r.token.is_some()),
        ];
        set.iter()
            .find(|(_, present)| *present)
            .map(|(key, _)| *key)
    }

    /// The station's show titles.
    pub fn titles(&self) -> &ShowTitles {
        &self.titles
    }

    /// Takes an optional key out of the block.
    pub fn take(
        &mut self,
        field: impl FnOnce(&mut RawTarget) -> &mut Option<String>,
    ) -> Option<String> {
        field(&mut self.raw).take()
    }

    /// Takes a required key out of the block: missing or blank is an error.
    pub fn take_required(
        &mut self,
        key: &str,
        field: impl FnOnce(&mut RawTarget) -> &mut Option<String>,
    ) -> Result<String, TargetConfigError> {
        match self.take(field) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(self.err(key, format!("is required for a {} target", self.kind))),
        }
    }

    /// Takes a required `http(s)://` URL out of the block.
    pub fn take_url(
        &mut self,
        key: &str,
        field: impl FnOnce(&mut RawTarget) -> &mut Option<String>,
    ) -> Result<Url, TargetConfigError> {
        let text = self.take_required(key, field)?;
        parse_url(&text).map_err(|m| self.err(key, m))
    }

    /// Takes an optional `http(s)://` URL out of the block, `default` when it is absent.
    pub fn take_url_or(
        &mut self,
        key: &str,
        field: impl Fn(&mut RawTarget) -> &mut Option<String>,
        default: &str,
    ) -> Result<Url, TargetConfigError> {
        if field(&mut self.raw).is_none() {
            return parse_url(default).map_err(|m| self.err(key, m));
        }
        self.take_url(key, field)
    }
}

/// Each show's title by slug, and the first show's for a station-wide line. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ShowTitles {
    by_slug: Arc<HashMap<String, String>>,
    primary: String,
}

impl ShowTitles {
    pub fn of(station: &Station) -> ShowTitles {
        let by_slug = station
            .shows()
            .iter()
            .map(|s| (s.slug.as_str().to_owned(), s.title.clone()))
            .collect();
        ShowTitles {
            by_slug: Arc::new(by_slug),
            primary: station.primary().title.clone(),
        }
    }

    /// The title of the show `slug` (`None`: a station-wide line, named after the first show).
    pub fn title(&self, slug: Option<&str>) -> &str {
        slug.and_then(|s| self.by_slug.get(s))
            .unwrap_or(&self.primary)
    }
}

/// Target names follow the relays' rules: acks, the ledger and `/metrics` labels carry both.
pub fn check_name(name: &str) -> Result<(), String> {
    crate::relays::RelayName::parse(name)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http:// or https:// URL".into());
    }
    Ok(url)
}
