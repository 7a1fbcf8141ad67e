//! Wiring: starts the hub side and the IRC side with the channels between them, each in its
//! own [`reconnect`](crate::reconnect) loop, and stops them on the shutdown signal.
//!
//! The two sides reconnect independently: the hub side feeds announces to the IRC side, which
//! queues them while IRC is down and sends acks back once a line is posted. What was posted is
//! also kept on disk (`posted`), and a relay started again resumes after it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ntr_common::backoff::Backoff;
use ntr_common::shutdown::{self, Trigger};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::hub::HubSide;
use crate::irc::IrcSide;
use crate::posted::{self, Posted};
use crate::reconnect;
use crate::resume::Resume;
use crate::status::Status;

/// Announces and acks that may wait between the two sides.
const HANDOFF_CAPACITY: usize = 256;

/// Entry point for embedding the relay (tests start it in-process).
pub struct Relay;

/// A running relay.
pub struct RelayHandle {
    trigger: Trigger,
    status: watch::Receiver<Status>,
    tasks: Vec<JoinHandle<()>>,
}

impl Relay {
    /// Spawns the relay on the current tokio runtime.
    pub fn start(config: Config) -> RelayHandle {
        install_crypto_provider();
        let config = Arc::new(config);
        let (trigger, shutdown) = shutdown::channel();
        let (status_tx, status_rx) = watch::channel(Status::default());
        let (post_tx, post_rx) = mpsc::channel(HANDOFF_CAPACITY);
        let (ack_tx, ack_rx) = mpsc::channel(HANDOFF_CAPACITY);
        let relay = &config.relay;
        let backoff = Backoff::new(relay.reconnect_initial, relay.reconnect_max);
        let posted = open_posted(&config);
        let resume = match posted.resume_point(&config.irc.all_channels()) {
            Some(mark) => {
                tracing::info!(seq = %mark.seq, "resuming after the last line posted before");
                Resume::after(mark)
            }
            None => Resume::default(),
        };
        let mut hub = HubSide::new(
            Arc::clone(&config),
            post_tx,
            ack_rx,
            resume,
            status_tx.clone(),
            shutdown.clone(),
        );
        let mut irc = IrcSide::new(
            Arc::clone(&config),
            post_rx,
            ack_tx,
            posted,
            status_tx,
            shutdown.clone(),
        );
        let (hub_backoff, hub_shutdown) = (backoff.clone(), shutdown.clone());
        let tasks = vec![
            tokio::spawn(async move { reconnect::run(&mut hub, hub_backoff, hub_shutdown).await }),
            tokio::spawn(async move { reconnect::run(&mut irc, backoff, shutdown).await }),
        ];
        RelayHandle {
            trigger,
            status: status_rx,
            tasks,
        }
    }
}

/// Runs the relay until `shutdown` completes, then quits IRC and closes the hub socket.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) {
    let handle = Relay::start(config);
    shutdown.await;
    handle.shutdown().await;
}

impl RelayHandle {
    /// The current status.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// Waits until `ready` holds for the status, or `timeout` passes; returns the last status
    /// and whether it matched.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        ready: impl FnMut(&Status) -> bool,
    ) -> Result<Status, Status> {
        let mut rx = self.status.clone();
        match tokio::time::timeout(timeout, rx.wait_for(ready)).await {
            Ok(Ok(status)) => Ok(status.clone()),
            _ => Err(self.status()),
        }
    }

    /// Waits until the relay is subscribed to the hub and has joined every configured channel
    /// (`channels` is how many).
    pub async fn wait_ready(&self, channels: usize, timeout: Duration) -> Result<Status, Status> {
        self.wait_for(timeout, |s| {
            s.hub_connected && s.irc_registered && s.joined.len() >= channels
        })
        .await
    }

    /// Stops the relay: QUIT on IRC, close frame to the hub, then waits for both sides.
    pub async fn shutdown(self) {
        self.trigger.fire();
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "relay task failed");
            }
        }
    }
}

/// What earlier runs posted. The binary has already made sure `state_dir` can be written; an
/// embedded relay only warns when it cannot.
fn open_posted(config: &Config) -> Posted {
    if let Err(e) = posted::prepare(&config.relay.state_dir) {
        tracing::warn!(dir = %config.relay.state_dir.display(), error = %e,
            "cannot write to relay.state_dir; a restart may post some lines again");
    }
    Posted::open(config.state_file())
}

/// rustls needs one process-wide crypto provider; install aws-lc-rs (the one every TLS crate
/// in this build uses) unless someone already installed one.
fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
