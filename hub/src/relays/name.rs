//! [`RelayName`]: what a relay is called on the dashboard, in `/admin/relays` and in its cursor
//! row. Checked once when the configuration is read, so every name the hub holds is valid.

use std::fmt;
use std::sync::Arc;

/// The longest name: it has to fit a dashboard column and a metrics label.
pub const MAX_NAME_LEN: usize = 32;

/// 1–32 characters of `A-Z a-z 0-9 . _ -`; cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelayName(Arc<str>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` must be 1–32 characters of A-Z, a-z, 0-9, `.`, `_`, `-`")]
pub struct NameError(String);

impl RelayName {
    pub fn parse(name: &str) -> Result<RelayName, NameError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(allowed) {
            return Err(NameError(name.to_owned()));
        }
        Ok(RelayName(name.into()))
    }

    /// The name of the `n`-th (1-based) token of `hub.relay_tokens`: `relay-1`, `relay-2`, …
    pub fn numbered(n: usize) -> RelayName {
        RelayName(format!("relay-{n}").into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RelayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        for good in ["ntrbot", "a", "relay-1", "bot.libera_2", &"x".repeat(32)] {
            assert_eq!(
                RelayName::parse(good).map(|n| n.to_string()),
                Ok(good.to_string())
            );
        }
        for bad in ["", "has space", "ümlaut", "slash/", &"x".repeat(33), "#ntr"] {
            assert!(RelayName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(RelayName::numbered(2).as_str(), "relay-2");
    }
}
