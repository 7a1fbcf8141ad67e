//! Who may do what: bearer tokens (admin or relay) compared in constant time, dashboard
//! passwords, and (in `session`) the signed session cookie.

pub mod extract;
pub mod limiter;
pub mod password;
pub mod session;

use subtle::ConstantTimeEq;

/// What a credential allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Announce, refresh, edit playlists, subscribe.
    Admin,
    /// Subscribe to `/ws/announce` only.
    Relay,
}

/// The configured tokens, with generated ones already filled in.
#[derive(Debug, Clone)]
pub struct Tokens {
    admin: String,
    relay: Vec<String>,
}

impl Tokens {
    pub fn new(admin: String, relay: Vec<String>) -> Tokens {
        Tokens { admin, relay }
    }

    /// Every token is compared, whatever matched, so timing does not reveal which one was close.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        let presented = presented.as_bytes();
        let admin = bool::from(self.admin.as_bytes().ct_eq(presented));
        let relay = self.relay.iter().fold(false, |any, t| {
            any | bool::from(t.as_bytes().ct_eq(presented))
        });
        if admin {
            Some(Role::Admin)
        } else if relay {
            Some(Role::Relay)
        } else {
            None
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
        let t = Tokens::new(
            "admin-token-0123456789".into(),
            vec!["relay-token-0123456789".into()],
        );
        assert_eq!(t.role_of("admin-token-0123456789"), Some(Role::Admin));
        assert_eq!(t.role_of("relay-token-0123456789"), Some(Role::Relay));
        assert_eq!(t.role_of("admin-token-012345678"), None);
        assert_eq!(t.role_of(""), None);
    }
}
