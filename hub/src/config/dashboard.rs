//! `[dashboard]`: the logins — the v2 single user (`username` with a password or its argon2
//! hash) or `[[dashboard.users]]` (see `rights`) —, the session cookie's key and how long a
//! session lasts.

use serde::Deserialize;

use super::password::{PlainPassword, password};
use super::rights::{self, DashboardUser, RawUser};
use super::{ConfigError, non_empty};
use crate::station::Station;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawDashboard {
    username: Option<String>,
    password_hash: Option<String>,
    password: Option<String>,
    secret_key: Option<String>,
    session_hours: u32,
    users: Vec<RawUser>,
}

impl Default for RawDashboard {
    fn default() -> Self {
        RawDashboard {
            username: None,
            password_hash: None,
            password: None,
            secret_key: None,
            session_hours: 24,
            users: Vec::new(),
        }
    }
}

/// The v2 login's name when `[dashboard] username` is left out.
const DEFAULT_USERNAME: &str = "dj";

#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// The v2 single user's name; unused when `users` is set.
    pub username: String,
    /// An argon2 PHC string, already parsed once to prove it is one.
    pub password_hash: Option<String>,
    /// `dashboard.password` as written, when the password is set that way. Its hash has a
    /// fresh salt at each start, so only the password itself tells a restart from a change.
    pub password: Option<PlainPassword>,
    pub secret_key: Option<Vec<u8>>,
    pub session_hours: u32,
    /// `[[dashboard.users]]`; empty for a v2 configuration, whose single user is `username`
    /// with the whole station.
    pub users: Vec<DashboardUser>,
}

const MIN_SECRET_KEY_LEN: usize = 32;

pub(super) fn validate(
    raw: RawDashboard,
    station: &Station,
) -> Result<DashboardConfig, ConfigError> {
    let single_user_set =
        raw.username.is_some() || raw.password.is_some() || raw.password_hash.is_some();
    if !raw.users.is_empty() && single_user_set {
        return Err(ConfigError::invalid(
            "dashboard.users",
            "[[dashboard.users]] and [dashboard] username/password/password_hash cannot both \
             be set: make the single user a [[dashboard.users]] block with shows = [\"*\"]",
        ));
    }
    let username = raw.username.unwrap_or_else(|| DEFAULT_USERNAME.into());
    if username.trim().is_empty() {
        return Err(ConfigError::invalid(
            "dashboard.username",
            "must not be empty",
        ));
    }
    let (password_hash, password) = password("dashboard", raw.password, raw.password_hash)?;
    let users = rights::users(raw.users, station)?;
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
        username,
        password_hash,
        password,
        secret_key,
        session_hours: raw.session_hours,
        users,
    })
}
