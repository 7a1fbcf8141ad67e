//! The delivery ledger in SQL: `deliveries` holds the announces' rows, `delivery_cursors` per
//! target the last announce whose row exists. Rows are made by one `INSERT … SELECT` from the
//! log in the same transaction as the cursor's advance. Go-live alerts' rows live in
//! `event_deliveries` (made when the alert fires) and move through the same methods, by
//! [`DeliveryKey`].

use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use ntr_protocol::Seq;
use tokio_postgres::Row;

use super::alerts::{EVENT_COLUMNS, event_from};
use super::announcements::{COLUMNS, from_row};
use super::ledger_rows::{ROW_COLUMNS, row_from};
use super::{Postgres, col, seq, seq_param, time, to_ms, uint};
use crate::store::{
    AlertKind, DeliveryKey, DeliveryOutcome, DeliveryRow, DeliveryStatus, Enqueue, Outgoing,
    PendingDelivery, Recipient, StoreError, StreamCheck, TargetSummary,
};

/// The table and row id of a key: an announce's row is found by seq, an alert's by its id.
fn row_of(key: DeliveryKey) -> Result<(&'static str, &'static str, i64), StoreError> {
    Ok(match key {
        DeliveryKey::Announce(seq) => ("deliveries", "seq", seq_param(seq)?),
        DeliveryKey::Event(id) => ("event_deliveries", "event_id", id),
    })
}

/// A pending row's bookkeeping from column `at` on: attempts, last error, due and give-up
/// times, wrapped around what the row delivers.
fn pending(item: Outgoing, r: &Row, at: usize) -> Result<PendingDelivery, StoreError> {
    Ok(PendingDelivery {
        item,
        attempts: uint(r, at)?,
        last_error: col(r, at + 1)?,
        due_at: time(r, at + 2)?,
        give_up_at: time(r, at + 3)?,
    })
}

/// The oldest pending announce row of `target`.
async fn next_announce<C: GenericClient>(
    c: &C,
    target: &str,
) -> Result<Option<PendingDelivery>, StoreError> {
    let row = c
        .query_opt(
            "SELECT seq, attempts, last_error, due_at, give_up_at FROM deliveries
             WHERE target = $1 AND status = 'pending' ORDER BY seq LIMIT 1",
            &[&target],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let announce = c
        .query_one(
            &format!("SELECT {COLUMNS} FROM announcements WHERE seq = $1"),
            &[&col::<i64>(&row, 0)?],
        )
        .await?;
    let item = Outgoing::Announce(Box::new(from_row(&announce)?));
    pending(item, &row, 1).map(Some)
}

/// The pending alert row of `target` due first.
async fn next_event<C: GenericClient>(
    c: &C,
    target: &str,
) -> Result<Option<PendingDelivery>, StoreError> {
    let row = c
        .query_opt(
            &format!(
                "SELECT {EVENT_COLUMNS}, d.attempts, d.last_error, d.due_at, d.give_up_at
                 FROM event_deliveries d JOIN show_events e ON e.id = d.event_id
                 JOIN shows s ON s.id = e.show_id
                 WHERE d.target = $1 AND d.status = 'pending'
                 ORDER BY d.due_at, d.event_id LIMIT 1"
            ),
            &[&target],
        )
        .await?;
    row.map(|r| pending(Outgoing::Event(event_from(&r)?), &r, 6))
        .transpose()
}

/// Gives `target` its cursor at the log's end unless it has one.
const INIT_CURSOR: &str = "INSERT INTO delivery_cursors (target, seq)
     SELECT $1, COALESCE(MAX(seq), 0) FROM announcements
     ON CONFLICT(target) DO NOTHING";

impl Postgres {
    /// Gives a target seen for the first time its cursor at the log's end: it delivers what is
    /// announced from now on, not the whole history. Run before the hub serves, so no announce
    /// can slip in between.
    pub async fn init_delivery_cursor(&self, target: String) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(INIT_CURSOR, &[&target]).await?;
        Ok(())
    }

    /// Makes `pending` rows for `target` for every announce logged since its cursor (inside the
    /// give-up window) and advances the cursor, in one transaction. Returns how many rows were
    /// made.
    pub async fn enqueue_deliveries(
        &self,
        target: String,
        e: Enqueue,
    ) -> Result<usize, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(INIT_CURSOR, &[&target]).await?;
        // Locked: two workers of one target (on two hubs) enqueue one after the other.
        let row = tx
            .query_one(
                "SELECT seq FROM delivery_cursors WHERE target = $1 FOR UPDATE",
                &[&target],
            )
            .await?;
        let cursor: i64 = col(&row, 0)?;
        // The cursor moves to the newest seq this transaction can see, and rows are made up
        // to the same one: an announce committed meanwhile is left for the next round.
        let row = tx
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM announcements", &[])
            .await?;
        let newest: i64 = col(&row, 0)?;
        let made = tx
            .execute(
                "INSERT INTO deliveries (seq, target, status, due_at, give_up_at, updated_at)
                 SELECT seq, $1, 'pending', announced_at + $3, announced_at + $3 + $4, $5
                 FROM announcements WHERE seq > $2 AND seq <= $8
                   AND announced_at >= $6 AND NOT log_only
                   AND ($7::text[] IS NULL OR show IS NULL OR show = ANY($7))
                 ON CONFLICT(seq, target) DO NOTHING",
                &[
                    &target,
                    &cursor,
                    &e.delay_ms,
                    &e.give_up_ms,
                    &to_ms(Timestamp::now()),
                    &to_ms(e.not_before),
                    &e.shows,
                    &newest,
                ],
            )
            .await?;
        tx.execute(
            "UPDATE delivery_cursors SET seq = GREATEST(seq, $2) WHERE target = $1",
            &[&target, &newest],
        )
        .await?;
        tx.commit().await?;
        Ok(usize::try_from(made).unwrap_or(usize::MAX))
    }

    /// The oldest pending announce row of `target` (a target's lines go out in announce
    /// order, so a line being retried holds back the later ones), or an alert row due before it.
    pub async fn next_delivery(
        &self,
        target: String,
    ) -> Result<Option<PendingDelivery>, StoreError> {
        let c = self.client().await?;
        let announce = next_announce(&c, &target).await?;
        let event = next_event(&c, &target).await?;
        Ok(match (announce, event) {
            (Some(a), Some(e)) if e.due_at < a.due_at => Some(e),
            (Some(a), _) => Some(a),
            (None, e) => e,
        })
    }

    /// Counts an attempt before it is made, so a crash mid-request still shows it; returns the
    /// attempts made so far, this one included.
    pub async fn begin_attempt(&self, key: DeliveryKey, target: String) -> Result<u32, StoreError> {
        let c = self.client().await?;
        let (table, id_column, id) = row_of(key)?;
        c.execute(
            &format!(
                "UPDATE {table} SET attempts = attempts + 1, updated_at = $3
                 WHERE {id_column} = $1 AND target = $2 AND status = 'pending'"
            ),
            &[&id, &target, &to_ms(Timestamp::now())],
        )
        .await?;
        let row = c
            .query_one(
                &format!("SELECT attempts FROM {table} WHERE {id_column} = $1 AND target = $2"),
                &[&id, &target],
            )
            .await?;
        uint(&row, 0)
    }

    /// Records how an attempt ended. Only a `pending` row changes: `sent` and `failed` are final.
    pub async fn finish_delivery(
        &self,
        key: DeliveryKey,
        target: String,
        outcome: DeliveryOutcome,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        let now = to_ms(Timestamp::now());
        let (table, id_column, id) = row_of(key)?;
        let row = format!("WHERE {id_column} = $1 AND target = $2 AND status = 'pending'");
        match outcome {
            DeliveryOutcome::Sent { latency_ms } => {
                let sql = format!(
                    "UPDATE {table} SET status = 'sent', latency_ms = $3, updated_at = $4 {row}"
                );
                c.execute(&sql, &[&id, &target, &latency_ms, &now]).await
            }
            DeliveryOutcome::Retry { error, due_at } => {
                let sql = format!(
                    "UPDATE {table} SET last_error = $3, due_at = $4, updated_at = $5 {row}"
                );
                c.execute(&sql, &[&id, &target, &error, &to_ms(due_at), &now])
                    .await
            }
            DeliveryOutcome::Failed { error } => {
                let sql = format!(
                    "UPDATE {table} SET status = 'failed', last_error = $3, updated_at = $4 {row}"
                );
                c.execute(&sql, &[&id, &target, &error, &now]).await
            }
        }?;
        Ok(())
    }

    /// Records a read-back of a `sent` row. `updated_at` stays the delivery's own time: a
    /// read-back is not a change of the delivery, and the panel's "last delivery" is by it.
    pub async fn record_stream_check(
        &self,
        seq: Seq,
        target: String,
        check: StreamCheck,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE deliveries
             SET stream_title = COALESCE($3, stream_title), verified = $4
             WHERE seq = $1 AND target = $2 AND status = 'sent'",
            &[
                &seq_param(seq)?,
                &target,
                &check.stream_title,
                &check.verified,
            ],
        )
        .await?;
        Ok(())
    }

    /// Every ledger row of `seq`, plus a `pending` placeholder for each of `enabled` that has
    /// not made its row yet (its worker is about to); `None` when no such announce exists.
    pub async fn deliveries(
        &self,
        seq: Seq,
        enabled: Vec<Recipient>,
    ) -> Result<Option<Vec<DeliveryRow>>, StoreError> {
        let c = self.client().await?;
        let seq = seq_param(seq)?;
        let announced = c
            .query_opt(
                "SELECT announced_at, show FROM announcements WHERE seq = $1",
                &[&seq],
            )
            .await?;
        let Some(announced) = announced else {
            return Ok(None);
        };
        let announced_at = time(&announced, 0)?;
        let show: Option<String> = col(&announced, 1)?;
        let found = c
            .query(
                &format!(
                    "SELECT target, {ROW_COLUMNS} FROM deliveries WHERE seq = $1 ORDER BY target"
                ),
                &[&seq],
            )
            .await?;
        let mut rows = found
            .iter()
            .map(|r| row_from(col(r, 0)?, r, 1))
            .collect::<Result<Vec<_>, _>>()?;
        for recipient in enabled {
            let target = recipient.target.clone();
            if recipient.gets(show.as_deref())
                && !rows.iter().any(|r| r.target == target)
                && not_yet_made(&c, &target, seq).await?
            {
                rows.push(DeliveryRow {
                    target,
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    last_error: None,
                    latency_ms: None,
                    updated_at: announced_at,
                    verified: None,
                    stream_title: None,
                });
            }
        }
        rows.sort_by(|a, b| a.target.cmp(&b.target));
        Ok(Some(rows))
    }

    /// Per target: pending and failed rows changed since `since`, the latest announce row and
    /// the latest row of each alert kind.
    pub async fn delivery_summary(
        &self,
        target: String,
        since: Timestamp,
    ) -> Result<TargetSummary, StoreError> {
        let c = self.client().await?;
        let counts = c
            .query_one(
                "SELECT COUNT(*) FILTER (WHERE status = 'pending'),
                        COUNT(*) FILTER (WHERE status = 'failed')
                 FROM deliveries WHERE target = $1 AND updated_at >= $2",
                &[&target, &to_ms(since)],
            )
            .await?;
        let last = c
            .query_opt(
                &format!(
                    "SELECT seq, {ROW_COLUMNS} FROM deliveries WHERE target = $1
                     ORDER BY updated_at DESC, seq DESC LIMIT 1"
                ),
                &[&target],
            )
            .await?;
        let last = match last {
            Some(r) => Some((seq(&r, 0)?, row_from(target.clone(), &r, 1)?)),
            None => None,
        };
        Ok(TargetSummary {
            pending: uint(&counts, 0)?,
            failed: uint(&counts, 1)?,
            last,
            events: last_events(&c, &target).await?,
        })
    }

    /// Rows not sent (yet) that carry an error, changed since `since`, newest first: what the
    /// dashboard marks next to the tracks.
    pub async fn delivery_problems(
        &self,
        since: Timestamp,
    ) -> Result<Vec<(Seq, DeliveryRow)>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT seq, target, {ROW_COLUMNS} FROM deliveries
                     WHERE status != 'sent' AND last_error IS NOT NULL AND updated_at >= $1
                     ORDER BY updated_at DESC LIMIT 200"
                ),
                &[&to_ms(since)],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((seq(r, 0)?, row_from(col(r, 1)?, r, 2)?)))
            .collect()
    }
}

/// The latest row of each alert kind `target` got.
async fn last_events<C: GenericClient>(
    c: &C,
    target: &str,
) -> Result<Vec<(AlertKind, DeliveryRow)>, StoreError> {
    let columns = ROW_COLUMNS
        .split(", ")
        .map(|c| format!("d.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let stmt = c
        .prepare_cached(&format!(
            "SELECT d.target, {columns} FROM event_deliveries d
             JOIN show_events e ON e.id = d.event_id
             WHERE d.target = $1 AND e.kind = $2 ORDER BY e.at DESC, e.id DESC LIMIT 1"
        ))
        .await?;
    let mut out = Vec::new();
    for kind in AlertKind::ALL {
        if let Some(r) = c.query_opt(&stmt, &[&target, &kind.as_str()]).await? {
            out.push((kind, row_from(col(&r, 0)?, &r, 1)?));
        }
    }
    Ok(out)
}

/// Whether `target`'s worker has yet to make rows up to `seq` (its cursor is behind).
async fn not_yet_made<C: GenericClient>(c: &C, target: &str, seq: i64) -> Result<bool, StoreError> {
    let row = c
        .query_opt(
            "SELECT seq FROM delivery_cursors WHERE target = $1",
            &[&target],
        )
        .await?;
    let cursor: Option<i64> = row.map(|r| col(&r, 0)).transpose()?;
    Ok(cursor.is_some_and(|cursor| cursor < seq))
}
