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

#[derive(Debug)]
pub struct SessionKeys {
    key: Vec<u8>,
    secure: bool,
    lifetime: SignedDuration,
}

impl SessionKeys {
    pub fn new(key: Vec<u8>, secure: bool, session_hours: u32) -> SessionKeys {
        SessionKeys {
            key,
            secure,
            lifetime: SignedDuration::from_hours(i64::from(session_hours)),
        }
    }

    pub fn expires_at(&self, now: Timestamp) -> Timestamp {
        now + self.lifetime
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail; the fallback keeps it total.
        HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| HmacSha256::new_from_slice(&[0u8; 32]).expect("fixed-size key"))
    }

    /// The cookie value for a session id.
    pub fn sign(&self, session_id: &str) -> String {
        let mut mac = self.mac();
        mac.update(session_id.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{session_id}.{tag}")
    }

    /// The session id inside a cookie value, if its MAC is right (checked in constant time).
    pub fn verify(&self, value: &str) -> Option<String> {
        let (id, tag) = value.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.mac();
        mac.update(id.as_bytes());
        mac.verify_slice(&tag).ok()?;
        Some(id.to_owned())
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
        let keys = SessionKeys::new(vec![7; 32], false, 24);
        let v = keys.sign("abc");
        assert_eq!(keys.verify(&v).as_deref(), Some("abc"));
        assert_eq!(keys.verify(&v.replacen("abc", "abd", 1)), None);
        assert_eq!(keys.verify("abc"), None);
        assert_eq!(keys.verify("abc.!!!"), None);
        let other = SessionKeys::new(vec![8; 32], false, 24);
        assert_eq!(other.verify(&v), None);
    }
}
