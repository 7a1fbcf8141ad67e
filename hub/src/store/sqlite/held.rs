//! Held announces in SQL: a row per held line with the columns the announce will have, and its
//! state. Releasing inserts the announce and marks the row in one transaction, so a line is
//! released once whatever races it (an undo, a second releaser after a restart).

use jiff::Timestamp;
use ntr_protocol::Seq;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::announcements::insert_announcement;
use super::{Sqlite, json, optional_time, stored, stored_now, time, to_ms};
use crate::line::AnnounceLine;
use crate::store::{Announcement, HeldAnnouncement, HeldState, NewAnnouncement, StoreError};

const COLUMNS: &str = "id, release_at, message, state, seq";

fn from_row(r: &Row<'_>) -> rusqlite::Result<HeldAnnouncement> {
    let state: String = r.get(3)?;
    let state = match (state.as_str(), r.get::<_, Option<u64>>(4)?) {
        ("held", _) => HeldState::Held,
        ("released", Some(seq)) => HeldState::Released(Seq::new(seq)),
        ("undone", _) => HeldState::Undone,
        _ => {
            return Err(rusqlite::Error::InvalidColumnType(
                3,
                "state".into(),
                rusqlite::types::Type::Text,
            ));
        }
    };
    Ok(HeldAnnouncement {
        id: r.get(0)?,
        release_at: time(r, 1)?,
        message: AnnounceLine::sanitize(&r.get::<_, String>(2)?),
        state,
    })
}

/// Holds `new` until `release_at`.
pub(super) fn insert_held(
    tx: &Transaction<'_>,
    new: NewAnnouncement,
    release_at: Timestamp,
) -> Result<HeldAnnouncement, StoreError> {
    let release_at = stored(release_at);
    let track_json = new.track.as_ref().map(serde_json::to_string).transpose()?;
    tx.execute(
        "INSERT INTO held_announcements
             (held_at, release_at, message, show_id, position, track, show)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            to_ms(stored_now()),
            to_ms(release_at),
            new.message.as_str(),
            new.show_id,
            new.position,
            track_json,
            new.show,
        ],
    )?;
    Ok(HeldAnnouncement {
        id: tx.last_insert_rowid(),
        release_at,
        message: new.message,
        state: HeldState::Held,
    })
}

/// Held announce `id`, in whatever state.
pub(super) fn held(c: &Connection, id: i64) -> Result<Option<HeldAnnouncement>, StoreError> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM held_announcements WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()?)
}

/// The line held announce `id` becomes, if it is still held.
fn held_line(tx: &Transaction<'_>, id: i64) -> Result<Option<NewAnnouncement>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT message, show_id, position, track, show FROM held_announcements
             WHERE id = ?1 AND state = 'held'",
            [id],
            |r| {
                Ok(NewAnnouncement {
                    message: AnnounceLine::sanitize(&r.get::<_, String>(0)?),
                    show_id: r.get(1)?,
                    position: r.get(2)?,
                    track: json(r, 3)?,
                    corrects: None,
                    show: r.get(4)?,
                    logged_at: None,
                })
            },
        )
        .optional()?)
}

impl Sqlite {
    pub async fn held_due(&self, now: Timestamp) -> Result<Vec<i64>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM held_announcements
                 WHERE state = 'held' AND release_at <= ?1 ORDER BY release_at, id",
            )?;
            let rows = stmt.query_map([to_ms(now)], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn held_positions(&self, show_id: i64) -> Result<Vec<u32>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT position FROM held_announcements
                 WHERE state = 'held' AND show_id = ?1 AND position IS NOT NULL",
            )?;
            let rows = stmt.query_map([show_id], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn held_slug(&self, id: i64) -> Result<Option<Option<String>>, StoreError> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT show FROM held_announcements WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    pub async fn next_release(&self) -> Result<Option<Timestamp>, StoreError> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT MIN(release_at) FROM held_announcements WHERE state = 'held'",
                [],
                |r| optional_time(r, 0),
            )?)
        })
        .await
    }

    pub async fn release_held(&self, id: i64) -> Result<Option<Announcement>, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let Some(new) = held_line(&tx, id)? else {
                return Ok(None);
            };
            let announcement = insert_announcement(&tx, new)?;
            tx.execute(
                "UPDATE held_announcements SET state = 'released', seq = ?1 WHERE id = ?2",
                params![announcement.seq.get(), id],
            )?;
            tx.commit()?;
            Ok(Some(announcement))
        })
        .await
    }

    pub async fn undo_held(&self, id: i64) -> Result<Option<HeldState>, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let before = held(&tx, id)?.map(|h| h.state);
            if before == Some(HeldState::Held) {
                tx.execute(
                    "UPDATE held_announcements SET state = 'undone' WHERE id = ?1",
                    [id],
                )?;
            }
            tx.commit()?;
            Ok(before)
        })
        .await
    }
}
