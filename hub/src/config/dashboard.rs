//! `[dashboard]`: the DJ's login (a password or its argon2 hash), the session cookie's key and
//! how long a session lasts.

use serde::Deserialize;

use super::{ConfigError, non_empty};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawDashboard {
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

#[derive(Debug, Clone)]
pub struct DashboardConfig {
    pub username: String,
    /// An argon2 PHC string, already parsed once to prove it is one.
    pub password_hash: Option<String>,
    /// `dashboard.password` as written, when the password is set that way. Its hash has a
    /// fresh salt at each start, so only the password itself tells a restart from a change.
    pub password: Option<PlainPassword>,
    pub secret_key: Option<Vec<u8>>,
    pub session_hours: u32,
}

/// A password as the operator wrote it; never printed.
#[derive(Clone)]
pub struct PlainPassword(String);

impl PlainPassword {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PlainPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainPassword(***)")
    }
}

const MIN_SECRET_KEY_LEN: usize = 32;

pub(super) fn validate(raw: RawDashboard) -> Result<DashboardConfig, ConfigError> {
    if raw.username.trim().is_empty() {
        return Err(ConfigError::invalid(
            "dashboard.username",
            "must not be empty",
        ));
    }
    let password = non_empty(raw.password);
    let password_hash = match (non_empty(raw.password_hash), password.clone()) {
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
        password: password.map(PlainPassword),
        secret_key,
        session_hours: raw.session_hours,
    })
}
