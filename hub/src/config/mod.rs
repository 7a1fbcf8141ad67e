//! The hub's configuration: the `[hub]`, `[dashboard]`, `[show]` or `[[shows]]`, `[soundcloud]`
//! and `[[targets]]` sections of one TOML file (a file per section here), overridden by
//! `NTR_SECTION__KEY` environment variables (figment), and the secrets of [`SECRET_KEYS`] also by
//! `NTR_SECTION__KEY_FILE`, a file holding the value.
//!
//! Loading checks every value once, so the rest of the hub only ever sees valid settings: a bad
//! value becomes a [`ConfigError`] naming its key, which `main` prints on one line with exit
//! code 2. Sections that belong to the relay (`[relay]`, `[irc]`) are ignored here; unknown keys
//! inside the hub's own sections are errors, because a typo silently ignored would run the show
//! on a default the DJ never chose.

mod dashboard;
mod hub;
mod password;
#[cfg(test)]
mod props;
mod rights;
#[cfg(test)]
mod rights_tests;
mod show;
mod soundcloud;
mod store;
#[cfg(test)]
mod targets_tests;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;
use url::Url;

pub use dashboard::DashboardConfig;
pub use hub::HubConfig;
pub use rights::DashboardUser;
pub use store::StoreConfig;

use crate::relays::RelayName;
use crate::station::Station;

/// Why the configuration cannot be used. Always names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Parse(String),
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error("cannot read config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(transparent)]
    Target(#[from] crate::targets::block::TargetConfigError),
    #[error(transparent)]
    SecretFile(#[from] ntr_common::environment::SecretFileError),
}

/// The scalar secrets an `NTR_SECTION__KEY_FILE` variable may hold.
pub const SECRET_KEYS: &[ntr_common::environment::SecretKey] = &[
    ("hub", "admin_token"),
    ("dashboard", "password"),
    ("dashboard", "password_hash"),
    ("dashboard", "secret_key"),
    ("store", "url"),
];

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The raw file shape: the hub's sections, each strict about its keys, and the relay's, which
/// are only skipped. A table neither binary knows (`[[show]]` for `[[shows]]`) is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    hub: hub::RawHub,
    #[serde(default)]
    dashboard: dashboard::RawDashboard,
    show: Option<show::RawShow>,
    shows: Option<Vec<show::RawShow>>,
    #[serde(default)]
    soundcloud: soundcloud::RawSoundcloud,
    #[serde(default)]
    targets: Vec<crate::targets::block::RawTarget>,
    #[serde(default)]
    store: store::RawStore,
    #[serde(default, rename = "relay")]
    _relay: serde::de::IgnoredAny,
    #[serde(default, rename = "irc")]
    _irc: serde::de::IgnoredAny,
}

/// Validated configuration. Secrets that the file left out are `None` here and are filled in
/// from `data_dir/secrets.toml` by [`crate::secrets`].
#[derive(Debug, Clone)]
pub struct Config {
    pub hub: HubConfig,
    pub dashboard: DashboardConfig,
    /// The shows, never empty: `[[shows]]`, or `[show]` as a station of one.
    pub station: Station,
    pub store: StoreConfig,
    pub soundcloud: crate::soundcloud::SoundcloudConfig,
    pub targets: Vec<crate::targets::TargetConfig>,
}

impl Config {
    /// Reads the file (if any), the `NTR_` environment and the secrets' `_FILE`s, then validates
    /// everything.
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
        Self::from_figment(ntr_common::environment::merge(figment, SECRET_KEYS)?)
    }

    /// The embedded defaults alone (tests and the no-config start use this through `load`).
    pub fn from_figment(figment: Figment) -> Result<Config, ConfigError> {
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| ConfigError::Parse(ntr_common::config_error::one_line(e)))?;
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
        let (soundcloud, soundcloud_user) = soundcloud::validate(raw.soundcloud)?;
        let shows = show::RawShows {
            show: raw.show,
            shows: raw.shows,
            soundcloud_user,
        };
        let station = show::validate(shows, jiff::Timestamp::now())?;
        // Users and tokens name shows, so the station is known first.
        let hub = hub::validate(raw.hub, &station)?;
        let dashboard = dashboard::validate(raw.dashboard, &station)?;
        let store = store::validate(raw.store, &station)?;
        // Acks carry relay and target names alike, so one name must mean one of them.
        let mut taken: Vec<String> = hub.relays.iter().map(|r| r.name.to_string()).collect();
        if taken.is_empty() {
            // The relay token generated on first start is `relay-1`.
            taken.push(RelayName::numbered(1).to_string());
        }
        let targets = crate::targets::config::validate(raw.targets, &taken, &station)?;
        hub::check_relay_shows(&hub, &station)?;

        Ok(Config {
            hub,
            dashboard,
            station,
            store,
            soundcloud,
            targets,
        })
    }
}

pub(crate) fn parse_http_url(key: &'static str, s: &str) -> Result<Url, ConfigError> {
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
pub(crate) fn check_token(key: &str, token: &str) -> Result<(), ConfigError> {
    ntr_protocol::check_token(token).map_err(|e| ConfigError::invalid(key, e.to_string()))
}

/// Every number in the file has bounds: a huge value is a typo, and left unchecked it would
/// overflow a time computation in the middle of a show instead of failing here.
pub(crate) fn in_range(
    key: &'static str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    if range.contains(&value) {
        return Ok(value);
    }
    let (min, max) = range.into_inner();
    Err(ConfigError::invalid(
        key,
        format!("must be between {min} and {max} (got {value})"),
    ))
}

pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
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
        let show = c.station.primary();
        assert_eq!(c.station.shows().len(), 1);
        assert_eq!(show.slug.as_str(), "main");
        assert_eq!(
            show.title, "nicktherat",
            "a v2 show is titled by its profile"
        );
        assert_eq!(
            show.source,
            crate::station::PlaylistSource::SoundcloudLikes {
                user: "nicktherat".into()
            }
        );
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
    fn a_v2_show_keeps_its_keys_and_gains_a_slug_and_title() {
        let c = load(
            "[show]\nslug = \"ntr\"\ntitle = \"Nick the Rat\"\nhour = 21\n\
             [soundcloud]\nuser = \"someone\"\n",
        )
        .expect("v2 show");
        let show = c.station.primary();
        assert_eq!(
            (show.slug.as_str(), show.title.as_str()),
            ("ntr", "Nick the Rat")
        );
        assert_eq!(
            show.source,
            crate::station::PlaylistSource::SoundcloudLikes {
                user: "someone".into()
            }
        );
    }

    #[test]
    fn a_listen_address_with_an_ipv6_zone_gets_a_default_public_url() {
        let c = load("[hub]\nlisten = \"[fe80::1%2]:8000\"").expect("a zone is a valid address");
        assert_eq!(c.hub.listen.to_string(), "[fe80::1%2]:8000");
        assert_eq!(c.hub.public_url.as_str(), "http://[fe80::1]:8000/");
    }

    #[test]
    fn a_refused_value_is_printed_on_one_line() {
        let err = load("[hub]\nlisten = \"\\n\\u001b[2J\"").expect_err("not an address");
        assert_eq!(
            ntr_common::config_error::line("hub", &err),
            "hub: configuration error: hub.listen: `\\n\\u{1b}[2J` is not an address like 127.0.0.1:8000"
        );
    }

    #[test]
    fn one_shows_block_is_a_station_of_one() {
        let c = load(
            "[[shows]]\nslug = \"ntr\"\ntitle = \"Nick the Rat\"\ntimezone = \"Europe/Berlin\"\n\
             soundcloud_user = \"nicktherat\"\n",
        )
        .expect("one block");
        let show = c.station.primary();
        assert_eq!(show.slug.as_str(), "ntr");
        assert_eq!(show.schedule.time_zone().iana_name(), Some("Europe/Berlin"));
    }

    #[test]
    fn station_mistakes_are_one_line_errors_naming_the_key() {
        let block = |slug: &str, rest: &str| {
            format!("[[shows]]\nslug = \"{slug}\"\nsoundcloud_user = \"u\"\n{rest}\n")
        };
        let cases = [
            (
                format!("{}[show]\nhour = 1\n", block("a", "")),
                "shows: [[shows]] and [show]",
            ),
            (
                format!("{}[soundcloud]\nuser = \"x\"\n", block("a", "")),
                "shows: [[shows]] and [soundcloud] user",
            ),
            (block("Bad Slug", ""), "shows[1].slug"),
            ("[[shows]]\ntitle = \"x\"\n".into(), "shows[1].slug: every"),
            (block("a", "hour = 24"), "shows.a.hour"),
            (block("a", "timezone = \"Mars/Base\""), "shows.a.timezone"),
            (block("a", "source = \"youtube\""), "shows.a.source"),
            (
                "[[shows]]\nslug = \"a\"\n".into(),
                "shows.a.soundcloud_user: is required",
            ),
            (block("a", "source = \"manual\""), "shows.a.soundcloud_user"),
            (
                format!("{}{}", block("a", ""), block("a", "day = \"friday\"")),
                "shows: two shows have the slug `a`",
            ),
            (
                format!("{}{}", block("a", ""), block("b", "hour = 23")),
                "shows: the live windows of `a` and `b` overlap",
            ),
            ("[[show]]\nslug = \"a\"\n".into(), "show"),
            ("[shows]\nslug = \"a\"\n".into(), "shows"),
        ];
        for (toml, expected) in cases {
            let err = load(&toml).expect_err(&toml).to_string();
            assert!(err.contains(expected), "{toml:?} gave {err:?}");
            assert!(!err.contains('\n'), "one line: {err:?}");
        }
    }

    #[test]
    fn blocks_make_a_station_of_soundcloud_and_manual_shows() {
        let c = load(
            "[[shows]]\nslug = \"a\"\nsoundcloud_user = \"u\"\n\
             [[shows]]\nslug = \"b\"\nsource = \"manual\"\nday = \"friday\"\n\
             timezone = \"Europe/Berlin\"\n[store]\nlegacy_show = \"b\"\n",
        )
        .expect("two shows");
        assert_eq!(c.station.slug_list(), "a, b");
        let b = c.station.get("b").expect("b");
        assert_eq!(b.source, crate::station::PlaylistSource::Manual);
        assert_eq!(b.title, "b", "untitled blocks are called by their slug");
        assert_eq!(c.store.legacy_show.as_str(), "b");
        let default = load("[[shows]]\nslug = \"a\"\nsoundcloud_user = \"u\"\n").expect("one");
        assert_eq!(
            default.store.legacy_show.as_str(),
            "a",
            "the first block by default"
        );
        let err = load("[store]\nlegacy_show = \"Not A Slug\"\n").expect_err("bad slug");
        assert!(err.to_string().starts_with("store.legacy_show: "), "{err}");
    }

    #[test]
    fn store_url_and_replica_are_checked_and_the_password_never_shown() {
        let c = load("").expect("defaults");
        assert!(c.store.url.is_none(), "SQLite by default");
        assert!(
            c.store.replica.is_none(),
            "named from the listen port at start"
        );
        let c = load(
            "[store]\nurl = \"postgres://hub:s3cret@db.internal:5433/station\"\nreplica = \"a\"\n",
        )
        .expect("postgres");
        let url = c.store.url.expect("url");
        assert_eq!(url.to_string(), "postgres://hub@db.internal:5433/station");
        assert_eq!(url.host(), "db.internal:5433");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(c.store.replica.as_deref(), Some("a"));
        for (toml, key, says) in [
            ("url = \"/var/lib/hub\"", "store.url", "postgres://"),
            (
                "url = \"postgres://hub:s3cret@db:notaport/x\"",
                "store.url",
                "not a database URL",
            ),
            ("replica = \" \"", "store.replica", "empty"),
            ("replica = \"a\\u0007b\"", "store.replica", "control"),
        ] {
            let err = load(&format!("[store]\n{toml}\n"))
                .expect_err(toml)
                .to_string();
            assert!(err.starts_with(&format!("{key}: ")), "{err}");
            assert!(err.contains(says), "{err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn every_number_has_an_upper_bound() {
        let huge = "9223372036854775807";
        for (section, key, max) in [
            ("hub", "replay_window_seconds", 86_400),
            ("hub", "max_connections", 1_000_000),
            ("dashboard", "session_hours", 8_784),
            ("soundcloud", "poll_interval_seconds", 604_800),
            ("soundcloud", "live_poll_interval_seconds", 86_400),
            ("show", "duration_minutes", 10_020),
            ("show", "hour", 23),
        ] {
            let at_max = format!("[{section}]\n{key} = {max}");
            load(&at_max).unwrap_or_else(|e| panic!("{at_max:?}: {e}"));
            for too_big in [(max + 1).to_string(), huge.to_owned()] {
                let toml = format!("[{section}]\n{key} = {too_big}");
                let err = load(&toml).expect_err(&toml).to_string();
                assert!(err.contains(&format!("{section}.{key}")), "{toml:?}: {err}");
            }
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
