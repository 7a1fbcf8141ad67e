//! The `ntr_session` cookie: `<session id>.<HMAC-SHA256 of the id>`, base64url. The MAC stops
//! forged or tampered cookies before any database work; the session row (see `store::sessions`)
//! is what makes logout and expiry final.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;
use tower_cookies::Cookie;
use tower_cookies::cookie::SameSite;

pub const COOKIE_NAME: &str = "ntr_session";

type HmacSha256 = Hmac<Sha256>;

/// The key HMAC-SHA256 refused (it takes keys of any length, so this only guards an API that
/// is fallible in general).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the dashboard secret key cannot key HMAC-SHA256")]
pub struct InvalidSessionKey;

pub struct SessionKeys {
    /// Keyed once; every signature starts from a clone, so no later step can fail.
    mac: HmacSha256,
    secure: bool,
    lifetime: SignedDuration,
}

/// Leaves the key out: a debug print must not leak it.
impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("secure", &self.secure)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl SessionKeys {
    pub fn new(
        key: &[u8],
        secure: bool,
        session_hours: u32,
    ) -> Result<SessionKeys, InvalidSessionKey> {
        Ok(SessionKeys {
            mac: HmacSha256::new_from_slice(key).map_err(|_| InvalidSessionKey)?,
            secure,
            lifetime: SignedDuration::from_hours(i64::from(session_hours)),
        })
    }

    pub fn expires_at(&self, now: Timestamp) -> Timestamp {
        now + self.lifetime
    }

    /// The cookie value for a session id.
    pub fn sign(&self, session_id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(session_id.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{session_id}.{tag}")
    }

    /// The session id inside a cookie value, if its MAC is right (checked in constant time).
    pub fn verify(&self, value: &str) -> Option<String> {
        let (id, tag) = value.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        mac.verify_slice(&tag).ok()?;
        Some(id.to_owned())
    }

    /// A fingerprint of the dashboard password (see `secrets::Resolved::password_identity`),
    /// kept with the sessions so a start under another password ends them. Keyed, so the
    /// database alone does not allow guessing the password at hash speed.
    pub fn password_fingerprint(&self, identity: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(b"dashboard password\0");
        mac.update(identity.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// A `Set-Cookie` for a fresh session.
    pub fn cookie(&self, session_id: &str) -> Cookie<'static> {
        let mut c = Cookie::new(COOKIE_NAME, self.sign(session_id));
        c.set_http_only(true);
        c.set_same_site(SameSite::Strict);
        c.set_secure(self.secure);
        c.set_path("/");
        c.set_max_age(tower_cookies::cookie::time::Duration::seconds(
            self.lifetime.as_secs(),
        ));
        c
    }

    /// A `Set-Cookie` that deletes the session cookie.
    pub fn removal(&self) -> Cookie<'static> {
        let mut c = Cookie::new(COOKIE_NAME, "");
        c.set_http_only(true);
        c.set_same_site(SameSite::Strict);
        c.set_secure(self.secure);
        c.set_path("/");
        c.set_max_age(tower_cookies::cookie::time::Duration::ZERO);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let keys = SessionKeys::new(&[7; 32], false, 24).expect("key");
        let v = keys.sign("abc");
        assert_eq!(keys.verify(&v).as_deref(), Some("abc"));
        assert_eq!(keys.verify(&v.replacen("abc", "abd", 1)), None);
        assert_eq!(keys.verify("abc"), None);
        assert_eq!(keys.verify("abc.!!!"), None);
        let other = SessionKeys::new(&[8; 32], false, 24).expect("key");
        assert_eq!(other.verify(&v), None);
        assert!(!format!("{keys:?}").contains('7'), "no key in debug output");
    }

    #[test]
    fn password_fingerprints_differ_by_password_and_key() {
        let keys = SessionKeys::new(&[7; 32], false, 24).expect("key");
        let other = SessionKeys::new(&[8; 32], false, 24).expect("key");
        let a = keys.password_fingerprint("plain:one");
        assert_eq!(a, keys.password_fingerprint("plain:one"));
        assert_ne!(a, keys.password_fingerprint("plain:two"));
        assert_ne!(a, other.password_fingerprint("plain:one"));
        assert!(!a.contains("one"));
    }
}
