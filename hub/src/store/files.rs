//! A database at rest, for the operator commands (`hub backup`, `hub restore`,
//! `hub check-config`): opened on an existing file only, never created, never migrated and
//! with no thread of its own, since a running hub may be serving the same file.
//!
//! Like [`super::Store`], [`DbFile`] is a face over the backend's own code: an enum matched in
//! each method, so the commands name no SQL and no driver type.

use std::path::Path;

use super::sqlite::files::SqliteFile;

/// What a database file holds, read after checking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbSummary {
    pub schema_version: i64,
    pub announcements: u64,
    /// The highest seq present, if any announce is.
    pub last_seq: Option<u64>,
}

/// The database driver's error, shown as the driver words it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DbFileError(pub(super) Box<dyn std::error::Error + Send + Sync>);

/// Why a file failed [`DbFile::check`].
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The file cannot be read as a database at all.
    #[error("{0}")]
    Unreadable(DbFileError),
    /// The database's integrity check found damage; these are its findings.
    #[error("{}", .0.join("; "))]
    Damaged(Vec<String>),
    /// A readable database, but without the hub's announcement log.
    #[error("{0}")]
    NoAnnouncementLog(DbFileError),
}

/// An existing database file, open for an operator command.
pub struct DbFile {
    backend: FileBackend,
}

enum FileBackend {
    Sqlite(SqliteFile),
}

impl DbFile {
    /// Opens `path` for reading; waits for a running hub's short transactions rather than fail.
    pub fn open_read_only(path: &Path) -> Result<DbFile, DbFileError> {
        Ok(DbFile {
            backend: FileBackend::Sqlite(SqliteFile::open(path, false)?),
        })
    }

    /// Opens `path` for reading and writing, like [`DbFile::open_read_only`].
    pub fn open_read_write(path: &Path) -> Result<DbFile, DbFileError> {
        Ok(DbFile {
            backend: FileBackend::Sqlite(SqliteFile::open(path, true)?),
        })
    }

    /// The schema version the file was last brought to (0 for an empty file).
    pub fn schema_version(&self) -> Result<i64, DbFileError> {
        match &self.backend {
            FileBackend::Sqlite(db) => db.schema_version(),
        }
    }

    /// Checks the whole file's integrity and summarises it.
    pub fn check(&self) -> Result<DbSummary, CheckError> {
        match &self.backend {
            FileBackend::Sqlite(db) => db.check(),
        }
    }

    /// Writes a consistent copy of the database, as of one instant, into `target`, an existing
    /// empty file. Writers are not blocked meanwhile.
    pub fn snapshot_into(&self, target: &Path) -> Result<(), DbFileError> {
        match &self.backend {
            FileBackend::Sqlite(db) => db.snapshot_into(target),
        }
    }

    /// The highest seq this database ever issued, deleted announces included (none if it never
    /// announced).
    pub fn last_issued_seq(&self) -> Result<Option<u64>, DbFileError> {
        match &self.backend {
            FileBackend::Sqlite(db) => db.last_issued_seq(),
        }
    }

    /// Makes the next announce's seq at least `issued + 1`, so seqs issued elsewhere are never
    /// issued again; returns the seq the next announce will get.
    pub fn raise_seq_counter(&self, issued: Option<u64>) -> Result<u64, DbFileError> {
        match &self.backend {
            FileBackend::Sqlite(db) => db.raise_seq_counter(issued),
        }
    }

    /// Deletes every dashboard session: a restored database must not bring back sessions that
    /// ended after its backup was taken.
    pub fn end_all_sessions(&self) -> Result<(), DbFileError> {
        match &self.backend {
            FileBackend::Sqlite(db) => db.end_all_sessions(),
        }
    }

    /// Closes the file, with every change written back into it (nothing left in side files).
    pub fn close(self) -> Result<(), DbFileError> {
        match self.backend {
            FileBackend::Sqlite(db) => db.close(),
        }
    }
}
