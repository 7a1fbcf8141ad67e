//! What a token (admin or relay) must look like, so that both binaries refuse the same
//! mistakes at start-up: too short to be secret, or with characters a header cannot carry.

/// Shorter tokens can be guessed; every generated token is far longer.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("tokens must be at least {MIN_TOKEN_LEN} characters")]
    TooShort,
    #[error("tokens may only hold printable ASCII characters without spaces")]
    BadCharacter,
}

pub fn check_token(token: &str) -> Result<(), TokenError> {
    if token.len() < MIN_TOKEN_LEN {
        return Err(TokenError::TooShort);
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(TokenError::BadCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(check_token("short"), Err(TokenError::TooShort));
        assert_eq!(
            check_token("0123456789abcdef "),
            Err(TokenError::BadCharacter)
        );
        assert_eq!(
            check_token("0123456789abcdéf"),
            Err(TokenError::BadCharacter)
        );
        assert_eq!(check_token("0123456789abcdef"), Ok(()));
    }
}
