//! The database file at rest, for the operator commands: `PRAGMA integrity_check`, `VACUUM INTO`
//! for a backup, and the `sqlite_sequence` counter behind the announcements' AUTOINCREMENT,
//! which a restore raises.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::store::{CheckError, DbFileError, DbSummary};

impl From<rusqlite::Error> for DbFileError {
    fn from(e: rusqlite::Error) -> Self {
        DbFileError(Box::new(e))
    }
}

/// An existing database file with a connection of its own.
pub struct SqliteFile {
    conn: Connection,
}

impl SqliteFile {
    /// Opens an existing database file, never creating one.
    pub fn open(path: &Path, write: bool) -> Result<SqliteFile, DbFileError> {
        let flags = if write {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } else {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        };
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        // The hub may be writing (WAL): wait for its short transactions rather than fail.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(SqliteFile { conn })
    }

    /// The file's `user_version`.
    pub fn schema_version(&self) -> Result<i64, DbFileError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// `PRAGMA integrity_check`, then the schema version and the announcement log's size.
    pub fn check(&self) -> Result<DbSummary, CheckError> {
        let unreadable = |e: rusqlite::Error| CheckError::Unreadable(e.into());
        let verdict: Vec<String> = self
            .conn
            .prepare("PRAGMA integrity_check")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(unreadable)?;
        if verdict != ["ok"] {
            return Err(CheckError::Damaged(verdict));
        }
        let schema_version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(unreadable)?;
        let (announcements, last_seq): (u64, Option<u64>) = self
            .conn
            .query_row("SELECT COUNT(*), MAX(seq) FROM announcements", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(|e| CheckError::NoAnnouncementLog(e.into()))?;
        Ok(DbSummary {
            schema_version,
            announcements,
            last_seq,
        })
    }

    /// `VACUUM INTO` reads the whole database inside one read transaction, so the copy is one
    /// snapshot, and in WAL mode that read blocks no writer. (The page-by-page backup API would
    /// restart whenever the hub commits between its steps, which it does many times a second
    /// during a show.) It writes into an existing empty file as it finds it, keeping its mode.
    pub fn snapshot_into(&self, target: &Path) -> Result<(), DbFileError> {
        let target = target.to_str().ok_or_else(|| {
            DbFileError(format!("{} is not valid UTF-8", target.display()).into())
        })?;
        self.conn.execute("VACUUM INTO ?1", [target])?;
        Ok(())
    }

    /// The larger of the AUTOINCREMENT counter and the highest seq present.
    pub fn last_issued_seq(&self) -> Result<Option<u64>, DbFileError> {
        Ok(self.conn.query_row(
            "SELECT MAX(seq) FROM (SELECT seq FROM sqlite_sequence WHERE name = 'announcements' \
             UNION ALL SELECT MAX(seq) FROM announcements)",
            [],
            |r| r.get(0),
        )?)
    }

    /// Makes the AUTOINCREMENT counter at least `issued`; returns the next seq.
    pub fn raise_seq_counter(&self, issued: Option<u64>) -> Result<u64, DbFileError> {
        let current: u64 = self
            .conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'announcements'",
                [],
                |r| r.get(0),
            )
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(0),
                e => Err(e),
            })?;
        let floor = issued.unwrap_or(0);
        if floor > current {
            let changed = self.conn.execute(
                "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'announcements'",
                [floor],
            )?;
            if changed == 0 {
                self.conn.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('announcements', ?1)",
                    [floor],
                )?;
            }
        }
        Ok(current.max(floor) + 1)
    }

    pub fn end_all_sessions(&self) -> Result<(), DbFileError> {
        self.conn.execute("DELETE FROM sessions", [])?;
        Ok(())
    }

    /// Closing writes everything back into the file itself; a leftover `-wal` would not follow
    /// a rename of the file.
    pub fn close(self) -> Result<(), DbFileError> {
        self.conn.close().map_err(|(_, e)| e.into())
    }
}
