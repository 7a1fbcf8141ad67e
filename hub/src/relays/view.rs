//! How a relay's state is shown: the `RelayInfo` of `/admin/relays` and `relays` frames, and
//! a reported `relay_status` made safe to show (it comes from the network: bounded, one line).

use jiff::Timestamp;
use ntr_protocol::{IrcState, RelayInfo, RelayStatus, RelayStatusView};

use super::Entry;
use crate::line::AnnounceLine;

/// Longest text kept from a status field; a relay has no reason to send more.
const MAX_FIELD: usize = 200;
/// Most channels kept from one status.
const MAX_CHANNELS: usize = 50;

pub(super) fn info(entry: &Entry, replica: &str) -> RelayInfo {
    // The newest socket describes the relay: an older one may be a connection about to time out.
    let newest = entry.connections.last_key_value().map(|(_, c)| c);
    RelayInfo {
        name: entry.name.to_string(),
        connected: newest.is_some(),
        connected_since: newest.map(|c| c.since),
        address: newest.map(|c| c.address.to_string()),
        replica: newest.map(|_| replica.to_owned()),
        // What a restart would resume from: a written cursor is shown once it is saved.
        cursor: entry.persisted,
        status: entry.status.clone(),
        last_ack: entry.last_ack.clone(),
    }
}

pub(super) fn status_view(status: RelayStatus, at: Timestamp) -> RelayStatusView {
    let channels = status
        .channels
        .iter()
        .take(MAX_CHANNELS)
        .map(|c| clean(c))
        .filter(|c| !c.is_empty())
        .collect();
    RelayStatusView {
        irc: status.irc,
        server: clean(&status.server),
        nick: clean(&status.nick),
        channels,
        queued: status.queued,
        version: clean(&status.version),
        error: status.error.as_deref().map(clean).filter(|e| !e.is_empty()),
        updated_at: at,
    }
}

/// One line without control characters, at most [`MAX_FIELD`] characters.
fn clean(text: &str) -> String {
    AnnounceLine::sanitize(text)
        .as_str()
        .chars()
        .take(MAX_FIELD)
        .collect()
}

/// Whether a relay gets lines to IRC as far as the hub can tell. An old plugin reports
/// nothing, so its connection is all there is to go by.
pub fn delivering(info: &RelayInfo) -> bool {
    info.connected
        && info
            .status
            .as_ref()
            .is_none_or(|s| s.irc == IrcState::Connected && !s.channels.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntr_protocol::IrcState;

    #[test]
    fn reported_fields_are_one_bounded_line() {
        let status = RelayStatus {
            irc: IrcState::Disconnected,
            server: "irc.example:6697\r\nQUIT".into(),
            nick: "x".repeat(1000),
            channels: (0..100)
                .map(|i| format!("#c{i}"))
                .chain(["\u{7}".into()])
                .collect(),
            queued: 3,
            version: "0.2.0".into(),
            error: Some(String::new()),
        };
        let view = status_view(status, Timestamp::UNIX_EPOCH);
        assert!(!view.server.contains(['\r', '\n']), "{:?}", view.server);
        assert_eq!(view.nick.chars().count(), MAX_FIELD);
        assert_eq!(view.channels.len(), MAX_CHANNELS);
        assert_eq!(view.error, None, "an empty error is no error");
    }
}
