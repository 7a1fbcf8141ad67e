//! The announce hub's wire protocol, shared by the hub, the IRC relay, the tests and the bench.
//!
//! Everything a client and the hub must agree on lives here and nowhere else: the
//! `/ws/announce` messages in both directions ([`ServerMessage`], [`ClientMessage`]), the
//! sequence number type ([`Seq`]), the close codes ([`close`]), the path and its `since`
//! parameter, the token rules, and the REST shapes a bot reads (`/playlist`, `/shows`).
//! Changing a field is one edit here, and the compiler finds every place that must follow.
//!
//! Only serde, serde_json, jiff and thiserror: a bot author can depend on it without pulling
//! in a web server or a database. The `openapi` feature (off by default; the hub turns it on)
//! adds `utoipa::ToSchema` to the types the hub's OpenAPI document describes.

pub mod close;
mod messages;
mod relays;
mod rest;
mod seq;
mod token;

pub use messages::{Announce, ClientMessage, ServerMessage};
pub use relays::{IrcState, LastAck, RelayInfo, RelayStatus, RelayStatusView};
pub use rest::{Announced, Held, Show, ShowSummary, Track};
pub use seq::{Seq, SeqError};
pub use token::{MIN_TOKEN_LEN, TokenError, check_token};

/// Where the hub serves the WebSocket broadcast.
pub const ANNOUNCE_PATH: &str = "/ws/announce";

/// How far back (seconds) a resuming subscriber is replayed unless configured otherwise.
pub const DEFAULT_REPLAY_WINDOW_SECONDS: u64 = 300;
/// The longest replay window either binary accepts: a day.
pub const MAX_REPLAY_WINDOW_SECONDS: u64 = 86_400;

/// The query string of `/ws/announce`: `?since=N` asks for every announce after `N` from the
/// replay window before the live stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SinceQuery {
    pub since: Option<Seq>,
}

/// `/ws/announce` with its `since` parameter, relative to the hub's base URL.
pub fn announce_path(since: Option<Seq>) -> String {
    match since {
        Some(seq) => format!("{ANNOUNCE_PATH}?since={seq}"),
        None => ANNOUNCE_PATH.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announce_path_carries_since() {
        assert_eq!(announce_path(None), "/ws/announce");
        assert_eq!(announce_path(Some(Seq::new(41))), "/ws/announce?since=41");
    }
}
