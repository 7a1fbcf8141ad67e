//! Whether this replica leads the station now: what runs once per station (the SoundCloud
//! poller, the deliveries to targets) waits on it before each step. The replica task keeps
//! the flag; a hub alone on its database leads from the start.

use tokio::sync::watch;

/// Whether this replica leads now; cheap to clone, one per singleton task.
#[derive(Clone)]
pub struct Leadership(watch::Receiver<bool>);

impl Leadership {
    /// Follows the flag a replica's task keeps.
    pub fn following(flag: watch::Receiver<bool>) -> Leadership {
        Leadership(flag)
    }

    /// Waits until this replica leads (at once if it does).
    pub async fn leading(&mut self) {
        // An error means the replica task is gone, which only happens at shutdown: waiting
        // for ever is right, the caller's shutdown branch ends it.
        if self.0.wait_for(|leads| *leads).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
