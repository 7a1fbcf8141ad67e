//! The publisher: the one task that puts announce frames on the broadcast channel, in seq
//! order, each once.
//!
//! It hears of log entries from two sides: this hub's own announces (in the order they were
//! committed, since the announcer records and queues under one lock) and, on a shared
//! database, the other replicas' notifications. It remembers the last seq it has passed on;
//! an entry at or below it was published already (a replica hears its own notifications too),
//! and an entry further ahead than the next seq means something in between was missed (a
//! notification lost with a connection), so it reads the log from the last seq on before
//! going further. On a shared database it also reads the log once a second whatever it
//! heard, so a replica is never more than that behind. Seq order equals commit order in
//! every backend, which is what makes "everything after the last seq" a complete catch-up.

use std::time::Duration;

use ntr_protocol::Seq;
use tokio::sync::{broadcast, mpsc};

use super::Frame;
use crate::log_throttle::{LogThrottle, Verdict};
use crate::store::Store;

/// How often a replica reads the log for what it may have missed.
const CATCH_UP_EVERY: Duration = Duration::from_secs(1);
/// Log entries read per query while catching up.
const PAGE: u32 = 500;

/// A log entry the publisher hears of.
pub enum Entry {
    /// A broadcast line with its frame.
    Frame(Frame),
    /// A log-only entry: it takes a seq but goes to nobody.
    Silent,
    /// An entry whose frame did not come along: read it from the log.
    Unread,
}

pub enum Publish {
    Entry(Seq, Entry),
    /// Read the log for anything missed (after a lost connection to the database).
    CatchUp,
}

pub struct Publisher {
    store: Store,
    last: Seq,
    out: broadcast::Sender<Frame>,
    failures: LogThrottle<()>,
}

impl Publisher {
    /// A publisher that has passed on everything up to `last`.
    pub fn new(store: Store, last: Seq, out: broadcast::Sender<Frame>) -> Publisher {
        Publisher {
            store,
            last,
            out,
            failures: LogThrottle::new(Duration::from_secs(60)),
        }
    }

    /// Runs until every sender of `queue` is gone.
    pub async fn run(mut self, mut queue: mpsc::UnboundedReceiver<Publish>) {
        let mut tick = tokio::time::interval(CATCH_UP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = self.store.is_shared();
        loop {
            let next = tokio::select! {
                next = queue.recv() => next,
                _ = tick.tick(), if shared => Some(Publish::CatchUp),
            };
            match next {
                Some(Publish::Entry(seq, entry)) => self.entry(seq, entry).await,
                Some(Publish::CatchUp) => self.catch_up().await,
                None => return,
            }
        }
    }

    async fn entry(&mut self, seq: Seq, entry: Entry) {
        if seq <= self.last {
            return;
        }
        if seq.get() > self.last.get() + 1 || matches!(entry, Entry::Unread) {
            // The log has `seq` (it was committed before anyone heard of it) and whatever
            // came before it: reading it publishes all of them in order.
            self.catch_up().await;
            return;
        }
        if let Entry::Frame(frame) = entry {
            self.send(frame);
        }
        self.last = seq;
    }

    /// Publishes every log entry after the last seq passed on.
    async fn catch_up(&mut self) {
        loop {
            let entries = match self.store.log_after(self.last, PAGE).await {
                Ok(entries) => entries,
                Err(e) => {
                    // Tried again at the next entry or tick; nothing is skipped meanwhile.
                    if let Verdict::Log { unlogged_repeats } = self.failures.failure(()) {
                        tracing::warn!(error = %e, after = %self.last, unlogged_repeats, "cannot read the log to catch up; retrying");
                    }
                    return;
                }
            };
            let full = entries.len() == PAGE as usize;
            for announcement in entries {
                if !announcement.log_only {
                    self.send(Frame::of(&announcement));
                }
                self.last = announcement.seq;
            }
            if !full {
                return;
            }
        }
    }

    fn send(&self, frame: Frame) {
        // An error only means nobody is subscribed right now; the log has the line.
        let _ = self.out.send(frame);
    }
}
