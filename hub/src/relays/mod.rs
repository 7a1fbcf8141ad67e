//! Named relays: who is connected as which relay, what each last reported about its IRC side,
//! its last ack, and its **cursor** — the highest seq it has taken delivery of, kept in SQLite
//! so that a relay (or an old bot plugin) that connects again without `?since=` resumes where
//! it was instead of silently skipping what was announced while it was away.
//!
//! A cursor moves on two kinds of evidence:
//! - an ack: the relay posted the line. Committed to SQLite before the next frame from that
//!   socket is read, so a kill -9 of the relay (or the hub) right after loses nothing.
//! - a write, for subscribers that never ack (the old Sopel/Limnoria plugins): the highest seq
//!   written to the socket. Writes are on the fan-out's hot path, so they only raise atomics
//!   (the socket's own, and once it counts as never-acking, its relay's);
//!   [`Relays::flush`] (every 100 ms, on disconnect and at shutdown) commits them. A kill -9 of
//!   the hub can therefore lose the last ≤ 100 ms of written cursors: the plugin then gets those
//!   lines once more, never fewer. A connection counts as one that never acks once it has been
//!   open [`CLASSIFY_AFTER`] without sending an ack or a `relay_status`: a new relay sends its
//!   status at once, and its unposted lines must not count as delivered in the meantime.
//!
//! A flush costs the same with one socket or 10,000: it reads each relay's running maximum and
//! looks only at the sockets that have just come of age (a queue in connection order), never
//! at every socket. Walking 10,000 sockets took 5–8 ms of the hub's only core every 100 ms,
//! and an announce arriving then waited for it.

mod flush;
pub mod frames;
pub mod metrics;
mod name;
mod view;

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ntr_protocol::{LastAck, RelayInfo, RelayStatus, RelayStatusView, Seq};
use tokio::sync::Notify;

pub use flush::run_flusher;
pub use name::RelayName;
pub use view::delivering;

use crate::log_throttle::{LogThrottle, Verdict};

use crate::store::{Store, StoreError};

/// A refused first-message login is logged about once a minute per address.
const REFUSALS_QUIET: Duration = Duration::from_secs(60);

/// How long a connection may stay silent before its writes count as deliveries.
pub const CLASSIFY_AFTER: Duration = Duration::from_secs(2);

/// A configured relay: its name and its subscribe-only token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    pub name: RelayName,
    pub token: String,
}

/// The registry of configured relays; cheap to clone.
#[derive(Clone)]
pub struct Relays {
    inner: Arc<Inner>,
}

struct Inner {
    /// In configuration order: the dashboard lists them so.
    entries: Mutex<Vec<Entry>>,
    /// Woken whenever what `/admin/relays` answers may have changed.
    changed: Notify,
    next_id: AtomicU64,
    /// Refused first-message logins, for logging each address about once a minute.
    refusals: LogThrottle<IpAddr>,
    /// [`CLASSIFY_AFTER`], shorter in tests.
    classify_after: Duration,
}

/// One relay name's state.
struct Entry {
    name: RelayName,
    /// The best known cursor (never behind `persisted`).
    cursor: Option<Seq>,
    /// What SQLite holds.
    persisted: Option<Seq>,
    /// By id, which grows with every connection: the last one is the newest.
    connections: BTreeMap<u64, Connection>,
    /// Ids of connections not yet [`CLASSIFY_AFTER`] old at the last flush, oldest first.
    young: VecDeque<u64>,
    /// The highest seq written to any of this relay's never-acking connections (0: none),
    /// raised by the socket tasks themselves.
    silent_written: Arc<AtomicU64>,
    status: Option<RelayStatusView>,
    last_ack: Option<LastAck>,
}

/// One open socket of a relay.
struct Connection {
    since: Timestamp,
    address: IpAddr,
    opened: Instant,
    shared: Arc<Shared>,
}

/// What the socket task updates without taking the registry lock.
#[derive(Default)]
struct Shared {
    /// The highest seq written to the socket (0: none yet).
    written: AtomicU64,
    /// Set once the peer sent an ack or a `relay_status`: only acks move its cursor then.
    acking: AtomicBool,
    /// Set by the flush once the connection is [`CLASSIFY_AFTER`] old; from then on, its
    /// writes while silent raise the relay's `silent_written` directly.
    classified: AtomicBool,
}

impl Connection {
    /// The seq this connection's writes vouch for, if it is one that never acks (and is old
    /// enough to tell).
    fn written_cursor(&self, classify_after: Duration) -> Option<Seq> {
        if self.opened.elapsed() < classify_after || self.shared.acking.load(Ordering::Acquire) {
            return None;
        }
        // SeqCst pairs with `RelayConnection::written`: a write racing the classification is
        // seen either here or by the writer, which then raises the relay's maximum itself.
        let written = self.shared.written.load(Ordering::SeqCst);
        (written > 0).then_some(Seq::new(written))
    }
}

impl Entry {
    /// Classifies the connections that have come of age since the last flush, folding in
    /// what the silent ones wrote while they were young.
    fn classify(&mut self, classify_after: Duration) {
        while let Some(&id) = self.young.front() {
            if let Some(conn) = self.connections.get(&id) {
                if conn.opened.elapsed() < classify_after {
                    break; // the rest are younger still
                }
                conn.shared.classified.store(true, Ordering::SeqCst);
                if let Some(seq) = conn.written_cursor(classify_after) {
                    self.silent_written.fetch_max(seq.get(), Ordering::AcqRel);
                }
            }
            self.young.pop_front();
        }
    }

    fn raise(&mut self, seq: Seq) -> bool {
        if self.cursor.is_some_and(|c| c >= seq) {
            return false;
        }
        self.cursor = Some(seq);
        true
    }
}

impl Relays {
    /// The registry for `names`, with the cursors stored for them.
    pub async fn load(names: Vec<RelayName>, store: &Store) -> Result<Relays, StoreError> {
        Self::load_with(names, store, CLASSIFY_AFTER).await
    }

    async fn load_with(
        names: Vec<RelayName>,
        store: &Store,
        classify_after: Duration,
    ) -> Result<Relays, StoreError> {
        let stored = store.relay_cursors().await?;
        let entries = names
            .into_iter()
            .map(|name| {
                let cursor = stored.get(name.as_str()).copied();
                Entry {
                    name,
                    cursor,
                    persisted: cursor,
                    connections: BTreeMap::new(),
                    young: VecDeque::new(),
                    silent_written: Arc::default(),
                    status: None,
                    last_ack: None,
                }
            })
            .collect();
        Ok(Relays {
            inner: Arc::new(Inner {
                entries: Mutex::new(entries),
                changed: Notify::new(),
                next_id: AtomicU64::new(1),
                refusals: LogThrottle::new(REFUSALS_QUIET),
                classify_after,
            }),
        })
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        // Every critical section only assigns plain fields, so a poisoned lock holds whole values.
        self.inner
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn changed(&self) {
        self.inner.changed.notify_one();
    }

    /// Registers a socket authenticated as `name`; it counts as connected until dropped.
    pub fn connect(&self, name: &RelayName, address: IpAddr) -> Option<RelayConnection> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(Shared::default());
        let mut entries = self.entries();
        let index = entries.iter().position(|e| &e.name == name)?;
        let entry = &mut entries[index];
        // Opened and queued under the lock, so `young` is in the order of `opened`.
        entry.connections.insert(
            id,
            Connection {
                since: Timestamp::now(),
                address,
                opened: Instant::now(),
                shared: Arc::clone(&shared),
            },
        );
        entry.young.push_back(id);
        let silent_written = Arc::clone(&entry.silent_written);
        // A new connection may be another program (an old plugin after a relay): what the
        // previous one reported no longer describes it.
        entry.status = None;
        drop(entries);
        self.changed();
        Some(RelayConnection {
            relays: self.clone(),
            name: name.clone(),
            index,
            id,
            shared,
            silent_written,
        })
    }

    /// A first-message login from `address` was refused: log it, or only count it?
    pub fn refused(&self, address: IpAddr) -> Verdict {
        self.inner.refusals.failure(address)
    }

    /// Every configured relay, connected or not, as `/admin/relays` and `relays` frames show it.
    pub fn infos(&self) -> Vec<RelayInfo> {
        self.entries().iter().map(view::info).collect()
    }

    /// Waits until the relays' state may have changed.
    async fn wait_changed(&self) {
        self.inner.changed.notified().await;
    }

    /// Folds the written cursors of never-acking connections into each relay's cursor and
    /// commits the ones that moved, in one transaction.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let classify_after = self.inner.classify_after;
        let moved: Vec<(String, Seq)> = {
            let mut entries = self.entries();
            let mut moved = Vec::new();
            for entry in entries.iter_mut() {
                entry.classify(classify_after);
                let written = entry.silent_written.load(Ordering::Acquire);
                if written > 0 {
                    entry.raise(Seq::new(written));
                }
                if let Some(cursor) = entry.cursor
                    && entry.persisted < Some(cursor)
                {
                    moved.push((entry.name.to_string(), cursor));
                }
            }
            moved
        };
        if moved.is_empty() {
            return Ok(());
        }
        store.raise_relay_cursors(moved.clone()).await?;
        let mut entries = self.entries();
        for (name, seq) in moved {
            if let Some(entry) = entries.iter_mut().find(|e| e.name.as_str() == name) {
                entry.persisted = entry.persisted.max(Some(seq));
            }
        }
        drop(entries);
        self.changed();
        Ok(())
    }

    fn with_entry<R>(&self, index: usize, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        let mut entries = self.entries();
        let result = entries.get_mut(index).map(f);
        drop(entries);
        self.changed();
        result
    }
}

/// A relay's open socket, held by the socket task; dropping it marks the socket gone.
pub struct RelayConnection {
    relays: Relays,
    name: RelayName,
    index: usize,
    id: u64,
    shared: Arc<Shared>,
    /// The relay's `silent_written`.
    silent_written: Arc<AtomicU64>,
}

impl RelayConnection {
    pub fn name(&self) -> &RelayName {
        &self.name
    }

    /// Where a connection without `?since=` resumes: the relay's cursor, if it has one.
    pub fn cursor(&self) -> Option<Seq> {
        self.relays.entries().get(self.index).and_then(|e| e.cursor)
    }

    /// `seq` was written to the socket. On the fan-out path: atomics, no lock.
    pub fn written(&self, seq: Seq) {
        let seq = seq.get();
        self.shared.written.fetch_max(seq, Ordering::SeqCst);
        if self.shared.classified.load(Ordering::SeqCst)
            && !self.shared.acking.load(Ordering::Acquire)
            // Read first: 10,000 sockets writing the same seq then share the line read-only.
            && self.silent_written.load(Ordering::Relaxed) < seq
        {
            self.silent_written.fetch_max(seq, Ordering::AcqRel);
        }
    }

    /// The relay acked `seq` at `target`: its cursor moves (committed before this returns) and
    /// the dashboard learns the ack and its lag.
    pub async fn acked(&self, store: &Store, seq: Seq, target: &str) -> Result<(), StoreError> {
        self.shared.acking.store(true, Ordering::Release);
        let Some(announced_at) = store.relay_acked(self.name.to_string(), seq).await? else {
            return Ok(()); // not a seq of this hub's log
        };
        let at = Timestamp::now();
        let lag_ms = at.duration_since(announced_at).as_millis().max(0) as u64;
        self.relays.with_entry(self.index, |entry| {
            entry.raise(seq);
            entry.persisted = entry.persisted.max(Some(seq));
            entry.last_ack = Some(LastAck {
                seq,
                target: target.to_owned(),
                at,
                lag_ms,
            });
        });
        Ok(())
    }

    /// The relay reported its state.
    pub fn status(&self, status: RelayStatus) {
        self.shared.acking.store(true, Ordering::Release);
        let view = view::status_view(status, Timestamp::now());
        self.relays
            .with_entry(self.index, |entry| entry.status = Some(view));
    }
}

impl Drop for RelayConnection {
    fn drop(&mut self) {
        let classify_after = self.relays.inner.classify_after;
        self.relays.with_entry(self.index, |entry| {
            if let Some(conn) = entry.connections.remove(&self.id)
                && let Some(seq) = conn.written_cursor(classify_after)
            {
                entry.raise(seq); // committed by the next flush, within 100 ms
            }
        });
    }
}

#[cfg(test)]
mod tests;
