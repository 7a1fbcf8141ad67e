//! `[hub]`: where the hub listens and keeps its data, its tokens (admin, relay, and scoped
//! to shows in `[[hub.tokens]]`, see `rights`) and named relays, the proxies it trusts and its
//! connection limits.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use ntr_protocol::{DEFAULT_REPLAY_WINDOW_SECONDS, MAX_REPLAY_WINDOW_SECONDS};
use serde::Deserialize;
use url::Url;

use super::rights::{self, RawToken};
use super::{ConfigError, check_token, in_range, non_empty, parse_http_url};
use crate::auth::ScopedToken;
use crate::station::Station;

/// More open connections than one process can serve.
const MAX_CONNECTIONS: u64 = 1_000_000;
use crate::relays::{RelayConfig, RelayName};
use crate::show_filter::ShowFilter;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawHub {
    listen: String,
    public_url: Option<String>,
    data_dir: PathBuf,
    admin_token: Option<String>,
    relay_tokens: Vec<String>,
    relays: Vec<RawRelay>,
    tokens: Vec<RawToken>,
    trusted_proxies: Vec<String>,
    replay_window_seconds: u64,
    max_connections: usize,
}

/// One `[[hub.relays]]` block.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelay {
    name: String,
    token: String,
    /// Only these shows' lines (and station-wide ones); absent: every show.
    shows: Option<Vec<String>>,
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
            tokens: Vec::new(),
            trusted_proxies: Vec::new(),
            replay_window_seconds: DEFAULT_REPLAY_WINDOW_SECONDS,
            max_connections: 20_000,
        }
    }
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
    /// `[[hub.tokens]]`: bearer tokens limited to some shows (or, with `["*"]`, not).
    pub tokens: Vec<ScopedToken>,
    /// The `shows` of each `[[hub.relays]]` block that has them; any other relay gets every show.
    pub relay_shows: BTreeMap<RelayName, ShowFilter>,
    pub trusted_proxies: Vec<IpAddr>,
    pub replay_window_seconds: u64,
    /// Open connections the hub accepts at once, authenticated WebSockets not counted.
    pub max_connections: usize,
}

pub(super) fn validate(raw: RawHub, station: &Station) -> Result<HubConfig, ConfigError> {
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        ConfigError::invalid(
            "hub.listen",
            format!("`{}` is not an address like 127.0.0.1:8000", raw.listen),
        )
    })?;
    let public_url = match raw.public_url {
        Some(s) => parse_http_url("hub.public_url", &s)?,
        // A URL cannot carry an IPv6 zone (`%2`): the default leaves it out rather than
        // refusing a key the operator never set.
        None => parse_http_url(
            "hub.public_url",
            &format!("http://{}", SocketAddr::new(listen.ip(), listen.port())),
        )?,
    };
    let admin_token = non_empty(raw.admin_token);
    if let Some(t) = &admin_token {
        check_token("hub.admin_token", t)?;
    }
    let relay_shows = relay_shows(&raw.relays)?;
    let relays = validate_relays(raw.relays, raw.relay_tokens, admin_token.as_deref())?;
    let tokens = rights::tokens(raw.tokens, station, admin_token.as_deref(), &relays)?;
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
    // A day of replay is far more than any reconnect needs; more would only be a typo.
    in_range(
        "hub.replay_window_seconds",
        raw.replay_window_seconds,
        1..=MAX_REPLAY_WINDOW_SECONDS,
    )?;
    in_range(
        "hub.max_connections",
        raw.max_connections as u64,
        1..=MAX_CONNECTIONS,
    )?;
    Ok(HubConfig {
        listen,
        public_url,
        data_dir: raw.data_dir,
        admin_token,
        relays,
        tokens,
        relay_shows,
        trusted_proxies,
        replay_window_seconds: raw.replay_window_seconds,
        max_connections: raw.max_connections,
    })
}

/// The `shows` lists of the named relays, each a list of slugs (that they are the station's is
/// [`check_relay_shows`]'s to say, once the shows are known).
fn relay_shows(named: &[RawRelay]) -> Result<BTreeMap<RelayName, ShowFilter>, ConfigError> {
    let mut filters = BTreeMap::new();
    for raw in named {
        let Ok(name) = RelayName::parse(&raw.name) else {
            continue; // `validate_relays` says what is wrong with the name
        };
        if raw.shows.is_some() {
            let filter = ShowFilter::from_config(raw.shows.clone()).map_err(|e| {
                ConfigError::invalid("hub.relays", format!("relay `{name}`: shows {e}"))
            })?;
            filters.insert(name, filter);
        }
    }
    Ok(filters)
}

/// Every relay's `shows` names shows of the station.
pub(super) fn check_relay_shows(hub: &HubConfig, station: &Station) -> Result<(), ConfigError> {
    for (name, filter) in &hub.relay_shows {
        if let Some(message) = filter.unknown_in(station) {
            return Err(ConfigError::invalid(
                "hub.relays",
                format!("relay `{name}`: shows: {message}"),
            ));
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Toml};

    use crate::config::Config;

    const TWO_SHOWS: &str = "[[shows]]\nslug = \"a\"\nsource = \"manual\"\n\
        [[shows]]\nslug = \"b\"\nsource = \"manual\"\nday = \"friday\"\n";

    fn with_relay(shows: &str) -> Result<Config, String> {
        let toml = format!(
            "{TWO_SHOWS}[[hub.relays]]\nname = \"bot\"\ntoken = \"bot-token-0123456789abcdef\"\n\
             shows = {shows}\n"
        );
        Config::from_figment(Figment::new().merge(Toml::string(&toml))).map_err(|e| e.to_string())
    }

    #[test]
    fn a_relays_shows_are_slugs_of_the_station() {
        let c = with_relay("[\"b\"]").expect("known show");
        let name = crate::relays::RelayName::parse("bot").expect("name");
        assert_eq!(c.hub.relay_shows[&name].describe(), "shows b");
        assert_eq!(
            with_relay("[\"a\", \"c\"]").expect_err("unknown"),
            "hub.relays: relay `bot`: shows: no show `c`; the shows are a, b"
        );
        let err = with_relay("[]").expect_err("empty");
        assert!(err.starts_with("hub.relays: relay `bot`: shows "), "{err}");
        let err = with_relay("[\"B\"]").expect_err("not a slug");
        assert!(err.contains("`B` is not a show slug"), "{err}");
    }
}
