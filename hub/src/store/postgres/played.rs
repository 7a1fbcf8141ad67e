//! What was played, in SQL: `STANDING` picks the track announces of the log that were not
//! corrected.

use jiff::Timestamp;
use tokio_postgres::Row;

use super::{Postgres, col, json, optional_time, seq, time, to_ms, uint};
use crate::store::{Played, ShowPlayed, StoreError, Track};
use crate::week::Week;

const COLUMNS: &str = "seq, announcements.show_id, position, track, announced_at";
const STANDING: &str = "announcements.show_id IS NOT NULL AND announcements.position IS NOT NULL
                        AND announcements.track IS NOT NULL
                        AND announcements.corrected_by IS NULL";

fn from_row(r: &Row) -> Result<Played, StoreError> {
    // Only rows with a track are selected; a NULL here would be a corrupt row.
    let track: Option<Track> = json(r, 3)?;
    Ok(Played {
        seq: seq(r, 0)?,
        show_id: col(r, 1)?,
        position: uint(r, 2)?,
        track: track.ok_or(StoreError::Corrupt {
            column: 3,
            message: "a played announce without its track".into(),
        })?,
        announced_at: time(r, 4)?,
    })
}

impl Postgres {
    /// The standing track announces of one show, in the order they were played (a log-only
    /// entry sits at the time the DJ gave).
    pub async fn played(&self, show_id: i64) -> Result<Vec<Played>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM announcements WHERE show_id = $1 AND {STANDING}
                     ORDER BY announced_at, seq"
                ),
                &[&show_id],
            )
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The newest `limit` shows that have standing track announces, newest first, each with
    /// its announces in announce order and its mark.
    pub async fn played_by_show(
        &self,
        limit: u32,
        show: Option<String>,
    ) -> Result<Vec<ShowPlayed>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {COLUMNS}, shows.week_start, shows.week_end, show_marks.marked_at,
                            shows.slug
                     FROM announcements
                     JOIN shows ON shows.id = announcements.show_id
                     LEFT JOIN show_marks ON show_marks.show_id = shows.id
                     WHERE {STANDING} AND announcements.show_id IN (
                         SELECT s.id FROM shows s
                         WHERE EXISTS (SELECT 1 FROM announcements
                                       WHERE {STANDING} AND show_id = s.id)
                           AND ($2::text IS NULL OR s.slug = $2)
                         ORDER BY s.week_start DESC LIMIT $1)
                     ORDER BY shows.week_start DESC, announced_at, seq"
                ),
                &[&i64::from(limit), &show],
            )
            .await?;
        let mut out: Vec<ShowPlayed> = Vec::new();
        for row in &rows {
            let played = from_row(row)?;
            match out.last_mut() {
                Some(show) if show.id == played.show_id => show.played.push(played),
                _ => out.push(ShowPlayed {
                    id: played.show_id,
                    slug: col(row, 8)?,
                    week: Week {
                        start: time(row, 5)?,
                        end: time(row, 6)?,
                    },
                    mark: optional_time(row, 7)?,
                    played: vec![played],
                }),
            }
        }
        Ok(out)
    }

    /// The newest standing track announce made at or after `not_before` that listeners saw
    /// (log-only entries never went out).
    pub async fn last_played(
        &self,
        show: String,
        not_before: Timestamp,
    ) -> Result<Option<Played>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM announcements
                     WHERE {STANDING} AND announced_at >= $1 AND announcements.show = $2
                       AND NOT announcements.log_only
                     ORDER BY seq DESC LIMIT 1"
                ),
                &[&to_ms(not_before), &show],
            )
            .await?;
        row.as_ref().map(from_row).transpose()
    }
}
