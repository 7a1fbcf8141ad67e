//! The hub's configuration: the `[hub]`, `[dashboard]`, `[show]` and `[soundcloud]` sections of
//! one TOML file, overridden by `NTR_SECTION__KEY` environment variables (figment).
//!
//! Loading checks every value once, so the rest of the hub only ever sees valid settings: a bad
//! value becomes a [`ConfigError`] naming its key, which `main` prints on one line with exit
//! code 2. Sections that belong to the relay (`[relay]`, `[irc]`) are ignored here; unknown keys
//! inside the hub's own sections are errors, because a typo silently ignored would run the show
//! on a default the DJ never chose.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use ntr_protocol::DEFAULT_REPLAY_WINDOW_SECONDS;
use serde::Deserialize;
use url::Url;

use crate::relays::{RelayConfig, RelayName};
use crate::template::{AnnounceTemplate, CorrectionTemplate};
use crate::week::Schedule;

/// Why the configuration cannot be used. Always names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Parse(String),
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
    #[error("cannot read config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(transparent)]
    Target(#[from] crate::targets::config::TargetConfigError),
}

impl ConfigError {
    pub(crate) fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key,
            message: message.into(),
        }
    }
}

/// The raw file shape: only the hub's sections, each strict about its keys.
#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    #[serde(default)]
    hub: RawHub,
    #[serde(default)]
    dashboard: RawDashboard,
    #[serde(default)]
    show: RawShow,
    #[serde(default)]
    soundcloud: RawSoundcloud,
    #[serde(default)]
    targets: Vec<crate::targets::config::RawTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawHub {
    listen: String,
    public_url: Option<String>,
    data_dir: PathBuf,
    admin_token: Option<String>,
    relay_tokens: Vec<String>,
    relays: Vec<RawRelay>,
    trusted_proxies: Vec<String>,
    replay_window_seconds: u64,
    max_connections: usize,
}

/// One `[[hub.relays]]` block.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    name: String,
    token: String,
}

impl Default for RawHub {
    fn default() -> Self {
        RawHub {
            listen: "127.0.0.1:8000".into(),
            public_url: None,
            data_dir: PathBuf::from("data"),
            admin_token: None,
            relay_tokens: Vec::new(),
            relays: Vec::new(),
            trusted_proxies: Vec::new(),
            replay_window_seconds: DEFAULT_REPLAY_WINDOW_SECONDS,
            max_connections: 20_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawDashboard {
    username: String,
    password_hash: Option<String>,
    password: Option<String>,
    secret_key: Option<String>,
    session_hours: u32,
}

impl Default for RawDashboard {
    fn default() -> Self {
        RawDashboard {
            username: "dj".into(),
            password_hash: None,
            password: None,
            secret_key: None,
            session_hours: 24,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawShow {
    timezone: String,
    day: String,
    hour: i64,
    duration_minutes: i64,
    announce_template: String,
    correction_template: String,
}

impl Default for RawShow {
    fn default() -> Self {
        RawShow {
            timezone: "America/New_York".into(),
            day: "wednesday".into(),
            hour: 22,
            duration_minutes: 300,
            announce_template: AnnounceTemplate::DEFAULT.into(),
            correction_template: CorrectionTemplate::DEFAULT.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSoundcloud {
    user: String,
    api_base: String,
    web_base: String,
    client_id: String,
    poll_interval_seconds: u64,
    live_poll_interval_seconds: u64,
}

impl Default for RawSoundcloud {
    fn default() -> Self {
        RawSoundcloud {
            user: "nicktherat".into(),
            api_base: "https://api-v2.soundcloud.com".into(),
            web_base: "https://soundcloud.com".into(),
            client_id: String::new(),
            poll_interval_seconds: 3600,
            live_poll_interval_seconds: 60,
        }
    }
}

/// Validated configuration. Secrets that the file left out are `None` here and are filled in
/// from `data_dir/secrets.toml` by [`crate::secrets`].
#[derive(Debug, Clone)]
pub struct Config {
    pub hub: HubConfig,
    pub dashboard: DashboardConfig,
    pub schedule: Schedule,
    pub announce_template: AnnounceTemplate,
    pub correction_template: CorrectionTemplate,
    pub soundcloud: SoundcloudConfig,
    pub targets: Vec<crate::targets::TargetConfig>,
}

#[derive(Debug, Clone)]
pub struct HubConfig {
    pub listen: SocketAddr,
    pub public_url: Url,
    pub data_dir: PathBuf,
    pub admin_token: Option<String>,
    /// `[[hub.relays]]` first, then `hub.relay_tokens` as `relay-1`, `relay-2`, … Empty when
    /// neither is set: the hub then uses the generated `relay-1` token of `secrets.toml`.
    pub relays: Vec<RelayConfig>,
    pub trusted_proxies: Vec<IpAddr>,
    pub replay_window_seconds: u64,
    /// Open connections the hub accepts at once, authenticated WebSockets not counted.
    pub max_connections: usize,
}

#[derive(Debug, Clone)]
pub struct DashboardConfig {
    pub username: String,
    /// An argon2 PHC string, already parsed once to prove it is one.
    pub password_hash: Option<String>,
    pub secret_key: Option<Vec<u8>>,
    pub session_hours: u32,
}

#[derive(Debug, Clone)]
pub struct SoundcloudConfig {
    pub user: String,
    pub api_base: Url,
    pub web_base: Url,
    pub client_id: Option<String>,
    pub poll_interval_seconds: u64,
    pub live_poll_interval_seconds: u64,
}

const MIN_SECRET_KEY_LEN: usize = 32;

impl Config {
    /// Reads the file (if any) and the `NTR_` environment, then validates everything.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            // figment treats a missing file as empty; an explicit `--config` that does not exist
            // is almost certainly a mistake the operator wants to hear about.
            if let Err(e) = std::fs::metadata(path) {
                return Err(ConfigError::File {
                    path: path.to_owned(),
                    message: e.to_string(),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::from_figment(figment.merge(Env::prefixed("NTR_").split("__")))
    }

    /// The embedded defaults alone (tests and the no-config start use this through `load`).
    pub fn from_figment(figment: Figment) -> Result<Config, ConfigError> {
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| ConfigError::Parse(ntr_common::config_error::one_line(e)))?;
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
        let hub = validate_hub(raw.hub)?;
        let dashboard = validate_dashboard(raw.dashboard)?;
        let schedule = Schedule::from_config(
            &raw.show.timezone,
            &raw.show.day,
            raw.show.hour,
            raw.show.duration_minutes,
        )?;
        let announce_template = AnnounceTemplate::parse(&raw.show.announce_template)
            .map_err(|e| ConfigError::invalid("show.announce_template", e.to_string()))?;
        let correction_template = CorrectionTemplate::parse(&raw.show.correction_template)
            .map_err(|e| ConfigError::invalid("show.correction_template", e.to_string()))?;
        let soundcloud = validate_soundcloud(raw.soundcloud)?;
        // Acks carry relay and target names alike, so one name must mean one of them.
        let mut taken: Vec<String> = hub.relays.iter().map(|r| r.name.to_string()).collect();
        if taken.is_empty() {
            // The relay token generated on first start is `relay-1`.
            taken.push(RelayName::numbered(1).to_string());
        }
        let targets = crate::targets::config::validate(raw.targets, &taken)?;

        Ok(Config {
            hub,
            dashboard,
            schedule,
            announce_template,
            correction_template,
            soundcloud,
            targets,
        })
    }
}

fn validate_hub(raw: RawHub) -> Result<HubConfig, ConfigError> {
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        ConfigError::invalid(
            "hub.listen",
            format!("`{}` is not an address like 127.0.0.1:8000", raw.listen),
        )
    })?;
    let public_url = match raw.public_url {
        Some(s) => parse_http_url("hub.public_url", &s)?,
        None => parse_http_url("hub.public_url", &format!("http://{listen}"))?,
    };
    let admin_token = non_empty(raw.admin_token);
    if let Some(t) = &admin_token {
        check_token("hub.admin_token", t)?;
    }
    let relays = validate_relays(raw.relays, raw.relay_tokens, admin_token.as_deref())?;
    let trusted_proxies = raw
        .trusted_proxies
        .iter()
        .map(|s| {
            s.parse::<IpAddr>()
                .map(|ip| ip.to_canonical())
                .map_err(|_| {
                    ConfigError::invalid(
                        "hub.trusted_proxies",
                        format!("`{s}` is not an IP address"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if raw.replay_window_seconds == 0 {
        return Err(ConfigError::invalid(
            "hub.replay_window_seconds",
            "must be at least 1",
        ));
    }
    if raw.max_connections == 0 {
        return Err(ConfigError::invalid(
            "hub.max_connections",
            "must be at least 1",
        ));
    }
    Ok(HubConfig {
        listen,
        public_url,
        data_dir: raw.data_dir,
        admin_token,
        relays,
        trusted_proxies,
        replay_window_seconds: raw.replay_window_seconds,
        max_connections: raw.max_connections,
    })
}

fn validate_dashboard(raw: RawDashboard) -> Result<DashboardConfig, ConfigError> {
    if raw.username.trim().is_empty() {
        return Err(ConfigError::invalid(
            "dashboard.username",
            "must not be empty",
        ));
    }
    let password_hash = match (non_empty(raw.password_hash), non_empty(raw.password)) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid(
                "dashboard.password",
                "set either dashboard.password or dashboard.password_hash, not both",
            ));
        }
        (Some(hash), None) => {
            crate::auth::password::check_hash_format(&hash).map_err(|e| {
                ConfigError::invalid(
                    "dashboard.password_hash",
                    format!("{e} (make one with `hub hash-password`)"),
                )
            })?;
            Some(hash)
        }
        (None, Some(plain)) => Some(
            crate::auth::password::hash(&plain)
                .map_err(|e| ConfigError::invalid("dashboard.password", e.to_string()))?,
        ),
        (None, None) => None,
    };
    let secret_key = match non_empty(raw.secret_key) {
        Some(k) if k.len() < MIN_SECRET_KEY_LEN => {
            return Err(ConfigError::invalid(
                "dashboard.secret_key",
                format!(
                    "must be at least {MIN_SECRET_KEY_LEN} bytes (it is {})",
                    k.len()
                ),
            ));
        }
        other => other.map(String::into_bytes),
    };
    if raw.session_hours == 0 || raw.session_hours > 24 * 366 {
        return Err(ConfigError::invalid(
            "dashboard.session_hours",
            format!("must be between 1 and 8784 (got {})", raw.session_hours),
        ));
    }
    Ok(DashboardConfig {
        username: raw.username,
        password_hash,
        secret_key,
        session_hours: raw.session_hours,
    })
}

fn validate_soundcloud(raw: RawSoundcloud) -> Result<SoundcloudConfig, ConfigError> {
    let user = raw.user.trim().to_owned();
    if user.is_empty() || user.contains('/') {
        return Err(ConfigError::invalid(
            "soundcloud.user",
            "must be a profile permalink such as `nicktherat`",
        ));
    }
    let client_id = non_empty(Some(raw.client_id));
    if let Some(id) = &client_id
        && !id.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(ConfigError::invalid(
            "soundcloud.client_id",
            "must contain only letters and digits",
        ));
    }
    if raw.poll_interval_seconds == 0 {
        return Err(ConfigError::invalid(
            "soundcloud.poll_interval_seconds",
            "must be at least 1",
        ));
    }
    if raw.live_poll_interval_seconds == 0 {
        return Err(ConfigError::invalid(
            "soundcloud.live_poll_interval_seconds",
            "must be at least 1",
        ));
    }
    Ok(SoundcloudConfig {
        user,
        api_base: parse_http_url("soundcloud.api_base", &raw.api_base)?,
        web_base: parse_http_url("soundcloud.web_base", &raw.web_base)?,
        client_id,
        poll_interval_seconds: raw.poll_interval_seconds,
        live_poll_interval_seconds: raw.live_poll_interval_seconds,
    })
}

fn parse_http_url(key: &'static str, s: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(s.trim_end_matches('/'))
        .map_err(|e| ConfigError::invalid(key, format!("`{s}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::invalid(
            key,
            format!("`{s}` must be an http:// or https:// URL"),
        ));
    }
    Ok(url)
}

/// The shared token rules, worded with the key.
fn check_token(key: &'static str, token: &str) -> Result<(), ConfigError> {
    ntr_protocol::check_token(token).map_err(|e| ConfigError::invalid(key, e.to_string()))
}

/// Named relays and the numbered ones of `relay_tokens`, each name and token used once (a
/// shared token would make two relays one cursor; a shared name, one dashboard row). Errors
/// name the relays, never a token.
fn validate_relays(
    named: Vec<RawRelay>,
    numbered: Vec<String>,
    admin_token: Option<&str>,
) -> Result<Vec<RelayConfig>, ConfigError> {
    let mut relays: Vec<RelayConfig> = Vec::with_capacity(named.len() + numbered.len());
    for raw in named {
        let name = RelayName::parse(&raw.name)
            .map_err(|e| ConfigError::invalid("hub.relays", format!("name {e}")))?;
        ntr_protocol::check_token(&raw.token)
            .map_err(|e| ConfigError::invalid("hub.relays", format!("relay `{name}`: {e}")))?;
        relays.push(RelayConfig {
            name,
            token: raw.token,
        });
    }
    for (i, token) in numbered.into_iter().enumerate() {
        check_token("hub.relay_tokens", &token)?;
        relays.push(RelayConfig {
            name: RelayName::numbered(i + 1),
            token,
        });
    }
    for (i, relay) in relays.iter().enumerate() {
        let earlier = &relays[..i];
        if earlier.iter().any(|r| r.name == relay.name) {
            return Err(ConfigError::invalid(
                "hub.relays",
                format!("the relay name `{}` is used twice", relay.name),
            ));
        }
        if let Some(r) = earlier.iter().find(|r| r.token == relay.token) {
            return Err(ConfigError::invalid(
                "hub.relays",
                format!(
                    "relays `{}` and `{}` have the same token",
                    r.name, relay.name
                ),
            ));
        }
        if admin_token == Some(relay.token.as_str()) {
            return Err(ConfigError::invalid(
                "hub.relays",
                format!(
                    "relay `{}` has the admin token; give it its own",
                    relay.name
                ),
            ));
        }
    }
    Ok(relays)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Format;

    fn load(toml: &str) -> Result<Config, ConfigError> {
        Config::from_figment(Figment::new().merge(Toml::string(toml)))
    }

    #[test]
    fn defaults_are_valid() {
        let c = load("").expect("defaults load");
        assert_eq!(c.hub.listen.to_string(), "127.0.0.1:8000");
        assert_eq!(c.hub.public_url.as_str(), "http://127.0.0.1:8000/");
        assert_eq!(c.dashboard.username, "dj");
        assert_eq!(c.soundcloud.user, "nicktherat");
        assert!(c.hub.admin_token.is_none());
        assert_eq!(c.hub.max_connections, 20_000);
    }

    #[test]
    fn relay_sections_are_ignored() {
        load("[relay]\ntoken = \"x\"\n[irc]\nanything = 1\n").expect("relay sections ignored");
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("[hub]\nlisten_addr = \"x\"", "listen_addr"),
            ("[show]\nhour = 25", "show.hour"),
            ("[show]\ntimezone = \"Mars/Olympus\"", "show.timezone"),
            ("[show]\nday = \"someday\"", "show.day"),
            ("[hub]\nlisten = \"nowhere\"", "hub.listen"),
            (
                "[dashboard]\nsecret_key = \"short\"",
                "dashboard.secret_key",
            ),
            ("[hub]\nadmin_token = \"abc\"", "hub.admin_token"),
            (
                "[hub]\nrelay_tokens = [\"0123456789abcdef 1\"]",
                "hub.relay_tokens",
            ),
            (
                "[dashboard]\npassword_hash = \"nope\"",
                "dashboard.password_hash",
            ),
            (
                "[show]\nannounce_template = \"{nope}\"",
                "show.announce_template",
            ),
            (
                "[show]\ncorrection_template = \"Fix: {title}\"",
                "show.correction_template",
            ),
            (
                "[soundcloud]\napi_base = \"ftp://x\"",
                "soundcloud.api_base",
            ),
            (
                "[hub]\nreplay_window_seconds = -1",
                "hub.replay_window_seconds",
            ),
            (
                "[[hub.relays]]\nname = \"bad name\"\ntoken = \"0123456789abcdef\"",
                "hub.relays",
            ),
            (
                "[[hub.relays]]\nname = \"bot\"\ntoken = \"short\"",
                "hub.relays",
            ),
            (
                "[[hub.relays]]\nname = \"bot\"\ntoken = \"0123456789abcdef\"\nchannel = 1",
                "channel",
            ),
            ("[hub]\nrelay_tokens = [\"short\"]", "hub.relay_tokens"),
            ("[hub]\nmax_connections = 0", "hub.max_connections"),
        ];
        for (toml, key) in cases {
            let err = load(toml).expect_err(toml).to_string();
            assert!(err.contains(key), "{toml:?} gave {err:?}");
            assert!(!err.contains('\n'), "one line: {err:?}");
        }
    }

    #[test]
    fn named_and_numbered_relays() {
        let c = load(
            "[hub]\nrelay_tokens = [\"numbered-token-0001\", \"numbered-token-0002\"]\n\
             [[hub.relays]]\nname = \"ntrbot\"\ntoken = \"named-token-000001\"\n",
        )
        .expect("valid relays");
        let names: Vec<&str> = c.hub.relays.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["ntrbot", "relay-1", "relay-2"]);
        assert_eq!(c.hub.relays[2].token, "numbered-token-0002");
    }

    #[test]
    fn duplicate_names_or_tokens_are_one_line_errors_without_the_token() {
        let token = "the-same-token-0123";
        let cases = [
            format!(
                "[[hub.relays]]\nname = \"a\"\ntoken = \"{token}\"\n\
                 [[hub.relays]]\nname = \"b\"\ntoken = \"{token}\"\n"
            ),
            format!(
                "[[hub.relays]]\nname = \"a\"\ntoken = \"{token}\"\n\
                 [[hub.relays]]\nname = \"a\"\ntoken = \"another-token-0123\"\n"
            ),
            format!(
                "[hub]\nrelay_tokens = [\"{token}\"]\n\
                 [[hub.relays]]\nname = \"relay-1\"\ntoken = \"another-token-0123\"\n"
            ),
            format!("[hub]\nrelay_tokens = [\"{token}\", \"{token}\"]\n"),
            format!("[hub]\nadmin_token = \"{token}\"\nrelay_tokens = [\"{token}\"]\n"),
        ];
        for toml in cases {
            let err = load(&toml).expect_err(&toml).to_string();
            assert!(err.starts_with("hub.relays: "), "{err}");
            assert!(!err.contains('\n') && !err.contains(token), "{err}");
        }
    }

    #[test]
    fn a_target_may_not_share_a_relay_name() {
        let hook =
            "[[targets]]\nname = \"ntrbot\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n";
        let relay = "[[hub.relays]]\nname = \"ntrbot\"\ntoken = \"0123456789abcdef-relay\"\n";
        let err = load(&format!("{relay}{hook}"))
            .expect_err("shared name")
            .to_string();
        assert!(err.contains("ntrbot"), "{err}");
        let generated = hook.replace("ntrbot", "relay-1");
        assert!(
            load(&generated).is_err(),
            "relay-1 is the generated relay's name"
        );
        assert!(load(hook).is_ok(), "no relay of that name");
    }
}
