//! Operator commands on the data directory, outside a hub's request path: `hub backup` (an
//! online copy of the live database), `hub restore` (only while no hub runs),
//! `hub migrate-store` (a stopped hub's data into PostgreSQL) and `hub check-config`. Each fails with an [`OpsError`] whose exit code tells the operator's
//! mistake (2: fix the command or the file) from a failure of the machine (1: disk, I/O).

pub mod backup;
pub mod check;
pub mod migrate;
pub mod restore;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

pub use crate::store::DbSummary;
use crate::store::{CheckError, DbFile};

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// Something the operator can fix: a wrong path, a file that is not a hub database, a hub
    /// still running.
    #[error("{0}")]
    Usage(String),
    /// The machine failed us: a read, write or rename that should have worked.
    #[error("{0}")]
    Io(String),
}

impl OpsError {
    pub fn exit_code(&self) -> u8 {
        match self {
            OpsError::Usage(_) => 2,
            OpsError::Io(_) => 1,
        }
    }

    fn io(what: impl std::fmt::Display, path: &Path, e: impl std::fmt::Display) -> OpsError {
        OpsError::Io(format!("cannot {what} {}: {e}", path.display()))
    }
}

/// Checks a database file and summarises it. A file that is not a database, fails the check,
/// or has no hub schema is a [`OpsError::Usage`].
fn check_database(file: &DbFile, shown: &Path) -> Result<DbSummary, OpsError> {
    file.check().map_err(|e| {
        OpsError::Usage(match e {
            CheckError::Unreadable(e) => format!(
                "{} is not a readable SQLite database ({e})",
                shown.display()
            ),
            CheckError::Damaged(findings) => format!(
                "{} fails SQLite's integrity check: {}",
                shown.display(),
                findings.join("; ")
            ),
            CheckError::NoAnnouncementLog(e) => format!(
                "{} is not a hub database (no announcement log: {e})",
                shown.display()
            ),
        })
    })
}

/// Opens an existing database file for reading, never creating one.
fn open_read_only(path: &Path) -> Result<DbFile, OpsError> {
    DbFile::open_read_only(path).map_err(|e| OpsError::io("open", path, e))
}

/// Opens an existing database file for reading and writing, never creating one.
fn open_read_write(path: &Path) -> Result<DbFile, OpsError> {
    DbFile::open_read_write(path).map_err(|e| OpsError::io("open", path, e))
}

/// Creates `path` empty, mode 0600, failing if it exists: databases hold the session table and
/// everything announced, which is nobody else's business on a shared machine.
fn create_private(path: &Path) -> Result<File, OpsError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| OpsError::io("create", path, e))
}

/// Flushes a file's contents to the disk.
fn sync_file(path: &Path) -> Result<(), OpsError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| OpsError::io("sync", path, e))
}

/// Makes a rename in `dir` durable: without it a power cut can undo the rename.
fn sync_dir(dir: &Path) -> Result<(), OpsError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| OpsError::io("sync", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The folder a file named on the command line lives in (`.` for a bare name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` with `suffix` appended to its file name (`hub.db` + `-wal` = `hub.db-wal`), the way
/// SQLite names its side files.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
