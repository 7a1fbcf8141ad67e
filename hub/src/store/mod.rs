//! The hub's SQLite database (`data_dir/hub.db`): tracks, weekly shows and their ordered
//! membership (with the DJ's manual edits), the announcement log that issues sequence numbers,
//! acks, relay cursors, dashboard sessions and a little key/value state.
//!
//! One connection behind a mutex, used from `spawn_blocking`: every query here takes
//! microseconds, and a single writer is what SQLite wants anyway. WAL mode with
//! `synchronous=NORMAL` keeps every committed transaction across a process crash (kill -9), and
//! each operation that changes more than one row is one transaction, so a crash at any point
//! leaves either the old state or the new one.

mod announcements;
mod cursors;
mod meta;
mod migrations;
mod sessions;
mod shows;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

pub use announcements::{Ack, Announcement, NewAnnouncement};
pub use ntr_protocol::Seq;
pub use sessions::SessionRow;
pub use shows::{Like, Show, ShowSummary, Track, TrackInfo};

pub const DB_FILE: &str = "hub.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot open the database at {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("no show with id {0}")]
    NoShow(i64),
    #[error("show {show_id} has no track at position {position}")]
    NoPosition { show_id: i64, position: u32 },
    #[error("{0}")]
    OutOfRange(String),
    #[error("the database worker stopped")]
    Worker,
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// Bumped after every committed change to a show, so readers can cache what they built
    /// from one (see [`Store::shows_version`]).
    shows_version: Arc<AtomicU64>,
}

impl Store {
    /// Opens (creating if needed) `dir/hub.db` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(DB_FILE);
        let open_err = |message: String| StoreError::Open {
            path: path.clone(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        let mut conn = Connection::open(&path).map_err(|e| open_err(e.to_string()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::run(&mut conn).map_err(|e| open_err(e.to_string()))?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            shows_version: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Changes whenever any show's tracks change.
    pub fn shows_version(&self) -> u64 {
        self.shows_version.load(Ordering::Acquire)
    }

    fn shows_changed(&self) {
        self.shows_version.fetch_add(1, Ordering::AcqRel);
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-done transaction behind
            // (rusqlite rolls back on drop), so a poisoned lock is still safe to use.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|_| StoreError::Worker)?
    }
}

/// Milliseconds since the epoch: how instants are stored, so they sort and compare as integers.
fn to_ms(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

fn from_ms(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}
