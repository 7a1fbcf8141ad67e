//! Held announces in SQL: a row per held line with the columns the announce will have, and its
//! state. Releasing inserts the announce and marks the row in one transaction, with the row
//! locked, so a line is released once whatever races it (an undo, a second releaser).

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use super::announcements::insert_announcement;
use super::{
    Postgres, col, json, optional_seq, optional_time, optional_uint, seq_param, time, to_ms,
};
use crate::line::AnnounceLine;
use crate::store::{
    Announcement, HeldAnnouncement, HeldState, NewAnnouncement, StoreError, stored, stored_now,
};

const COLUMNS: &str = "id, release_at, message, state, seq";

fn from_row(r: &tokio_postgres::Row) -> Result<HeldAnnouncement, StoreError> {
    let state: String = col(r, 3)?;
    let state = match (state.as_str(), optional_seq(r, 4)?) {
        ("held", _) => HeldState::Held,
        ("released", Some(seq)) => HeldState::Released(seq),
        ("undone", _) => HeldState::Undone,
        (other, _) => {
            return Err(StoreError::Corrupt {
                column: 3,
                message: format!("a held announce in state `{other}`"),
            });
        }
    };
    Ok(HeldAnnouncement {
        id: col(r, 0)?,
        release_at: time(r, 1)?,
        message: AnnounceLine::sanitize(&col::<String>(r, 2)?),
        state,
    })
}

/// Holds `new` until `release_at`.
pub(super) async fn insert_held(
    tx: &Transaction<'_>,
    new: NewAnnouncement,
    release_at: Timestamp,
) -> Result<HeldAnnouncement, StoreError> {
    let release_at = stored(release_at);
    let track_json = new.track.as_ref().map(serde_json::to_string).transpose()?;
    let row = tx
        .query_one(
            "INSERT INTO held_announcements
                 (held_at, release_at, message, show_id, position, track, show)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING id",
            &[
                &to_ms(stored_now()),
                &to_ms(release_at),
                &new.message.as_str(),
                &new.show_id,
                &new.position.map(i64::from),
                &track_json,
                &new.show,
            ],
        )
        .await?;
    Ok(HeldAnnouncement {
        id: col(&row, 0)?,
        release_at,
        message: new.message,
        state: HeldState::Held,
    })
}

/// Held announce `id`, in whatever state.
pub(super) async fn held<C: GenericClient>(
    c: &C,
    id: i64,
) -> Result<Option<HeldAnnouncement>, StoreError> {
    let row = c
        .query_opt(
            &format!("SELECT {COLUMNS} FROM held_announcements WHERE id = $1"),
            &[&id],
        )
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The line held announce `id` becomes, if it is still held; its row stays locked until the
/// transaction ends.
async fn held_line(tx: &Transaction<'_>, id: i64) -> Result<Option<NewAnnouncement>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT message, show_id, position, track, show FROM held_announcements
             WHERE id = $1 AND state = 'held' FOR UPDATE",
            &[&id],
        )
        .await?;
    row.map(|r| {
        Ok(NewAnnouncement {
            message: AnnounceLine::sanitize(&col::<String>(&r, 0)?),
            show_id: col(&r, 1)?,
            position: optional_uint(&r, 2)?,
            track: json(&r, 3)?,
            corrects: None,
            show: col(&r, 4)?,
            logged_at: None,
        })
    })
    .transpose()
}

impl Postgres {
    pub async fn held_due(&self, now: Timestamp) -> Result<Vec<i64>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id FROM held_announcements
                 WHERE state = 'held' AND release_at <= $1 ORDER BY release_at, id",
                &[&to_ms(now)],
            )
            .await?;
        rows.iter().map(|r| col(r, 0)).collect()
    }

    pub async fn held_positions(&self, show_id: i64) -> Result<Vec<u32>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT position FROM held_announcements
                 WHERE state = 'held' AND show_id = $1 AND position IS NOT NULL",
                &[&show_id],
            )
            .await?;
        rows.iter().map(|r| super::uint(r, 0)).collect()
    }

    pub async fn held_slug(&self, id: i64) -> Result<Option<Option<String>>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT show FROM held_announcements WHERE id = $1", &[&id])
            .await?;
        row.map(|r| col(&r, 0)).transpose()
    }

    pub async fn next_release(&self) -> Result<Option<Timestamp>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT MIN(release_at) FROM held_announcements WHERE state = 'held'",
                &[],
            )
            .await?;
        optional_time(&row, 0)
    }

    pub async fn release_held(&self, id: i64) -> Result<Option<Announcement>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let Some(new) = held_line(&tx, id).await? else {
            return Ok(None);
        };
        let announcement = insert_announcement(&tx, new).await?;
        tx.execute(
            "UPDATE held_announcements SET state = 'released', seq = $1 WHERE id = $2",
            &[&seq_param(announcement.seq)?, &id],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(announcement))
    }

    pub async fn undo_held(&self, id: i64) -> Result<Option<HeldState>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Locked first, so a release running beside this one either ends before it is read
        // or waits for the undo.
        tx.execute(
            "SELECT 1 FROM held_announcements WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?;
        let before = held(&tx, id).await?.map(|h| h.state);
        if before == Some(HeldState::Held) {
            tx.execute(
                "UPDATE held_announcements SET state = 'undone' WHERE id = $1 AND state = 'held'",
                &[&id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(before)
    }
}
