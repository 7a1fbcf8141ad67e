//! A ledger row as the Targets panel and `/admin/deliveries` show it, read the same way from
//! `deliveries` (announces) and `event_deliveries` (go-live alerts): a leaf both tables' files
//! use.

use tokio_postgres::Row;

use super::{col, time, uint};
use crate::store::{DeliveryRow, DeliveryStatus, StoreError};

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

/// Reads a [`DeliveryRow`] from [`ROW_COLUMNS`] starting at column `at`.
pub(super) fn row_from(target: String, r: &Row, at: usize) -> Result<DeliveryRow, StoreError> {
    Ok(DeliveryRow {
        target,
        status: parse_status(&col::<String>(r, at)?, at)?,
        attempts: uint(r, at + 1)?,
        last_error: col(r, at + 2)?,
        latency_ms: col(r, at + 3)?,
        updated_at: time(r, at + 4)?,
        verified: col(r, at + 5)?,
        stream_title: col(r, at + 6)?,
    })
}

pub(super) const ROW_COLUMNS: &str =
    "status, attempts, last_error, latency_ms, updated_at, verified, stream_title";
