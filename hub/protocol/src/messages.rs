//! The messages of `/ws/announce`, both directions, as JSON objects tagged by `"type"`.
//!
//! Clients should ignore messages they do not know: the hub may add types, and old bot
//! plugins must keep working. [`ServerMessage::Unknown`] and [`ClientMessage::Unknown`] are
//! where such messages land.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::relays::{RelayInfo, RelayStatus};
use crate::rest::Track;
use crate::seq::Seq;

/// From the hub to a subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A line to post.
    Announce(Box<Announce>),
    /// The number of relays and token subscribers changed (at most one a second).
    Status { subscribers: usize },
    /// Announce `seq` landed at `target` (a channel or a delivery target); dashboards only.
    Ack { seq: Seq, target: String },
    /// Every configured relay's state; dashboards only, when it changes.
    Relays { relays: Vec<RelayInfo> },
    /// A show's playlist changed (an edit, a poll, a correction): dashboards and pages showing
    /// it re-read it.
    ShowChanged { show_id: i64 },
    /// A type this version does not know.
    #[serde(other)]
    Unknown,
}

/// One announce as logged: what every subscriber gets, and what a resume replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Announce {
    pub seq: Seq,
    /// The whole line, already one line (no control characters).
    pub message: String,
    /// Null for a free text.
    pub show_id: Option<i64>,
    pub position: Option<u32>,
    pub track: Option<Track>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub announced_at: Timestamp,
    /// The seq this announce corrects, if it is a correction.
    #[serde(default)]
    pub corrects: Option<Seq>,
    /// The slug of the show this announce belongs to; null for a station-wide free text (and
    /// from a hub older than stations).
    #[serde(default)]
    pub show: Option<String>,
}

/// From a subscriber to the hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first-message login of older bot plugins (no `Authorization` header).
    Subscribe { token: String },
    /// "I delivered announce `seq` to `target`".
    Ack { seq: Seq, target: String },
    /// A relay's own state (IRC connection, channels, queue).
    RelayStatus(RelayStatus),
    /// A type this version does not know; ignored.
    #[serde(other)]
    Unknown,
}

/// Serialising these types cannot fail: every field is a string, number, bool, timestamp or a
/// list of them, and no map has non-string keys.
const SERIALISES: &str = "protocol messages always serialise";

impl ServerMessage {
    /// The JSON text, for writing once and sending to many.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect(SERIALISES)
    }
}

impl ClientMessage {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect(SERIALISES)
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn announce() -> Announce {
        Announce {
            seq: Seq::new(42),
            message: "Now Playing: x".into(),
            show_id: None,
            position: None,
            track: None,
            announced_at: "2026-03-14T01:00:00Z".parse().expect("time"),
            corrects: None,
            show: Some("ntr".into()),
        }
    }

    #[test]
    fn announce_wire_shape() {
        let value: serde_json::Value =
            serde_json::from_str(&ServerMessage::Announce(Box::new(announce())).to_json())
                .expect("json");
        assert_eq!(
            value,
            json!({"type": "announce", "seq": 42, "message": "Now Playing: x", "show_id": null,
                   "position": null, "track": null, "announced_at": "2026-03-14T01:00:00Z",
                   "corrects": null, "show": "ntr"})
        );
    }

    #[test]
    fn round_trips_and_tolerates_unknown_types() {
        for message in [
            ServerMessage::Announce(Box::new(announce())),
            ServerMessage::Status { subscribers: 2 },
            ServerMessage::Ack {
                seq: Seq::new(1),
                target: "#ntr".into(),
            },
            ServerMessage::ShowChanged { show_id: 7 },
        ] {
            let back: ServerMessage = serde_json::from_str(&message.to_json()).expect("parse");
            assert_eq!(back, message);
        }
        let future: ServerMessage =
            serde_json::from_str(r#"{"type":"something-new","x":1}"#).expect("unknown");
        assert_eq!(future, ServerMessage::Unknown);
        let old: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","token":"t"}"#).expect("subscribe");
        assert_eq!(old, ClientMessage::Subscribe { token: "t".into() });
        let ack = ClientMessage::Ack {
            seq: Seq::new(42),
            target: "#ntr".into(),
        };
        assert_eq!(
            ack.to_json(),
            r##"{"type":"ack","seq":42,"target":"#ntr"}"##
        );
    }

    #[test]
    fn an_announce_without_corrects_parses() {
        let text = r#"{"type":"announce","seq":3,"message":"m","show_id":7,"position":3,
            "track":null,"announced_at":"2026-03-14T01:00:00Z"}"#;
        let ServerMessage::Announce(a) = serde_json::from_str(text).expect("parse") else {
            panic!("not an announce");
        };
        assert_eq!(a.corrects, None);
        assert_eq!(a.position, Some(3));
    }
}
