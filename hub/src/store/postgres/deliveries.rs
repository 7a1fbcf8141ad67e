//! The delivery ledger in SQL: `deliveries` holds the rows, `delivery_cursors` per target the
//! last announce whose row exists. Rows are made by one `INSERT … SELECT` from the log in the
//! same transaction as the cursor's advance.

use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use ntr_protocol::Seq;
use tokio_postgres::Row;

use super::announcements::{COLUMNS, from_row};
use super::{Postgres, col, seq, seq_param, time, to_ms, uint};
use crate::store::{
    DeliveryOutcome, DeliveryRow, DeliveryStatus, Enqueue, PendingDelivery, Recipient, StoreError,
    TargetSummary,
};

/// The stored text; the table's CHECK allows nothing else, so anything else is a corrupt row.
fn parse_status(s: &str, column: usize) -> Result<DeliveryStatus, StoreError> {
    match s {
        "pending" => Ok(DeliveryStatus::Pending),
        "sent" => Ok(DeliveryStatus::Sent),
        "failed" => Ok(DeliveryStatus::Failed),
        other => Err(StoreError::Corrupt {
            column,
            message: format!("unknown delivery status `{other}`"),
        }),
    }
}

fn row_from(target: String, r: &Row, at: usize) -> Result<DeliveryRow, StoreError> {
    Ok(DeliveryRow {
        target,
        status: parse_status(&col::<String>(r, at)?, at)?,
        attempts: uint(r, at + 1)?,
        last_error: col(r, at + 2)?,
        latency_ms: col(r, at + 3)?,
        updated_at: time(r, at + 4)?,
    })
}

const ROW_COLUMNS: &str = "status, attempts, last_error, latency_ms, updated_at";

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

    /// The oldest pending row of `target`, with its announce: a target's lines go out in
    /// announce order, so a line being retried holds back the later ones of that target.
    pub async fn next_delivery(
        &self,
        target: String,
    ) -> Result<Option<PendingDelivery>, StoreError> {
        let c = self.client().await?;
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
        Ok(Some(PendingDelivery {
            announce: from_row(&announce)?,
            attempts: uint(&row, 1)?,
            last_error: col(&row, 2)?,
            due_at: time(&row, 3)?,
            give_up_at: time(&row, 4)?,
        }))
    }

    /// Counts an attempt before it is made, so a crash mid-request still shows it; returns the
    /// attempts made so far, this one included.
    pub async fn begin_attempt(&self, seq: Seq, target: String) -> Result<u32, StoreError> {
        let c = self.client().await?;
        let seq = seq_param(seq)?;
        c.execute(
            "UPDATE deliveries SET attempts = attempts + 1, updated_at = $3
             WHERE seq = $1 AND target = $2 AND status = 'pending'",
            &[&seq, &target, &to_ms(Timestamp::now())],
        )
        .await?;
        let row = c
            .query_one(
                "SELECT attempts FROM deliveries WHERE seq = $1 AND target = $2",
                &[&seq, &target],
            )
            .await?;
        uint(&row, 0)
    }

    /// Records how an attempt ended. Only a `pending` row changes: `sent` and `failed` are final.
    pub async fn finish_delivery(
        &self,
        seq: Seq,
        target: String,
        outcome: DeliveryOutcome,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        let now = to_ms(Timestamp::now());
        let seq = seq_param(seq)?;
        match outcome {
            DeliveryOutcome::Sent { latency_ms } => {
                c.execute(
                    "UPDATE deliveries SET status = 'sent', latency_ms = $3, updated_at = $4
                     WHERE seq = $1 AND target = $2 AND status = 'pending'",
                    &[&seq, &target, &latency_ms, &now],
                )
                .await
            }
            DeliveryOutcome::Retry { error, due_at } => {
                c.execute(
                    "UPDATE deliveries SET last_error = $3, due_at = $4, updated_at = $5
                     WHERE seq = $1 AND target = $2 AND status = 'pending'",
                    &[&seq, &target, &error, &to_ms(due_at), &now],
                )
                .await
            }
            DeliveryOutcome::Failed { error } => {
                c.execute(
                    "UPDATE deliveries SET status = 'failed', last_error = $3, updated_at = $4
                     WHERE seq = $1 AND target = $2 AND status = 'pending'",
                    &[&seq, &target, &error, &now],
                )
                .await
            }
        }?;
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
                });
            }
        }
        rows.sort_by(|a, b| a.target.cmp(&b.target));
        Ok(Some(rows))
    }

    /// Per target: pending and failed rows changed since `since`, and the latest row.
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
