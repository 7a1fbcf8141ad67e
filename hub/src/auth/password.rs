//! Dashboard passwords: argon2id hashes in PHC string form (`$argon2id$v=19$…`).

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

/// Hashes a password with argon2id and a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    if password.is_empty() {
        return Err("the password must not be empty".into());
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Checks that a configured hash is an argon2 PHC string, so a mistake shows at start-up, not
/// at the DJ's first login.
pub fn check_hash_format(phc: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(phc).map_err(|e| format!("not a PHC hash string ({e})"))?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!("algorithm {} is not argon2", parsed.algorithm));
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
        assert!(check_hash_format("$2b$12$abcdefghijklmnopqrstuv").is_err());
    }
}
