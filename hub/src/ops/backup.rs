//! `hub backup PATH`: a consistent copy of the live database, taken while the hub keeps serving.
//!
//! The store's snapshot ([`crate::store::DbFile::snapshot_into`]) is one instant of the
//! database — every announce committed before it started, nothing half-written — taken without
//! blocking the hub's writes. The copy is written to a hidden temporary file next to PATH,
//! checked, flushed and only then renamed over PATH, so PATH is always either the previous
//! backup or a complete new one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{DbSummary, OpsError};
use crate::store::DB_FILE;

/// What `hub backup` wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub summary: DbSummary,
    pub elapsed: Duration,
}

/// Copies `data_dir/hub.db` to `dest` (mode 0600), replacing any file there.
pub fn backup(data_dir: &Path, dest: &Path) -> Result<BackupReport, OpsError> {
    let started = Instant::now();
    let source = data_dir.join(DB_FILE);
    check_paths(&source, dest)?;
    let tmp = temporary_name(dest)?;
    let result = copy_and_check(&source, &tmp);
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, dest).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        OpsError::io("rename the backup to", dest, e)
    })?;
    super::sync_dir(&super::parent_dir(dest))?;
    let bytes = std::fs::metadata(dest)
        .map_err(|e| OpsError::io("read", dest, e))?
        .len();
    Ok(BackupReport {
        path: dest.to_path_buf(),
        bytes,
        summary,
        elapsed: started.elapsed(),
    })
}

/// Refuses what cannot work before writing anything.
fn check_paths(source: &Path, dest: &Path) -> Result<(), OpsError> {
    if !source.is_file() {
        return Err(OpsError::Usage(format!(
            "no database at {}: is data_dir right? (--config, NTR_HUB__DATA_DIR)",
            source.display()
        )));
    }
    let dir = super::parent_dir(dest);
    if !dir.is_dir() {
        return Err(OpsError::Usage(format!(
            "the directory {} does not exist",
            dir.display()
        )));
    }
    if dest.is_dir() {
        return Err(OpsError::Usage(format!(
            "{} is a directory: name the backup file, e.g. {}",
            dest.display(),
            dest.join("hub-backup.db").display()
        )));
    }
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(source, dest) {
        return Err(OpsError::Usage(format!(
            "{} is the live database itself: write the backup elsewhere",
            dest.display()
        )));
    }
    Ok(())
}

/// `.NAME.tmp-PID` next to `dest`: same filesystem, so the final rename is atomic.
fn temporary_name(dest: &Path) -> Result<PathBuf, OpsError> {
    let name = dest
        .file_name()
        .ok_or_else(|| OpsError::Usage(format!("{} does not name a file", dest.display())))?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp-{}", std::process::id()));
    Ok(super::parent_dir(dest).join(tmp))
}

/// Snapshots `source` into a new private file `tmp`, checks the copy and flushes it.
fn copy_and_check(source: &Path, tmp: &Path) -> Result<DbSummary, OpsError> {
    // The snapshot is written into an existing empty file as it finds it, so the copy is 0600
    // from its first byte.
    drop(super::create_private(tmp)?);
    if tmp.to_str().is_none() {
        return Err(OpsError::Usage(format!(
            "{} is not valid UTF-8; choose a plainer file name",
            tmp.display()
        )));
    }
    let live = super::open_read_write(source)?;
    live.snapshot_into(tmp)
        .map_err(|e| OpsError::io("copy", source, e))?;
    drop(live);
    let copy = super::open_read_only(tmp)?;
    let summary = super::check_database(&copy, tmp).map_err(|e| {
        // A fresh copy that fails its check is the machine's fault, not the operator's.
        OpsError::Io(format!("the copy did not check out: {e}"))
    })?;
    drop(copy);
    super::sync_file(tmp)?;
    Ok(summary)
}
