//! What a hub needs from the store to be one replica among several: a session of its own that
//! holds its name, hears what other replicas commit, and may hold the leadership (the right to
//! run what must run once per station: the SoundCloud poller, the deliveries to targets, the
//! reminders and the release of held lines).
//!
//! On SQLite there is one hub per database (the data directory's lock sees to it), so its
//! session is [`ReplicaSession::Embedded`]: it leads from the start and never hears anything,
//! and the code above runs unchanged. On PostgreSQL the session is a connection of its own;
//! what it holds (its name, the leadership) is held by that connection, so a replica that dies
//! or loses its link lets go of both at once, and nobody has to guess from a heartbeat.

use ntr_protocol::Seq;

use super::{Backend, Store, StoreError, postgres};

/// What another replica committed, as this replica's session heard it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// An entry of the log: its seq and, unless it is not broadcast (log only) or was too long
    /// for a notification, its show and wire form.
    Announced {
        seq: Seq,
        frame: Option<NoticeFrame>,
    },
    /// Show `id`'s tracks changed.
    ShowChanged(i64),
    /// Session `id` ended (a logout).
    SessionEnded(String),
    /// A replica's presence, said every second: its name and what it chose to tell.
    Presence { replica: String, said: String },
}

/// An announce's wire form as it travelled in a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeFrame {
    pub show: Option<String>,
    pub json: String,
}

/// This replica's own hold on the station's database.
pub enum ReplicaSession {
    /// The only hub of an SQLite database.
    Embedded,
    Postgres(postgres::Session),
}

impl Store {
    /// Opens this replica's session under `replica`, its name among the running replicas:
    /// [`StoreError::ReplicaTaken`] when a running replica holds that name.
    pub async fn open_session(&self, replica: &str) -> Result<ReplicaSession, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(ReplicaSession::Embedded),
            Backend::Postgres(db) => Ok(ReplicaSession::Postgres(db.open_session(replica).await?)),
        }
    }

    /// Whether other hubs may write to this database (PostgreSQL), so that this one must
    /// listen for what they commit.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }
}

/// A lock that every replica of the station respects, held until dropped: what one hub's
/// mutex makes one-at-a-time stays so when several hubs share the database. On SQLite there is
/// only one hub, whose own mutex suffices: the lock is empty.
pub struct StationLock {
    _held: Option<postgres::StationLock>,
}

impl Store {
    /// Waits for the station-wide lock `name` (no more than the pool's wait for a connection).
    pub async fn station_lock(&self, name: &str) -> Result<StationLock, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(StationLock { _held: None }),
            Backend::Postgres(db) => Ok(StationLock {
                _held: Some(db.station_lock(name).await?),
            }),
        }
    }
}

impl ReplicaSession {
    /// The next notice; `None` once the session's connection is gone (open a new one). The
    /// embedded session never hears anything.
    pub async fn next_notice(&mut self) -> Option<Notice> {
        match self {
            ReplicaSession::Embedded => std::future::pending().await,
            ReplicaSession::Postgres(s) => s.next_notice().await,
        }
    }

    /// Tells the other replicas that this one (`replica`) is there, with `said` (its relays and
    /// subscribers, in a form the caller chooses). Nobody hears the embedded session.
    pub async fn tell_presence(&mut self, replica: &str, said: &str) -> Result<(), StoreError> {
        match self {
            ReplicaSession::Embedded => Ok(()),
            ReplicaSession::Postgres(s) => s.tell_presence(replica, said).await,
        }
    }

    /// Takes the leadership if no other replica holds it; true while this session holds it.
    /// Asking also proves the connection alive: an error means the session is lost.
    pub async fn try_lead(&mut self) -> Result<bool, StoreError> {
        match self {
            ReplicaSession::Embedded => Ok(true),
            ReplicaSession::Postgres(s) => s.try_lead().await,
        }
    }
}
