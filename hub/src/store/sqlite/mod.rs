//! The SQLite backend: the database file `data_dir/hub.db`, and every line of SQL the store runs.
//!
//! One connection behind a mutex, used from `spawn_blocking`: every query here takes
//! microseconds, and a single writer is what SQLite wants anyway. WAL mode with
//! `synchronous=NORMAL` keeps every committed transaction across a process crash (kill -9), and
//! each operation that changes more than one row is one transaction, so a crash at any point
//! leaves either the old state or the new one. WAL checkpoints run on a thread of their own
//! (`checkpoint`), so no commit waits for the disk. Schema versions are SQLite's
//! `user_version`, brought up to date on open (`migrations`).
//!
//! The files here follow the store's concepts; each adds to [`Sqlite`] the async methods the
//! face dispatches to. `files` is the database at rest, for the operator commands.

mod alerts;
mod announcements;
mod checkpoint;
mod cursors;
mod deliveries;
mod export;
pub mod files;
mod held;
mod keys;
mod ledger_rows;
mod login_attempts;
mod marks;
mod meta;
mod migrations;
mod played;
mod sessions;
mod shows;

use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{Connection, Row};
use serde::de::DeserializeOwned;

pub use migrations::schema_version;

use super::{stored, stored_now};

use super::StoreError;

/// The database's file name inside the data directory.
pub const DB_FILE: &str = "hub.db";

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::FromSqlConversionFailure(column, _, cause) => StoreError::Corrupt {
                column,
                message: cause.to_string(),
            },
            other => StoreError::Database(Box::new(other)),
        }
    }
}

/// An open database; cheap to clone.
#[derive(Clone)]
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    _checkpointer: Arc<checkpoint::Checkpointer>,
}

impl Sqlite {
    /// Opens (creating if needed) `dir/hub.db` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Sqlite, StoreError> {
        let path = dir.join(DB_FILE);
        let open_err = |message: String| StoreError::Open {
            path: path.clone(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        make_private(&path).map_err(|e| open_err(e.to_string()))?;
        let mut conn = Connection::open(&path).map_err(|e| open_err(e.to_string()))?;
        // Checked before anything is written: the file stays as the newer hub left it.
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > schema_version() {
            return Err(StoreError::Newer {
                path: path.clone(),
                found,
                known: schema_version(),
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Off while migrating: a step may rebuild a table that others reference (SQLite's
        // documented way to change a constraint), which checks would refuse halfway.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        migrations::run(&mut conn).map_err(|e| open_err(e.to_string()))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let checkpointer = checkpoint::Checkpointer::start(&path)?;
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
            _checkpointer: Arc::new(checkpointer),
        })
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
            let mut guard = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|_| StoreError::Worker)?
    }
}

/// Creates the database file readable by the hub's user alone (sessions live in it), or
/// tightens one an older hub left readable to others. SQLite gives its `-wal` and `-shm`
/// files the database file's mode, so they follow; existing ones are tightened here too.
fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        // Without truncation: an existing database is opened, not emptied.
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = Path::new(&name);
            match std::fs::metadata(file) {
                Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Milliseconds since the epoch: how instants are stored, so they sort and compare as integers.
fn to_ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// A stored instant. Milliseconds outside [`Timestamp`]'s range are a corrupt row, never
/// silently the epoch.
struct StoredTime(Timestamp);

impl FromSql for StoredTime {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let ms = i64::column_result(value)?;
        Timestamp::from_millisecond(ms)
            .map(StoredTime)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// The instant in column `idx`.
fn time(r: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    Ok(r.get::<_, StoredTime>(idx)?.0)
}

/// The instant in column `idx`, which may be NULL.
fn optional_time(r: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    Ok(r.get::<_, Option<StoredTime>>(idx)?.map(|t| t.0))
}

/// The JSON value in column `idx`, which may be NULL; JSON that does not parse is a corrupt row.
fn json<T: DeserializeOwned>(r: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>> {
    r.get::<_, Option<String>>(idx)?
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewAnnouncement, Store};
    use ntr_protocol::Seq;

    /// A store whose database also holds the rows `sql` writes behind its back.
    fn store_with(sql: &str) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open");
        Connection::open(dir.path().join(DB_FILE))
            .expect("a second connection")
            .execute_batch(sql)
            .expect("seed");
        (dir, store)
    }

    /// Each announce is its own transaction; SQLite must be able to checkpoint after it, or the
    /// WAL file grows for as long as the hub runs (it did: ~12 KB per announce).
    #[tokio::test]
    async fn the_wal_is_checkpointed_while_announcing() {
        let (dir, store) = store_with("");
        for n in 0..2_000 {
            let line = crate::line::AnnounceLine::sanitize(&format!("line {n}"));
            let new = NewAnnouncement::text(line, None);
            store.record_announcement(new).await.expect("announce");
        }
        let wal =
            std::fs::metadata(dir.path().join(format!("{DB_FILE}-wal"))).map_or(0, |m| m.len());
        // SQLite checkpoints every 1,000 pages (~4 MB) and then reuses the file.
        assert!(wal < 8_000_000, "the WAL grew to {wal} bytes");
        assert_eq!(store.last_seq().await.expect("seq").get(), 2_000);
    }

    #[tokio::test]
    async fn a_time_out_of_range_is_a_corrupt_row_not_the_epoch() {
        let (_dir, store) = store_with(&format!(
            "INSERT INTO sessions (id, username, created_at, expires_at) VALUES ('s', 'dj', 0, {});",
            i64::MAX
        ));
        let read = store.live_session("s".into()).await;
        assert!(
            matches!(read, Err(StoreError::Corrupt { column: 2, .. })),
            "{read:?}"
        );
    }

    #[tokio::test]
    async fn a_track_that_is_not_json_is_a_corrupt_row_not_a_missing_track() {
        let (_dir, store) = store_with(
            "INSERT INTO announcements (announced_at, message, show_id, position, track)
             VALUES (1, 'Now Playing', 1, 1, '{not json');",
        );
        let read = store
            .announcements_since(Seq::ZERO, Timestamp::UNIX_EPOCH)
            .await;
        assert!(
            matches!(read, Err(StoreError::Corrupt { column: 4, .. })),
            "{read:?}"
        );
    }
}

/// File modes are a unix notion.
#[cfg(all(test, unix))]
mod file_mode_tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::store::Store;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[tokio::test]
    async fn the_database_and_its_wal_files_are_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open");
        store
            .last_seq()
            .await
            .expect("a query creates the -shm file");
        for name in [DB_FILE, "hub.db-wal", "hub.db-shm"] {
            assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
        }
    }

    #[test]
    fn a_database_left_readable_by_others_is_tightened() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DB_FILE);
        std::fs::write(&path, b"").expect("create");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        Store::open(dir.path()).expect("open");
        assert_eq!(mode(&path), 0o600);
    }
}
