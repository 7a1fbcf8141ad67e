//! `hub migrate-store --to URL`: the stopped SQLite hub of this configuration, copied into an
//! empty PostgreSQL database in one transaction (see [`crate::store::copy`]). The data
//! directory's lock is held throughout, so no hub can start on the SQLite file and announce
//! something the copy would miss.

use std::path::Path;
use std::time::{Duration, Instant};

use super::OpsError;
use crate::lock::DataDirLock;
use crate::store::copy::{CopyError, TableProgress, sqlite_to_postgres};
use crate::store::{DB_FILE, StoreError};

/// What `hub migrate-store` copied.
#[derive(Debug, Clone)]
pub struct MigrateReport {
    pub tables: Vec<TableProgress>,
    pub elapsed: Duration,
}

/// The generated secrets file, to go along into the database, where replicas keep them (so
/// old plugins' tokens and the DJ's password keep working after the move).
fn read_secrets(data_dir: &Path) -> Result<Vec<(&'static str, String)>, OpsError> {
    let path = data_dir.join(crate::secrets::FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(vec![(crate::secrets::SHARED_KEY, text)]),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(OpsError::Io(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Copies `data_dir`'s database and generated secrets into the PostgreSQL database at `url`,
/// telling `progress` how each table goes.
pub async fn migrate_store(
    data_dir: &Path,
    url: &str,
    progress: &mut (dyn FnMut(TableProgress) + Send),
) -> Result<MigrateReport, OpsError> {
    let started = Instant::now();
    let source = data_dir.join(DB_FILE);
    if !source.is_file() {
        return Err(OpsError::Usage(format!(
            "no database at {}: is data_dir right? (--config, NTR_HUB__DATA_DIR)",
            source.display()
        )));
    }
    let _lock = DataDirLock::acquire(data_dir)
        .map_err(|e| OpsError::Usage(format!("{e}: stop it before copying its data")))?;
    let secrets = read_secrets(data_dir)?;
    let tables = sqlite_to_postgres(data_dir, url, &secrets, progress)
        .await
        .map_err(|e| match e {
            CopyError::Store(
                e @ (StoreError::Database(_)
                | StoreError::Unreachable(_)
                | StoreError::Connect { .. }
                | StoreError::Worker),
            ) => OpsError::Io(format!("the copy failed, nothing was written: {e}")),
            other => OpsError::Usage(other.to_string()),
        })?;
    Ok(MigrateReport {
        tables,
        elapsed: started.elapsed(),
    })
}
