//! Relay state: what a relay reports about itself (`relay_status`) and what the hub tells
//! dashboards about every configured relay (`relays` frames, `GET /admin/relays`).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::seq::Seq;

/// The relay's connection to its IRC server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum IrcState {
    Connecting,
    Connected,
    Disconnected,
}

/// Sent by a relay after subscribing and whenever its state changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelayStatus {
    pub irc: IrcState,
    /// `host:port`.
    pub server: String,
    pub nick: String,
    /// Channels joined right now.
    pub channels: Vec<String>,
    /// Lines waiting to be posted.
    pub queued: u32,
    pub version: String,
    /// A short text when something is wrong (a SASL failure, a refused connection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A relay's last reported state, as the hub shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelayStatusView {
    pub irc: IrcState,
    pub server: String,
    pub nick: String,
    pub channels: Vec<String>,
    pub queued: u32,
    pub version: String,
    pub error: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl RelayStatusView {
    pub fn new(status: RelayStatus, updated_at: Timestamp) -> RelayStatusView {
        RelayStatusView {
            irc: status.irc,
            server: status.server,
            nick: status.nick,
            channels: status.channels,
            queued: status.queued,
            version: status.version,
            error: status.error,
            updated_at,
        }
    }
}

/// The newest ack of a relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastAck {
    pub seq: Seq,
    pub target: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// From the announce to this ack.
    pub lag_ms: u64,
}

/// One configured relay, connected or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelayInfo {
    pub name: String,
    pub connected: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub connected_since: Option<Timestamp>,
    /// The peer address of its connection (null while disconnected).
    pub address: Option<String>,
    /// The replica of the station it is connected to (null while disconnected).
    #[serde(default)]
    pub replica: Option<String>,
    /// The highest seq it has acked (or been sent, for subscribers that never ack).
    pub cursor: Option<Seq>,
    /// Null for a subscriber that never sent a `relay_status` (an old plugin).
    pub status: Option<RelayStatusView>,
    pub last_ack: Option<LastAck>,
}
