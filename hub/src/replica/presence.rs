//! What a replica says of itself every second — its subscribers and the relays connected to
//! it — and what it remembers the others said, so that status frames and announce answers
//! count the whole station's subscribers and `/admin/relays` shows every relay wherever it is
//! connected. A replica that stops saying anything (it died) is forgotten after [`FORGET`].

use std::collections::HashMap;
use std::time::Duration;

use ntr_protocol::RelayInfo;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// How long a replica's last word counts: a few missed seconds, not a dead replica's relays.
const FORGET: Duration = Duration::from_secs(5);
/// The longest word a replica says: a notification's payload must stay under PostgreSQL's
/// 8,000 bytes, and one that does not is refused, which the session would take for a lost link.
const MAX_TEXT: usize = 7_000;

/// One replica's word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Said {
    pub subscribers: usize,
    pub relays: Vec<RelayInfo>,
}

impl Said {
    /// As a notification's text, at most [`MAX_TEXT`] bytes: a station with dozens of relays
    /// on one replica drops the relays' reported details first, then the last relays (the others
    /// then show them as last known rather than connected there).
    pub fn to_text(&self) -> String {
        // Plain data of our own types: serialising cannot fail.
        let text = |said: &Said| serde_json::to_string(said).unwrap_or_default();
        let mut said = self.clone();
        let mut out = text(&said);
        if out.len() > MAX_TEXT {
            for relay in &mut said.relays {
                relay.status = None;
                relay.last_ack = None;
            }
            out = text(&said);
        }
        while out.len() > MAX_TEXT && said.relays.pop().is_some() {
            out = text(&said);
        }
        out
    }
}

/// The other replicas' last words.
#[derive(Default)]
pub struct Others {
    heard: HashMap<String, (Said, Instant)>,
}

impl Others {
    /// Notes what `replica` said (text that does not parse, from a newer hub, is ignored).
    pub fn heard(&mut self, replica: String, text: &str, now: Instant) {
        if let Ok(said) = serde_json::from_str::<Said>(text) {
            self.heard.insert(replica, (said, now));
        }
    }

    /// Forgets the replicas that have been quiet too long.
    pub fn forget_quiet(&mut self, now: Instant) {
        self.heard
            .retain(|_, (_, at)| now.saturating_duration_since(*at) < FORGET);
    }

    /// Their subscribers, together.
    pub fn subscribers(&self) -> usize {
        self.heard.values().map(|(said, _)| said.subscribers).sum()
    }

    /// The relays connected to them, in a stable order.
    pub fn relays(&self) -> Vec<RelayInfo> {
        let mut relays: Vec<RelayInfo> = self
            .heard
            .values()
            .flat_map(|(said, _)| said.relays.iter().cloned())
            .collect();
        relays.sort_by(|a, b| (&a.name, &a.replica).cmp(&(&b.name, &b.replica)));
        relays
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(name: &str, replica: &str) -> RelayInfo {
        RelayInfo {
            name: name.into(),
            connected: true,
            connected_since: None,
            address: Some("127.0.0.1".into()),
            replica: Some(replica.into()),
            cursor: None,
            status: None,
            last_ack: None,
        }
    }

    #[test]
    fn the_others_are_counted_until_they_go_quiet() {
        let start = Instant::now();
        let mut others = Others::default();
        let a = Said {
            subscribers: 3,
            relays: vec![relay("ntrbot", "a")],
        };
        let b = Said {
            subscribers: 4,
            relays: vec![],
        };
        others.heard("a".into(), &a.to_text(), start);
        others.heard("b".into(), &b.to_text(), start + Duration::from_secs(3));
        others.heard("c".into(), "not what a hub says", start);
        assert_eq!(others.subscribers(), 7);
        assert_eq!(others.relays(), vec![relay("ntrbot", "a")]);
        others.forget_quiet(start + FORGET);
        assert_eq!(others.subscribers(), 4, "a went quiet");
        assert!(others.relays().is_empty());
    }

    #[test]
    fn a_long_word_is_cut_to_fit_a_notification() {
        let many = (0..200)
            .map(|n| relay(&format!("relay-{n:03}"), "a"))
            .collect();
        let said = Said {
            subscribers: 9,
            relays: many,
        };
        let text = said.to_text();
        assert!(text.len() <= MAX_TEXT, "{} bytes", text.len());
        let back: Said = serde_json::from_str(&text).expect("still parses");
        assert_eq!(back.subscribers, 9);
        assert!(!back.relays.is_empty() && back.relays.len() < 200);
        assert_eq!(
            back.relays[0], said.relays[0],
            "the first relays are kept whole"
        );
    }
}
