//! WAL checkpoints on a connection and a thread of their own.
//!
//! Left to itself, SQLite checkpoints inside whichever commit pushes the WAL past 1,000 pages:
//! that commit then copies the pages back and waits for the disk (an fsync, several ms on a
//! small VPS). With delivery targets the ledger writes a few dozen pages per announce, so
//! every ~20th announce paid that inside the DJ's POST. Checkpointing from here every second
//! keeps the WAL far below that mark; a passive checkpoint never blocks the store's writer, so
//! announces no longer wait for the disk. SQLite's own checkpoint stays on as the bound should
//! this thread ever fall behind.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// How often the WAL is copied back into the database file.
const INTERVAL: Duration = Duration::from_secs(1);

/// Keeps the checkpoint thread running; it stops when the last store handle is dropped.
pub(super) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let (stop, stopped) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, stopped))
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                message: format!("cannot start the checkpoint thread: {e}"),
            })?;
        Ok(Checkpointer { _stop: stop })
    }
}

fn run(conn: Connection, stopped: mpsc::Receiver<()>) {
    let mut failing = false;
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        // PASSIVE: copies what no reader still needs and returns; never waits for the writer.
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        match result {
            Ok(()) => failing = false,
            // Logged once per failing spell: SQLite's own checkpoint still bounds the WAL.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "cannot checkpoint the database's WAL; retrying every second");
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crate::line::AnnounceLine;
    use crate::store::{DB_FILE, NewAnnouncement, Store};

    /// Rows in a copy of the database file alone, without its WAL: what a checkpoint wrote.
    fn announces_in_the_file(dir: &std::path::Path) -> i64 {
        let copy = tempfile::tempdir().expect("dir");
        std::fs::copy(dir.join(DB_FILE), copy.path().join(DB_FILE)).expect("copy");
        let conn = rusqlite::Connection::open(copy.path().join(DB_FILE)).expect("open copy");
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'announcements'",
                [],
                |r| r.get(0),
            )
            .expect("schema");
        if tables == 0 {
            return 0; // not even the schema has left the WAL yet
        }
        conn.query_row("SELECT count(*) FROM announcements", [], |r| r.get(0))
            .expect("count")
    }

    #[tokio::test]
    async fn an_announce_reaches_the_database_file_without_waiting_for_1000_pages() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let new = NewAnnouncement::text(AnnounceLine::sanitize("line"), None);
        store.record_announcement(new).await.expect("announce");
        assert_eq!(
            announces_in_the_file(dir.path()),
            0,
            "still only in the WAL"
        );
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        while announces_in_the_file(dir.path()) == 0 {
            assert!(Instant::now() < deadline, "never checkpointed");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}
