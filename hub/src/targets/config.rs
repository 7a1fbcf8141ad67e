//! `[[targets]]`: where the hub itself delivers each announce besides its WebSocket subscribers
//! (a Discord channel, a signed webhook, a Matrix room, an Icecast mount's stream title).
//!
//! Every block is checked once at start-up, so a worker only ever sees a complete, valid target:
//! each kind is its own variant carrying exactly the keys it needs, and a key that belongs to
//! another kind is an error rather than silently ignored. Errors name the block and the key on
//! one line (`targets[1].room_id: …`).

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use url::Url;

use crate::line_template::AnnounceTemplate;

/// Why a `[[targets]]` block cannot be used; `key` is like `targets[1].room_id`.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TargetConfigError {
    pub key: String,
    pub message: String,
}

/// The longest hold-back a target may ask for (ten minutes covers any stream delay).
pub const MAX_DELAY_SECONDS: u64 = 600;

/// What the Icecast stream title shows unless `format` says otherwise.
pub const DEFAULT_ICECAST_FORMAT: &str = "{artist} - {title}";

/// A `[[targets]]` block as written: every key of every kind, each optional, checked per kind by
/// [`validate`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    name: Option<String>,
    kind: Option<String>,
    url: Option<String>,
    delay_seconds: Option<i64>,
    enabled: Option<bool>,
    secret: Option<String>,
    homeserver: Option<String>,
    room_id: Option<String>,
    access_token: Option<String>,
    mount: Option<String>,
    username: Option<String>,
    password: Option<String>,
    format: Option<String>,
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

#[derive(Debug, Clone)]
pub enum TargetKind {
    Discord(DiscordTarget),
    Webhook(WebhookTarget),
    Matrix(MatrixTarget),
    Icecast(IcecastTarget),
}

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

/// A generic webhook. Its URL may carry a key in the query or the userinfo (many services
/// work that way), so `Debug` shows only the redacted endpoint.
#[derive(Clone)]
pub struct WebhookTarget {
    pub url: Url,
    /// HMAC-SHA256 key for `X-Announce-Signature`; no header without one.
    pub secret: Option<Secret>,
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &without_query(&self.url))
            .field("secret", &self.secret)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct MatrixTarget {
    pub homeserver: Url,
    pub room_id: String,
    pub access_token: Secret,
}

#[derive(Debug, Clone)]
pub struct IcecastTarget {
    pub url: Url,
    /// Starts with `/`.
    pub mount: String,
    pub username: String,
    pub password: Secret,
    pub format: AnnounceTemplate,
}

impl TargetKind {
    pub fn name(&self) -> &'static str {
        match self {
            TargetKind::Discord(_) => "discord",
            TargetKind::Webhook(_) => "webhook",
            TargetKind::Matrix(_) => "matrix",
            TargetKind::Icecast(_) => "icecast",
        }
    }

    /// Where the target sends, with every secret left out: for logs and the dashboard.
    pub fn endpoint(&self) -> String {
        match self {
            TargetKind::Discord(d) => d.redacted.clone(),
            TargetKind::Webhook(w) => without_query(&w.url),
            TargetKind::Matrix(m) => format!("{} room {}", without_query(&m.homeserver), m.room_id),
            TargetKind::Icecast(i) => format!("{} mount {}", without_query(&i.url), i.mount),
        }
    }

    /// Every secret this target holds, so error texts can be scrubbed of them: the configured
    /// credentials, the Discord URL and its token, and a URL's query and userinfo password.
    pub fn secrets(&self) -> Vec<&str> {
        let mut out = Vec::new();
        match self {
            TargetKind::Discord(d) => {
                out.push(d.url.expose());
                out.push(d.token.expose());
            }
            TargetKind::Webhook(w) => {
                out.extend(w.secret.as_ref().map(Secret::expose));
                out.extend(url_parts(&w.url).into_iter().flatten());
            }
            TargetKind::Matrix(m) => {
                out.push(m.access_token.expose());
                out.extend(url_parts(&m.homeserver).into_iter().flatten());
            }
            TargetKind::Icecast(i) => {
                out.push(i.password.expose());
                out.extend(url_parts(&i.url).into_iter().flatten());
            }
        }
        out.retain(|s| !s.is_empty());
        // Longest first, so a secret containing another is replaced whole.
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out
    }
}

/// The parts of a URL that may hold a credential.
fn url_parts(u: &Url) -> [Option<&str>; 2] {
    [u.query(), u.password()]
}

/// A URL without its userinfo, query or fragment (any could hold a credential).
fn without_query(url: &Url) -> String {
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

/// One block being validated, with its position for error keys.
struct Block {
    index: usize,
    raw: RawTarget,
    /// The block's kind once known, for "is required for a matrix target".
    kind: &'static str,
}

impl Block {
    fn err(&self, key: &str, message: impl Into<String>) -> TargetConfigError {
        TargetConfigError {
            key: format!("targets[{}].{key}", self.index),
            message: message.into(),
        }
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
        let kind = match self.raw.kind.take().as_deref() {
            Some("discord") => {
                self.kind = "discord";
                TargetKind::Discord(self.discord()?)
            }
            Some("webhook") => {
                self.kind = "webhook";
                TargetKind::Webhook(self.webhook()?)
            }
            Some("matrix") => {
                self.kind = "matrix";
                TargetKind::Matrix(self.matrix()?)
            }
            Some("icecast") => {
                self.kind = "icecast";
                TargetKind::Icecast(self.icecast()?)
            }
            Some(other) => {
                return Err(self.err(
                    "kind",
                    format!("unknown kind `{other}` (use discord, webhook, matrix or icecast)"),
                ));
            }
            None => {
                return Err(self.err("kind", "missing (discord, webhook, matrix or icecast)"));
            }
        };
        self.reject_leftovers()?;
        Ok(TargetConfig {
            name,
            delay_seconds,
            enabled,
            kind,
        })
    }

    /// Keys still set after the kind took its own belong to another kind.
    fn reject_leftovers(&self) -> Result<(), TargetConfigError> {
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
        match set.iter().find(|(_, present)| *present) {
            Some((key, _)) => Err(self.err(key, format!("is not a key of a {} target", self.kind))),
            None => Ok(()),
        }
    }

    /// Takes a required key out of the block.
    fn take_required(
        &mut self,
        key: &str,
        field: impl FnOnce(&mut RawTarget) -> &mut Option<String>,
    ) -> Result<String, TargetConfigError> {
        let value = field(&mut self.raw).take();
        self.required(key, value)
    }

    fn required(&self, key: &str, value: Option<String>) -> Result<String, TargetConfigError> {
        match value {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(self.err(key, format!("is required for a {} target", self.kind))),
        }
    }

    fn url(&mut self, key: &str) -> Result<Url, TargetConfigError> {
        let value = match key {
            "homeserver" => self.raw.homeserver.take(),
            _ => self.raw.url.take(),
        };
        let text = self.required(key, value)?;
        parse_url(&text).map_err(|m| self.err(key, m))
    }

    fn discord(&mut self) -> Result<DiscordTarget, TargetConfigError> {
        let text = self.take_required("url", |r| &mut r.url)?;
        let url = parse_url(&text).map_err(|m| self.err("url", m))?;
        let (redacted, token) = redact_discord(&url).ok_or_else(|| {
            self.err(
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

    fn webhook(&mut self) -> Result<WebhookTarget, TargetConfigError> {
        let url = self.url("url")?;
        let secret = match self.raw.secret.take() {
            Some(s) if s.is_empty() => return Err(self.err("secret", "must not be empty")),
            other => other.map(Secret::new),
        };
        Ok(WebhookTarget { url, secret })
    }

    fn matrix(&mut self) -> Result<MatrixTarget, TargetConfigError> {
        let homeserver = self.url("homeserver")?;
        let room_id = self.take_required("room_id", |r| &mut r.room_id)?;
        if !room_id.starts_with('!') || room_id.chars().any(char::is_whitespace) {
            return Err(self.err(
                "room_id",
                format!("`{room_id}` is not a room id (it starts with `!`, e.g. !abc:example.org)"),
            ));
        }
        let token = self.take_required("access_token", |r| &mut r.access_token)?;
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(self.err(
                "access_token",
                "may only hold printable ASCII characters without spaces",
            ));
        }
        Ok(MatrixTarget {
            homeserver,
            room_id,
            access_token: Secret::new(token),
        })
    }

    fn icecast(&mut self) -> Result<IcecastTarget, TargetConfigError> {
        let url = self.url("url")?;
        let mount = self.take_required("mount", |r| &mut r.mount)?;
        if !mount.starts_with('/') || mount.len() < 2 || mount.chars().any(char::is_whitespace) {
            return Err(self.err("mount", format!("`{mount}` is not a mount like /live.mp3")));
        }
        let username = self.raw.username.take().unwrap_or_else(|| "admin".into());
        if username.is_empty() || username.contains(':') {
            return Err(self.err("username", "must be non-empty and without `:`"));
        }
        let password = self.take_required("password", |r| &mut r.password)?;
        let format_text = self
            .raw
            .format
            .take()
            .unwrap_or_else(|| DEFAULT_ICECAST_FORMAT.into());
        let format =
            AnnounceTemplate::parse(&format_text).map_err(|e| self.err("format", e.to_string()))?;
        Ok(IcecastTarget {
            url,
            mount,
            username,
            password: Secret::new(password),
            format,
        })
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

/// `scheme://host[:port]/…/webhooks/ID/***` and the token, for a URL whose path ends in
/// `webhooks/ID/TOKEN`.
fn redact_discord(url: &Url) -> Option<(String, String)> {
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
