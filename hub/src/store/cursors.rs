//! Relay cursors: per relay name, the highest seq it has taken delivery of, and whether it has
//! ever acked or reported its state (from then on only its acks move the cursor). A cursor only
//! ever moves forward, and only to a seq this log issued (or 0, for a relay that first connected
//! before any announce).

use std::collections::HashMap;

use jiff::Timestamp;
use ntr_protocol::Seq;

use super::{Backend, Store, StoreError};

/// What is stored for one relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredCursor {
    pub seq: Seq,
    /// The relay has acked or sent a `relay_status` at least once.
    pub acking: bool,
}

impl Store {
    /// Every stored cursor, by relay name.
    pub async fn relay_cursors(&self) -> Result<HashMap<String, StoredCursor>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.relay_cursors().await,
            Backend::Postgres(db) => db.relay_cursors().await,
        }
    }

    /// A relay connected: gives it a cursor at the newest seq if it has none yet (committed
    /// before this returns) and answers its cursor.
    pub async fn start_relay_cursor(&self, name: String) -> Result<Seq, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.start_relay_cursor(name).await,
            Backend::Postgres(db) => db.start_relay_cursor(name).await,
        }
    }

    /// Remembers that a relay acks: from now on only its acks move its cursor.
    pub async fn mark_relay_acking(&self, name: String) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.mark_relay_acking(name).await,
            Backend::Postgres(db) => db.mark_relay_acking(name).await,
        }
    }

    /// A relay acked `seq`: raises its cursor (committed before this returns, so a crash right
    /// after loses nothing) and answers when `seq` was announced (`None` for a seq never issued).
    pub async fn relay_acked(
        &self,
        name: String,
        seq: Seq,
    ) -> Result<Option<Timestamp>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.relay_acked(name, seq).await,
            Backend::Postgres(db) => db.relay_acked(name, seq).await,
        }
    }

    /// Raises several cursors at once, all or nothing (the coalesced "written to its socket"
    /// cursors of subscribers that never ack).
    pub async fn raise_relay_cursors(&self, cursors: Vec<(String, Seq)>) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.raise_relay_cursors(cursors).await,
            Backend::Postgres(db) => db.raise_relay_cursors(cursors).await,
        }
    }
}
