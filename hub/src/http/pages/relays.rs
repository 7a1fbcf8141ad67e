//! The dashboard's relay panel, server-rendered: one card per configured relay and the red
//! banner shown during the live window when no relay can get a line to IRC. `static/relays.js`
//! redraws both from `relays` frames with the same rules.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ntr_protocol::{IrcState, RelayInfo};

use crate::relays::delivering;

/// What the panel template needs.
pub struct RelaysPanel {
    pub relays: Vec<RelayRow>,
    /// The current or next live window, in ms since the epoch: the banner only shows inside it.
    pub live_start_ms: i64,
    pub live_end_ms: i64,
    /// The banner's text when it shows now.
    pub banner: Option<String>,
    /// The banner's text were the window live (the script shows it when the window opens).
    pub banner_text: String,
}

pub struct RelayRow {
    pub name: String,
    pub connected: bool,
    pub since: String,
    pub address: String,
    /// `None` for a subscriber that never reported (an old plugin).
    pub irc: Option<&'static str>,
    pub server: String,
    pub nick: String,
    pub channels: String,
    pub queued: u32,
    pub version: String,
    pub error: Option<String>,
    pub last_ack: Option<String>,
    pub delivering: bool,
}

impl RelaysPanel {
    pub fn new(
        infos: &[RelayInfo],
        now: Timestamp,
        live: (Timestamp, Timestamp),
        tz: &TimeZone,
    ) -> RelaysPanel {
        let text = banner_text(infos);
        let in_window = live.0 <= now && now < live.1;
        RelaysPanel {
            relays: infos.iter().map(|i| row(i, tz)).collect(),
            live_start_ms: live.0.as_millisecond(),
            live_end_ms: live.1.as_millisecond(),
            banner: text.clone().filter(|_| in_window),
            banner_text: text.unwrap_or_default(),
        }
    }
}

/// The banner's text when no relay delivers, else `None`.
pub fn banner_text(infos: &[RelayInfo]) -> Option<String> {
    if infos.iter().any(delivering) {
        return None;
    }
    let Some(relay) = infos.iter().find(|r| r.connected) else {
        return Some("No relay is connected — announces will not reach IRC".into());
    };
    let nick = relay
        .status
        .as_ref()
        .map(|s| s.nick.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| relay.name.clone());
    let place = match &relay.last_ack {
        Some(ack) => format!("in {}", ack.target),
        None => "on IRC".into(),
    };
    Some(format!(
        "{nick} is not {place} — announces will not reach IRC"
    ))
}

fn irc_word(state: IrcState) -> &'static str {
    match state {
        IrcState::Connecting => "connecting",
        IrcState::Connected => "connected",
        IrcState::Disconnected => "disconnected",
    }
}

fn row(info: &RelayInfo, tz: &TimeZone) -> RelayRow {
    // On the show's clock, labelled ("22:41:07 New York"), like every time on the dashboard.
    let clock = crate::clock::Clock::new(tz);
    let time = |t: Timestamp| clock.time(t);
    let status = info.status.as_ref();
    RelayRow {
        name: info.name.clone(),
        connected: info.connected,
        since: info.connected_since.map(time).unwrap_or_default(),
        address: info.address.clone().unwrap_or_default(),
        irc: status.map(|s| irc_word(s.irc)),
        server: status.map(|s| s.server.clone()).unwrap_or_default(),
        nick: status.map(|s| s.nick.clone()).unwrap_or_default(),
        channels: status.map(|s| s.channels.join(", ")).unwrap_or_default(),
        queued: status.map_or(0, |s| s.queued),
        version: status.map(|s| s.version.clone()).unwrap_or_default(),
        error: status.and_then(|s| s.error.clone()),
        last_ack: info.last_ack.as_ref().map(|a| {
            format!(
                "#{} → {} at {} ({} ms)",
                a.seq,
                a.target,
                time(a.at),
                a.lag_ms
            )
        }),
        delivering: delivering(info),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntr_protocol::{LastAck, RelayStatusView, Seq};

    fn relay(connected: bool, irc: Option<IrcState>, channels: &[&str]) -> RelayInfo {
        RelayInfo {
            name: "relay-1".into(),
            connected,
            connected_since: None,
            address: None,
            replica: None,
            cursor: None,
            status: irc.map(|irc| RelayStatusView {
                irc,
                server: "irc.example:6697".into(),
                nick: "ntrbot".into(),
                channels: channels.iter().map(ToString::to_string).collect(),
                queued: 0,
                version: "0.2.0".into(),
                error: None,
                updated_at: Timestamp::UNIX_EPOCH,
            }),
            last_ack: Some(LastAck {
                seq: Seq::new(1),
                target: "#ntr".into(),
                at: Timestamp::UNIX_EPOCH,
                lag_ms: 3,
            }),
        }
    }

    #[test]
    fn the_banner_names_what_is_missing() {
        assert_eq!(
            banner_text(&[relay(false, None, &[])]).as_deref(),
            Some("No relay is connected — announces will not reach IRC")
        );
        assert_eq!(
            banner_text(&[relay(true, Some(IrcState::Disconnected), &[])]).as_deref(),
            Some("ntrbot is not in #ntr — announces will not reach IRC")
        );
        assert_eq!(
            banner_text(&[relay(true, Some(IrcState::Connected), &["#ntr"])]),
            None
        );
        assert_eq!(
            banner_text(&[relay(true, None, &[])]),
            None,
            "an old plugin counts"
        );
        let down_and_up = [
            relay(true, Some(IrcState::Connecting), &[]),
            relay(true, Some(IrcState::Connected), &["#ntr"]),
        ];
        assert_eq!(
            banner_text(&down_and_up),
            None,
            "one relay in the channel is enough"
        );
    }

    #[test]
    fn the_banner_shows_only_inside_the_live_window() {
        let infos = [relay(false, None, &[])];
        let t = |s: i64| Timestamp::from_second(s).expect("time");
        let outside = RelaysPanel::new(&infos, t(50), (t(100), t(200)), &TimeZone::UTC);
        assert_eq!(outside.banner, None);
        assert!(!outside.banner_text.is_empty());
        let inside = RelaysPanel::new(&infos, t(150), (t(100), t(200)), &TimeZone::UTC);
        assert!(inside.banner.is_some());
        assert_eq!(inside.live_start_ms, 100_000);
    }
}
