//! The shutdown signal handed to every long-running task.
//!
//! As in mini-redis: one sender owned by whoever decides to stop (the binary's signal handler
//! or a test's `RelayHandle`), and a cheap clonable listener per task that can be awaited in a
//! `select!` or checked between steps.

use tokio::sync::watch;

/// Listens for the shutdown signal.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// Sends the shutdown signal; dropping it also counts as a shutdown.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }
}

impl Shutdown {
    pub fn is_shutdown(&self) -> bool {
        *self.rx.borrow()
    }

    /// Completes once shutdown has been requested (at once if it already was).
    pub async fn recv(&mut self) {
        // An error means the trigger was dropped, which also means stop.
        let _ = self.rx.wait_for(|stop| *stop).await;
    }
}
