//! The one reconnect loop both sides of the relay run: connect and serve until the connection
//! ends, report it down, wait the [`Backoff`] delay, try again; stop on shutdown.
//!
//! While it waits, a side keeps taking in work that must not wait for the next connection
//! ([`Link::meanwhile`]): the IRC side queues announces so the hub side never blocks on it,
//! and the hub side keeps acks for the next socket.

use ntr_common::backoff::Backoff;
use ntr_common::shutdown::Shutdown;
use tokio::time::Instant;

/// Why a connection ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The relay is stopping; do not reconnect.
    Shutdown,
    /// Failed or lost, with a reason for the log; reconnect after a delay.
    Lost(String),
}

impl Ended {
    pub(crate) fn lost(reason: impl Into<String>) -> Ended {
        Ended::Lost(reason.into())
    }
}

/// One side of the relay: a connection to keep up.
pub(crate) trait Link {
    /// The peer, for logs ("the hub", "IRC").
    const PEER: &'static str;

    /// Connects and serves one connection until it ends; tells `backoff` once it is up.
    async fn connect_and_serve(&mut self, backoff: &mut Backoff) -> Ended;

    /// Reports the connection down (after every end, shutdown included), and why.
    fn disconnected(&mut self, end: &Ended);

    /// Takes in one piece of work while no connection is up; never completes if none comes.
    async fn meanwhile(&mut self);
}

/// Keeps `link` connected until `shutdown`.
pub(crate) async fn run<L: Link>(link: &mut L, mut backoff: Backoff, mut shutdown: Shutdown) {
    while !shutdown.is_shutdown() {
        let end = link.connect_and_serve(&mut backoff).await;
        link.disconnected(&end);
        match end {
            Ended::Shutdown => return,
            Ended::Lost(reason) => {
                tracing::warn!(peer = L::PEER, %reason, "connection failed or lost");
            }
        }
        let delay = backoff.next_delay();
        tracing::info!(peer = L::PEER, ?delay, "reconnecting");
        let wake = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = shutdown.wait() => return,
                _ = tokio::time::sleep_until(wake) => break,
                _ = link.meanwhile() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Fails `failures` times, then serves until shutdown; counts what the loop did.
    struct Flaky {
        failures: u32,
        attempts: u32,
        downs: u32,
        shutdown: Shutdown,
    }

    impl Link for Flaky {
        const PEER: &'static str = "test";

        async fn connect_and_serve(&mut self, backoff: &mut Backoff) -> Ended {
            self.attempts += 1;
            if self.attempts <= self.failures {
                return Ended::lost("refused");
            }
            backoff.connected();
            self.shutdown.wait().await;
            Ended::Shutdown
        }

        fn disconnected(&mut self, _: &Ended) {
            self.downs += 1;
        }

        async fn meanwhile(&mut self) {
            std::future::pending::<()>().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_after_each_failure_and_stops_on_shutdown() {
        let (trigger, shutdown) = ntr_common::shutdown::channel();
        let flaky = Flaky {
            failures: 3,
            attempts: 0,
            downs: 0,
            shutdown: shutdown.clone(),
        };
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(4));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut flaky = flaky;
            run(&mut flaky, backoff, shutdown).await;
            let _ = done_tx.send((flaky.attempts, flaky.downs));
        });
        // Three failures wait at most 1 + 2 + 4 s; the fourth attempt serves.
        tokio::time::sleep(Duration::from_secs(10)).await;
        trigger.fire();
        task.await.expect("loop task");
        assert_eq!(done_rx.await.expect("counts"), (4, 4));
    }
}
