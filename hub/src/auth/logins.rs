//! The dashboard's logins: each user's name, password hash and rights. A v2 configuration's
//! `[dashboard] username` is one login with the whole station; `[[dashboard.users]]` are DJs
//! with their shows (or station admins).

use super::{Principal, secret_eq};
use crate::station::Rights;

/// One user who may log in to the dashboard.
#[derive(Debug, Clone)]
pub struct Login {
    pub name: String,
    /// An argon2 PHC string.
    pub password_hash: String,
    pub rights: Rights,
}

/// Every login, never empty.
#[derive(Debug, Clone)]
pub struct Logins {
    logins: Vec<Login>,
}

/// A hub has at least one login (the v2 user, generated if need be).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the dashboard needs at least one login")]
pub struct NoLogins;

impl Logins {
    pub fn new(logins: Vec<Login>) -> Result<Logins, NoLogins> {
        if logins.is_empty() {
            return Err(NoLogins);
        }
        Ok(Logins { logins })
    }

    /// The login named `name`, and the hash to check the password against: that login's, or
    /// for an unknown name another real one, so a wrong name costs the same argon2 work as a
    /// wrong password. Every name is compared, so timing does not reveal which one was close.
    pub fn lookup(&self, name: &str) -> (Option<&Login>, &str) {
        let found = self.logins.iter().fold(None, |found, login| {
            if secret_eq(&login.name, name) {
                Some(login)
            } else {
                found
            }
        });
        // `new` refuses an empty list.
        let decoy = self.logins.first().map_or("", |l| l.password_hash.as_str());
        let hash = found.map_or(decoy, |l| l.password_hash.as_str());
        (found, hash)
    }

    /// The principal behind a session made by `name`; `None` when that user is no longer
    /// configured (its sessions then count as ended).
    pub fn principal(&self, name: &str) -> Option<Principal> {
        self.logins
            .iter()
            .find(|l| l.name == name)
            .map(|l| Principal {
                name: l.name.clone(),
                rights: l.rights.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::station::ShowSlug;

    fn login(name: &str, hash: &str, rights: Rights) -> Login {
        Login {
            name: name.into(),
            password_hash: hash.into(),
            rights,
        }
    }

    #[test]
    fn a_known_name_has_its_hash_and_an_unknown_one_a_decoy() {
        let ntr = ShowSlug::parse("ntr").expect("slug");
        let logins = Logins::new(vec![
            login("admin", "hash-a", Rights::Station),
            login("nick", "hash-n", Rights::Shows([ntr.clone()].into())),
        ])
        .expect("two logins");
        let (found, hash) = logins.lookup("nick");
        assert_eq!(found.map(|l| l.name.as_str()), Some("nick"));
        assert_eq!(hash, "hash-n");
        let (found, hash) = logins.lookup("nobody");
        assert!(found.is_none());
        assert_eq!(hash, "hash-a", "still checked against a real hash");
        let nick = logins.principal("nick").expect("configured");
        assert!(nick.rights.may(&ntr) && !nick.rights.is_station());
        assert_eq!(logins.principal("gone"), None);
        assert!(Logins::new(Vec::new()).is_err());
    }
}
