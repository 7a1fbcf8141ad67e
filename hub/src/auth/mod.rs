//! Who may do what: bearer tokens (admin, relay or scoped to shows) compared in constant
//! time, dashboard logins and their passwords (`logins`, `password`), and (in `session`) the
//! signed session cookie. Whoever is calling becomes a [`Principal`]: a name and its rights.

pub mod limiter;
pub mod login_counter;
pub mod logins;
pub mod password;
pub mod session;

use subtle::ConstantTimeEq;

use crate::relays::{RelayConfig, RelayName};
use crate::station::Rights;

/// Who is calling, once authenticated: a dashboard user, the admin token or a scoped token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The login or token name, for logs and errors.
    pub name: String,
    pub rights: Rights,
}

impl Principal {
    /// The admin token: the whole station.
    pub fn admin_token() -> Principal {
        Principal {
            name: "admin token".into(),
            rights: Rights::Station,
        }
    }
}

/// A `[[hub.tokens]]` block: a bearer token for a DJ's scripts and devices, limited to shows.
#[derive(Debug, Clone)]
pub struct ScopedToken {
    pub name: String,
    pub token: String,
    pub rights: Rights,
}

/// What a credential allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The admin token or a scoped token: the `/admin/…` endpoints within its rights, and
    /// subscribing.
    Caller(Principal),
    /// Subscribe to `/ws/announce` only, as the named relay (whose cursor the hub keeps).
    Relay(RelayName),
}

/// The configured tokens, with generated ones already filled in.
#[derive(Debug, Clone)]
pub struct Tokens {
    admin: String,
    relays: Vec<RelayConfig>,
    scoped: Vec<ScopedToken>,
}

impl Tokens {
    pub fn new(admin: String, relays: Vec<RelayConfig>, scoped: Vec<ScopedToken>) -> Tokens {
        Tokens {
            admin,
            relays,
            scoped,
        }
    }

    /// Every token is compared, whatever matched, so timing does not reveal which one was close.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        let presented = presented.as_bytes();
        let admin = bool::from(self.admin.as_bytes().ct_eq(presented));
        let relay = self.relays.iter().fold(None, |found, r| {
            let hit = bool::from(r.token.as_bytes().ct_eq(presented));
            if hit { Some(&r.name) } else { found }
        });
        let scoped = self.scoped.iter().fold(None, |found, t| {
            let hit = bool::from(t.token.as_bytes().ct_eq(presented));
            if hit { Some(t) } else { found }
        });
        match (admin, relay, scoped) {
            (true, _, _) => Some(Role::Caller(Principal::admin_token())),
            (false, Some(name), _) => Some(Role::Relay(name.clone())),
            (false, None, Some(t)) => Some(Role::Caller(Principal {
                name: t.name.clone(),
                rights: t.rights.clone(),
            })),
            (false, None, None) => None,
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
        let ntr = crate::station::ShowSlug::parse("ntr").expect("slug");
        let t = Tokens::new(
            "admin-token-0123456789".into(),
            vec![
                relay("ntrbot", "relay-token-0123456789"),
                relay("relay-1", "other-token-0123456789"),
            ],
            vec![ScopedToken {
                name: "ntr-deck".into(),
                token: "scoped-token-0123456789".into(),
                rights: Rights::Shows([ntr.clone()].into()),
            }],
        );
        assert_eq!(
            t.role_of("admin-token-0123456789"),
            Some(Role::Caller(Principal::admin_token()))
        );
        match t.role_of("scoped-token-0123456789") {
            Some(Role::Caller(p)) => {
                assert_eq!(p.name, "ntr-deck");
                assert!(p.rights.may(&ntr) && !p.rights.is_station());
            }
            other => panic!("a scoped token is a caller with its shows: {other:?}"),
        }
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
