//! Fan-out of announce lines to every `/ws/announce` subscriber.
//!
//! One `tokio::sync::broadcast` channel carries each message, serialised once into shared bytes;
//! each subscriber's own task forwards from it to its socket. The announcer only queues the
//! frame for a publisher task — the POST answers before the fan-out has even started — and a
//! slow subscriber only
//! falls behind on its own: once it is more than [`QUEUE_LIMIT`] messages behind, its receiver
//! reports the lag and the socket is closed with 4008. Nobody else waits for it.
//!
//! Subscriber-count changes are coalesced into at most one `status` message per second, so
//! thousands of clients joining cost thousands of messages, not thousands squared. The count is
//! of relays and token subscribers only: a DJ looking at the dashboard is not a listener, and
//! "sent to 1 subscriber" must not mean "sent to your own browser".

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use ntr_protocol::{Seq, ServerMessage};
use tokio::sync::{broadcast, mpsc};

mod publisher;

use publisher::{Entry, Publish, Publisher};

use crate::store::{
    Announcement, Keyed, NewAnnouncement, NoticeFrame, RecordAs, Recorded, Store, StoreError,
};
use ntr_common::shutdown::Shutdown;

/// How many messages a subscriber may fall behind before it is dropped (the protocol allows 64 queued).
pub const QUEUE_LIMIT: usize = 64;
const STATUS_INTERVAL: Duration = Duration::from_secs(1);

/// One message on the wire, serialised once for everybody.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The announce seq, for de-duplicating against a replay; `None` for status and ack frames.
    pub seq: Option<Seq>,
    /// The announce's show; `None` for a station-wide line and for status and ack frames, which
    /// every subscriber gets. Shared, so that forwarding a frame never allocates.
    pub show: Option<Arc<str>>,
    pub text: Utf8Bytes,
}

#[derive(Clone)]
pub struct Broadcaster {
    inner: Arc<Inner>,
}

struct Inner {
    tx: broadcast::Sender<Frame>,
    /// Frames only dashboards (admin or session subscribers) want — acks, relay states, "show
    /// changed" — kept off the main channel, where they would cost one frame per relay each.
    dashboards: broadcast::Sender<Frame>,
    /// Log entries queue here for the publisher task, which passes them on in seq order:
    /// waking 10,000 receivers takes milliseconds, and the announcer should not wait for it.
    publish: mpsc::UnboundedSender<Publish>,
    /// Relays and token subscribers (not dashboard sessions).
    subscribers: AtomicUsize,
    /// The same, connected to the station's other replicas.
    elsewhere: AtomicUsize,
    /// Serialises "write to the log, then queue", so frames leave in seq order.
    announcing: tokio::sync::Mutex<()>,
}

impl Frame {
    /// An announce's frame.
    fn of(announcement: &Announcement) -> Frame {
        Frame {
            seq: Some(announcement.seq),
            show: announcement.show.as_deref().map(Arc::from),
            text: announcement.to_message().to_json().into(),
        }
    }
}

/// Who subscribes: decides whether it is counted and whether it gets dashboard frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriberKind {
    /// A relay or bot plugin (relay token): counted; announces and status only.
    Relay,
    /// A subscriber with the admin token: counted, and gets dashboard frames.
    AdminToken,
    /// A logged-in dashboard: dashboard frames, not counted.
    Dashboard,
}

impl SubscriberKind {
    fn counted(self) -> bool {
        self != SubscriberKind::Dashboard
    }
}

/// Counts a subscriber (unless it is a dashboard) for as long as it is held.
pub struct Subscription {
    pub rx: broadcast::Receiver<Frame>,
    /// Ack and relay-state frames, for subscribers that show them.
    pub dashboard: Option<broadcast::Receiver<Frame>>,
    counted: bool,
    inner: Arc<Inner>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.counted {
            self.inner.subscribers.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Broadcaster {
    /// Creates the broadcaster and spawns its publisher task (needs a tokio runtime), which
    /// publishes the log entries after `last` (the log's last seq at start) and ends when the
    /// last handle is dropped.
    pub fn start(store: Store, last: Seq) -> Broadcaster {
        // The channel's ring holds QUEUE_LIMIT frames: a receiver further behind than that
        // gets `Lagged`, which is exactly the "more than 64 queued" rule.
        let (tx, _) = broadcast::channel(QUEUE_LIMIT);
        let (dashboards, _) = broadcast::channel(QUEUE_LIMIT);
        let (publish, queue) = mpsc::unbounded_channel();
        tokio::spawn(Publisher::new(store, last, tx.clone()).run(queue));
        Broadcaster {
            inner: Arc::new(Inner {
                tx,
                dashboards,
                publish,
                subscribers: AtomicUsize::new(0),
                elsewhere: AtomicUsize::new(0),
                announcing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Relays and token subscribers connected now to the whole station (this replica and the
    /// others, as they last said); dashboards not counted.
    pub fn subscribers(&self) -> usize {
        self.local_subscribers() + self.inner.elsewhere.load(Ordering::Relaxed)
    }

    /// Relays and token subscribers connected to this replica.
    pub fn local_subscribers(&self) -> usize {
        self.inner.subscribers.load(Ordering::Relaxed)
    }

    /// The other replicas' subscribers, as their last presence notices said.
    pub fn set_elsewhere(&self, subscribers: usize) {
        self.inner.elsewhere.store(subscribers, Ordering::Relaxed);
    }

    pub fn subscribe(&self, kind: SubscriberKind) -> Subscription {
        let counted = kind.counted();
        if counted {
            self.inner.subscribers.fetch_add(1, Ordering::Relaxed);
        }
        Subscription {
            rx: self.inner.tx.subscribe(),
            dashboard: (kind != SubscriberKind::Relay).then(|| self.inner.dashboards.subscribe()),
            counted,
            inner: Arc::clone(&self.inner),
        }
    }

    /// The announce stream for public listeners (`/events`): the same frames as subscribers
    /// get, with the same lag rule, but not counted, since the count says how many bots
    /// carry a line.
    pub fn listen(&self) -> broadcast::Receiver<Frame> {
        self.inner.tx.subscribe()
    }

    /// Writes the announcement to the log (which issues its seq), then queues it for everyone.
    /// Returns before the subscribers have been woken, let alone written to.
    pub async fn announce(
        &self,
        store: &Store,
        new: NewAnnouncement,
    ) -> Result<Announcement, StoreError> {
        let _order = self.inner.announcing.lock().await;
        let announcement = store.record_announcement(new).await?;
        self.publish(&announcement);
        Ok(announcement)
    }

    /// Records `new` as `how` says and publishes what went into the log now (not a held
    /// line, not a log-only entry, not a key's earlier result).
    pub async fn record(
        &self,
        store: &Store,
        new: NewAnnouncement,
        how: RecordAs,
    ) -> Result<Keyed, StoreError> {
        let _order = self.inner.announcing.lock().await;
        let keyed = store.record(new, how).await?;
        if let Keyed::Recorded(Recorded::Announced(announcement)) = &keyed {
            self.publish(announcement);
        }
        Ok(keyed)
    }

    /// Releases held announce `id` into the log and publishes it; `None` when it is no
    /// longer held.
    pub async fn release(
        &self,
        store: &Store,
        id: i64,
    ) -> Result<Option<Announcement>, StoreError> {
        let _order = self.inner.announcing.lock().await;
        let released = store.release_held(id).await?;
        if let Some(announcement) = &released {
            self.publish(announcement);
        }
        Ok(released)
    }

    /// Queues a log entry this hub committed (a log-only one goes to nobody, but its seq
    /// still counts for the order).
    fn publish(&self, announcement: &Announcement) {
        let entry = if announcement.log_only {
            Entry::Silent
        } else {
            Entry::Frame(Frame::of(announcement))
        };
        // An error only means the publisher is gone: the runtime is shutting down.
        let _ = self
            .inner
            .publish
            .send(Publish::Entry(announcement.seq, entry));
    }

    /// Queues a log entry another replica committed, as its notification told it.
    pub fn heard(&self, seq: Seq, frame: Option<NoticeFrame>) {
        let entry = match frame {
            Some(f) => Entry::Frame(Frame {
                seq: Some(seq),
                show: f.show.as_deref().map(Arc::from),
                text: f.json.into(),
            }),
            None => Entry::Unread,
        };
        let _ = self.inner.publish.send(Publish::Entry(seq, entry));
    }

    /// Asks the publisher to read the log for anything it missed (the notifications of a
    /// lost connection to the database).
    pub fn catch_up(&self) {
        let _ = self.inner.publish.send(Publish::CatchUp);
    }

    /// Tells dashboards that an announce landed somewhere.
    pub fn ack(&self, seq: Seq, target: &str) {
        self.to_dashboards(&ServerMessage::Ack {
            seq,
            target: target.to_string(),
        });
    }

    /// Sends a frame to dashboards (admin and session subscribers) only.
    pub fn to_dashboards(&self, message: &ServerMessage) {
        // An error only means no dashboard is open.
        let _ = self.inner.dashboards.send(Frame {
            seq: None,
            show: None,
            text: message.to_json().into(),
        });
    }

    /// Tells dashboards that show `show_id`'s playlist changed, so they redraw it.
    pub fn show_changed(&self, show_id: i64) {
        self.to_dashboards(&ServerMessage::ShowChanged { show_id });
    }

    /// Passes the store's show changes (edits, polls) on as `show_changed` frames until
    /// shutdown.
    pub async fn run_show_changes(
        self,
        mut changes: broadcast::Receiver<i64>,
        mut shutdown: Shutdown,
    ) {
        loop {
            let change = tokio::select! {
                change = changes.recv() => change,
                _ = shutdown.wait() => return,
            };
            match change {
                Ok(show_id) => self.show_changed(show_id),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "show changes were dropped; open dashboards may be stale until their next change"
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Sends `{"type":"status"}` when the subscriber count has changed, at most once a second.
    pub async fn run_status(self, mut shutdown: Shutdown) {
        let mut last_sent = self.subscribers();
        let mut tick = tokio::time::interval(STATUS_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait() => return,
            }
            let now = self.subscribers();
            if now != last_sent {
                last_sent = now;
                let _ = self.inner.tx.send(Frame {
                    seq: None,
                    show: None,
                    text: status_message(now).to_json().into(),
                });
            }
        }
    }
}

pub fn status_message(subscribers: usize) -> ServerMessage {
    ServerMessage::Status { subscribers }
}
