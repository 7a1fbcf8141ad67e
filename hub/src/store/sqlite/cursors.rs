//! Relay cursors in SQL: `relay_cursors` holds one row per relay name, raised by an upsert that
//! only ever moves it forward and only to a seq present in the log.

use std::collections::HashMap;

use jiff::Timestamp;
use ntr_protocol::Seq;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Sqlite, time, to_ms};
use crate::store::StoreError;

/// Raises `name`'s cursor to `seq` if that is higher and `seq` was issued here.
fn raise(tx: &Transaction<'_>, name: &str, seq: Seq, now: Timestamp) -> Result<(), StoreError> {
    let seq = i64::try_from(seq).map_err(|_| StoreError::OutOfRange(format!("seq {seq}")))?;
    tx.execute(
        "INSERT INTO relay_cursors (name, seq, updated_at)
         SELECT ?1, seq, ?3 FROM announcements WHERE seq = ?2
         ON CONFLICT(name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
         WHERE excluded.seq > relay_cursors.seq",
        params![name, seq, to_ms(now)],
    )?;
    Ok(())
}

impl Sqlite {
    /// Every stored cursor, by relay name.
    pub async fn relay_cursors(&self) -> Result<HashMap<String, Seq>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare("SELECT name, seq FROM relay_cursors")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut out = HashMap::new();
            for row in rows {
                let (name, seq) = row?;
                let seq = Seq::try_from(seq)
                    .map_err(|_| StoreError::OutOfRange(format!("cursor of {name}: {seq}")))?;
                out.insert(name, seq);
            }
            Ok(out)
        })
        .await
    }

    /// A relay acked `seq`: raises its cursor (committed before this returns, so a crash right
    /// after loses nothing) and answers when `seq` was announced (`None` for a seq never issued).
    pub async fn relay_acked(
        &self,
        name: String,
        seq: Seq,
    ) -> Result<Option<Timestamp>, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let announced: Option<Timestamp> = tx
                .query_row(
                    "SELECT announced_at FROM announcements WHERE seq = ?1",
                    [seq.get()],
                    |r| time(r, 0),
                )
                .optional()?;
            if announced.is_some() {
                raise(&tx, &name, seq, Timestamp::now())?;
            }
            tx.commit()?;
            Ok(announced)
        })
        .await
    }

    /// Raises several cursors in one transaction (the coalesced "written to its socket" cursors
    /// of subscribers that never ack).
    pub async fn raise_relay_cursors(&self, cursors: Vec<(String, Seq)>) -> Result<(), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let now = Timestamp::now();
            for (name, seq) in &cursors {
                raise(&tx, name, *seq, now)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
