//! Show marks in SQL: `show_marks` holds at most one row per show.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::{Sqlite, optional_time, to_ms};
use crate::store::StoreError;

impl Sqlite {
    /// Sets (or moves) the mark of show `show_id`; `NoShow` if there is no such show.
    pub async fn set_mark(&self, show_id: i64, at: Timestamp) -> Result<(), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM shows WHERE id = ?1", [show_id], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::NoShow(show_id));
            }
            tx.execute(
                "INSERT INTO show_marks (show_id, marked_at) VALUES (?1, ?2)
                 ON CONFLICT(show_id) DO UPDATE SET marked_at = excluded.marked_at",
                params![show_id, to_ms(at)],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The mark of show `show_id`, if the DJ set one.
    pub async fn mark(&self, show_id: i64) -> Result<Option<Timestamp>, StoreError> {
        self.call(move |c| {
            let mark = c
                .query_row(
                    "SELECT marked_at FROM show_marks WHERE show_id = ?1",
                    [show_id],
                    |r| optional_time(r, 0),
                )
                .optional()?;
            Ok(mark.flatten())
        })
        .await
    }
}
