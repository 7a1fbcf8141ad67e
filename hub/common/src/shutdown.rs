//! The stop signal handed explicitly to every long-running task, as in mini-redis: one
//! [`Trigger`] owned by whoever decides to stop (the binary's signal handler, a test's handle),
//! and a cheap clonable [`Shutdown`] per task, awaited in a `select!` or checked between steps.
//! Firing the trigger once wakes every holder; dropping it counts as firing.

use std::future::Future;

use tokio::sync::watch;

/// Sends the stop signal.
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

/// Listens for the stop signal.
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
    /// Whether the stop signal has been sent (or its trigger dropped).
    pub fn is_shutdown(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Completes once the stop signal has been sent (at once if it already was).
    pub async fn wait(&mut self) {
        // An error means the trigger is gone, which is as final as firing it.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Which operating-system signal asked the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Terminate,
    Interrupt,
}

/// Installs the SIGTERM and SIGINT handlers now (so a signal that arrives before the future is
/// first polled is not lost) and returns a future that completes on the first of them.
///
/// Call it inside a tokio runtime. Fails only if the handlers cannot be installed.
pub fn os_signal() -> std::io::Result<impl Future<Output = Signal>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let signal = tokio::select! {
            _ = term.recv() => Signal::Terminate,
            _ = int.recv() => Signal::Interrupt,
        };
        tracing::info!(?signal, "shutting down");
        signal
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn firing_wakes_every_holder() {
        let (trigger, shutdown) = channel();
        let mut a = shutdown.clone();
        let mut b = shutdown;
        assert!(!a.is_shutdown());
        trigger.fire();
        a.wait().await;
        b.wait().await;
        assert!(a.is_shutdown() && b.is_shutdown());
    }

    #[tokio::test]
    async fn dropping_the_trigger_counts_as_firing() {
        let (trigger, mut shutdown) = channel();
        drop(trigger);
        assert!(shutdown.is_shutdown());
        shutdown.wait().await;
    }

    #[tokio::test]
    async fn sigterm_completes_the_signal_future() {
        let signal = os_signal().expect("handlers");
        // SAFETY: raise only sends a signal to this process, whose handler is installed above.
        let rc = unsafe { libc::raise(libc::SIGTERM) };
        assert_eq!(rc, 0);
        assert_eq!(signal.await, Signal::Terminate);
    }
}
