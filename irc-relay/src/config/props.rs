//! Property tests of the relay's config loader: any text, and any value for any known key,
//! loads or fails with one line that names the key or says where the text is wrong; a file
//! written from valid values loads with exactly those values.

use std::time::Duration;

use proptest::prelude::*;
use toml::Value;

use ntr_common::config_error;

use super::{Config, ConfigError};

/// Every key of `[relay]` and `[irc]`.
const KEYS: &[(&str, &str)] = &[
    ("relay", "hub_url"),
    ("relay", "token"),
    ("relay", "public_url"),
    ("relay", "replay_window_seconds"),
    ("relay", "reconnect_initial_seconds"),
    ("relay", "reconnect_max_seconds"),
    ("relay", "state_dir"),
    ("irc", "server"),
    ("irc", "port"),
    ("irc", "tls"),
    ("irc", "ca_file"),
    ("irc", "nickname"),
    ("irc", "alt_nicknames"),
    ("irc", "channels"),
    ("irc", "sasl_password"),
    ("irc", "nickserv_password"),
    ("irc", "command_prefix"),
    ("irc", "command_cooldown_seconds"),
    ("irc", "command_replies_per_channel"),
    ("irc", "command_replies_window_seconds"),
    ("irc", "flood_burst"),
    ("irc", "flood_lines_per_second"),
    ("irc", "queue_limit"),
];

/// Text with the characters that break lines and quoting often.
fn nasty_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            2 => prop::char::range('\0', '\x1f'),
            2 => prop::sample::select(vec!['"', '\\', '#', '&', ' ', '\u{2028}', '\u{7f}', 'é']),
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
        prop::sample::select(vec![0i64, -1, 1, 65_535, 65_536, i64::MAX, i64::MIN])
            .prop_map(Value::Integer),
        any::<f64>().prop_map(Value::Float),
        prop::sample::select(vec![f64::NAN, f64::INFINITY, -0.0, 1e300, -1e-300])
            .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    })
}

/// Lines of a config file, each well-formed or not: section headers, `key = value` with known
/// and unknown keys, bare garbage.
fn tomlish() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "[relay]",
        "[irc]",
        "[hub]",
        "[[irc]]",
        "[relay",
        "[ irc ]",
        "[irc.port]",
        "relay = 1",
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

/// A valid file's lines, key by key, for a generated value to be added to or to replace.
fn minimal() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("relay", "token", Value::from("t0ken-0123456789")),
        ("irc", "server", Value::from("irc.example.org")),
        ("irc", "nickname", Value::from("ntrbot")),
        ("irc", "channels", Value::Array(vec![Value::from("#ntr")])),
    ]
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

/// The error promise, for the line `main` prints: one line, naming a key of the relay's (or
/// "unknown key") or, for a file that is not TOML, where it is wrong.
fn assert_one_line_naming_a_key(err: &ConfigError) -> Result<(), TestCaseError> {
    let line = config_error::line("irc-relay", err);
    prop_assert!(!line.contains(['\n', '\r']), "more than one line: {line:?}");
    let what = line.trim_start_matches("irc-relay: configuration error: ");
    let names_a_key = what.starts_with("relay") || what.starts_with("irc");
    // A key outside any table (`hub_url = ""` at the top) is named as it stands.
    let unknown_key = what.contains("unknown key");
    let says_where = what.contains("TOML") && what.contains("line");
    prop_assert!(
        names_a_key || unknown_key || says_where,
        "names no key nor place: {line:?}"
    );
    Ok(())
}

fn valid_nick() -> impl Strategy<Value = String> {
    "[a-zA-Z\\[\\]\\\\`_^{|}][a-zA-Z0-9\\[\\]\\\\`_^{|}-]{0,15}"
}

/// A valid relay config, as the values it was written from.
#[derive(Debug, Clone)]
struct Valid {
    token: String,
    hub_url: String,
    server: String,
    port: u16,
    tls: bool,
    nickname: String,
    alt_nicknames: Vec<String>,
    channels: Vec<String>,
    command_prefix: String,
    reconnect: (f64, f64),
    flood: (u32, f64),
    queue_limit: usize,
}

fn valid() -> impl Strategy<Value = Valid> {
    (
        "[!-~]{16,40}",
        "https?://[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,6})?(:8[1-9][0-9]{2})?/([a-z0-9]{1,8}/){0,2}",
        ("[a-z0-9][a-z0-9.:-]{0,30}", 1..=u16::MAX, any::<bool>()),
        (
            valid_nick(),
            prop::collection::vec(valid_nick(), 0..3),
            prop::collection::vec("[#&][^ ,:\\p{Cc}]{1,12}", 1..4),
        ),
        "[!-~]{1,3}",
        // Within the bounds: reconnect waits are at most an hour.
        (0.001f64..1_000.0, 0.0f64..2_600.0),
        (1..=u32::MAX, 0.001f64..1_000.0, 1..=usize::MAX / 2),
    )
        .prop_map(
            |(
                token,
                hub_url,
                (server, port, tls),
                (nickname, alt_nicknames, channels),
                command_prefix,
                (initial, extra),
                (burst, rate, queue_limit),
            )| Valid {
                token,
                hub_url,
                server,
                port,
                tls,
                nickname,
                alt_nicknames,
                channels,
                command_prefix,
                reconnect: (initial, initial + extra),
                flood: (burst, rate),
                queue_limit,
            },
        )
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| Value::from(s.as_str())).collect())
}

impl Valid {
    fn file(&self) -> String {
        file(&[
            ("relay", "token", Value::from(self.token.as_str())),
            ("relay", "hub_url", Value::from(self.hub_url.as_str())),
            (
                "relay",
                "reconnect_initial_seconds",
                Value::Float(self.reconnect.0),
            ),
            (
                "relay",
                "reconnect_max_seconds",
                Value::Float(self.reconnect.1),
            ),
            ("irc", "server", Value::from(self.server.as_str())),
            ("irc", "port", Value::Integer(self.port.into())),
            ("irc", "tls", Value::Boolean(self.tls)),
            ("irc", "nickname", Value::from(self.nickname.as_str())),
            ("irc", "alt_nicknames", strings(&self.alt_nicknames)),
            ("irc", "channels", strings(&self.channels)),
            (
                "irc",
                "command_prefix",
                Value::from(self.command_prefix.as_str()),
            ),
            ("irc", "flood_burst", Value::Integer(self.flood.0.into())),
            ("irc", "flood_lines_per_second", Value::Float(self.flood.1)),
            (
                "irc",
                "queue_limit",
                Value::Integer(self.queue_limit as i64),
            ),
        ])
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_loads_or_fails_on_one_line(text in tomlish()) {
        if let Err(e) = Config::from_toml(&text) {
            assert_one_line_naming_a_key(&e)?;
        }
    }

    /// A valid file with one key set to anything: it loads, or the error names a key.
    #[test]
    fn any_value_for_a_known_key_loads_or_names_it(
        (section, key) in prop::sample::select(KEYS.to_vec()),
        value in any_value(),
    ) {
        let mut entries = minimal();
        entries.retain(|(s, k, _)| (*s, *k) != (section, key));
        entries.push((section, key, value));
        if let Err(e) = Config::from_toml(&file(&entries)) {
            assert_one_line_naming_a_key(&e)?;
            let err = e.to_string();
            // Only the reconnect pair is checked together, so its error may name the other.
            let named = if key.starts_with("reconnect_") { "relay.reconnect_" } else { key };
            prop_assert!(err.contains(named), "{section}.{key}: {err:?}");
        }
    }

    #[test]
    fn a_valid_file_keeps_its_values(v in valid()) {
        let config = Config::from_toml(&v.file()).expect("valid config loads");
        prop_assert_eq!(config.relay.token.as_str(), v.token.as_str());
        prop_assert_eq!(config.relay.hub_urls[0].as_str(), v.hub_url.as_str());
        prop_assert_eq!(&config.relay.public_url, &config.relay.hub_urls[0]);
        prop_assert_eq!(config.relay.reconnect_initial, Duration::from_secs_f64(v.reconnect.0));
        prop_assert_eq!(config.relay.reconnect_max, Duration::from_secs_f64(v.reconnect.1));
        prop_assert_eq!(config.irc.server.as_str(), v.server.as_str());
        prop_assert_eq!((config.irc.port, config.irc.tls), (v.port, v.tls));
        prop_assert_eq!(&config.irc.nickname, &v.nickname);
        prop_assert_eq!(&config.irc.alt_nicknames, &v.alt_nicknames);
        prop_assert_eq!(&config.irc.channels, &v.channels);
        prop_assert_eq!(&config.irc.command_prefix, &v.command_prefix);
        prop_assert_eq!(config.irc.flood_burst, v.flood.0);
        prop_assert_eq!(config.irc.flood_lines_per_second, v.flood.1);
        prop_assert_eq!(config.irc.queue_limit, v.queue_limit);
    }
}
