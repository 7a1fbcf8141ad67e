//! The announcement log. Every announce is written here, with the [`Seq`] this log issues,
//! before it is broadcast, so a subscriber that reconnects with `?since=` gets exactly what it
//! missed and a restarted hub never reuses a number.

use std::collections::HashMap;

use jiff::Timestamp;
use ntr_protocol::{Seq, ServerMessage};
use serde::Serialize;

use super::{Backend, Store, StoreError, Track};
use crate::line::AnnounceLine;

/// What the announce handler asks the log to record.
#[derive(Debug, Clone)]
pub struct NewAnnouncement {
    pub message: AnnounceLine,
    pub show_id: Option<i64>,
    pub position: Option<u32>,
    pub track: Option<Track>,
    /// The earlier announce this one corrects.
    pub corrects: Option<Seq>,
    /// The show's slug; `None`: a station-wide free text.
    pub show: Option<String>,
    /// A log-only entry's time (a track played while the DJ was offline): it goes into the log
    /// and tracklists at that time but is never broadcast, replayed or delivered.
    pub logged_at: Option<Timestamp>,
}

impl NewAnnouncement {
    /// A free text for `show` (`None`: station-wide): no track, correcting nothing.
    pub fn text(message: AnnounceLine, show: Option<String>) -> NewAnnouncement {
        NewAnnouncement {
            message,
            show_id: None,
            position: None,
            track: None,
            corrects: None,
            show,
            logged_at: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Announcement {
    pub seq: Seq,
    pub message: AnnounceLine,
    pub show_id: Option<i64>,
    pub position: Option<u32>,
    pub track: Option<Track>,
    pub announced_at: Timestamp,
    /// The earlier announce this one corrects.
    pub corrects: Option<Seq>,
    /// The later announce that corrected this one: its track counts as not announced.
    pub corrected_by: Option<Seq>,
    /// The show's slug; `None`: a station-wide free text.
    pub show: Option<String>,
    /// Only in the log (at `announced_at`): never broadcast, replayed or delivered.
    pub log_only: bool,
}

/// The most distinct targets one relay may ack for one line: a relay posts to a handful of
/// channels, and a token that invents targets must not grow the dashboards without limit.
pub const ACK_TARGETS_PER_RELAY: usize = 16;

/// What became of a relay's ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayAck {
    /// A new (seq, target) pair, stored.
    Recorded,
    /// Stored already (by this relay or another subscriber), or a seq never issued.
    Known,
    /// Dropped: the relay has [`ACK_TARGETS_PER_RELAY`] targets for this line already.
    OverCap,
}

/// Where an announce landed, as a relay reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Ack {
    /// The channel or delivery target.
    pub target: String,
    #[schema(value_type = String, format = DateTime)]
    pub acked_at: Timestamp,
}

impl Announcement {
    /// The wire form: what subscribers get live and on a replay.
    pub fn to_message(&self) -> ServerMessage {
        ServerMessage::Announce(Box::new(ntr_protocol::Announce {
            seq: self.seq,
            message: self.message.as_str().to_string(),
            show_id: self.show_id,
            position: self.position,
            track: self.track.clone(),
            announced_at: self.announced_at,
            corrects: self.corrects,
            show: self.show.clone(),
        }))
    }
}

/// A client's `Idempotency-Key` for one announce request: per credential, with the request's
/// body (canonical JSON), so the same key with another body can be told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The token or login name the request came with.
    pub principal: String,
    pub key: String,
    pub body: String,
}

/// An announce waiting out its show's hold before it is broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAnnouncement {
    pub id: i64,
    pub release_at: Timestamp,
    pub message: AnnounceLine,
    pub state: HeldState,
}

/// Where a held announce is: waiting, in the log with its seq, or undone (it never gets one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldState {
    Held,
    Released(Seq),
    Undone,
}

/// What a request put in the store: an announce in the log, or one held.
#[derive(Debug, Clone)]
pub enum Recorded {
    Announced(Box<Announcement>),
    Held(HeldAnnouncement),
}

/// How [`Store::record`] records a line.
#[derive(Debug, Clone)]
pub struct RecordAs {
    /// Held until then instead of logged now.
    pub hold_until: Option<Timestamp>,
    /// The request's key, remembered with what it made.
    pub key: Option<IdempotencyKey>,
    /// Keys used before this are forgotten.
    pub keys_not_before: Timestamp,
}

/// What recording a line did.
#[derive(Debug, Clone)]
pub enum Keyed {
    Recorded(Recorded),
    /// The key was there already, with this body; it made `recorded` (as it stands now: a
    /// held announce released since answers as the announce it became).
    Existing {
        body: String,
        recorded: Recorded,
    },
}

/// How long after an announce it may still be corrected.
pub const CORRECTABLE_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

impl Store {
    /// Appends to the log and returns the entry with its new seq. A correction is checked
    /// (its target exists, is under 24 hours old and not corrected yet) and its target marked
    /// corrected in the same transaction, so two corrections of one announce cannot both land.
    pub async fn record_announcement(
        &self,
        new: NewAnnouncement,
    ) -> Result<Announcement, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.record_announcement(new).await,
            Backend::Postgres(db) => db.record_announcement(new).await,
        }
    }

    /// What an `Idempotency-Key` made, as it stands now, and the body it came with, if the
    /// key was used at or after `not_before`.
    pub async fn keyed(
        &self,
        key: IdempotencyKey,
        not_before: Timestamp,
    ) -> Result<Option<(String, Recorded)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.keyed(key, not_before).await,
            Backend::Postgres(db) => db.keyed(key, not_before).await,
        }
    }

    /// Records `new` as `how` says, all or nothing: logged now (as
    /// [`Store::record_announcement`] does) or held, with its key if it has one. When the key
    /// is there already (a duplicate request that came first), nothing is recorded and the
    /// answer is what that key made.
    pub async fn record(&self, new: NewAnnouncement, how: RecordAs) -> Result<Keyed, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.record(new, how).await,
            Backend::Postgres(db) => db.record(new, how).await,
        }
    }

    /// Announcements with `seq > after` made at or after `not_before`, oldest first (at most
    /// 10,000): what was broadcast, so no log-only entry.
    pub async fn announcements_since(
        &self,
        after: Seq,
        not_before: Timestamp,
    ) -> Result<Vec<Announcement>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.announcements_since(after, not_before).await,
            Backend::Postgres(db) => db.announcements_since(after, not_before).await,
        }
    }

    /// Every log entry with `seq > after`, log-only ones included, oldest first (at most
    /// `limit`): how a replica catches up on what others committed.
    pub async fn log_after(&self, after: Seq, limit: u32) -> Result<Vec<Announcement>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.log_after(after, limit).await,
            Backend::Postgres(db) => db.log_after(after, limit).await,
        }
    }

    /// The last announcement of each position of a show that was not corrected, with its acks:
    /// a position whose announces were all corrected counts as not announced.
    pub async fn show_announcements(
        &self,
        show_id: i64,
    ) -> Result<HashMap<u32, (Announcement, Vec<Ack>)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.show_announcements(show_id).await,
            Backend::Postgres(db) => db.show_announcements(show_id).await,
        }
    }

    /// A show's log, oldest first, corrected announces included: its track announces, and the
    /// free texts announced inside `window` (its live window), each with its acks.
    pub async fn show_log(
        &self,
        show_id: i64,
        window: (Timestamp, Timestamp),
    ) -> Result<Vec<(Announcement, Vec<Ack>)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.show_log(show_id, window).await,
            Backend::Postgres(db) => db.show_log(show_id, window).await,
        }
    }

    /// Records that a subscriber delivered `seq` to `target`. Unknown seqs are ignored (false).
    pub async fn record_ack(&self, seq: Seq, target: String) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.record_ack(seq, target).await,
            Backend::Postgres(db) => db.record_ack(seq, target).await,
        }
    }

    /// Records that relay `relay` delivered `seq` to `target`, unless that pair is known
    /// already or the relay has [`ACK_TARGETS_PER_RELAY`] targets for `seq` already.
    pub async fn record_relay_ack(
        &self,
        seq: Seq,
        target: String,
        relay: String,
    ) -> Result<RelayAck, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.record_relay_ack(seq, target, relay).await,
            Backend::Postgres(db) => db.record_relay_ack(seq, target, relay).await,
        }
    }

    /// Where announce `seq` landed, oldest ack first.
    pub async fn acks(&self, seq: Seq) -> Result<Vec<Ack>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.acks(seq).await,
            Backend::Postgres(db) => db.acks(seq).await,
        }
    }

    /// The show announce `seq` was made for: `None` for a free text or an unknown seq.
    pub async fn announcement_show(&self, seq: Seq) -> Result<Option<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.announcement_show(seq).await,
            Backend::Postgres(db) => db.announcement_show(seq).await,
        }
    }

    /// Whose line announce `seq` is: `Ok(None)` for an unknown seq, `Ok(Some(None))` for a
    /// station-wide free text, else the show's slug.
    pub async fn announcement_slug(&self, seq: Seq) -> Result<Option<Option<String>>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.announcement_slug(seq).await,
            Backend::Postgres(db) => db.announcement_slug(seq).await,
        }
    }

    /// The highest seq issued so far (0 before the first announce).
    pub async fn last_seq(&self) -> Result<Seq, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.last_seq().await,
            Backend::Postgres(db) => db.last_seq().await,
        }
    }
}
