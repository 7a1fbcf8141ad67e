//! The delivery ledger of `[[targets]]`: one row per (announce, target) — or per (go-live
//! alert, target), see `store::alerts` — moving from `pending` to `sent` or `failed`, with the
//! attempts made, the last error and the latency.
//!
//! Rows are made from the announcement log itself ([`Store::enqueue_deliveries`]), guided by a
//! per-target cursor, together with the cursor's advance: an announce logged just before a
//! crash still gets its row after the restart, and none gets two. A worker only ever changes
//! its own target's rows, and a `sent` row is final: nothing here turns it back.

use jiff::Timestamp;
use ntr_protocol::Seq;
use serde::Serialize;

use super::{AlertKind, Announcement, Backend, ShowEvent, Store, StoreError};
use crate::line::AnnounceLine;

/// `pending` (waiting or being retried), `sent` or `failed` (for good).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Failed,
}

/// A ledger row as `GET /admin/deliveries` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeliveryRow {
    pub target: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The last failure's text, kept after a later success.
    pub last_error: Option<String>,
    /// From the announce to the target accepting it.
    pub latency_ms: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Whether the receiver showed what was sent when the hub read it back (an Icecast mount's
    /// title, read about 1 s and 5 s after the delivery): true when both reads showed it, false
    /// when a read showed another text; null when the kind is not read back, not read yet, or
    /// the receiver's answer was unreadable.
    pub verified: Option<bool>,
    /// What the receiver showed at the last readable read; null if never read.
    pub stream_title: Option<String>,
}

/// Which ledger row: an announce's (by seq) or a go-live alert's (by its id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKey {
    Announce(Seq),
    Event(i64),
}

/// What a ledger row delivers.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Announce(Box<Announcement>),
    Event(ShowEvent),
}

impl Outgoing {
    pub fn key(&self) -> DeliveryKey {
        match self {
            Outgoing::Announce(a) => DeliveryKey::Announce(a.seq),
            Outgoing::Event(e) => DeliveryKey::Event(e.id),
        }
    }

    pub fn message(&self) -> &AnnounceLine {
        match self {
            Outgoing::Announce(a) => &a.message,
            Outgoing::Event(e) => &e.message,
        }
    }

    /// The show's slug; `None`: a station-wide line.
    pub fn show(&self) -> Option<&str> {
        match self {
            Outgoing::Announce(a) => a.show.as_deref(),
            Outgoing::Event(e) => Some(&e.show),
        }
    }

    /// When it was announced or fired: latencies count from here.
    pub fn at(&self) -> Timestamp {
        match self {
            Outgoing::Announce(a) => a.announced_at,
            Outgoing::Event(e) => e.at,
        }
    }

    /// The same on every retry and unique per line: `announce-42`, `live-7`, `reminder-7` (7
    /// being the show week's id). Receivers that deduplicate (Matrix's transaction id, an
    /// `Idempotency-Key` header) drop a repeat after a send cut short.
    pub fn idempotency_key(&self) -> String {
        match self {
            Outgoing::Announce(a) => format!("announce-{}", a.seq),
            Outgoing::Event(e) => format!("{}-{}", e.kind.as_str(), e.show_id),
        }
    }

    /// A reminder is worth nothing once its show started: its deadline is the start.
    pub fn expires(&self) -> bool {
        matches!(self, Outgoing::Event(e) if e.kind == AlertKind::Reminder)
    }
}

/// The next line a target's worker has to send.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    pub item: Outgoing,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub due_at: Timestamp,
    pub give_up_at: Timestamp,
}

/// How an attempt ended, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent { latency_ms: i64 },
    Retry { error: String, due_at: Timestamp },
    Failed { error: String },
}

/// One read-back of a sent row, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCheck {
    /// What the receiver showed; `None` when this read was unreadable (the last text read is
    /// kept).
    pub stream_title: Option<String>,
    /// The verdict over the reads so far (see [`DeliveryRow::verified`]).
    pub verified: Option<bool>,
}

/// How the rows of one target are timed when they are made, and which announces get one.
#[derive(Debug, Clone)]
pub struct Enqueue {
    /// Announces made before this are past their give-up time already: no row.
    pub not_before: Timestamp,
    pub delay_ms: i64,
    pub give_up_ms: i64,
    /// Only these shows' announces (and station-wide ones) get a row; `None`: every announce.
    /// The cursor passes the others all the same.
    pub shows: Option<Vec<String>>,
}

/// An enabled target as the ledger sees it: its name and the shows it gets (`None`: all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub target: String,
    pub shows: Option<Vec<String>>,
}

impl Recipient {
    /// Does an announce of `show` (`None`: station-wide) get a row for this target?
    pub fn gets(&self, show: Option<&str>) -> bool {
        match (&self.shows, show) {
            (None, _) | (_, None) => true,
            (Some(shows), Some(show)) => shows.iter().any(|s| s == show),
        }
    }
}

/// A target's rows at a glance, for the dashboard's Targets panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSummary {
    pub pending: u32,
    pub failed: u32,
    /// The most recently changed announce row and its seq.
    pub last: Option<(Seq, DeliveryRow)>,
    /// The most recently changed row of each alert kind the target got.
    pub events: Vec<(AlertKind, DeliveryRow)>,
}

impl Store {
    /// Gives a target seen for the first time its cursor at the log's end: it delivers what is
    /// announced from now on, not the whole history. Run before the hub serves, so no announce
    /// can slip in between.
    pub async fn init_delivery_cursor(&self, target: String) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.init_delivery_cursor(target).await,
            Backend::Postgres(db) => db.init_delivery_cursor(target).await,
        }
    }

    /// Makes `pending` rows for `target` for every announce logged since its cursor (inside the
    /// give-up window) and advances the cursor, all or nothing. Returns how many rows were made.
    pub async fn enqueue_deliveries(
        &self,
        target: String,
        e: Enqueue,
    ) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.enqueue_deliveries(target, e).await,
            Backend::Postgres(db) => db.enqueue_deliveries(target, e).await,
        }
    }

    /// The next pending row of `target`, with what it delivers: the oldest announce (a
    /// target's lines go out in announce order, so a line being retried holds back the later
    /// ones), or an alert due before it (alerts do not wait behind lines, nor lines behind them).
    pub async fn next_delivery(
        &self,
        target: String,
    ) -> Result<Option<PendingDelivery>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.next_delivery(target).await,
            Backend::Postgres(db) => db.next_delivery(target).await,
        }
    }

    /// Counts an attempt before it is made, so a crash mid-request still shows it; returns the
    /// attempts made so far, this one included.
    pub async fn begin_attempt(&self, key: DeliveryKey, target: String) -> Result<u32, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.begin_attempt(key, target).await,
            Backend::Postgres(db) => db.begin_attempt(key, target).await,
        }
    }

    /// Records how an attempt ended. Only a `pending` row changes: `sent` and `failed` are final.
    pub async fn finish_delivery(
        &self,
        key: DeliveryKey,
        target: String,
        outcome: DeliveryOutcome,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.finish_delivery(key, target, outcome).await,
            Backend::Postgres(db) => db.finish_delivery(key, target, outcome).await,
        }
    }

    /// Records a read-back of a `sent` row; other rows do not change.
    pub async fn record_stream_check(
        &self,
        seq: Seq,
        target: String,
        check: StreamCheck,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.record_stream_check(seq, target, check).await,
            Backend::Postgres(db) => db.record_stream_check(seq, target, check).await,
        }
    }

    /// Every ledger row of `seq`, plus a `pending` placeholder for each of `enabled` that gets
    /// that announce and has not made its row yet (its worker is about to); `None` when no such
    /// announce exists.
    pub async fn deliveries(
        &self,
        seq: Seq,
        enabled: Vec<Recipient>,
    ) -> Result<Option<Vec<DeliveryRow>>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.deliveries(seq, enabled).await,
            Backend::Postgres(db) => db.deliveries(seq, enabled).await,
        }
    }

    /// Per target: pending and failed rows changed since `since`, the latest announce row and
    /// the latest row of each alert kind.
    pub async fn delivery_summary(
        &self,
        target: String,
        since: Timestamp,
    ) -> Result<TargetSummary, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.delivery_summary(target, since).await,
            Backend::Postgres(db) => db.delivery_summary(target, since).await,
        }
    }

    /// Rows not sent (yet) that carry an error, changed since `since`, newest first: what the
    /// dashboard marks next to the tracks.
    pub async fn delivery_problems(
        &self,
        since: Timestamp,
    ) -> Result<Vec<(Seq, DeliveryRow)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.delivery_problems(since).await,
            Backend::Postgres(db) => db.delivery_problems(since).await,
        }
    }
}
