//! A ledger row as the Targets panel and `/admin/deliveries` show it, read the same way from
//! `deliveries` (announces) and `event_deliveries` (go-live alerts): a leaf both tables' files
//! use.

use rusqlite::Row;

use super::time;
use crate::store::{DeliveryRow, DeliveryStatus};

/// The stored text; the table's CHECK allows nothing else, so anything else is a corrupt row.
fn parse_status(s: &str, column: usize) -> rusqlite::Result<DeliveryStatus> {
    match s {
        "pending" => Ok(DeliveryStatus::Pending),
        "sent" => Ok(DeliveryStatus::Sent),
        "failed" => Ok(DeliveryStatus::Failed),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            format!("unknown delivery status `{other}`").into(),
        )),
    }
}

/// Reads a [`DeliveryRow`] from [`ROW_COLUMNS`] starting at column `at`.
pub(super) fn row_from(target: String, r: &Row<'_>, at: usize) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        target,
        status: parse_status(&r.get::<_, String>(at)?, at)?,
        attempts: r.get(at + 1)?,
        last_error: r.get(at + 2)?,
        latency_ms: r.get(at + 3)?,
        updated_at: time(r, at + 4)?,
        verified: r.get(at + 5)?,
        stream_title: r.get(at + 6)?,
    })
}

pub(super) const ROW_COLUMNS: &str =
    "status, attempts, last_error, latency_ms, updated_at, verified, stream_title";
