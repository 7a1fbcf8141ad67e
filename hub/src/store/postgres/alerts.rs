//! Go-live alerts in SQL: `show_events` holds each fired alert (UNIQUE per show week and kind),
//! `event_deliveries` its ledger rows, inserted in the same transaction.
//!
//! Unlike SQLite's single writer, two connections (two replicas) may fire the same alert at
//! once, so the alert is inserted with `ON CONFLICT DO NOTHING` rather than looked up first:
//! the loser waits for the winner's transaction, inserts nothing and reads the winner's row.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;
use tokio_postgres::Row;

use super::ledger_rows::{ROW_COLUMNS, row_from};
use super::{Postgres, col, time, to_ms};
use crate::line::AnnounceLine;
use crate::store::{
    AlertKind, EventDeliveries, Fired, NewEvent, NewEventRow, ShowEvent, StoreError,
};

/// The columns [`event_from`] reads, for a query joining `show_events e` and `shows s`.
pub(super) const EVENT_COLUMNS: &str = "e.id, e.show_id, s.slug, e.kind, e.message, e.at";

pub(super) fn event_from(r: &Row) -> Result<ShowEvent, StoreError> {
    let kind: String = col(r, 3)?;
    let kind = AlertKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
        column: 3,
        message: format!("unknown alert kind `{kind}`"),
    })?;
    Ok(ShowEvent {
        id: col(r, 0)?,
        show_id: col(r, 1)?,
        show: col(r, 2)?,
        kind,
        message: AnnounceLine::sanitize(&col::<String>(r, 4)?),
        at: time(r, 5)?,
    })
}

async fn find<C: GenericClient>(
    c: &C,
    show_id: i64,
    kind: AlertKind,
) -> Result<Option<ShowEvent>, StoreError> {
    let row = c
        .query_opt(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM show_events e JOIN shows s ON s.id = e.show_id
                 WHERE e.show_id = $1 AND e.kind = $2"
            ),
            &[&show_id, &kind.as_str()],
        )
        .await?;
    row.as_ref().map(event_from).transpose()
}

/// Inserts one target's ledger row of alert `id`.
async fn insert_row(
    tx: &Transaction<'_>,
    id: i64,
    row: &NewEventRow,
    now: i64,
) -> Result<(), StoreError> {
    let status = if row.failed.is_some() {
        "failed"
    } else {
        "pending"
    };
    tx.execute(
        "INSERT INTO event_deliveries
             (event_id, target, status, last_error, due_at, give_up_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id,
            &row.target,
            &status,
            &row.failed,
            &to_ms(row.due_at),
            &to_ms(row.give_up_at),
            &now,
        ],
    )
    .await?;
    Ok(())
}

impl Postgres {
    pub async fn fire_event(&self, new: NewEvent) -> Result<Fired, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let inserted = tx
            .query_opt(
                "INSERT INTO show_events (show_id, kind, message, at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (show_id, kind) DO NOTHING RETURNING id",
                &[
                    &new.show_id,
                    &new.kind.as_str(),
                    &new.message.as_str(),
                    &to_ms(new.at),
                ],
            )
            .await?;
        let Some(inserted) = inserted else {
            // Each statement reads what was committed before it began, the winner's row
            // included.
            let before = find(&tx, new.show_id, new.kind).await?;
            return before
                .map(Fired::Before)
                .ok_or(StoreError::NoShow(new.show_id));
        };
        let id: i64 = col(&inserted, 0)?;
        let now = to_ms(Timestamp::now());
        for row in &new.rows {
            insert_row(&tx, id, row, now).await?;
        }
        let fired = find(&tx, new.show_id, new.kind)
            .await?
            .ok_or(StoreError::NoShow(new.show_id))?;
        tx.commit().await?;
        Ok(Fired::Now(fired))
    }

    pub async fn event(
        &self,
        show_id: i64,
        kind: AlertKind,
    ) -> Result<Option<ShowEvent>, StoreError> {
        let c = self.client().await?;
        find(&c, show_id, kind).await
    }

    pub async fn events_since(&self, since: Timestamp) -> Result<Vec<EventDeliveries>, StoreError> {
        let c = self.client().await?;
        let found = c
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM show_events e JOIN shows s ON s.id = e.show_id
                     WHERE e.at >= $1 ORDER BY e.at DESC, e.id DESC"
                ),
                &[&to_ms(since)],
            )
            .await?;
        let rows = c
            .prepare_cached(&format!(
                "SELECT target, {ROW_COLUMNS} FROM event_deliveries
                 WHERE event_id = $1 ORDER BY target"
            ))
            .await?;
        let mut out = Vec::with_capacity(found.len());
        for r in &found {
            let event = event_from(r)?;
            let deliveries = c
                .query(&rows, &[&event.id])
                .await?
                .iter()
                .map(|r| row_from(col(r, 0)?, r, 1))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(EventDeliveries { event, deliveries });
        }
        Ok(out)
    }
}
