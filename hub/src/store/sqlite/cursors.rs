//! Relay cursors in SQL: `relay_cursors` holds one row per relay name, raised by an upsert that
//! only ever moves it forward and only to a seq present in the log, and whether the relay acks.

use std::collections::HashMap;

use jiff::Timestamp;
use ntr_protocol::Seq;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Sqlite, time, to_ms};
use crate::store::{StoreError, StoredCursor};

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
    pub async fn relay_cursors(&self) -> Result<HashMap<String, StoredCursor>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare("SELECT name, seq, acking FROM relay_cursors")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get(2)?))
            })?;
            let mut out = HashMap::new();
            for row in rows {
                let (name, seq, acking) = row?;
                let seq = Seq::try_from(seq)
                    .map_err(|_| StoreError::OutOfRange(format!("cursor of {name}: {seq}")))?;
                out.insert(name, StoredCursor { seq, acking });
            }
            Ok(out)
        })
        .await
    }

    /// Creates `name`'s cursor at the newest seq (0 before the first announce) unless it has
    /// one, and answers it.
    pub async fn start_relay_cursor(&self, name: String) -> Result<Seq, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO relay_cursors (name, seq, updated_at)
                 SELECT ?1, COALESCE(MAX(seq), 0), ?2 FROM announcements WHERE true
                 ON CONFLICT(name) DO NOTHING",
                params![name, to_ms(Timestamp::now())],
            )?;
            let seq: i64 = tx.query_row(
                "SELECT seq FROM relay_cursors WHERE name = ?1",
                [&name],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Seq::try_from(seq)
                .map_err(|_| StoreError::OutOfRange(format!("cursor of {name}: {seq}")))
        })
        .await
    }

    /// Marks `name` as a relay that acks (with a cursor at the newest seq if it had none).
    pub async fn mark_relay_acking(&self, name: String) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO relay_cursors (name, seq, updated_at, acking)
                 SELECT ?1, COALESCE(MAX(seq), 0), ?2, 1 FROM announcements WHERE true
                 ON CONFLICT(name) DO UPDATE SET acking = 1",
                params![name, to_ms(Timestamp::now())],
            )?;
            Ok(())
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
