//! The cursor flusher: commits the written cursors of never-acking subscribers at most every
//! [`FLUSH_INTERVAL`], so the fan-out never waits on SQLite.

use std::time::Duration;

use super::Relays;
use crate::store::Store;
use ntr_common::shutdown::Shutdown;

/// The longest a written cursor stays only in memory (what a hub kill -9 can cost).
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Flushes until shutdown, then once more (the application flushes again after the server
/// stopped, for sockets that closed late).
pub async fn run_flusher(relays: Relays, store: Store, mut shutdown: Shutdown) {
    let mut tick = tokio::time::interval(FLUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait() => break,
        }
        if let Err(e) = relays.flush(&store).await {
            tracing::warn!(error = %e, "cannot save relay cursors; retrying");
        }
    }
    if let Err(e) = relays.flush(&store).await {
        tracing::warn!(error = %e, "cannot save relay cursors at shutdown");
    }
}
