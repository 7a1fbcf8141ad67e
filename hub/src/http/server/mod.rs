//! The hub's HTTP server: accepts connections under the caps in [`limits`], serves each with
//! hyper's HTTP/1 under the head and idle deadlines in [`deadline`], and on shutdown stops
//! accepting, lets requests in flight finish, and waits for their connections to close.
//!
//! `axum::serve` offers none of these limits (a client that sends half a request head holds its
//! connection for ever), hence this loop of our own. What it keeps from `axum::serve`:
//! `ConnectInfo<SocketAddr>` on every request, WebSocket upgrades, TCP_NODELAY.

pub mod deadline;
pub mod headers;
pub mod limits;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::log_throttle::{LogThrottle, Verdict};
use deadline::{Activity, HeadTimer, Timeouts, Watched};
use limits::{ConnectionLimits, ConnectionSlot};
use ntr_common::shutdown::Shutdown;

/// What the server needs besides its listener.
pub struct Server {
    pub router: Router,
    pub limits: Arc<ConnectionLimits>,
    pub timeouts: Timeouts,
}

/// A failed accept that is not about one connection (out of file descriptors, say) would fail
/// again at once; pausing keeps the loop from spinning on it.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

impl Server {
    /// Serves `listener` until `shutdown` fires, then drains the open connections.
    pub async fn run(self, listener: TcpListener, shutdown: Shutdown) {
        let tracker = TaskTracker::new();
        let refusals = LogThrottle::new(REFUSAL_LOG_INTERVAL);
        let mut stop = shutdown.clone();
        let stopped = stop.wait();
        tokio::pin!(stopped);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        if !is_connection_error(&e) {
                            tracing::error!(error = %e, "cannot accept a connection");
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                        }
                        continue;
                    }
                },
                _ = &mut stopped => break,
            };
            // Dropping the stream closes it: a refused client gets nothing to hold on to.
            let slot = match self.limits.admit(peer.ip()) {
                Ok(slot) => slot,
                Err(why) => {
                    if let Verdict::Log { unlogged_repeats } = refusals.failure(()) {
                        let refused = unlogged_repeats + 1;
                        tracing::warn!(reason = %why, refused, "refusing connections");
                    }
                    continue;
                }
            };
            let connection = Connection {
                peer,
                slot,
                router: self.router.clone(),
                timeouts: self.timeouts,
            };
            tracker.spawn(connection.serve(stream, shutdown.clone()));
        }
        drop(listener);
        tracker.close();
        tracker.wait().await;
    }
}

/// One accepted connection and what its requests need.
struct Connection {
    peer: SocketAddr,
    slot: ConnectionSlot,
    router: Router,
    timeouts: Timeouts,
}

impl Connection {
    async fn serve(self, stream: TcpStream, mut shutdown: Shutdown) {
        // Announce frames are small and latency is the point: without TCP_NODELAY, Nagle holds
        // a frame until the peer's delayed ACK (up to 40 ms) whenever one is still in flight.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let activity = Arc::new(Activity::default());
        let io = TokioIo::new(Watched::new(stream, Arc::clone(&activity)));
        let timer = HeadTimer::new(self.timeouts, Arc::clone(&activity));
        let Connection {
            peer,
            slot,
            router,
            timeouts,
        } = self;
        let request_slot = slot.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(request_slot.clone());
            router.clone().oneshot(req)
        });
        let mut builder = http1::Builder::new();
        builder.timer(timer).header_read_timeout(timeouts.head);
        let conn = builder.serve_connection(io, service).with_upgrades();
        tokio::pin!(conn);
        let result = tokio::select! {
            result = conn.as_mut() => result,
            _ = shutdown.wait() => {
                // Between requests, or mid-way through a head, there is nothing to finish:
                // waiting for the head deadline would only delay the stop.
                if activity.awaiting_head() {
                    return;
                }
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        // Timeouts, resets and malformed requests end here; none is the hub's fault.
        if let Err(e) = result {
            tracing::debug!(%peer, error = %e, "connection ended");
        }
        // An upgraded WebSocket may still hold a clone until it has authenticated.
        drop(slot);
    }
}

/// Refusals are logged at most every 10 s, with their count: a flood of connections must not
/// become a flood of log lines.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Errors that concern only the connection being accepted (it was reset before we took it).
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
