//! Dashboard passwords: argon2id hashes in PHC string form (`$argon2id$v=19$…`).

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

/// Why a password cannot be hashed, or a configured hash cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must not be empty")]
    Empty,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("not a PHC hash string ({0})")]
    NotPhc(String),
    #[error("algorithm {0} is not argon2")]
    NotArgon2(String),
}

/// Hashes a password with argon2id and a fresh random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks that a configured hash is an argon2 PHC string, so a mistake shows at start-up, not
/// at the DJ's first login.
pub fn check_hash_format(phc: &str) -> Result<(), PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|e| PasswordError::NotPhc(e.to_string()))?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(PasswordError::NotArgon2(parsed.algorithm.to_string()));
    }
    Ok(())
}

/// Verifies in constant time (argon2 compares its outputs with `subtle`).
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = hash("correct horse").expect("hashes");
        assert!(h.starts_with("$argon2id$"));
        check_hash_format(&h).expect("valid format");
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("correct horse", "garbage"));
        assert!(matches!(
            check_hash_format("$2b$12$abcdefghijklmnopqrstuv"),
            Err(PasswordError::NotPhc(_) | PasswordError::NotArgon2(_))
        ));
        assert_eq!(hash(""), Err(PasswordError::Empty));
    }
}
