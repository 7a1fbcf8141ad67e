//! Relay cursors in SQL: `relay_cursors` holds one row per relay name, raised by an upsert that
//! only ever moves it forward and only to a seq present in the log, and whether the relay acks.

use std::collections::HashMap;

use jiff::Timestamp;
use ntr_protocol::Seq;

use super::{Postgres, col, seq, seq_param, time, to_ms};
use crate::store::{StoreError, StoredCursor};

/// Raises `name`'s cursor to `seq` if that is higher and `seq` was issued here.
async fn raise(
    tx: &deadpool_postgres::Transaction<'_>,
    name: &str,
    seq: Seq,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO relay_cursors (name, seq, updated_at)
         SELECT $1, seq, $3 FROM announcements WHERE seq = $2
         ON CONFLICT(name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
         WHERE excluded.seq > relay_cursors.seq",
        &[&name, &seq_param(seq)?, &to_ms(now)],
    )
    .await?;
    Ok(())
}

/// Inserts `name`'s cursor at the newest seq (0 before the first announce) unless it has one;
/// `acking` marks a relay that acks, also on an existing row.
const START: &str = "INSERT INTO relay_cursors (name, seq, updated_at, acking)
     SELECT $1, COALESCE(MAX(seq), 0), $2, $3 FROM announcements";

impl Postgres {
    /// Every stored cursor, by relay name.
    pub async fn relay_cursors(&self) -> Result<HashMap<String, StoredCursor>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT name, seq, acking FROM relay_cursors", &[])
            .await?;
        let mut out = HashMap::new();
        for r in &rows {
            let cursor = StoredCursor {
                seq: seq(r, 1)?,
                acking: col(r, 2)?,
            };
            out.insert(col(r, 0)?, cursor);
        }
        Ok(out)
    }

    /// Creates `name`'s cursor at the newest seq (0 before the first announce) unless it has
    /// one, and answers it.
    pub async fn start_relay_cursor(&self, name: String) -> Result<Seq, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            &format!("{START} ON CONFLICT(name) DO NOTHING"),
            &[&name, &to_ms(Timestamp::now()), &false],
        )
        .await?;
        let row = tx
            .query_one("SELECT seq FROM relay_cursors WHERE name = $1", &[&name])
            .await?;
        let cursor = seq(&row, 0)?;
        tx.commit().await?;
        Ok(cursor)
    }

    /// Marks `name` as a relay that acks (with a cursor at the newest seq if it had none).
    pub async fn mark_relay_acking(&self, name: String) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            &format!("{START} ON CONFLICT(name) DO UPDATE SET acking = true"),
            &[&name, &to_ms(Timestamp::now()), &true],
        )
        .await?;
        Ok(())
    }

    /// A relay acked `seq`: raises its cursor (committed before this returns, so a crash right
    /// after loses nothing) and answers when `seq` was announced (`None` for a seq never issued).
    pub async fn relay_acked(
        &self,
        name: String,
        seq: Seq,
    ) -> Result<Option<Timestamp>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let announced = tx
            .query_opt(
                "SELECT announced_at FROM announcements WHERE seq = $1",
                &[&seq_param(seq)?],
            )
            .await?
            .map(|r| time(&r, 0))
            .transpose()?;
        if announced.is_some() {
            raise(&tx, &name, seq, Timestamp::now()).await?;
        }
        tx.commit().await?;
        Ok(announced)
    }

    /// Raises several cursors in one transaction (the coalesced "written to its socket" cursors
    /// of subscribers that never ack).
    pub async fn raise_relay_cursors(&self, cursors: Vec<(String, Seq)>) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let now = Timestamp::now();
        for (name, seq) in &cursors {
            raise(&tx, name, *seq, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
