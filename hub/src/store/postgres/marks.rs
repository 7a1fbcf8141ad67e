//! Show marks in SQL: `show_marks` holds at most one row per show.

use jiff::Timestamp;

use super::{Postgres, optional_time, to_ms};
use crate::store::StoreError;

impl Postgres {
    /// Sets (or moves) the mark of show `show_id`; `NoShow` if there is no such show.
    pub async fn set_mark(&self, show_id: i64, at: Timestamp) -> Result<(), StoreError> {
        let c = self.client().await?;
        // One statement: the show is checked and the mark written together, whatever runs
        // beside it.
        let n = c
            .execute(
                "INSERT INTO show_marks (show_id, marked_at)
                 SELECT id, $2 FROM shows WHERE id = $1
                 ON CONFLICT(show_id) DO UPDATE SET marked_at = excluded.marked_at",
                &[&show_id, &to_ms(at)],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NoShow(show_id));
        }
        Ok(())
    }

    /// The mark of show `show_id`, if the DJ set one.
    pub async fn mark(&self, show_id: i64) -> Result<Option<Timestamp>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT marked_at FROM show_marks WHERE show_id = $1",
                &[&show_id],
            )
            .await?;
        Ok(row.map(|r| optional_time(&r, 0)).transpose()?.flatten())
    }
}
