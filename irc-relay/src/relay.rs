//! Wiring: starts the hub task and the IRC task with the channels between them, and stops
//! them on the shutdown signal.
//!
//! The two tasks reconnect independently: the hub task feeds announces into the IRC task,
//! which queues them while IRC is down and sends acks back once a line is posted.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::hub::HubTask;
use crate::irc::IrcTask;
use crate::shutdown::{self, ShutdownTrigger};

/// A snapshot of what the relay is doing, for logs, health checks and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Subscribed to the hub's WebSocket right now.
    pub hub_connected: bool,
    /// The highest announce sequence number seen.
    pub last_seq: Option<u64>,
    /// Registered on the IRC server right now.
    pub irc_registered: bool,
    /// The nickname the server gave us (may be an alternative).
    pub nickname: Option<String>,
    /// Channels joined on the current connection.
    pub joined: Vec<String>,
    /// PRIVMSG lines sent since start (announces and replies).
    pub lines_sent: u64,
}

/// Entry point for embedding the relay (tests start it in-process).
pub struct Relay;

/// A running relay.
pub struct RelayHandle {
    trigger: ShutdownTrigger,
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
        let status_tx = Arc::new(status_tx);
        let (announce_tx, announce_rx) = mpsc::channel(256);
        let (ack_tx, ack_rx) = mpsc::channel(256);
        let hub = HubTask {
            config: Arc::clone(&config),
            announces: announce_tx,
            acks: ack_rx,
            status: Arc::clone(&status_tx),
            shutdown: shutdown.clone(),
        };
        let irc = IrcTask {
            config,
            announces: announce_rx,
            acks: ack_tx,
            status: status_tx,
            shutdown,
        };
        RelayHandle {
            trigger,
            status: status_rx,
            tasks: vec![tokio::spawn(hub.run()), tokio::spawn(irc.run())],
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

    /// Stops the relay: QUIT on IRC, close frame to the hub, then waits for both tasks.
    pub async fn shutdown(self) {
        self.trigger.trigger();
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "relay task failed");
            }
        }
    }
}

/// rustls needs one process-wide crypto provider; install aws-lc-rs (the one every TLS crate
/// in this build uses) unless someone already installed one.
fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
