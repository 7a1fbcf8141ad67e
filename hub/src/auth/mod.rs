//! Who may do what: bearer tokens (admin or relay) compared in constant time, dashboard
//! passwords, and (in `session`) the signed session cookie.

pub mod limiter;
pub mod password;
pub mod session;

use subtle::ConstantTimeEq;

use crate::relays::{RelayConfig, RelayName};

/// What a credential allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Announce, refresh, edit playlists, subscribe.
    Admin,
    /// Subscribe to `/ws/announce` only, as the named relay (whose cursor the hub keeps).
    Relay(RelayName),
}

/// The configured tokens, with generated ones already filled in.
#[derive(Debug, Clone)]
pub struct Tokens {
    admin: String,
    relays: Vec<RelayConfig>,
}

impl Tokens {
    pub fn new(admin: String, relays: Vec<RelayConfig>) -> Tokens {
        Tokens { admin, relays }
    }

    /// Every token is compared, whatever matched, so timing does not reveal which one was close.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        let presented = presented.as_bytes();
        let admin = bool::from(self.admin.as_bytes().ct_eq(presented));
        let relay = self.relays.iter().fold(None, |found, r| {
            let hit = bool::from(r.token.as_bytes().ct_eq(presented));
            if hit { Some(&r.name) } else { found }
        });
        match (admin, relay) {
            (true, _) => Some(Role::Admin),
            (false, Some(name)) => Some(Role::Relay(name.clone())),
            (false, None) => None,
        }
    }
}

/// Constant-time equality for secrets of possibly different lengths.
pub fn secret_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        let relay = |name: &str, token: &str| RelayConfig {
            name: RelayName::parse(name).expect("name"),
            token: token.into(),
        };
        let t = Tokens::new(
            "admin-token-0123456789".into(),
            vec![
                relay("ntrbot", "relay-token-0123456789"),
                relay("relay-1", "other-token-0123456789"),
            ],
        );
        assert_eq!(t.role_of("admin-token-0123456789"), Some(Role::Admin));
        let name = |role: Option<Role>| match role {
            Some(Role::Relay(n)) => Some(n.to_string()),
            _ => None,
        };
        assert_eq!(
            name(t.role_of("relay-token-0123456789")).as_deref(),
            Some("ntrbot")
        );
        assert_eq!(
            name(t.role_of("other-token-0123456789")).as_deref(),
            Some("relay-1")
        );
        assert_eq!(t.role_of("admin-token-012345678"), None);
        assert_eq!(t.role_of(""), None);
    }
}
