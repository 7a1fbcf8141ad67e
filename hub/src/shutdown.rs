//! The shutdown signal passed explicitly to every long-running task (mini-redis style): the
//! server, the poller and each WebSocket. Triggering it once wakes every holder.

use tokio::sync::watch;

/// Held by whoever decides to stop (main on SIGTERM/Ctrl-C, a test on drop).
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

/// Held by every task that must stop; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger(tx), Shutdown(rx))
}

impl Trigger {
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}

impl Shutdown {
    /// Resolves once shutdown has been triggered (or its trigger was dropped).
    pub async fn wait(&mut self) {
        // An error means the trigger is gone, which is as final as a trigger.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}
