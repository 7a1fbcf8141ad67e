//! Who may act on which shows: `[[dashboard.users]]` (DJs' logins) and `[[hub.tokens]]`
//! (bearer tokens for a DJ's scripts and devices). Each names its shows, `shows = ["ntr"]`,
//! or the whole station, `shows = ["*"]`.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::password::{PlainPassword, password};
use super::{ConfigError, check_token};
use crate::auth::ScopedToken;
use crate::relays::RelayConfig;
use crate::station::{Rights, Station};

/// One `[[dashboard.users]]` block.
#[derive(Debug, Clone)]
pub struct DashboardUser {
    pub name: String,
    /// An argon2 PHC string (the configured one, or made from `password` at load).
    pub password_hash: String,
    /// The password as written, when set that way: it tells a restart from a change.
    pub password: Option<PlainPassword>,
    pub rights: Rights,
}

/// What `shows` holds for a station admin.
const WHOLE_STATION: &str = "*";

/// One `[[dashboard.users]]` block, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUser {
    #[serde(default)]
    name: String,
    password_hash: Option<String>,
    password: Option<String>,
    #[serde(default)]
    shows: Vec<String>,
}

/// One `[[hub.tokens]]` block, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToken {
    #[serde(default)]
    name: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    shows: Vec<String>,
}

/// `shows` under `key`: `["*"]` alone, or slugs of configured shows, at least one.
fn rights(key: &str, shows: &[String], station: &Station) -> Result<Rights, ConfigError> {
    if shows.is_empty() {
        return Err(ConfigError::invalid(
            key,
            format!(
                "must name at least one show (the shows are {}), or [\"*\"] for a station admin",
                station.slug_list()
            ),
        ));
    }
    if shows.iter().any(|s| s.trim() == WHOLE_STATION) {
        return match shows {
            [_] => Ok(Rights::Station),
            _ => Err(ConfigError::invalid(
                key,
                "[\"*\"] is the whole station: write it alone",
            )),
        };
    }
    let mut slugs = BTreeSet::new();
    for show in shows {
        let def = station.get(show.trim()).ok_or_else(|| {
            ConfigError::invalid(
                key,
                format!("no show `{show}`; the shows are {}", station.slug_list()),
            )
        })?;
        slugs.insert(def.slug.clone());
    }
    Ok(Rights::Shows(slugs))
}

/// The `[[dashboard.users]]` blocks: names unique and non-empty, exactly one of `password`
/// and `password_hash`, and their shows.
pub(super) fn users(
    raw: Vec<RawUser>,
    station: &Station,
) -> Result<Vec<DashboardUser>, ConfigError> {
    let mut users: Vec<DashboardUser> = Vec::with_capacity(raw.len());
    for (i, user) in raw.into_iter().enumerate() {
        let prefix = format!("dashboard.users[{}]", i + 1);
        let name = user.name.trim().to_owned();
        if name.is_empty() {
            return Err(ConfigError::invalid(
                format!("{prefix}.name"),
                "every user needs a name",
            ));
        }
        if users.iter().any(|u| u.name == name) {
            return Err(ConfigError::invalid(
                format!("{prefix}.name"),
                format!("the user name `{name}` is used twice"),
            ));
        }
        let (hash, plain) = password(&prefix, user.password, user.password_hash)?;
        let Some(password_hash) = hash else {
            return Err(ConfigError::invalid(
                format!("{prefix}.password"),
                format!("set {prefix}.password or {prefix}.password_hash"),
            ));
        };
        let rights = rights(&format!("{prefix}.shows"), &user.shows, station)?;
        users.push(DashboardUser {
            name,
            password_hash,
            password: plain,
            rights,
        });
    }
    Ok(users)
}

/// The `[[hub.tokens]]` blocks: names unique and non-empty, tokens valid and used by no
/// other token (admin, relay or scoped), and their shows. Errors never print a token.
pub(super) fn tokens(
    raw: Vec<RawToken>,
    station: &Station,
    admin_token: Option<&str>,
    relays: &[RelayConfig],
) -> Result<Vec<ScopedToken>, ConfigError> {
    let mut tokens: Vec<ScopedToken> = Vec::with_capacity(raw.len());
    for (i, block) in raw.into_iter().enumerate() {
        let prefix = format!("hub.tokens[{}]", i + 1);
        let name = block.name.trim().to_owned();
        if name.is_empty() {
            return Err(ConfigError::invalid(
                format!("{prefix}.name"),
                "every token needs a name",
            ));
        }
        if tokens.iter().any(|t| t.name == name) {
            return Err(ConfigError::invalid(
                format!("{prefix}.name"),
                format!("the token name `{name}` is used twice"),
            ));
        }
        let key = format!("{prefix}.token");
        check_token(&key, &block.token)?;
        let taken_by = if admin_token == Some(block.token.as_str()) {
            Some("the admin token".to_owned())
        } else if let Some(r) = relays.iter().find(|r| r.token == block.token) {
            Some(format!("relay `{}`", r.name))
        } else {
            tokens
                .iter()
                .find(|t| t.token == block.token)
                .map(|t| format!("token `{}`", t.name))
        };
        if let Some(other) = taken_by {
            return Err(ConfigError::invalid(
                key,
                format!("token `{name}` has the same token as {other}; give it its own"),
            ));
        }
        let rights = rights(&format!("{prefix}.shows"), &block.shows, station)?;
        tokens.push(ScopedToken {
            name,
            token: block.token,
            rights,
        });
    }
    Ok(tokens)
}
