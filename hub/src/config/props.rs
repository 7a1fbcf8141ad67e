//! Property tests of the hub's config loader: any text, and any value for any known key,
//! loads or fails with the one line `main` prints, naming the key or saying where the text is
//! wrong; a file written from valid values loads with exactly those values.

use std::net::{IpAddr, SocketAddr};

use figment::Figment;
use figment::providers::{Format, Toml};
use ntr_common::config_error;
use proptest::prelude::*;
use toml::Value;

use super::{Config, ConfigError};

/// Every key of the hub's sections but `dashboard.password`, whose hashing (argon2, on purpose
/// slow) would make each case take seconds; its type and emptiness checks are the
/// example tests'.
const KEYS: &[(&str, &str)] = &[
    ("hub", "listen"),
    ("hub", "public_url"),
    ("hub", "data_dir"),
    ("hub", "admin_token"),
    ("hub", "relay_tokens"),
    ("hub", "relays"),
    ("hub", "trusted_proxies"),
    ("hub", "replay_window_seconds"),
    ("hub", "max_connections"),
    ("dashboard", "username"),
    ("dashboard", "password_hash"),
    ("dashboard", "secret_key"),
    ("dashboard", "session_hours"),
    ("show", "timezone"),
    ("show", "day"),
    ("show", "hour"),
    ("show", "duration_minutes"),
    ("show", "announce_template"),
    ("show", "correction_template"),
    ("show", "hold_seconds"),
    ("show", "announce_max_age_seconds"),
    ("show", "live_template"),
    ("show", "reminder_template"),
    ("show", "remind_minutes"),
    ("soundcloud", "user"),
    ("soundcloud", "api_base"),
    ("soundcloud", "web_base"),
    ("soundcloud", "client_id"),
    ("soundcloud", "poll_interval_seconds"),
    ("soundcloud", "live_poll_interval_seconds"),
];

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_figment(Figment::new().merge(Toml::string(text)))
}

/// Text with the characters that break lines and quoting often, and template braces.
fn nasty_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            2 => prop::char::range('\0', '\x1f'),
            2 => prop::sample::select(vec!['"', '\\', '{', '}', '/', ' ', '\u{2028}', '\u{7f}']),
            2 => prop::char::range('a', 'z'),
        ],
        0..20,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Any TOML value a key could be given, numbers at the edges of every type included.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        nasty_text().prop_map(Value::String),
        any::<i64>().prop_map(Value::Integer),
        prop::sample::select(vec![0i64, -1, 1, 23, 24, 86_400, i64::MAX, i64::MIN])
            .prop_map(Value::Integer),
        any::<f64>().prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("name|token|[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    })
}

/// Lines of a config file, each well-formed or not: section headers, `key = value` with known
/// and unknown keys, bare garbage.
fn tomlish() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "[hub]",
        "[show]",
        "[dashboard]",
        "[soundcloud]",
        "[[hub.relays]]",
        "[[targets]]",
        "[relay]",
        "[hub",
        "[[show]]",
        "hub = 1",
    ])
    .prop_map(str::to_owned);
    let key = prop_oneof![
        prop::sample::select(KEYS.to_vec()).prop_map(|(_, k)| k.to_owned()),
        "[a-z_.\"]{1,12}",
    ];
    let raw_value = prop::sample::select(vec![
        "\"unterminated",
        "[1,",
        "0x1G",
        "nan",
        "-inf",
        "1e999",
        "9223372036854775808",
        "'''",
        "{ a = 1",
        "2026-13-45",
    ])
    .prop_map(str::to_owned);
    let value = prop_oneof![any_value().prop_map(|v| v.to_string()), raw_value];
    let line = prop_oneof![
        2 => header,
        4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => nasty_text(),
    ];
    prop::collection::vec(line, 0..10).prop_map(|lines| lines.join("\n"))
}

fn file(entries: &[(&str, &str, Value)]) -> String {
    let mut table = toml::Table::new();
    for (section, key, value) in entries {
        let section = table
            .entry(section.to_string())
            .or_insert_with(|| Value::Table(toml::Table::new()));
        if let Value::Table(section) = section {
            section.insert(key.to_string(), value.clone());
        }
    }
    table.to_string()
}

/// The error promise, for the line `main` prints: one line, naming one of the hub's keys (or
/// its section) or, for a file that is not TOML, where it is wrong.
fn assert_one_line_naming_a_key(err: &ConfigError) -> Result<(), TestCaseError> {
    let line = config_error::line("hub", err);
    prop_assert!(!line.contains(['\n', '\r']), "more than one line: {line:?}");
    let what = line.trim_start_matches("hub: configuration error: ");
    let names_a_key = ["hub", "dashboard", "show", "soundcloud", "targets", "store"]
        .iter()
        .any(|section| what.starts_with(section));
    // A top-level table or key neither binary knows is named by itself (an empty one, `""`,
    // has no name to put in front).
    let names_an_unknown_table = what.starts_with("unknown key ``")
        || what
            .split_once(": unknown key `")
            .is_some_and(|(key, rest)| rest.starts_with(&format!("{key}`")));
    let says_where = what.contains("TOML") && what.contains("line");
    prop_assert!(
        names_a_key || names_an_unknown_table || says_where,
        "names no key nor place: {line:?}"
    );
    Ok(())
}

/// A valid hub config, as the values it was written from.
#[derive(Debug, Clone)]
struct Valid {
    listen: SocketAddr,
    public_url: Option<String>,
    admin_token: String,
    relay_tokens: Vec<String>,
    trusted_proxies: Vec<IpAddr>,
    replay_window_seconds: u64,
    max_connections: u32,
    username: String,
    secret_key: String,
    session_hours: u32,
    show: (&'static str, &'static str, i64, i64),
    user: String,
    client_id: String,
    poll: (u64, u64),
}

fn valid() -> impl Strategy<Value = Valid> {
    let hub = (
        any::<SocketAddr>(),
        prop::option::of("https?://[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,6})?(/[a-z0-9]{1,8}){0,2}"),
        "[!-~]{16,40}",
        // Numbered, so no two relays share a token nor one the admin token (which is longer).
        prop::collection::vec("[!-~]{16,20}", 0..3),
        prop::collection::vec(any::<IpAddr>(), 0..3),
        (1..=86_400u64, 1..=1_000_000u32),
    );
    let dashboard = ("[a-z]\\PC{0,12}", "[!-~]{32,48}", 1..=8_784u32);
    let show = (
        prop::sample::select(vec![
            "America/New_York",
            "UTC",
            "Europe/Berlin",
            "Asia/Kolkata",
        ]),
        prop::sample::select(vec!["monday", "wednesday", "sunday"]),
        0..=23i64,
        1..=167 * 60i64,
    );
    let soundcloud = (
        "[a-z0-9_-]{1,20}",
        "[A-Za-z0-9]{0,32}",
        (1..=604_800u64, 1..=86_400u64),
    );
    (hub, dashboard, show, soundcloud).prop_map(
        |(
            (listen, public_url, admin_token, tokens, trusted_proxies, (replay, max)),
            (username, secret_key, session_hours),
            show,
            (user, client_id, poll),
        )| Valid {
            listen: written(listen),
            public_url,
            admin_token,
            relay_tokens: tokens
                .into_iter()
                .enumerate()
                .map(|(i, t)| format!("{i}{t}"))
                .collect(),
            trusted_proxies,
            replay_window_seconds: replay,
            max_connections: max,
            username,
            secret_key,
            session_hours,
            show,
            user,
            client_id,
            poll,
        },
    )
}

/// The address as a file can write it: text carries an IPv6 zone but not a flow label.
fn written(mut listen: SocketAddr) -> SocketAddr {
    if let SocketAddr::V6(v6) = &mut listen {
        v6.set_flowinfo(0);
    }
    listen
}

fn strings<T: ToString>(v: &[T]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.to_string())).collect())
}

impl Valid {
    fn file(&self) -> String {
        let (timezone, day, hour, minutes) = self.show;
        let mut entries = vec![
            ("hub", "listen", Value::String(self.listen.to_string())),
            ("hub", "admin_token", Value::from(self.admin_token.as_str())),
            ("hub", "relay_tokens", strings(&self.relay_tokens)),
            ("hub", "trusted_proxies", strings(&self.trusted_proxies)),
            (
                "hub",
                "replay_window_seconds",
                Value::Integer(self.replay_window_seconds as i64),
            ),
            (
                "hub",
                "max_connections",
                Value::Integer(self.max_connections.into()),
            ),
            ("dashboard", "username", Value::from(self.username.as_str())),
            (
                "dashboard",
                "secret_key",
                Value::from(self.secret_key.as_str()),
            ),
            (
                "dashboard",
                "session_hours",
                Value::Integer(self.session_hours.into()),
            ),
            ("show", "timezone", Value::from(timezone)),
            ("show", "day", Value::from(day)),
            ("show", "hour", Value::Integer(hour)),
            ("show", "duration_minutes", Value::Integer(minutes)),
            ("soundcloud", "user", Value::from(self.user.as_str())),
            (
                "soundcloud",
                "client_id",
                Value::from(self.client_id.as_str()),
            ),
            (
                "soundcloud",
                "poll_interval_seconds",
                Value::Integer(self.poll.0 as i64),
            ),
            (
                "soundcloud",
                "live_poll_interval_seconds",
                Value::Integer(self.poll.1 as i64),
            ),
        ];
        if let Some(url) = &self.public_url {
            entries.push(("hub", "public_url", Value::from(url.as_str())));
        }
        file(&entries)
    }
}

/// What the loaded config must hold for the values `v` was written from.
fn assert_keeps(c: &Config, v: &Valid) -> Result<(), TestCaseError> {
    prop_assert_eq!(c.hub.listen, v.listen);
    if let Some(url) = &v.public_url {
        // Written without a trailing `/`, which the hub would drop: the URL as parsed.
        prop_assert_eq!(Some(c.hub.public_url.clone()), url::Url::parse(url).ok());
    }
    prop_assert_eq!(c.hub.admin_token.as_deref(), Some(v.admin_token.as_str()));
    let tokens: Vec<&str> = c.hub.relays.iter().map(|r| r.token.as_str()).collect();
    prop_assert_eq!(
        tokens,
        v.relay_tokens
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    let proxies: Vec<IpAddr> = v.trusted_proxies.iter().map(IpAddr::to_canonical).collect();
    prop_assert_eq!(&c.hub.trusted_proxies, &proxies);
    prop_assert_eq!(c.hub.replay_window_seconds, v.replay_window_seconds);
    prop_assert_eq!(c.hub.max_connections, v.max_connections as usize);
    prop_assert_eq!(&c.dashboard.username, &v.username);
    prop_assert_eq!(
        c.dashboard.secret_key.as_deref(),
        Some(v.secret_key.as_bytes())
    );
    prop_assert_eq!(c.dashboard.session_hours, v.session_hours);
    let (timezone, _, _, minutes) = v.show;
    let show = c.station.primary();
    prop_assert_eq!(show.schedule.time_zone().iana_name(), Some(timezone));
    prop_assert_eq!(show.schedule.live_window().as_mins(), minutes);
    prop_assert_eq!(
        &show.source,
        &crate::station::PlaylistSource::SoundcloudLikes {
            user: v.user.clone()
        }
    );
    let client_id = Some(v.client_id.as_str()).filter(|id| !id.is_empty());
    prop_assert_eq!(c.soundcloud.client_id.as_deref(), client_id);
    prop_assert_eq!(c.soundcloud.poll_interval_seconds, v.poll.0);
    prop_assert_eq!(c.soundcloud.live_poll_interval_seconds, v.poll.1);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_loads_or_fails_on_one_line(text in tomlish()) {
        if let Err(e) = load(&text) {
            assert_one_line_naming_a_key(&e)?;
        }
    }

    /// The defaults with one key set to anything: they load, or the error names the key (a
    /// relay token is checked with the relays, so its error may name `hub.relays`).
    #[test]
    fn any_value_for_a_known_key_loads_or_names_it(
        (section, key) in prop::sample::select(KEYS.to_vec()),
        value in any_value(),
    ) {
        if let Err(e) = load(&file(&[(section, key, value)])) {
            assert_one_line_naming_a_key(&e)?;
            let err = e.to_string();
            let named = if key.starts_with("relay") { "hub.relay" } else { key };
            prop_assert!(err.contains(named), "{section}.{key}: {err:?}");
        }
    }

    #[test]
    fn a_valid_file_keeps_its_values(v in valid()) {
        let config = load(&v.file()).expect("valid config loads");
        assert_keeps(&config, &v)?;
    }
}
