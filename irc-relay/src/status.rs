//! [`Status`]: what the relay is doing, as one snapshot that both sides update through a
//! `watch` channel, for logs, health checks and tests.

/// A snapshot of what the relay is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Subscribed to the hub's WebSocket right now.
    pub hub_connected: bool,
    /// The highest announce sequence number seen.
    pub last_seq: Option<u64>,
    /// Registered on the IRC server right now.
    pub irc_registered: bool,
    /// The nickname the server gave us (may be an alternative).
    pub nickname: Option<String>,
    /// Channels joined on the current connection.
    pub joined: Vec<String>,
    /// PRIVMSG lines sent since start (announces and replies).
    pub lines_sent: u64,
}
