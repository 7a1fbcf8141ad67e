//! `hub restore PATH`: puts a backup in place of `data_dir/hub.db`, only while no hub runs.
//!
//! The order makes every failure harmless: take the data directory's lock (a running hub holds
//! it, so a restore under one is refused), copy the backup to a private temporary file beside
//! the database and check that copy — the bytes that will be used, not the original — then move
//! the old database and its `-wal`/`-shm` aside together (`hub.db.before-restore-<time>`, still
//! openable with SQLite) and rename the copy into place. Until that last rename nothing the hub
//! reads has changed.
//!
//! Sequence numbers must never be issued twice (clients resume by seq; the Matrix target uses
//! it as an idempotency key). The backup is older than the database it replaces, so the copy's
//! announce counter is raised to the replaced database's before it goes in: new announces
//! continue after the highest seq ever issued, not after the backup's.
//!
//! Dashboard sessions in the copy are deleted: one that was live when the backup was taken
//! may have been logged out since, and a restore must not bring it back.

use std::path::{Path, PathBuf};

use super::{DbSummary, OpsError};
use crate::lock::{DataDirLock, LockError};
use crate::store::{DB_FILE, DbFile, DbFileError, schema_version};

const SIDE_FILES: [&str; 3] = ["", "-wal", "-shm"];

/// What `hub restore` did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub database: PathBuf,
    pub summary: DbSummary,
    /// Where the replaced database went, if there was one.
    pub kept_aside: Option<PathBuf>,
    /// The seq the next announce will get.
    pub next_seq: u64,
    /// Set when the replaced database could not tell its highest seq: seqs after the
    /// backup's may then be issued a second time.
    pub warning: Option<String>,
}

pub fn restore(data_dir: &Path, backup: &Path) -> Result<RestoreReport, OpsError> {
    if !backup.is_file() {
        return Err(OpsError::Usage(format!(
            "no backup file at {}",
            backup.display()
        )));
    }
    let _lock = DataDirLock::acquire(data_dir).map_err(|e| match e {
        LockError::Held { .. } => OpsError::Usage(format!("{e}: stop it first, then restore")),
        LockError::Io { .. } => OpsError::Io(e.to_string()),
    })?;
    let database = data_dir.join(DB_FILE);
    let tmp = data_dir.join(format!("{DB_FILE}.restore-tmp"));
    remove_with_side_files(&tmp)?;
    let prepared = prepare(backup, &tmp, &database);
    let (summary, next_seq, warning) = match prepared {
        Ok(done) => done,
        Err(e) => {
            let _ = remove_with_side_files(&tmp);
            return Err(e);
        }
    };
    let kept_aside = move_aside(&database)?;
    std::fs::rename(&tmp, &database).map_err(|e| {
        let kept = kept_aside
            .as_ref()
            .map(|p| format!(" (the previous database is now {})", p.display()))
            .unwrap_or_default();
        OpsError::io("move the backup to", &database, format!("{e}{kept}"))
    })?;
    super::sync_dir(data_dir)?;
    Ok(RestoreReport {
        database,
        summary,
        kept_aside,
        next_seq,
        warning,
    })
}

/// Copies `backup` to `tmp` (0600), checks it and raises its seq counter to the replaced
/// database's. Returns the copy's summary, the next seq and a warning if the replaced
/// database's seq could not be read.
fn prepare(
    backup: &Path,
    tmp: &Path,
    database: &Path,
) -> Result<(DbSummary, u64, Option<String>), OpsError> {
    let mut out = super::create_private(tmp)?;
    let mut input = std::fs::File::open(backup).map_err(|e| OpsError::io("read", backup, e))?;
    std::io::copy(&mut input, &mut out).map_err(|e| OpsError::io("copy", backup, e))?;
    drop(out);
    let copy = super::open_read_write(tmp)?;
    let summary = super::check_database(&copy, backup)?;
    let newest = schema_version();
    if summary.schema_version > newest {
        return Err(OpsError::Usage(format!(
            "{} has schema version {}, newer than this hub's {newest}: restore it with the hub \
             version that wrote it",
            backup.display(),
            summary.schema_version
        )));
    }
    if summary.schema_version < 1 {
        return Err(OpsError::Usage(format!(
            "{} is not a hub database (schema version {})",
            backup.display(),
            summary.schema_version
        )));
    }
    let (issued, warning) = match last_issued_seq(database) {
        Ok(issued) => (issued, None),
        Err(e) => (
            None,
            Some(format!(
                "cannot read the highest seq of the replaced database ({e}): seqs after the \
                 backup's may be issued again"
            )),
        ),
    };
    let next_seq = copy
        .raise_seq_counter(issued)
        .map_err(|e| OpsError::io("update", tmp, e))?;
    // The backup's sessions may have ended since (a logout); none is known to be live.
    copy.end_all_sessions()
        .map_err(|e| OpsError::io("update", tmp, e))?;
    // Closing writes everything back into the file itself; a leftover -wal would not follow
    // the rename.
    copy.close().map_err(|e| OpsError::io("close", tmp, e))?;
    super::sync_file(tmp)?;
    Ok((summary, next_seq, warning))
}

/// The highest seq the replaced database ever issued (none if there is no database or it
/// never announced). A database too damaged to tell is the usual reason for a restore, so the
/// caller warns rather than refuses.
fn last_issued_seq(database: &Path) -> Result<Option<u64>, DbFileError> {
    if !database.is_file() {
        return Ok(None);
    }
    DbFile::open_read_only(database)?.last_issued_seq()
}

/// Renames `database` and its side files to `…before-restore-<UTC time>…`, keeping them
/// together so SQLite still reads the WAL's last transactions when the kept file is opened.
fn move_aside(database: &Path) -> Result<Option<PathBuf>, OpsError> {
    if !database.exists() {
        return Ok(None);
    }
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let aside = super::with_suffix(database, &format!(".before-restore-{stamp}"));
    for side in SIDE_FILES {
        let from = super::with_suffix(database, side);
        if from.exists() {
            let to = super::with_suffix(&aside, side);
            std::fs::rename(&from, &to).map_err(|e| OpsError::io("move aside", &from, e))?;
        }
    }
    Ok(Some(aside))
}

fn remove_with_side_files(path: &Path) -> Result<(), OpsError> {
    for side in SIDE_FILES {
        let file = super::with_suffix(path, side);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(OpsError::io("remove", &file, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::AnnounceLine;
    use crate::ops::backup::backup;
    use crate::store::{NewAnnouncement, Store};

    /// Announces `n` lines into the database of `dir`; returns the last seq issued.
    async fn announce(dir: &Path, n: usize) -> u64 {
        let store = Store::open(dir).expect("open");
        for _ in 0..n {
            let new = NewAnnouncement::text(AnnounceLine::sanitize("x"), None);
            store.record_announcement(new).await.expect("announce");
        }
        store.last_seq().await.expect("seq").get()
    }

    #[tokio::test]
    async fn seqs_continue_after_the_replaced_database_and_a_fresh_dir_takes_the_backup() {
        let live = tempfile::tempdir().expect("dir");
        announce(live.path(), 3).await;
        let file = tempfile::tempdir().expect("dir");
        let copy = file.path().join("b.db");
        assert_eq!(
            backup(live.path(), &copy).expect("backup").summary.last_seq,
            Some(3)
        );
        announce(live.path(), 2).await;

        let report = restore(live.path(), &copy).expect("restore");
        assert_eq!(report.next_seq, 6, "seqs 4 and 5 were issued before");
        assert_eq!(report.summary.announcements, 3);
        assert!(report.warning.is_none());
        let aside = report.kept_aside.expect("kept aside");
        let kept = DbFile::open_read_write(&aside)
            .expect("the kept database opens")
            .check()
            .expect("checks");
        assert_eq!(kept.announcements, 5);
        assert_eq!(
            announce(live.path(), 1).await,
            6,
            "the restored database goes on after seq 5"
        );

        let fresh = tempfile::tempdir().expect("dir");
        let report = restore(fresh.path(), &copy).expect("restore into an empty dir");
        assert_eq!(report.next_seq, 4);
        assert!(report.kept_aside.is_none());
    }
}
