//! The relay's configuration: the `[relay]` and `[irc]` sections of the shared TOML file,
//! overridden by `NTR_`-prefixed environment variables (`NTR_IRC__NICKNAME` sets
//! `[irc] nickname`); the secrets of [`SECRET_KEYS`] may also come from a file named by
//! `NTR_SECTION__KEY_FILE`.
//!
//! Other sections (`[hub]`, `[show]`, …) belong to the hub and are ignored here, but an unknown
//! key inside `[relay]` or `[irc]` is an error: a typo there would otherwise silently fall back
//! to a default. Every error names the key it is about and fits on one line, because `main`
//! prints it as the whole diagnostic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use ntr_common::config_error::one_line;
use ntr_protocol::{DEFAULT_REPLAY_WINDOW_SECONDS, MAX_REPLAY_WINDOW_SECONDS, check_token};
use serde::Deserialize;
use serde::de::IgnoredAny;
use url::Url;

/// Everything the relay needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub relay: RelayConfig,
    pub irc: IrcConfig,
}

/// `[relay]`: how to reach the hub.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Base URLs of the hub, in the order to try them (never empty); `/ws/announce` and
    /// `/playlist` are derived from each. Several are replicas of one station, or a second hub
    /// to fall back to.
    pub hub_urls: Vec<Url>,
    /// Relay or admin token sent as `Authorization: Bearer`.
    pub token: String,
    /// Link given by `!playlist`; defaults to the first hub URL (differs behind a reverse
    /// proxy).
    pub public_url: Url,
    /// Announces older than this are never posted, and queued lines expire after it.
    pub replay_window: Duration,
    /// First reconnect delay of both reconnect loops (hub and IRC).
    pub reconnect_initial: Duration,
    /// Upper bound of the exponential reconnect delay.
    pub reconnect_max: Duration,
    /// Where the relay keeps what it has posted, across restarts (see [`Config::state_file`]).
    pub state_dir: PathBuf,
    /// Whether `state_dir` was set: then a folder that cannot be written stops the start. The
    /// default (`data`, relative to the working directory) may be unwritable under a unit made
    /// for a relay that kept nothing on disk; that relay still starts, with a warning.
    pub state_dir_configured: bool,
}

/// `[irc]`: the IRC server and how the bot behaves there.
#[derive(Debug, Clone)]
pub struct IrcConfig {
    pub server: String,
    pub port: u16,
    pub tls: bool,
    /// Extra PEM CA certificate(s) trusted in addition to the system store.
    pub ca_file: Option<PathBuf>,
    pub nickname: String,
    /// Tried in order when `nickname` is taken.
    pub alt_nicknames: Vec<String>,
    /// Where station-wide lines and the lines of shows without a route go.
    pub channels: Vec<String>,
    /// `[[irc.routes]]`: a show's lines go to its route's channels instead.
    pub routes: Vec<Route>,
    /// SASL PLAIN with `nickname` as the account, when set.
    pub sasl_password: Option<String>,
    /// `NickServ IDENTIFY`, when set.
    pub nickserv_password: Option<String>,
    pub command_prefix: String,
    /// One command answer per user per this long.
    pub command_cooldown: Duration,
    /// At most this many command answers per channel per `command_replies_window`, whoever
    /// asks.
    pub command_replies_per_channel: usize,
    pub command_replies_window: Duration,
    /// Lines sent at once to one target before the rate applies.
    pub flood_burst: u32,
    /// Sustained lines per second per target.
    pub flood_lines_per_second: f64,
    /// Lines waiting per channel while IRC is down; the oldest go first when it overflows.
    pub queue_limit: usize,
}

/// One `[[irc.routes]]` block: the lines of show `show` go to `channels`, and commands asked
/// there answer for that show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub show: String,
    pub channels: Vec<String>,
}

impl IrcConfig {
    /// Every channel the bot joins: `channels`, then each route's, each once.
    pub fn all_channels(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        let routed = self.routes.iter().flat_map(|r| r.channels.iter());
        for channel in self.channels.iter().chain(routed) {
            if !all.iter().any(|c| c.eq_ignore_ascii_case(channel)) {
                all.push(channel.clone());
            }
        }
        all
    }

    /// Where a line of `show` (`None`: station-wide) is posted: its route's channels, else
    /// `channels`.
    pub fn channels_for(&self, show: Option<&str>) -> &[String] {
        show.and_then(|show| self.routes.iter().find(|r| r.show == show))
            .map_or(&self.channels, |route| &route.channels)
    }

    /// The show routed to `channel`, if any: commands asked there answer for it.
    pub fn show_of(&self, channel: &str) -> Option<&str> {
        self.routes
            .iter()
            .find(|r| r.channels.iter().any(|c| c.eq_ignore_ascii_case(channel)))
            .map(|r| r.show.as_str())
    }
}

/// A configuration problem, worded for the person who edits the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    FileMissing(PathBuf),
    #[error("{key} is missing (set `{field}` under [{section}] or {env})")]
    Missing {
        key: String,
        section: &'static str,
        field: &'static str,
        env: String,
    },
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
    /// Parse errors from figment (syntax, wrong type, unknown key); figment names the key.
    #[error("{0}")]
    Parse(String),
    #[error(transparent)]
    SecretFile(#[from] ntr_common::environment::SecretFileError),
}

/// The scalar secrets an `NTR_SECTION__KEY_FILE` variable may hold.
pub const SECRET_KEYS: &[ntr_common::environment::SecretKey] = &[
    ("relay", "token"),
    ("irc", "sasl_password"),
    ("irc", "nickserv_password"),
];

/// The file as the relay reads it: its own two sections, each strict about its keys, and the
/// hub's, which are only skipped. A table neither binary knows (a typo such as `[ircs]`) is an
/// error rather than settings silently lost.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    relay: RawRelay,
    #[serde(default)]
    irc: RawIrc,
    #[serde(default, rename = "hub")]
    _hub: IgnoredAny,
    #[serde(default, rename = "dashboard")]
    _dashboard: IgnoredAny,
    #[serde(default, rename = "show")]
    _show: IgnoredAny,
    #[serde(default, rename = "shows")]
    _shows: IgnoredAny,
    #[serde(default, rename = "soundcloud")]
    _soundcloud: IgnoredAny,
    #[serde(default, rename = "targets")]
    _targets: IgnoredAny,
    #[serde(default, rename = "store")]
    _store: IgnoredAny,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    hub_url: Option<hub_urls::RawHubUrls>,
    token: Option<String>,
    public_url: Option<String>,
    replay_window_seconds: Option<u64>,
    reconnect_initial_seconds: Option<f64>,
    reconnect_max_seconds: Option<f64>,
    state_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIrc {
    server: Option<String>,
    port: Option<u16>,
    tls: Option<bool>,
    ca_file: Option<PathBuf>,
    nickname: Option<String>,
    alt_nicknames: Option<Vec<String>>,
    channels: Option<Vec<String>>,
    routes: Option<Vec<RawRoute>>,
    sasl_password: Option<String>,
    nickserv_password: Option<String>,
    command_prefix: Option<String>,
    command_cooldown_seconds: Option<f64>,
    command_replies_per_channel: Option<usize>,
    command_replies_window_seconds: Option<f64>,
    flood_burst: Option<u32>,
    flood_lines_per_second: Option<f64>,
    queue_limit: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    show: String,
    channels: Vec<String>,
}

pub const DEFAULT_HUB_URL: &str = "http://127.0.0.1:8000";
/// Relative to the working directory, like the hub's `data_dir`.
pub const DEFAULT_STATE_DIR: &str = "data";

impl Config {
    /// Reads `path` (when given) and then the `NTR_` environment and the secrets' `_FILE`s on
    /// top of it.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            // figment treats a missing file as empty; a mistyped --config must not start a
            // relay on defaults.
            if !path.is_file() {
                return Err(ConfigError::FileMissing(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file(path));
        }
        Self::from_figment(&ntr_common::environment::merge(figment, SECRET_KEYS)?)
    }

    /// Parses a TOML document alone, without the environment (tests, embedding).
    pub fn from_toml(toml: &str) -> Result<Config, ConfigError> {
        Self::from_figment(&Figment::from(Toml::string(toml)))
    }

    fn from_figment(figment: &Figment) -> Result<Config, ConfigError> {
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| ConfigError::Parse(one_line(e)))?;
        Ok(Config {
            relay: raw.relay.validate()?,
            irc: raw.irc.validate()?,
        })
    }

    /// The file in `state_dir` that records what this relay has posted, named after the bot and
    /// its server so that two bots sharing a directory keep one file each.
    pub fn state_file(&self) -> PathBuf {
        let irc = &self.irc;
        let name = format!(
            "irc-relay-{}@{}-{}.json",
            irc.nickname, irc.server, irc.port
        );
        // Nicknames may hold `\`, `|` and the like; keep the name plain on every filesystem.
        let name: String = name
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' | '@' => c,
                _ => '_',
            })
            .collect();
        self.relay.state_dir.join(name)
    }
}

fn missing(section: &'static str, field: &'static str) -> ConfigError {
    let mut env = format!(
        "NTR_{}__{}",
        section.to_ascii_uppercase(),
        field.to_ascii_uppercase()
    );
    if SECRET_KEYS.contains(&(section, field)) {
        env = format!("{env} or {env}_FILE");
    }
    ConfigError::Missing {
        key: format!("{section}.{field}"),
        section,
        field,
        env,
    }
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason: reason.into(),
    }
}

fn http_url(key: &str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| invalid(key, format!("not a URL ({e})")))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        _ => Err(invalid(key, "must be an http:// or https:// URL")),
    }
}

/// The longest reconnect wait: an hour. Every number has a bound, so a typo fails here
/// instead of overflowing a time computation in the middle of a show.
const MAX_RECONNECT_SECONDS: f64 = 3600.0;

fn seconds(key: &str, value: f64) -> Result<Duration, ConfigError> {
    if !(0.0..=MAX_RECONNECT_SECONDS).contains(&value) {
        return Err(invalid(
            key,
            format!("must be between 0 and {MAX_RECONNECT_SECONDS} seconds (got {value})"),
        ));
    }
    Duration::try_from_secs_f64(value)
        .map_err(|_| invalid(key, "must be a non-negative number of seconds"))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl RawRelay {
    fn validate(self) -> Result<RelayConfig, ConfigError> {
        let hub_urls = hub_urls::validate(self.hub_url)?;
        let Some(preferred) = hub_urls.first().cloned() else {
            return Err(invalid("relay.hub_url", "must list at least one URL"));
        };
        let token = non_empty(self.token).ok_or_else(|| missing("relay", "token"))?;
        check_token(&token).map_err(|e| invalid("relay.token", e.to_string()))?;
        let public_url = match non_empty(self.public_url) {
            Some(url) => http_url("relay.public_url", &url)?,
            None => preferred,
        };
        let replay_window = self
            .replay_window_seconds
            .unwrap_or(DEFAULT_REPLAY_WINDOW_SECONDS);
        if !(1..=MAX_REPLAY_WINDOW_SECONDS).contains(&replay_window) {
            return Err(invalid(
                "relay.replay_window_seconds",
                format!("must be between 1 and {MAX_REPLAY_WINDOW_SECONDS} (got {replay_window})"),
            ));
        }
        let replay_window = Duration::from_secs(replay_window);
        let reconnect_initial = seconds(
            "relay.reconnect_initial_seconds",
            self.reconnect_initial_seconds.unwrap_or(1.0),
        )?;
        let reconnect_max = seconds(
            "relay.reconnect_max_seconds",
            self.reconnect_max_seconds.unwrap_or(60.0),
        )?;
        if reconnect_initial.is_zero() {
            return Err(invalid(
                "relay.reconnect_initial_seconds",
                "must be greater than 0",
            ));
        }
        if reconnect_max < reconnect_initial {
            return Err(invalid(
                "relay.reconnect_max_seconds",
                "must not be smaller than reconnect_initial_seconds",
            ));
        }
        let state_dir_configured = self.state_dir.is_some();
        let state_dir = match self.state_dir {
            Some(dir) if dir.as_os_str().is_empty() => {
                return Err(invalid("relay.state_dir", "must not be empty"));
            }
            Some(dir) => dir,
            None => PathBuf::from(DEFAULT_STATE_DIR),
        };
        Ok(RelayConfig {
            hub_urls,
            token,
            public_url,
            replay_window,
            reconnect_initial,
            reconnect_max,
            state_dir,
            state_dir_configured,
        })
    }
}

/// RFC 2812 nick characters, with the length left to the server (ngircd and Libera differ).
fn valid_nick(nick: &str) -> bool {
    let mut chars = nick.chars();
    let special = |c: char| "[]\\`_^{|}".contains(c);
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || special(c) => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || special(c) || c == '-')
}

fn valid_channel(channel: &str) -> bool {
    channel.len() > 1
        && channel.len() <= 50
        && channel.starts_with(['#', '&'])
        && !channel
            .chars()
            .any(|c| c == ' ' || c == ',' || c == ':' || c.is_control())
}

impl RawIrc {
    fn validate(self) -> Result<IrcConfig, ConfigError> {
        let tls = self.tls.unwrap_or(true);
        let nickname = nickname(self.nickname)?;
        Ok(IrcConfig {
            server: server(self.server)?,
            port: port(self.port, tls)?,
            tls,
            ca_file: ca_file(self.ca_file)?,
            alt_nicknames: alt_nicknames(self.alt_nicknames, &nickname)?,
            nickname,
            channels: channels(self.channels)?,
            routes: routes(self.routes.unwrap_or_default())?,
            sasl_password: non_empty(self.sasl_password),
            nickserv_password: non_empty(self.nickserv_password),
            command_prefix: command_prefix(self.command_prefix)?,
            command_cooldown: seconds(
                "irc.command_cooldown_seconds",
                self.command_cooldown_seconds.unwrap_or(3.0),
            )?,
            command_replies_per_channel: at_least_one(
                "irc.command_replies_per_channel",
                self.command_replies_per_channel.unwrap_or(2),
            )?,
            command_replies_window: seconds(
                "irc.command_replies_window_seconds",
                self.command_replies_window_seconds.unwrap_or(10.0),
            )?,
            flood_burst: at_least_one("irc.flood_burst", self.flood_burst.unwrap_or(4))?,
            flood_lines_per_second: rate(self.flood_lines_per_second.unwrap_or(1.0))?,
            queue_limit: at_least_one("irc.queue_limit", self.queue_limit.unwrap_or(100))?,
        })
    }
}

fn server(value: Option<String>) -> Result<String, ConfigError> {
    let server = non_empty(value).ok_or_else(|| missing("irc", "server"))?;
    if server.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("irc.server", "must be a host name or address"));
    }
    Ok(server)
}

fn port(value: Option<u16>, tls: bool) -> Result<u16, ConfigError> {
    match value.unwrap_or(if tls { 6697 } else { 6667 }) {
        0 => Err(invalid("irc.port", "must be between 1 and 65535")),
        port => Ok(port),
    }
}

fn ca_file(value: Option<PathBuf>) -> Result<Option<PathBuf>, ConfigError> {
    match value {
        Some(path) if path.as_os_str().is_empty() => Ok(None),
        Some(path) if !path.is_file() => Err(invalid(
            "irc.ca_file",
            format!("{} is not a readable file", path.display()),
        )),
        other => Ok(other),
    }
}

fn nickname(value: Option<String>) -> Result<String, ConfigError> {
    let nickname = non_empty(value).ok_or_else(|| missing("irc", "nickname"))?;
    if !valid_nick(&nickname) {
        return Err(invalid(
            "irc.nickname",
            format!("`{nickname}` is not a valid IRC nickname"),
        ));
    }
    Ok(nickname)
}

fn alt_nicknames(value: Option<Vec<String>>, nickname: &str) -> Result<Vec<String>, ConfigError> {
    let alts = value.unwrap_or_else(|| vec![format!("{nickname}_"), format!("{nickname}__")]);
    if let Some(bad) = alts.iter().find(|n| !valid_nick(n)) {
        return Err(invalid(
            "irc.alt_nicknames",
            format!("`{bad}` is not a valid IRC nickname"),
        ));
    }
    Ok(alts)
}

fn channels(value: Option<Vec<String>>) -> Result<Vec<String>, ConfigError> {
    let channels = value.unwrap_or_default();
    if channels.is_empty() {
        return Err(missing("irc", "channels"));
    }
    if let Some(bad) = channels.iter().find(|c| !valid_channel(c)) {
        return Err(invalid(
            "irc.channels",
            format!("`{bad}` is not a channel name (it must start with # or &)"),
        ));
    }
    Ok(channels)
}

/// A show's slug as the hub spells it: 1 to 32 of a-z, 0-9 and -.
fn valid_slug(slug: &str) -> bool {
    (1..=32).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Each route names a show once and at least one valid channel; no channel is in two routes
/// (which show would its commands answer for?).
fn routes(raw: Vec<RawRoute>) -> Result<Vec<Route>, ConfigError> {
    let mut routes: Vec<Route> = Vec::with_capacity(raw.len());
    for (i, route) in raw.into_iter().enumerate() {
        let key = |field: &str| format!("irc.routes[{i}].{field}");
        if !valid_slug(&route.show) {
            return Err(invalid(
                &key("show"),
                format!(
                    "`{}` is not a show slug: use 1 to 32 of a-z, 0-9 and -",
                    route.show
                ),
            ));
        }
        if routes.iter().any(|r| r.show == route.show) {
            return Err(invalid(
                &key("show"),
                format!(
                    "`{}` has two routes; list all its channels in one",
                    route.show
                ),
            ));
        }
        if route.channels.is_empty() {
            return Err(invalid(&key("channels"), "must name at least one channel"));
        }
        for channel in &route.channels {
            if !valid_channel(channel) {
                return Err(invalid(
                    &key("channels"),
                    format!("`{channel}` is not a channel name (it must start with # or &)"),
                ));
            }
            let earlier = routes
                .iter()
                .find(|r| r.channels.iter().any(|c| c.eq_ignore_ascii_case(channel)));
            if let Some(earlier) = earlier {
                return Err(invalid(
                    &key("channels"),
                    format!(
                        "`{channel}` is routed to both `{}` and `{}`",
                        earlier.show, route.show
                    ),
                ));
            }
        }
        routes.push(Route {
            show: route.show,
            channels: route.channels,
        });
    }
    Ok(routes)
}

fn command_prefix(value: Option<String>) -> Result<String, ConfigError> {
    let prefix = value.unwrap_or_else(|| "!".to_string());
    if prefix.is_empty() || prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "irc.command_prefix",
            "must be non-empty and contain no spaces",
        ));
    }
    Ok(prefix)
}

fn at_least_one<T: PartialOrd + From<u8>>(key: &str, value: T) -> Result<T, ConfigError> {
    if value < T::from(1) {
        return Err(invalid(key, "must be at least 1"));
    }
    Ok(value)
}

fn rate(lines_per_second: f64) -> Result<f64, ConfigError> {
    if !(lines_per_second.is_finite() && lines_per_second > 0.0) {
        return Err(invalid(
            "irc.flood_lines_per_second",
            "must be a number greater than 0",
        ));
    }
    Ok(lines_per_second)
}

mod hub_urls;

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r##"
        [relay]
        token = "t0ken-0123456789"
        [irc]
        server = "irc.example.org"
        nickname = "ntrbot"
        channels = ["#ntr"]
    "##;

    #[test]
    fn minimal_config_gets_spec_defaults() {
        let config = Config::from_toml(MINIMAL).expect("valid");
        assert_eq!(hub_urls(&config), ["http://127.0.0.1:8000/"]);
        assert_eq!(config.relay.public_url.as_str(), "http://127.0.0.1:8000/");
        assert_eq!(config.relay.replay_window, Duration::from_secs(300));
        assert_eq!(config.relay.reconnect_initial, Duration::from_secs(1));
        assert_eq!(config.relay.reconnect_max, Duration::from_secs(60));
        assert_eq!(config.relay.state_dir, Path::new("data"));
        assert_eq!(
            config.state_file(),
            Path::new("data/irc-relay-ntrbot@irc.example.org-6697.json")
        );
        assert_eq!(config.irc.port, 6697);
        assert!(config.irc.tls);
        assert_eq!(config.irc.command_prefix, "!");
        assert_eq!(config.irc.flood_burst, 4);
        assert_eq!(config.irc.flood_lines_per_second, 1.0);
        assert_eq!(config.irc.command_cooldown, Duration::from_secs(3));
        assert_eq!(config.irc.command_replies_per_channel, 2);
        assert_eq!(config.irc.command_replies_window, Duration::from_secs(10));
        assert_eq!(config.irc.alt_nicknames, ["ntrbot_", "ntrbot__"]);
        assert_eq!(config.irc.sasl_password, None);
    }

    #[test]
    fn a_table_neither_binary_knows_is_an_error() {
        for toml in ["[ircs]\nchannels = []", "[[relays]]\nname = \"a\""] {
            let err = Config::from_toml(&format!("{MINIMAL}\n{toml}"))
                .expect_err(toml)
                .to_string();
            let table = toml
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default();
            assert!(err.contains(table), "{toml:?}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn plaintext_defaults_to_6667_and_other_sections_are_ignored() {
        let toml = format!(
            "{MINIMAL}\ntls = false\nsasl_password = \"\"\n[hub]\nwhatever = 1\n[show]\nday = \"x\""
        );
        let config = Config::from_toml(&toml).expect("valid");
        assert_eq!(config.irc.port, 6667);
        assert!(!config.irc.tls);
        assert_eq!(config.irc.sasl_password, None);
    }

    #[test]
    fn unknown_key_is_named() {
        let toml = MINIMAL.replace("nickname =", "nick_name = \"x\"\nnickname =");
        let err = Config::from_toml(&toml)
            .expect_err("unknown key")
            .to_string();
        assert!(err.contains("irc.nick_name"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn missing_token_names_key_and_env_var() {
        let toml = MINIMAL.replace("token = \"t0ken-0123456789\"", "");
        let err = Config::from_toml(&toml).expect_err("missing").to_string();
        assert!(err.contains("relay.token"), "{err}");
        assert!(
            err.contains("NTR_RELAY__TOKEN or NTR_RELAY__TOKEN_FILE"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_names_key() {
        let toml = MINIMAL.replace("[irc]", "[irc]\nport = \"six\"");
        let err = Config::from_toml(&toml).expect_err("bad type").to_string();
        assert!(err.contains("irc.port"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (from, to, key) in [
            ("[irc]", "[irc]\nport = 0", "irc.port"),
            ("[\"#ntr\"]", "[\"ntr\"]", "irc.channels"),
            ("[\"#ntr\"]", "[]", "irc.channels"),
            ("\"ntrbot\"", "\"ntr bot\"", "irc.nickname"),
            ("[relay]", "[relay]\nhub_url = \"ftp://x\"", "relay.hub_url"),
            ("t0ken-0123456789", "short", "relay.token"),
            ("[relay]", "[relay]\nstate_dir = \"\"", "relay.state_dir"),
            // Every number has an upper bound: a huge one once panicked on the first announce.
            (
                "[relay]",
                "[relay]\nreplay_window_seconds = 9223372036854775807",
                "relay.replay_window_seconds",
            ),
            (
                "[relay]",
                "[relay]\nreplay_window_seconds = 0",
                "relay.replay_window_seconds",
            ),
            (
                "[relay]",
                "[relay]\nreconnect_max_seconds = 1e19",
                "relay.reconnect_max_seconds",
            ),
            ("t0ken-0123456789", "t0ken 0123456789", "relay.token"),
            (
                "[irc]",
                "[irc]\nflood_lines_per_second = 0.0",
                "irc.flood_lines_per_second",
            ),
            (
                "[irc]",
                "[irc]\nca_file = \"/nonexistent.pem\"",
                "irc.ca_file",
            ),
        ] {
            let toml = MINIMAL.replace(from, to);
            let err = Config::from_toml(&toml).expect_err(key).to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
    }

    fn with_hub_url(value: &str) -> Result<Config, ConfigError> {
        Config::from_toml(&MINIMAL.replace("[relay]", &format!("[relay]\nhub_url = {value}")))
    }

    fn hub_urls(config: &Config) -> Vec<&str> {
        config.relay.hub_urls.iter().map(Url::as_str).collect()
    }

    #[test]
    fn hub_url_is_one_url_or_a_list_in_order_of_preference() {
        let one = with_hub_url("\"https://hub.example/ntr\"").expect("one URL");
        assert_eq!(hub_urls(&one), ["https://hub.example/ntr"]);
        let list = with_hub_url("[\"http://b.example:8001\", \"https://a.example/ntr/\"]")
            .expect("a list");
        assert_eq!(
            hub_urls(&list),
            ["http://b.example:8001/", "https://a.example/ntr/"],
            "kept in the order written"
        );
        assert_eq!(
            list.relay.public_url.as_str(),
            "http://b.example:8001/",
            "public_url defaults to the first"
        );
        let single = with_hub_url("[\"http://a.example\"]").expect("a list of one");
        assert_eq!(hub_urls(&single), ["http://a.example/"]);
    }

    #[test]
    fn a_bad_hub_url_list_names_the_key_or_the_entry() {
        for (value, key, says) in [
            ("[]", "relay.hub_url:", "at least one URL"),
            (
                "[\"http://a\", \"ftp://b\"]",
                "relay.hub_url[1]:",
                "http:// or https://",
            ),
            (
                "[\"nowhere\", \"http://b\"]",
                "relay.hub_url[0]:",
                "not a URL",
            ),
            (
                "[\"http://a:80/\", \"http://a\"]",
                "relay.hub_url[1]:",
                "listed twice",
            ),
            (
                "[\"http://a/x\", \"http://b\", \"http://a/x/\"]",
                "relay.hub_url[2]:",
                "also relay.hub_url[0]",
            ),
            ("\"ftp://a\"", "relay.hub_url:", "http:// or https://"),
            ("5", "relay.hub_url", "a URL or a list of URLs"),
            ("[5]", "relay.hub_url", "string"),
        ] {
            let err = with_hub_url(value).expect_err(value).to_string();
            assert!(err.contains(key) && err.contains(says), "{value}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn routes_send_a_show_to_its_channels_and_the_rest_to_channels() {
        let toml = format!(
            "{MINIMAL}\n[[irc.routes]]\nshow = \"a\"\nchannels = [\"#a\"]\n\
             [[irc.routes]]\nshow = \"b\"\nchannels = [\"#b\", \"#ntr\"]\n"
        );
        let irc = Config::from_toml(&toml).expect("config").irc;
        assert_eq!(irc.all_channels(), ["#ntr", "#a", "#b"]);
        assert_eq!(irc.channels_for(Some("a")), ["#a"]);
        assert_eq!(
            irc.channels_for(Some("c")),
            ["#ntr"],
            "a show without a route"
        );
        assert_eq!(irc.channels_for(None), ["#ntr"], "station-wide");
        assert_eq!(irc.show_of("#A"), Some("a"));
        assert_eq!(irc.show_of("#elsewhere"), None);
    }

    #[test]
    fn bad_routes_name_their_key() {
        let route = |show: &str, channels: &str| {
            format!("\n[[irc.routes]]\nshow = \"{show}\"\nchannels = {channels}\n")
        };
        for (extra, key, says) in [
            (
                route("A b", "[\"#a\"]"),
                "irc.routes[0].show",
                "not a show slug",
            ),
            (
                route("a", "[\"a\"]"),
                "irc.routes[0].channels",
                "not a channel",
            ),
            (route("a", "[]"), "irc.routes[0].channels", "at least one"),
            (
                route("a", "[\"#x\"]") + &route("b", "[\"#X\"]"),
                "irc.routes[1].channels",
                "routed to both `a` and `b`",
            ),
            (
                route("a", "[\"#x\"]") + &route("a", "[\"#y\"]"),
                "irc.routes[1].show",
                "two routes",
            ),
        ] {
            let err = Config::from_toml(&format!("{MINIMAL}{extra}"))
                .expect_err(key)
                .to_string();
            assert!(err.contains(key) && err.contains(says), "{key}: {err}");
        }
    }

    #[test]
    fn syntax_error_is_reported_as_such() {
        let err = Config::from_toml("[relay\ntoken = 1")
            .expect_err("syntax")
            .to_string();
        assert!(!err.contains("missing"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn a_refused_value_is_printed_on_one_line() {
        let toml = MINIMAL.replace("[irc]", "[irc]\nca_file = \"\\n\"");
        let err = Config::from_toml(&toml).expect_err("no such file");
        let line = ntr_common::config_error::line("irc-relay", &err);
        assert_eq!(
            line,
            "irc-relay: configuration error: irc.ca_file: \\n is not a readable file"
        );
    }

    #[test]
    fn missing_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/relay.toml"))).expect_err("missing");
        assert!(matches!(err, ConfigError::FileMissing(_)));
    }
}
