//! WebSocket close codes the hub sends on `/ws/announce`.

/// The hub is shutting down (the standard "going away").
pub const GOING_AWAY: u16 = 1001;
/// The dashboard session behind the socket ended (a logout): "policy violation", as the
/// socket's credentials are no longer good.
pub const LOGGED_OUT: u16 = 1008;
/// The first-message subscribe carried no valid token (or none came within 10 s).
pub const BAD_AUTH: u16 = 4001;
/// The subscriber fell more than 64 messages behind; it should reconnect with `?since=`.
pub const TOO_SLOW: u16 = 4008;

/// A short explanation of a close code for a client's log.
pub fn describe(code: u16) -> &'static str {
    match code {
        GOING_AWAY => "the hub is shutting down",
        LOGGED_OUT => "logged out",
        BAD_AUTH => "the hub rejected the token",
        TOO_SLOW => "too slow: more than 64 messages behind",
        _ => "closed by the hub",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Old bot plugins match on these numbers: they must never change.
    #[test]
    fn codes_are_the_published_ones() {
        assert_eq!((GOING_AWAY, BAD_AUTH, TOO_SLOW), (1001, 4001, 4008));
    }
}
