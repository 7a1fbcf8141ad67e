//! [`Status`]: what the relay is doing, as one snapshot that both sides update through a
//! `watch` channel, for logs, health checks, tests and the `relay_status` reports to the hub.

use ntr_protocol::IrcState;

/// A snapshot of what the relay is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Subscribed to the hub's WebSocket right now.
    pub hub_connected: bool,
    /// The highest announce sequence number seen.
    pub last_seq: Option<u64>,
    /// Where the IRC connection stands: connecting, connected (registered) or disconnected.
    pub irc: IrcState,
    /// Registered on the IRC server right now.
    pub irc_registered: bool,
    /// Why the last IRC connection failed or ended, until one is registered again.
    pub irc_error: Option<String>,
    /// The nickname the server gave us (may be an alternative).
    pub nickname: Option<String>,
    /// Channels joined on the current connection.
    pub joined: Vec<String>,
    /// Lines waiting to be posted, all channels together.
    pub queued: usize,
    /// PRIVMSG lines sent since start (announces and replies).
    pub lines_sent: u64,
}

impl Default for Status {
    fn default() -> Status {
        Status {
            hub_connected: false,
            last_seq: None,
            irc: IrcState::Disconnected,
            irc_registered: false,
            irc_error: None,
            nickname: None,
            joined: Vec::new(),
            queued: 0,
            lines_sent: 0,
        }
    }
}
