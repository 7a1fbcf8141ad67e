//! Go-live alerts in the store: a show week's `live` and `reminder` events, each fired at most
//! once per week (the database refuses a second row for the same week and kind, so a restart,
//! a race or a second hub cannot fire one twice), and their ledger rows, one per (event,
//! target), made in the same transaction as the event. The rows move like an announce's
//! (`store::deliveries`) but carry no seq: an alert is not a line of the show's log.

use jiff::Timestamp;

use super::{Backend, DeliveryRow, Store, StoreError};
use crate::line::AnnounceLine;

/// What an alert says: the show went live, or starts soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    Live,
    Reminder,
}

impl AlertKind {
    pub const ALL: [AlertKind; 2] = [AlertKind::Live, AlertKind::Reminder];

    /// The name in `events = […]`, the ledger and every answer.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Live => "live",
            AlertKind::Reminder => "reminder",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A fired alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowEvent {
    pub id: i64,
    /// The show week it is about.
    pub show_id: i64,
    /// The show's slug.
    pub show: String,
    pub kind: AlertKind,
    pub message: AnnounceLine,
    /// When it fired.
    pub at: Timestamp,
}

/// One target's ledger row of a new alert.
#[derive(Debug, Clone)]
pub struct NewEventRow {
    pub target: String,
    pub due_at: Timestamp,
    pub give_up_at: Timestamp,
    /// Recorded `failed` with this error at once (a reminder whose time passed while the hub
    /// was down is `expired`).
    pub failed: Option<String>,
}

/// An alert to fire, with a row for each target that gets it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub show_id: i64,
    pub kind: AlertKind,
    pub message: AnnounceLine,
    pub at: Timestamp,
    pub rows: Vec<NewEventRow>,
}

/// Whether firing made the alert or found it made before (then nothing was written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    Now(ShowEvent),
    Before(ShowEvent),
}

/// An alert with its ledger rows, as `GET /admin/events` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDeliveries {
    pub event: ShowEvent,
    pub deliveries: Vec<DeliveryRow>,
}

impl Store {
    /// Fires `new` unless this week's alert of its kind was fired already: the alert and its
    /// rows, all or nothing.
    pub async fn fire_event(&self, new: NewEvent) -> Result<Fired, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.fire_event(new).await,
            Backend::Postgres(db) => db.fire_event(new).await,
        }
    }

    /// The alert of `kind` fired for show week `show_id`, if any.
    pub async fn event(
        &self,
        show_id: i64,
        kind: AlertKind,
    ) -> Result<Option<ShowEvent>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.event(show_id, kind).await,
            Backend::Postgres(db) => db.event(show_id, kind).await,
        }
    }

    /// The alerts fired since `since`, newest first, each with its rows (by target).
    pub async fn events_since(&self, since: Timestamp) -> Result<Vec<EventDeliveries>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.events_since(since).await,
            Backend::Postgres(db) => db.events_since(since).await,
        }
    }
}
