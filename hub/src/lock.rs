//! The data directory's lock: a running hub holds an exclusive advisory lock (`flock`) on
//! `data_dir/hub.lock` for its whole life. A second hub on the same data directory, or a
//! `hub restore` under a running hub, is then refused with one clear line instead of two
//! processes sharing one database.
//!
//! The kernel drops the lock when the process ends, however it ends (kill -9 included), so a
//! lock file left behind never blocks the next start. The file also holds the holder's pid, for
//! the error message only: the lock, not the pid, decides.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = "hub.lock";

/// Held while alive; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("a hub is already running on data_dir {}{holder}", dir.display())]
    Held { dir: PathBuf, holder: Holder },
    #[error("cannot lock {}: {message}", path.display())]
    Io { path: PathBuf, message: String },
}

/// The process holding the lock, as far as its file tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
}

/// " (pid N)", or nothing when the file does not say.
impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pid {
            Some(pid) => write!(f, " (pid {pid})"),
            None => Ok(()),
        }
    }
}

impl DataDirLock {
    /// Creates `dir` if needed and takes its lock, or says who holds it. Never waits.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io_err = |e: std::io::Error| LockError::Io {
            path: path.clone(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(io_err)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder: Holder {
                        pid: read_pid(&mut file),
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        file.set_len(0).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        writeln!(file, "{}", std::process::id()).map_err(io_err)?;
        Ok(DataDirLock { _file: file })
    }

    /// Whether a hub holds `dir`'s lock right now (and its pid), without creating anything.
    pub fn holder(dir: &Path) -> Result<Option<Holder>, LockError> {
        let path = dir.join(LOCK_FILE);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(LockError::Io {
                    path,
                    message: e.to_string(),
                });
            }
        };
        // A shared lock is refused exactly while someone holds the exclusive one; it is
        // released again when `file` closes.
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(TryLockError::WouldBlock) => Ok(Some(Holder {
                pid: read_pid(&mut file),
            })),
            Err(TryLockError::Error(e)) => Err(LockError::Io {
                path,
                message: e.to_string(),
            }),
        }
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_dir_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(DataDirLock::holder(dir.path()).expect("probe").is_none());
        let first = DataDirLock::acquire(dir.path()).expect("first");
        let err = DataDirLock::acquire(dir.path()).expect_err("second");
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert_eq!(
            DataDirLock::holder(dir.path()).expect("probe"),
            Some(Holder {
                pid: Some(std::process::id())
            })
        );
        drop(first);
        assert!(DataDirLock::holder(dir.path()).expect("probe").is_none());
        DataDirLock::acquire(dir.path()).expect("free again");
    }
}
