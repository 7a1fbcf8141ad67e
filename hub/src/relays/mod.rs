//! Named relays: who is connected as which relay, what each last reported about its IRC side,
//! its last ack, and its **cursor** — the highest seq it has taken delivery of, kept in the
//! database so that a relay (or an old bot plugin) that connects again without `?since=`
//! resumes where it was instead of silently skipping what was announced while it was away.
//!
//! A relay without a cursor gets one at the newest seq when it first connects, however short
//! that connection: what is announced after a relay's first connection is never lost. From
//! then on, the cursor moves on one of two kinds of evidence, by what the database remembers
//! of the relay:
//! - A relay that has ever acked or sent a `relay_status` moves it by acks only: the relay
//!   posted the line. An ack counts only for a seq written to that socket, and is committed
//!   before the next frame from that socket is read, so a kill -9 of the relay (or the hub)
//!   right after loses nothing. Its other sockets that never ack (a listener on its token)
//!   move nothing: their lines were not posted.
//! - A relay that never has (the old Sopel/Limnoria plugins) moves it by what is written to
//!   its sockets, from its first connection on. Writes are on the fan-out's hot path, so they
//!   only raise the relay's running maximum (an atomic); [`Relays::flush`] (every 100 ms and
//!   at shutdown) commits it. A kill -9 of the hub can therefore lose the last ≤ 100 ms of
//!   written cursors: the plugin then gets those lines once more, never fewer.
//!
//! A relay given only some shows (`shows = [...]`) is not sent the other shows' lines, yet its
//! cursor passes them: a never-acking relay's as if they had been written, an acking relay's
//! once everything written to that socket before them has been acked. Otherwise a relay whose
//! last lines were another show's would get them offered again on every reconnect.
//!
//! A flush costs the same with one socket or 10,000: it reads each relay's running maximum,
//! never every socket. Walking 10,000 sockets took 5–8 ms of the hub's only core every 100 ms,
//! and an announce arriving then waited for it.

mod flush;
pub mod frames;
pub mod metrics;
mod name;
mod view;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use ntr_protocol::{LastAck, RelayInfo, RelayStatus, RelayStatusView, Seq};
use tokio::sync::Notify;

pub use flush::run_flusher;
pub use name::RelayName;
pub use view::delivering;

use crate::log_throttle::{LogThrottle, Verdict};
use crate::show_filter::ShowFilter;

use crate::store::{Store, StoreError};

/// A refused first-message login is logged about once a minute per address.
const REFUSALS_QUIET: Duration = Duration::from_secs(60);

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
    /// This replica's name, shown with the relays connected to it.
    replica: Arc<str>,
    /// The relays connected to the station's other replicas, as those last said.
    elsewhere: Mutex<Vec<RelayInfo>>,
    /// Woken whenever what `/admin/relays` answers may have changed.
    changed: Notify,
    next_id: AtomicU64,
    /// Refused first-message logins, for logging each address about once a minute.
    refusals: LogThrottle<IpAddr>,
}

/// One relay name's state.
struct Entry {
    name: RelayName,
    /// The best known cursor (never behind `persisted`).
    cursor: Option<Seq>,
    /// What the database holds.
    persisted: Option<Seq>,
    /// By id, which grows with every connection: the last one is the newest.
    connections: BTreeMap<u64, Connection>,
    /// Whose lines it gets.
    shows: ShowFilter,
    /// What the socket tasks update without taking the registry lock.
    shared: Arc<RelayShared>,
    status: Option<RelayStatusView>,
    last_ack: Option<LastAck>,
}

/// One open socket of a relay.
struct Connection {
    since: Timestamp,
    address: IpAddr,
}

/// A relay's state that its sockets update on the fan-out path.
#[derive(Default)]
struct RelayShared {
    /// The relay has acked or reported at least once (as the database remembers): only acks
    /// move its cursor.
    acking: AtomicBool,
    /// The highest seq written to any of its sockets while it was not acking (0: none).
    written: AtomicU64,
    /// The highest seq it acked since the hub started (0: none).
    acked: AtomicU64,
    /// The highest seq of another show it was not sent, once everything sent before it was
    /// acked: an acking relay's cursor may pass it (0: none).
    skipped: AtomicU64,
}

/// The seqs written to one socket: from `first` to `last` (0: none yet). A socket gets the
/// replay and then the live stream in order, so this range is what it was sent.
#[derive(Default)]
struct Written {
    first: AtomicU64,
    last: AtomicU64,
}

impl Written {
    fn note(&self, seq: u64) {
        if self.first.load(Ordering::Relaxed) == 0 {
            self.first.store(seq, Ordering::Relaxed);
        }
        self.last.fetch_max(seq, Ordering::Relaxed);
    }

    fn contains(&self, seq: Seq) -> bool {
        let first = self.first.load(Ordering::Relaxed);
        first > 0 && (first..=self.last.load(Ordering::Relaxed)).contains(&seq.get())
    }
}

impl Entry {
    fn raise(&mut self, seq: Seq) -> bool {
        if self.cursor.is_some_and(|c| c >= seq) {
            return false;
        }
        self.cursor = Some(seq);
        true
    }

    /// `seq` is in the database: raises the cursor and what is known to be saved.
    fn saved(&mut self, seq: Seq) {
        self.raise(seq);
        self.persisted = self.persisted.max(Some(seq));
    }
}

impl Relays {
    /// The registry for `names`, with the cursors stored for them; a relay in `shows` gets only
    /// those shows' lines, the others every line.
    pub async fn load(
        names: Vec<RelayName>,
        shows: &BTreeMap<RelayName, ShowFilter>,
        store: &Store,
        replica: &str,
    ) -> Result<Relays, StoreError> {
        let stored = store.relay_cursors().await?;
        let entries = names
            .into_iter()
            .map(|name| {
                let found = stored.get(name.as_str());
                let shared = RelayShared {
                    acking: AtomicBool::new(found.is_some_and(|c| c.acking)),
                    ..RelayShared::default()
                };
                Entry {
                    shows: shows.get(&name).cloned().unwrap_or_default(),
                    name,
                    cursor: found.map(|c| c.seq),
                    persisted: found.map(|c| c.seq),
                    connections: BTreeMap::new(),
                    shared: Arc::new(shared),
                    status: None,
                    last_ack: None,
                }
            })
            .collect();
        Ok(Relays {
            inner: Arc::new(Inner {
                entries: Mutex::new(entries),
                replica: replica.into(),
                elsewhere: Mutex::default(),
                changed: Notify::new(),
                next_id: AtomicU64::new(1),
                refusals: LogThrottle::new(REFUSALS_QUIET),
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
        let mut entries = self.entries();
        let index = entries.iter().position(|e| &e.name == name)?;
        let entry = &mut entries[index];
        let since = Timestamp::now();
        entry.connections.insert(id, Connection { since, address });
        let relay = Arc::clone(&entry.shared);
        let shows = entry.shows.clone();
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
            written: Written::default(),
            relay,
            shows,
        })
    }

    /// A first-message login from `address` was refused: log it, or only count it?
    pub fn refused(&self, address: IpAddr) -> Verdict {
        self.inner.refusals.failure(address)
    }

    /// Every configured relay, connected or not, as `/admin/relays` and `relays` frames show it:
    /// connected here, else connected to another replica of the station, else as last known.
    pub fn infos(&self) -> Vec<RelayInfo> {
        let elsewhere = self
            .inner
            .elsewhere
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.entries()
            .iter()
            .map(|entry| {
                let here = view::info(entry, &self.inner.replica);
                match elsewhere.iter().find(|r| r.name == here.name) {
                    Some(there) if !here.connected => there.clone(),
                    _ => here,
                }
            })
            .collect()
    }

    /// The relays connected to this replica, for the others to show.
    pub fn connected_here(&self) -> Vec<RelayInfo> {
        self.entries()
            .iter()
            .filter(|e| !e.connections.is_empty())
            .map(|e| view::info(e, &self.inner.replica))
            .collect()
    }

    /// What the other replicas said of the relays connected to them.
    pub fn set_elsewhere(&self, relays: Vec<RelayInfo>) {
        let mut elsewhere = self
            .inner
            .elsewhere
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *elsewhere != relays {
            *elsewhere = relays;
            drop(elsewhere);
            self.changed();
        }
    }

    /// Waits until the relays' state may have changed.
    async fn wait_changed(&self) {
        self.inner.changed.notified().await;
    }

    /// Folds what was written to the relays that do not ack into their cursors and commits the
    /// ones that moved, in one transaction.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let moved: Vec<(String, Seq)> = {
            let mut entries = self.entries();
            let mut moved = Vec::new();
            for entry in entries.iter_mut() {
                // Read after `acking`: a relay that has just started to ack keeps the cursor its
                // acks give it (lines written meanwhile come again rather than go missing).
                let acking = entry.shared.acking.load(Ordering::Acquire);
                let written = entry.shared.written.load(Ordering::Acquire);
                if !acking && written > 0 {
                    entry.raise(Seq::new(written));
                }
                let skipped = entry.shared.skipped.load(Ordering::Acquire);
                if acking && skipped > 0 {
                    entry.raise(Seq::new(skipped));
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

    /// `name`'s cursor, created at the newest seq (and committed) if it has none yet. The
    /// upgrade handler calls it before answering 101 to a relay that authenticated on the
    /// request: a line announced once the relay sees its socket open is then after the cursor,
    /// never swallowed by it.
    pub async fn start_cursor(
        &self,
        name: &RelayName,
        store: &Store,
    ) -> Result<Option<Seq>, StoreError> {
        let found = {
            let entries = self.entries();
            entries
                .iter()
                .position(|e| &e.name == name)
                .map(|i| (i, entries[i].cursor))
        };
        let Some((index, mut cursor)) = found else {
            return Ok(None);
        };
        if store.is_shared() {
            // Another replica may have moved it since (the relay was connected there).
            let stored = store.relay_cursors().await?;
            if let Some(there) = stored.get(name.as_str()) {
                cursor = cursor.max(Some(there.seq));
                self.with_entry(index, |entry| entry.saved(there.seq));
            }
        }
        if cursor.is_some() {
            return Ok(cursor);
        }
        let seq = store.start_relay_cursor(name.to_string()).await?;
        Ok(self.with_entry(index, |entry| {
            entry.saved(seq);
            entry.cursor.unwrap_or(seq)
        }))
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
    /// What was written (or is being written) to this socket.
    written: Written,
    /// The relay's [`RelayShared`].
    relay: Arc<RelayShared>,
    /// Whose lines the relay gets.
    shows: ShowFilter,
}

impl RelayConnection {
    pub fn name(&self) -> &RelayName {
        &self.name
    }

    /// Where a connection without `?since=` resumes: the relay's cursor, created at the newest
    /// seq (and committed) if the relay has none yet. Call it before subscribing to the
    /// broadcast, so that every line announced after it is either replayed or sent live.
    pub async fn resume_point(&self, store: &Store) -> Result<Seq, StoreError> {
        let cursor = self.relays.start_cursor(&self.name, store).await?;
        Ok(cursor.unwrap_or(Seq::ZERO))
    }

    /// `seq` is about to be written to the socket: from now on an ack of it counts (a fast
    /// relay may ack before the writing task runs again). On the fan-out path: atomics only.
    pub fn sending(&self, seq: Seq) {
        self.written.note(seq.get());
    }

    /// `seq` was written to the socket. On the fan-out path: atomics, no lock.
    pub fn written(&self, seq: Seq) {
        let seq = seq.get();
        if !self.relay.acking.load(Ordering::Acquire)
            // Read first: 10,000 sockets writing the same seq then share the line read-only.
            && self.relay.written.load(Ordering::Relaxed) < seq
        {
            self.relay.written.fetch_max(seq, Ordering::AcqRel);
        }
    }

    /// Whose lines the relay gets.
    pub fn shows(&self) -> &ShowFilter {
        &self.shows
    }

    /// `seq`, another show's line, was not sent to this socket: the cursor may pass it (see the
    /// module's notes). On the fan-out path: atomics, no lock.
    pub fn skipped(&self, seq: Seq) {
        if !self.relay.acking.load(Ordering::Acquire) {
            return self.written(seq);
        }
        let last_sent = self.written.last.load(Ordering::Relaxed);
        if last_sent <= self.relay.acked.load(Ordering::Acquire) {
            self.relay.skipped.fetch_max(seq.get(), Ordering::AcqRel);
        }
    }

    /// The relay acked `seq` at `target`. An ack counts only for a seq written to this socket:
    /// then the relay counts as one that acks from now on, its cursor moves (committed before
    /// this returns), the dashboard learns the ack and its lag, and `true` is returned.
    pub async fn acked(&self, store: &Store, seq: Seq, target: &str) -> Result<bool, StoreError> {
        if !self.written.contains(seq) {
            return Ok(false);
        }
        self.reports(store).await?;
        let Some(announced_at) = store.relay_acked(self.name.to_string(), seq).await? else {
            return Ok(false); // no longer in this hub's log
        };
        self.relay.acked.fetch_max(seq.get(), Ordering::AcqRel);
        let at = Timestamp::now();
        let lag_ms = at.duration_since(announced_at).as_millis().max(0) as u64;
        self.relays.with_entry(self.index, |entry| {
            entry.saved(seq);
            entry.last_ack = Some(LastAck {
                seq,
                target: target.to_owned(),
                at,
                lag_ms,
            });
        });
        Ok(true)
    }

    /// The relay reported its state: it counts as one that acks from now on.
    pub async fn status(&self, store: &Store, status: RelayStatus) -> Result<(), StoreError> {
        let view = view::status_view(status, Timestamp::now());
        self.relays
            .with_entry(self.index, |entry| entry.status = Some(view));
        self.reports(store).await
    }

    /// Marks the relay as one that acks, in memory at once and then in the database.
    async fn reports(&self, store: &Store) -> Result<(), StoreError> {
        if self.relay.acking.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        store.mark_relay_acking(self.name.to_string()).await
    }
}

impl Drop for RelayConnection {
    fn drop(&mut self) {
        // What it was written is in the relay's running maximum already: the next flush, within
        // 100 ms, commits it.
        self.relays.with_entry(self.index, |entry| {
            entry.connections.remove(&self.id);
        });
    }
}

#[cfg(test)]
mod tests;
