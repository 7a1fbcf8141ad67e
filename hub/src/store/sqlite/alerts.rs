//! Go-live alerts in SQL: `show_events` holds each fired alert (UNIQUE per show week and kind),
//! `event_deliveries` its ledger rows, inserted in the same transaction.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::ledger_rows::{ROW_COLUMNS, row_from};
use super::{Sqlite, time, to_ms};
use crate::line::AnnounceLine;
use crate::store::{AlertKind, EventDeliveries, Fired, NewEvent, ShowEvent, StoreError};

/// The columns [`event_from`] reads, for a query joining `show_events e` and `shows s`.
pub(super) const EVENT_COLUMNS: &str = "e.id, e.show_id, s.slug, e.kind, e.message, e.at";

pub(super) fn event_from(r: &Row<'_>) -> rusqlite::Result<ShowEvent> {
    let kind: String = r.get(3)?;
    let kind = AlertKind::parse(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown alert kind `{kind}`").into(),
        )
    })?;
    Ok(ShowEvent {
        id: r.get(0)?,
        show_id: r.get(1)?,
        show: r.get(2)?,
        kind,
        message: AnnounceLine::sanitize(&r.get::<_, String>(4)?),
        at: time(r, 5)?,
    })
}

fn find(c: &Connection, show_id: i64, kind: AlertKind) -> rusqlite::Result<Option<ShowEvent>> {
    c.query_row(
        &format!(
            "SELECT {EVENT_COLUMNS} FROM show_events e JOIN shows s ON s.id = e.show_id
             WHERE e.show_id = ?1 AND e.kind = ?2"
        ),
        params![show_id, kind.as_str()],
        event_from,
    )
    .optional()
}

impl Sqlite {
    pub async fn fire_event(&self, new: NewEvent) -> Result<Fired, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            if let Some(before) = find(&tx, new.show_id, new.kind)? {
                return Ok(Fired::Before(before));
            }
            tx.execute(
                "INSERT INTO show_events (show_id, kind, message, at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    new.show_id,
                    new.kind.as_str(),
                    new.message.as_str(),
                    to_ms(new.at)
                ],
            )?;
            let id = tx.last_insert_rowid();
            let now = to_ms(Timestamp::now());
            for row in &new.rows {
                let status = if row.failed.is_some() {
                    "failed"
                } else {
                    "pending"
                };
                tx.execute(
                    "INSERT INTO event_deliveries
                         (event_id, target, status, last_error, due_at, give_up_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        id,
                        row.target,
                        status,
                        row.failed,
                        to_ms(row.due_at),
                        to_ms(row.give_up_at),
                        now
                    ],
                )?;
            }
            let fired = find(&tx, new.show_id, new.kind)?.ok_or(StoreError::NoShow(new.show_id))?;
            tx.commit()?;
            Ok(Fired::Now(fired))
        })
        .await
    }

    pub async fn event(
        &self,
        show_id: i64,
        kind: AlertKind,
    ) -> Result<Option<ShowEvent>, StoreError> {
        self.call(move |c| Ok(find(c, show_id, kind)?)).await
    }

    pub async fn events_since(&self, since: Timestamp) -> Result<Vec<EventDeliveries>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM show_events e JOIN shows s ON s.id = e.show_id
                 WHERE e.at >= ?1 ORDER BY e.at DESC, e.id DESC"
            ))?;
            let events = stmt
                .query_map([to_ms(since)], event_from)?
                .collect::<Result<Vec<_>, _>>()?;
            let mut rows = c.prepare_cached(&format!(
                "SELECT target, {ROW_COLUMNS} FROM event_deliveries
                 WHERE event_id = ?1 ORDER BY target"
            ))?;
            let mut out = Vec::with_capacity(events.len());
            for event in events {
                let deliveries = rows
                    .query_map([event.id], |r| row_from(r.get(0)?, r, 1))?
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(EventDeliveries { event, deliveries });
            }
            Ok(out)
        })
        .await
    }
}
