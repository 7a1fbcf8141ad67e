//! The password of a login, as `[dashboard]` and each `[[dashboard.users]]` block write it:
//! `password` (hashed at load) or `password_hash` (an argon2 PHC string), at most one.

use super::{ConfigError, non_empty};

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

/// `{prefix}.password` or `{prefix}.password_hash` (`dashboard`, `dashboard.users[2]`), at
/// most one: the hash checked to be argon2, a password hashed here. Answers the hash and the
/// password as written.
pub(super) fn password(
    prefix: &str,
    plain: Option<String>,
    hash: Option<String>,
) -> Result<(Option<String>, Option<PlainPassword>), ConfigError> {
    let plain = non_empty(plain);
    let hash = match (non_empty(hash), plain.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid(
                format!("{prefix}.password"),
                format!("set either {prefix}.password or {prefix}.password_hash, not both"),
            ));
        }
        (Some(hash), None) => {
            crate::auth::password::check_hash_format(&hash).map_err(|e| {
                ConfigError::invalid(
                    format!("{prefix}.password_hash"),
                    format!("{e} (make one with `hub hash-password`)"),
                )
            })?;
            Some(hash)
        }
        (None, Some(plain)) => Some(
            crate::auth::password::hash(plain)
                .map_err(|e| ConfigError::invalid(format!("{prefix}.password"), e.to_string()))?,
        ),
        (None, None) => None,
    };
    Ok((hash, plain.map(PlainPassword)))
}
