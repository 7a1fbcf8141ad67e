//! `[[targets]]`: what every block has in common — its name, `enabled`, `delay_seconds`, the
//! checks of names and URLs, the redaction of URLs — and the walk over the blocks at start-up.
//! A kind's own keys are checked by its module (see [`super::kind`]).
//!
//! Every block is checked once at start-up, so a worker only ever sees a complete, valid target:
//! each kind takes exactly the keys it needs, and a key that belongs to another kind is an error
//! rather than silently ignored. Errors name the block and the key on one line
//! (`targets[1].room_id: …`).

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use url::Url;

use super::kind::{self, KINDS, TargetKind};

/// Why a `[[targets]]` block cannot be used; `key` is like `targets[1].room_id`.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TargetConfigError {
    pub key: String,
    pub message: String,
}

/// The longest hold-back a target may ask for (ten minutes covers any stream delay).
pub const MAX_DELAY_SECONDS: u64 = 600;

/// A `[[targets]]` block as written: every key of every kind, each optional, checked per kind by
/// [`validate`]. One struct for all kinds, so that serde itself rejects a key no kind knows
/// (with the file it came from); a new kind adds its keys here and to [`Block::leftover`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub(super) name: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) url: Option<String>,
    pub(super) delay_seconds: Option<i64>,
    pub(super) enabled: Option<bool>,
    pub(super) secret: Option<String>,
    pub(super) homeserver: Option<String>,
    pub(super) room_id: Option<String>,
    pub(super) access_token: Option<String>,
    pub(super) mount: Option<String>,
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
    pub(super) format: Option<String>,
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

/// One validated target.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// 1–32 of `[A-Za-z0-9._-]`, unique; used in acks, the ledger and `/metrics`.
    pub name: String,
    /// Seconds each line is held back before its first attempt (0–600).
    pub delay_seconds: u64,
    pub enabled: bool,
    pub kind: TargetKind,
}

/// The parts of a URL that may hold a credential, for a kind's list of secrets.
pub fn url_parts(u: &Url) -> [Option<&str>; 2] {
    [u.query(), u.password()]
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

/// Checks every block; names must be unique among the targets and must not be in `taken`
/// (the relays' names, which share the dashboard's "where it landed").
pub fn validate(
    raw: Vec<RawTarget>,
    taken: &[String],
) -> Result<Vec<TargetConfig>, TargetConfigError> {
    let mut seen: HashSet<String> = taken.iter().cloned().collect();
    let mut out = Vec::with_capacity(raw.len());
    for (i, block) in raw.into_iter().enumerate() {
        let target = Block {
            index: i,
            raw: block,
            kind: "",
        }
        .validate()?;
        if !seen.insert(target.name.clone()) {
            return Err(TargetConfigError {
                key: format!("targets[{i}].name"),
                message: format!(
                    "`{}` is used twice (target and relay names must be unique)",
                    target.name
                ),
            });
        }
        out.push(target);
    }
    Ok(out)
}

/// One block being validated, with its position for error keys. A kind's parser takes its keys
/// out of it; whatever is left belongs to another kind.
pub struct Block {
    index: usize,
    raw: RawTarget,
    /// The block's kind once known, for "is required for a matrix target".
    kind: &'static str,
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

    fn validate(mut self) -> Result<TargetConfig, TargetConfigError> {
        let name = self.raw.name.take().unwrap_or_default();
        check_name(&name).map_err(|m| self.err("name", m))?;
        let delay_seconds = match self.raw.delay_seconds.take() {
            None => 0,
            Some(d) => u64::try_from(d)
                .ok()
                .filter(|d| *d <= MAX_DELAY_SECONDS)
                .ok_or_else(|| {
                    self.err(
                        "delay_seconds",
                        format!("must be between 0 and {MAX_DELAY_SECONDS} (got {d})"),
                    )
                })?,
        };
        let enabled = self.raw.enabled.take().unwrap_or(true);
        let kind = self.kind_of_block()?;
        self.reject_leftovers()?;
        Ok(TargetConfig {
            name,
            delay_seconds,
            enabled,
            kind,
        })
    }

    /// Finds the block's kind in [`KINDS`] and lets it take its keys.
    fn kind_of_block(&mut self) -> Result<TargetKind, TargetConfigError> {
        let Some(written) = self.raw.kind.take() else {
            return Err(self.err("kind", format!("missing ({})", kind::names())));
        };
        let Some(registration) = KINDS.iter().find(|k| k.name == written) else {
            return Err(self.err(
                "kind",
                format!("unknown kind `{written}` (use {})", kind::names()),
            ));
        };
        self.kind = registration.name;
        registration.parse(self)
    }

    /// Keys still set after the kind took its own belong to another kind.
    fn reject_leftovers(&self) -> Result<(), TargetConfigError> {
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
        ];
        set.iter()
            .find(|(_, present)| *present)
            .map(|(key, _)| *key)
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

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Toml};

    use super::*;
    use crate::config::Config;

    fn load(toml: &str) -> Result<Vec<TargetConfig>, String> {
        Config::from_figment(Figment::new().merge(Toml::string(toml)))
            .map(|c| c.targets)
            .map_err(|e| e.to_string())
    }

    const ALL_KINDS: &str = r#"
        [[targets]]
        name = "discord"
        kind = "discord"
        url = "https://discord.com/api/webhooks/123456/s3cr3t-token"
        [[targets]]
        name = "hook"
        kind = "webhook"
        url = "https://example.org/announce?key=abc"
        secret = "hmac-key"
        delay_seconds = 30
        [[targets]]
        name = "matrix"
        kind = "matrix"
        homeserver = "https://matrix.example.org"
        room_id = "!abc:example.org"
        access_token = "syt_token"
        [[targets]]
        name = "stream"
        kind = "icecast"
        url = "http://127.0.0.1:8010"
        mount = "/live.mp3"
        password = "hackme"
        enabled = false
    "#;

    #[test]
    fn every_kind_loads_and_hides_its_secrets() {
        let targets = load(ALL_KINDS).expect("valid");
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["discord", "hook", "matrix", "stream"]);
        assert_eq!(targets[1].delay_seconds, 30);
        assert!(!targets[3].enabled);
        assert_eq!(
            targets[0].kind.endpoint(),
            "https://discord.com/…/webhooks/123456/***"
        );
        assert_eq!(
            targets[1].kind.endpoint(),
            "https://example.org/announce?***"
        );
        let debug = format!("{targets:?}");
        let summary = crate::targets::summary(&targets);
        assert!(
            summary.ends_with("stream (icecast, http://127.0.0.1:8010 mount /live.mp3, disabled)"),
            "{summary}"
        );
        for secret in ["s3cr3t-token", "hmac-key", "syt_token", "hackme", "key=abc"] {
            assert!(!debug.contains(secret), "{secret} leaked into {debug}");
            assert!(!summary.contains(secret), "{secret} leaked into {summary}");
            assert!(!targets.iter().any(|t| t.kind.endpoint().contains(secret)));
        }
    }

    #[test]
    fn errors_name_the_key_on_one_line() {
        let cases = [
            (
                "[[targets]]\nname = \"x\"\nkind = \"pager\"",
                "targets[0].kind",
            ),
            ("[[targets]]\nname = \"x\"", "targets[0].kind"),
            (
                "[[targets]]\nname = \"x\"\nkind = \"webhook\"\nurl = \"ftp://x\"",
                "targets[0].url",
            ),
            (
                "[[targets]]\nname = \"x\"\nkind = \"discord\"\nurl = \"https://example.org/hook\"",
                "targets[0].url",
            ),
            (
                "[[targets]]\nname = \"m\"\nkind = \"matrix\"\nhomeserver = \"https://m.org\"\naccess_token = \"t\"",
                "targets[0].room_id",
            ),
            (
                "[[targets]]\nname = \"bad name\"\nkind = \"webhook\"\nurl = \"https://e.org\"",
                "targets[0].name",
            ),
            (
                "[[targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://e.org\"\n\
                 [[targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://e.org\"",
                "targets[1].name",
            ),
            (
                "[[targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://e.org\"\nmount = \"/x\"",
                "targets[0].mount",
            ),
            (
                "[[targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://e.org\"\ndelay_seconds = 601",
                "targets[0].delay_seconds",
            ),
            (
                "[[targets]]\nname = \"s\"\nkind = \"icecast\"\nurl = \"http://i\"\nmount = \"live\"\npassword = \"p\"",
                "targets[0].mount",
            ),
            (
                "[[targets]]\nname = \"s\"\nkind = \"icecast\"\nurl = \"http://i\"\nmount = \"/l\"\npassword = \"p\"\nformat = \"{song}\"",
                "targets[0].format",
            ),
            (
                "[[targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://e.org\"\nscret = \"x\"",
                "scret",
            ),
        ];
        for (toml, key) in cases {
            let err = load(toml).expect_err(toml);
            assert!(err.contains(key), "{toml:?} gave {err:?}");
            assert!(!err.contains('\n'), "one line: {err:?}");
        }
    }

    /// The texts an operator reads, word for word (docs/configuration.md quotes them).
    #[test]
    fn error_texts_are_exact() {
        let block = |kind: Option<&str>| RawTarget {
            name: Some("x".into()),
            kind: kind.map(Into::into),
            ..RawTarget::default()
        };
        let cases = [
            (
                block(Some("pager")),
                "targets[0].kind: unknown kind `pager` (use discord, webhook, matrix or icecast)",
            ),
            (
                block(None),
                "targets[0].kind: missing (discord, webhook, matrix or icecast)",
            ),
            (
                RawTarget {
                    homeserver: Some("https://m.org".into()),
                    access_token: Some("t".into()),
                    ..block(Some("matrix"))
                },
                "targets[0].room_id: is required for a matrix target",
            ),
            (
                RawTarget {
                    url: Some("https://e.org".into()),
                    mount: Some("/x".into()),
                    ..block(Some("webhook"))
                },
                "targets[0].mount: is not a key of a webhook target",
            ),
            (
                RawTarget {
                    url: Some("https://e.org/hook".into()),
                    ..block(Some("discord"))
                },
                "targets[0].url: is not a Discord webhook URL (…/api/webhooks/ID/TOKEN, from the \
                 channel's Integrations → Webhooks → Copy Webhook URL)",
            ),
        ];
        for (raw, text) in cases {
            let err = validate(vec![raw], &[]).expect_err(text);
            assert_eq!(err.to_string(), text);
        }
    }

    #[test]
    fn names_follow_the_relay_rules() {
        assert!(check_name("stream.main_1-b").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"a".repeat(33)).is_err());
        assert!(check_name("#ntr").is_err());
        let taken = vec!["ntrbot".to_string()];
        let raw = vec![RawTarget {
            name: Some("ntrbot".into()),
            kind: Some("webhook".into()),
            url: Some("https://e.org".into()),
            ..RawTarget::default()
        }];
        let err = validate(raw, &taken).expect_err("taken by a relay");
        assert_eq!(err.key, "targets[0].name");
    }
}
