//! What a show-scoped subscriber of `/ws/announce` (a DJ's dashboard, a scoped token) is sent:
//! the announces of its shows and station-wide lines, the acks and "show changed" frames of
//! those, and no relay states (the relays are the station admin's). The station admin's
//! sockets are not filtered at all.

use std::collections::{HashMap, VecDeque};

use ntr_protocol::{Seq, ServerMessage};

use crate::broadcast::Frame;
use crate::station::Rights;
use crate::store::Store;

/// Announces remembered per socket, so their acks can be told from other shows' acks. Acks
/// come seconds after their announce; older ones are simply not forwarded.
const REMEMBERED_SEQS: usize = 512;

/// One scoped socket's filter.
#[derive(Debug)]
pub struct ShowScope {
    rights: Rights,
    /// The seqs of announces sent to this socket, newest last.
    sent: VecDeque<Seq>,
    /// Whether each show week seen so far is one of the subscriber's shows.
    weeks: HashMap<i64, bool>,
}

impl ShowScope {
    /// The filter for `rights`; `None` for the station admin, who sees everything.
    pub fn of(rights: &Rights) -> Option<ShowScope> {
        (!rights.is_station()).then(|| ShowScope {
            rights: rights.clone(),
            sent: VecDeque::new(),
            weeks: HashMap::new(),
        })
    }

    /// Whether an announce of `show` (`None`: station-wide) goes to this socket; remembers it
    /// when it does.
    pub fn announce_passes(&mut self, seq: Seq, show: Option<&str>) -> bool {
        if !show.is_none_or(|slug| self.rights.may_slug(slug)) {
            return false;
        }
        if self.sent.len() == REMEMBERED_SEQS {
            self.sent.pop_front();
        }
        self.sent.push_back(seq);
        true
    }

    /// Whether a broadcast frame goes to this socket.
    pub async fn passes(&mut self, frame: &Frame, store: &Store) -> bool {
        let Ok(message) = serde_json::from_str::<ServerMessage>(frame.text.as_str()) else {
            return false;
        };
        match message {
            ServerMessage::Announce(a) => self.announce_passes(a.seq, a.show.as_deref()),
            ServerMessage::Ack { seq, .. } => self.sent.contains(&seq),
            ServerMessage::ShowChanged { show_id } => self.week_passes(show_id, store).await,
            ServerMessage::Status { .. } => true,
            ServerMessage::Relays { .. } | ServerMessage::Unknown => false,
        }
    }

    async fn week_passes(&mut self, show_id: i64, store: &Store) -> bool {
        if let Some(known) = self.weeks.get(&show_id) {
            return *known;
        }
        // A week's show never changes, so the answer is kept; a failed read is not.
        match store.show(show_id).await {
            Ok(show) => {
                let mine = self.rights.may_slug(&show.slug);
                self.weeks.insert(show_id, mine);
                mine
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::station::ShowSlug;

    fn frame(message: &ServerMessage) -> Frame {
        Frame {
            seq: None,
            show: None,
            text: message.to_json().into(),
        }
    }

    #[test]
    fn the_station_admin_is_not_filtered() {
        assert!(ShowScope::of(&Rights::Station).is_none());
    }

    #[tokio::test]
    async fn a_dj_gets_its_shows_lines_and_their_acks_only() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let ntr = ShowSlug::parse("ntr").expect("slug");
        let mut scope = ShowScope::of(&Rights::Shows([ntr].into())).expect("scoped");
        let (one, two, three) = (Seq::new(1), Seq::new(2), Seq::new(3));
        assert!(scope.announce_passes(one, Some("ntr")));
        assert!(!scope.announce_passes(two, Some("jazz")));
        assert!(
            scope.announce_passes(three, None),
            "station-wide lines go to all"
        );
        let ack = |seq| {
            frame(&ServerMessage::Ack {
                seq,
                target: "#ntr".into(),
            })
        };
        assert!(scope.passes(&ack(one), &store).await);
        assert!(!scope.passes(&ack(two), &store).await, "another show's ack");
        let relays = frame(&ServerMessage::Relays { relays: Vec::new() });
        assert!(
            !scope.passes(&relays, &store).await,
            "relays are the admin's"
        );
        let status = frame(&ServerMessage::Status { subscribers: 3 });
        assert!(scope.passes(&status, &store).await);
        let unknown_week = frame(&ServerMessage::ShowChanged { show_id: 999 });
        assert!(!scope.passes(&unknown_week, &store).await);
    }
}
