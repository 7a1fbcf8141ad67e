//! The hub's store: tracks, weekly shows and their ordered membership (with the DJ's manual
//! edits), the announcement log that issues sequence numbers, acks, relay cursors, the delivery
//! ledger of `[[targets]]`, dashboard sessions and a little key/value state.
//!
//! [`Store`] is the store's whole public face: its methods are the domain's operations and its
//! types the domain's values, and nothing outside this module sees SQL or a database driver's
//! types. The files here hold the face by concept (`shows`, `announcements`, …); each method is
//! a short dispatch into the backend that keeps the data, which lives in a private submodule:
//! SQLite (`sqlite`, a file in the data directory, the default) or PostgreSQL (`postgres`, a
//! database several hubs can share). [`Store::connect`] picks one from where the data is.
//!
//! The backend is an enum inside `Store`, matched in each method, rather than a trait object:
//! the face's methods are `async`, and an enum needs neither boxed futures nor a trait kept in
//! step with the face, while each backend is one variant and one arm per method, with no
//! caller touched. What is the same for every backend stays here: telling
//! readers that a show changed, and which show is current. The `conformance` tests run the
//! face's operations against every backend.
//!
//! Operator commands that act on a database at rest (`hub backup`, `hub restore`,
//! `hub check-config`) use [`DbFile`] instead of a `Store`: they must not migrate, create or keep
//! a thread on a database that a running hub may be serving.

mod alerts;
mod announcements;
pub mod copy;
#[cfg(test)]
mod copy_tests;
mod cursors;
mod deliveries;
mod files;
mod held;
mod login_attempts;
mod marks;
mod meta;
mod played;
mod postgres;
mod replica;
mod sessions;
mod shows;
mod sqlite;
mod url;

#[cfg(test)]
mod conformance;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::{SignedDuration, Timestamp};

pub use alerts::{AlertKind, EventDeliveries, Fired, NewEvent, NewEventRow, ShowEvent};
pub use announcements::{
    ACK_TARGETS_PER_RELAY, Ack, Announcement, CORRECTABLE_FOR, HeldAnnouncement, HeldState,
    IdempotencyKey, Keyed, NewAnnouncement, RecordAs, Recorded, RelayAck,
};
pub use cursors::StoredCursor;
pub use deliveries::{
    DeliveryKey, DeliveryOutcome, DeliveryRow, DeliveryStatus, Enqueue, Outgoing, PendingDelivery,
    Recipient, StreamCheck, TargetSummary,
};
pub use files::{CheckError, DbFile, DbFileError, DbSummary};
pub use login_attempts::{AttemptCount, LoginAttempt};
pub use played::{Played, ShowPlayed};
pub use replica::{Notice, NoticeFrame, ReplicaSession};
pub use sessions::{SessionRow, SessionWatch};
pub use shows::{ExpectedTrack, Like, Show, ShowError, ShowSummary, Track, TrackInfo, WeekLikes};
pub use sqlite::DB_FILE;
pub use url::DatabaseUrl;

/// Show changes a slow listener may fall behind by before it hears `Lagged`.
const SHOW_CHANGES: usize = 64;
/// Session ends (logouts) a watcher may fall behind by before it checks its row instead.
const SESSION_ENDS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed: a query, a constraint, a full disk.
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A shared database that does not answer (down, restarting, the link cut): what was
    /// asked may be tried again.
    #[error("the database cannot be reached ({0})")]
    Unreachable(String),
    /// A stored value that cannot be what the hub wrote: a time out of range, broken JSON.
    #[error("corrupt row in the database: column {column}: {message}")]
    Corrupt { column: usize, message: String },
    #[error("cannot encode a value for the database: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("cannot open the database at {path}: {message}")]
    Open { path: PathBuf, message: String },
    /// The database was written by a newer hub: this one does not know its schema, and
    /// serving it could corrupt what the newer one wrote.
    #[error(
        "the database at {path} is schema {found}, newer than this hub's {known}: run a newer \
         hub or restore a backup"
    )]
    Newer {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot connect to the database at {url}: {message}")]
    Connect { url: String, message: String },
    /// A PostgreSQL database that a newer hub changed beyond what this one can use (older
    /// hubs keep using a newer database until a change says they may not).
    #[error(
        "the database at {url} is schema {found}, which needs a hub that knows schema \
         {oldest_reader} or later; this hub knows {known}: run a newer hub"
    )]
    NewerPostgres {
        url: String,
        found: i64,
        oldest_reader: i64,
        known: i64,
    },
    #[error("no show with id {0}")]
    NoShow(i64),
    #[error("show {show_id} has no track at position {position}")]
    NoPosition { show_id: i64, position: u32 },
    /// An edit or announce by position that named another track than the one there now.
    #[error("the track at position {position} is now {now} (the playlist changed); reload")]
    TrackChanged { position: u32, now: String },
    #[error("{0}")]
    OutOfRange(String),
    /// A position past the show's end (for an insert, past one after it): the show is shorter
    /// than the request assumed.
    #[error("{0}")]
    BeyondShow(String),
    /// A correction that names an announce which may not be corrected.
    #[error("{0}")]
    Uncorrectable(String),
    #[error("the database worker stopped")]
    Worker,
    /// Another running replica has this replica's name (`[store] replica`).
    #[error(
        "a running replica is already named `{0}`: give each replica its own [store] replica name"
    )]
    ReplicaTaken(String),
}

/// Where the data lives. Each face method matches on this; a new backend is a new variant.
#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// A handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Bumped after every committed change to a show, so readers can cache what they built
    /// from one (see [`Store::shows_version`]).
    shows_version: Arc<AtomicU64>,
    /// The id of each show whose tracks changed, for pages that redraw it live.
    show_changes: tokio::sync::broadcast::Sender<i64>,
    /// The id of each session that ended, for the sockets it holds open.
    session_ends: tokio::sync::broadcast::Sender<String>,
}

impl Store {
    /// Opens (creating if needed) the SQLite database `dir/hub.db` and brings its schema up to
    /// date.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Ok(Store::with_backend(Backend::Sqlite(sqlite::Sqlite::open(
            dir,
        )?)))
    }

    /// Opens the store `location` names: a `postgres://` (or `postgresql://`) URL connects to
    /// that database, anything else is a data directory holding the SQLite file. Either way
    /// the schema is brought up to date.
    pub async fn connect(location: &str) -> Result<Store, StoreError> {
        if postgres::is_url(location) {
            let db = postgres::Postgres::connect(location).await?;
            Ok(Store::with_backend(Backend::Postgres(db)))
        } else {
            Store::open(Path::new(location))
        }
    }

    fn with_backend(backend: Backend) -> Store {
        Store {
            backend,
            shows_version: Arc::new(AtomicU64::new(0)),
            show_changes: tokio::sync::broadcast::channel(SHOW_CHANGES).0,
            session_ends: tokio::sync::broadcast::channel(SESSION_ENDS).0,
        }
    }

    /// Changes whenever any show's tracks change.
    pub fn shows_version(&self) -> u64 {
        self.shows_version.load(Ordering::Acquire)
    }

    fn shows_changed(&self) {
        self.shows_version.fetch_add(1, Ordering::AcqRel);
    }

    /// Records that show `id`'s tracks changed: cached readers rebuild, listeners hear it,
    /// and so do the other replicas sharing the database.
    fn show_changed(&self, id: i64) {
        self.show_changed_elsewhere(id);
        if let Backend::Postgres(db) = &self.backend {
            // Off the caller's path: the edit is committed, and a replica that misses the
            // notice still redraws at its next change or reload.
            let db = db.clone();
            tokio::spawn(async move {
                if let Err(e) = db.notify_show_changed(id).await {
                    tracing::warn!(error = %e, show_id = id, "cannot tell the other replicas that a show changed");
                }
            });
        }
    }

    /// Records that another replica changed show `id`: as [`Store::show_changed`] does for
    /// this one's own edits, without telling the others again.
    pub fn show_changed_elsewhere(&self, id: i64) {
        self.shows_changed();
        // An error only means nobody listens right now.
        let _ = self.show_changes.send(id);
    }

    /// The ids of shows whose tracks change from now on (an edit, a poll). A listener that
    /// falls more than a few dozen changes behind hears `Lagged` and should redraw everything.
    pub fn show_changes(&self) -> tokio::sync::broadcast::Receiver<i64> {
        self.show_changes.subscribe()
    }
}

/// The schema version this hub brings its database to; a database with a higher one was
/// written by a newer hub.
pub fn schema_version() -> i64 {
    sqlite::schema_version()
}

/// Now, cut to whole milliseconds as the database keeps it, so a time handed back before it is
/// read again equals the stored one.
fn stored_now() -> Timestamp {
    stored(Timestamp::now())
}

/// `t` cut to whole milliseconds, as the database keeps it.
fn stored(t: Timestamp) -> Timestamp {
    // Less than a millisecond back from a time jiff can hold stays in its range, except at
    // its very first instant, which no caller gives.
    t.checked_sub(SignedDuration::from_nanos(i64::from(
        t.subsec_nanosecond().rem_euclid(1_000_000),
    )))
    .unwrap_or(t)
}
