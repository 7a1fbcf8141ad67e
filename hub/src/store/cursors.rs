//! Relay cursors: per relay name, the highest seq it has taken delivery of. A cursor only ever
//! moves forward, and only to a seq this log issued.

use std::collections::HashMap;

use jiff::Timestamp;
use ntr_protocol::Seq;

use super::{Backend, Store, StoreError};

impl Store {
    /// Every stored cursor, by relay name.
    pub async fn relay_cursors(&self) -> Result<HashMap<String, Seq>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.relay_cursors().await,
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
        }
    }

    /// Raises several cursors at once, all or nothing (the coalesced "written to its socket"
    /// cursors of subscribers that never ack).
    pub async fn raise_relay_cursors(&self, cursors: Vec<(String, Seq)>) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.raise_relay_cursors(cursors).await,
        }
    }
}
