//! The releaser of held announces. A show with `hold_seconds` keeps each announce back for
//! that long so the DJ can undo it before anyone sees it; this task sleeps until the next one
//! is due, releases it into the log and out to every subscriber, and sleeps again. A new hold
//! wakes it (its hold may end before the one it was waiting for). Holds are stored, so after a
//! restart the first pass releases whatever fell due while the hub was down. Every replica of a
//! station runs one, so a hold outlives the replica that took it.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use ntr_common::shutdown::Shutdown;
use tokio::sync::Notify;

use crate::announce::Announcer;

/// How long the releaser waits after the store failed before it tries again.
const RETRY: Duration = Duration::from_secs(1);

/// How long it sleeps when nothing is held: a new hold wakes it anyway.
const IDLE: Duration = Duration::from_secs(3600);

/// The same when replicas share the database: a hold taken on another replica wakes nobody
/// here. Releasing is one transaction that finds the line still held, so two replicas
/// releasing at once release it once.
const SHARED_IDLE: Duration = Duration::from_secs(1);

/// Releases held announces when they are due, until `shutdown`.
pub async fn run_releases(announcer: Announcer, mut shutdown: Shutdown) {
    let wake: Arc<Notify> = Arc::clone(&announcer.held);
    loop {
        let wait = match release_and_plan(&announcer).await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::warn!(error = %e, "cannot release held announces; trying again");
                RETRY
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// Releases what is due and answers how long until the next hold ends.
async fn release_and_plan(announcer: &Announcer) -> Result<Duration, crate::store::StoreError> {
    announcer.release_due().await?;
    // Another replica's holds wake nobody here, and if it dies they are this one's to release.
    let longest = if announcer.store.is_shared() {
        SHARED_IDLE
    } else {
        IDLE
    };
    let Some(next) = announcer.store.next_release().await? else {
        return Ok(longest);
    };
    let left = next.duration_since(Timestamp::now());
    Ok(Duration::try_from(left)
        .unwrap_or(Duration::ZERO)
        .min(longest))
}
