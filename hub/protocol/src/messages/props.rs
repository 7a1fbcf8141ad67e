//! Property tests of the `/ws/announce` frames: whatever the hub or a relay writes reads back
//! as the same message, and whatever arrives from the network (any text, any JSON) is either
//! a message or an error, never a panic.

use jiff::Timestamp;
use proptest::prelude::*;

use super::{Announce, ClientMessage, ServerMessage};
use crate::relays::{IrcState, LastAck, RelayInfo, RelayStatus, RelayStatusView};
use crate::rest::Track;
use crate::seq::{Seq, SeqError};

/// Any text, with control characters, quotes, backslashes and multi-byte characters often.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            2 => prop::char::range('\0', '\x1f'),
            2 => prop::sample::select(vec!['"', '\\', '/', '\u{2028}', '\u{feff}', 'é', '🎵']),
        ],
        0..24,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn seq() -> impl Strategy<Value = Seq> {
    (0..=Seq::MAX.get()).prop_map(Seq::new)
}

/// Any instant jiff can represent, to the nanosecond.
fn timestamp() -> impl Strategy<Value = Timestamp> {
    (
        Timestamp::MIN.as_second() + 1..Timestamp::MAX.as_second(),
        0..1_000_000_000i32,
    )
        .prop_map(|(s, ns)| Timestamp::new(s, ns).expect("in jiff's range"))
}

fn track() -> impl Strategy<Value = Track> {
    (
        any::<u32>(),
        any::<Option<i64>>(),
        (text(), text(), text()),
        (
            prop::option::of(text()),
            any::<Option<i64>>(),
            prop::option::of(text()),
        ),
        prop::option::of(timestamp()),
    )
        .prop_map(
            |(
                position,
                id,
                (title, artist, permalink_url),
                (artwork_url, duration_ms, license),
                liked_at,
            )| {
                Track {
                    position,
                    id,
                    title,
                    artist,
                    permalink_url,
                    artwork_url,
                    duration_ms,
                    license,
                    liked_at,
                }
            },
        )
}

fn announce() -> impl Strategy<Value = Announce> {
    (
        seq(),
        text(),
        any::<Option<i64>>(),
        any::<Option<u32>>(),
        prop::option::of(track()),
        timestamp(),
        prop::option::of(seq()),
        prop::option::of("[a-z0-9-]{1,32}"),
    )
        .prop_map(
            |(seq, message, show_id, position, track, announced_at, corrects, show)| Announce {
                seq,
                message,
                show_id,
                position,
                track,
                announced_at,
                corrects,
                show,
            },
        )
}

fn irc_state() -> impl Strategy<Value = IrcState> {
    prop::sample::select(vec![
        IrcState::Connecting,
        IrcState::Connected,
        IrcState::Disconnected,
    ])
}

fn relay_status() -> impl Strategy<Value = RelayStatus> {
    (
        irc_state(),
        (text(), text()),
        prop::collection::vec(text(), 0..4),
        any::<u32>(),
        text(),
        prop::option::of(text()),
    )
        .prop_map(
            |(irc, (server, nick), channels, queued, version, error)| RelayStatus {
                irc,
                server,
                nick,
                channels,
                queued,
                version,
                error,
            },
        )
}

fn relay_info() -> impl Strategy<Value = RelayInfo> {
    let last_ack =
        (seq(), text(), timestamp(), any::<u64>()).prop_map(|(seq, target, at, lag_ms)| LastAck {
            seq,
            target,
            at,
            lag_ms,
        });
    let status =
        (relay_status(), timestamp()).prop_map(|(status, at)| RelayStatusView::new(status, at));
    (
        (text(), any::<bool>()),
        prop::option::of(timestamp()),
        (prop::option::of(text()), prop::option::of(text())),
        prop::option::of(seq()),
        prop::option::of(status),
        prop::option::of(last_ack),
    )
        .prop_map(
            |((name, connected), connected_since, (address, replica), cursor, status, last_ack)| {
                RelayInfo {
                    name,
                    connected,
                    connected_since,
                    address,
                    replica,
                    cursor,
                    status,
                    last_ack,
                }
            },
        )
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        announce().prop_map(|a| ServerMessage::Announce(Box::new(a))),
        any::<usize>().prop_map(|subscribers| ServerMessage::Status { subscribers }),
        (seq(), text()).prop_map(|(seq, target)| ServerMessage::Ack { seq, target }),
        prop::collection::vec(relay_info(), 0..3)
            .prop_map(|relays| ServerMessage::Relays { relays }),
        any::<i64>().prop_map(|show_id| ServerMessage::ShowChanged { show_id }),
        Just(ServerMessage::Unknown),
    ]
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        text().prop_map(|token| ClientMessage::Subscribe { token }),
        (seq(), text()).prop_map(|(seq, target)| ClientMessage::Ack { seq, target }),
        relay_status().prop_map(ClientMessage::RelayStatus),
        Just(ClientMessage::Unknown),
    ]
}

/// JSON that is often almost a frame: objects keyed by the protocol's own field names, a
/// known `type` half the time, and values of every JSON kind, numbers at the edges included.
fn frame_like_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "announce",
            "status",
            "ack",
            "relays",
            "show_changed",
            "subscribe",
            "relay_status",
            "connected",
            "2026-03-14T01:00:00Z",
            "9223372036854775808",
        ])
        .prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    let key = prop::sample::select(vec![
        "type",
        "seq",
        "message",
        "show_id",
        "position",
        "track",
        "announced_at",
        "corrects",
        "subscribers",
        "target",
        "relays",
        "token",
        "irc",
        "server",
        "nick",
        "channels",
        "queued",
        "version",
        "error",
        "title",
        "artist",
        "permalink_url",
        "id",
        "name",
        "connected",
    ]);
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn server_messages_round_trip(message in server_message()) {
        let back: ServerMessage = serde_json::from_str(&message.to_json()).expect("reads back");
        prop_assert_eq!(back, message);
    }

    #[test]
    fn client_messages_round_trip(message in client_message()) {
        let back: ClientMessage = serde_json::from_str(&message.to_json()).expect("reads back");
        prop_assert_eq!(back, message);
    }

    /// The relay and the hub parse frames straight off the socket: any text is a message or an
    /// error, and a message they accept writes back to one that reads the same.
    #[test]
    fn any_text_parses_or_fails_cleanly(text in text()) {
        if let Ok(message) = serde_json::from_str::<ServerMessage>(&text) {
            let again: ServerMessage = serde_json::from_str(&message.to_json()).expect("again");
            prop_assert_eq!(again, message);
        }
        if let Ok(message) = serde_json::from_str::<ClientMessage>(&text) {
            let again: ClientMessage = serde_json::from_str(&message.to_json()).expect("again");
            prop_assert_eq!(again, message);
        }
    }

    #[test]
    fn any_json_parses_or_fails_cleanly(value in frame_like_json()) {
        let text = value.to_string();
        if let Ok(message) = serde_json::from_str::<ServerMessage>(&text) {
            let again: ServerMessage = serde_json::from_str(&message.to_json()).expect("again");
            prop_assert_eq!(again, message);
        }
        if let Ok(message) = serde_json::from_str::<ClientMessage>(&text) {
            let again: ClientMessage = serde_json::from_str(&message.to_json()).expect("again");
            prop_assert_eq!(again, message);
        }
    }

    /// A seq read from JSON is exactly the numbers 0 to `Seq::MAX`.
    #[test]
    fn seq_json_accepts_exactly_the_range(n in any::<u64>()) {
        let parsed = serde_json::from_str::<Seq>(&n.to_string()).ok();
        prop_assert_eq!(parsed, (n <= Seq::MAX.get()).then_some(Seq::new(n)));
    }

    /// `?since=` text: a run of digits (after one optional `+`, as Rust reads integers) is
    /// the seq it spells or too large; anything else is not a number; nothing panics.
    #[test]
    fn seq_text_parses_what_it_spells(s in "[0-9]{0,21}|\\PC{0,8}") {
        let digits = s.strip_prefix('+').unwrap_or(&s);
        let expected = if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            Err(SeqError::NotANumber)
        } else {
            match digits.parse::<u128>() {
                Ok(n) if n <= u128::from(Seq::MAX.get()) => Ok(Seq::new(n as u64)),
                _ => Err(SeqError::TooLarge),
            }
        };
        prop_assert_eq!(s.parse::<Seq>(), expected.clone());
        if let Ok(seq) = expected {
            prop_assert_eq!(seq.to_string().parse::<Seq>(), Ok(seq));
        }
    }
}
