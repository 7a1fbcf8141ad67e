//! The announcement log's SQL: `seq` is the table's AUTOINCREMENT key, so a number is never
//! issued twice, even after rows are deleted.

use std::collections::HashMap;

use jiff::Timestamp;
use ntr_protocol::Seq;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::{Sqlite, json, stored, stored_now, time, to_ms};
use crate::line::AnnounceLine;
use crate::store::{
    ACK_TARGETS_PER_RELAY, Ack, Announcement, CORRECTABLE_FOR, NewAnnouncement, RelayAck,
    StoreError,
};

pub(super) const COLUMNS: &str =
    "seq, message, show_id, position, track, announced_at, corrects, corrected_by, show, log_only";

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Announcement> {
    Ok(Announcement {
        seq: Seq::new(r.get(0)?),
        // Stored lines were sanitised when written; sanitising again is a no-op that keeps the
        // type's promise even for a database edited by hand.
        message: AnnounceLine::sanitize(&r.get::<_, String>(1)?),
        show_id: r.get(2)?,
        position: r.get(3)?,
        track: json(r, 4)?,
        announced_at: time(r, 5)?,
        corrects: r.get::<_, Option<u64>>(6)?.map(Seq::new),
        corrected_by: r.get::<_, Option<u64>>(7)?.map(Seq::new),
        show: r.get(8)?,
        log_only: r.get(9)?,
    })
}

impl Sqlite {
    /// Appends to the log and returns the entry with its new seq. A correction is checked
    /// (its target exists, is under 24 hours old and not corrected yet) and its target marked
    /// corrected in the same transaction, so two corrections of one announce cannot both land.
    pub async fn record_announcement(
        &self,
        new: NewAnnouncement,
    ) -> Result<Announcement, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let announcement = insert_announcement(&tx, new)?;
            tx.commit()?;
            Ok(announcement)
        })
        .await
    }

    /// Announcements with `seq > after` made at or after `not_before`, oldest first.
    pub async fn announcements_since(
        &self,
        after: Seq,
        not_before: Timestamp,
    ) -> Result<Vec<Announcement>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM announcements
                 WHERE seq > ?1 AND announced_at >= ?2 AND NOT log_only
                 ORDER BY seq LIMIT 10000"
            ))?;
            let rows = stmt.query_map(params![after.get(), to_ms(not_before)], from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Every log entry with `seq > after`, log-only ones included, oldest first.
    pub async fn log_after(&self, after: Seq, limit: u32) -> Result<Vec<Announcement>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM announcements WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![after.get(), limit], from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The last announcement of each position of a show that was not corrected, with its acks:
    /// a position whose announces were all corrected counts as not announced.
    pub async fn show_announcements(
        &self,
        show_id: i64,
    ) -> Result<HashMap<u32, (Announcement, Vec<Ack>)>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM announcements
                 WHERE seq IN (SELECT MAX(seq) FROM announcements
                               WHERE show_id = ?1 AND corrected_by IS NULL GROUP BY position)"
            ))?;
            let rows = stmt.query_map([show_id], from_row)?;
            let mut out = HashMap::new();
            for a in rows {
                let a = a?;
                if let Some(p) = a.position {
                    let acks = acks_of(c, a.seq)?;
                    out.insert(p, (a, acks));
                }
            }
            Ok(out)
        })
        .await
    }

    /// A show's log, oldest first, corrected announces included: its track announces, and the
    /// free texts announced inside `window` (its live window), each with its acks.
    pub async fn show_log(
        &self,
        show_id: i64,
        window: (Timestamp, Timestamp),
    ) -> Result<Vec<(Announcement, Vec<Ack>)>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM announcements
                 WHERE show_id = ?1
                    OR (show_id IS NULL AND announced_at >= ?2 AND announced_at < ?3
                        AND (show IS NULL OR show = (SELECT slug FROM shows WHERE id = ?1)))
                 ORDER BY seq LIMIT 10000"
            ))?;
            let rows =
                stmt.query_map(params![show_id, to_ms(window.0), to_ms(window.1)], from_row)?;
            let mut out = Vec::new();
            for a in rows {
                let a = a?;
                let acks = acks_of(c, a.seq)?;
                out.push((a, acks));
            }
            Ok(out)
        })
        .await
    }

    /// Records that a subscriber delivered `seq` to `target`. Unknown seqs are ignored (false).
    pub async fn record_ack(&self, seq: Seq, target: String) -> Result<bool, StoreError> {
        self.call(move |c| {
            let n = c.execute(
                "INSERT INTO acks (seq, target, acked_at)
                 SELECT seq, ?2, ?3 FROM announcements WHERE seq = ?1
                 ON CONFLICT(seq, target) DO NOTHING",
                params![seq.get(), target, to_ms(Timestamp::now())],
            )?;
            Ok(n > 0)
        })
        .await
    }

    /// A relay's ack: stored with the relay's name, so its targets per line can be capped.
    pub async fn record_relay_ack(
        &self,
        seq: Seq,
        target: String,
        relay: String,
    ) -> Result<RelayAck, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM acks WHERE seq = ?1 AND target = ?2)",
                params![seq.get(), target],
                |r| r.get(0),
            )?;
            if known {
                return Ok(RelayAck::Known);
            }
            let targets: usize = tx.query_row(
                "SELECT COUNT(*) FROM acks WHERE seq = ?1 AND relay = ?2",
                params![seq.get(), relay],
                |r| r.get(0),
            )?;
            if targets >= ACK_TARGETS_PER_RELAY {
                return Ok(RelayAck::OverCap);
            }
            let n = tx.execute(
                "INSERT INTO acks (seq, target, acked_at, relay)
                 SELECT seq, ?2, ?3, ?4 FROM announcements WHERE seq = ?1",
                params![seq.get(), target, to_ms(Timestamp::now()), relay],
            )?;
            tx.commit()?;
            Ok(if n > 0 {
                RelayAck::Recorded
            } else {
                RelayAck::Known
            })
        })
        .await
    }

    pub async fn acks(&self, seq: Seq) -> Result<Vec<Ack>, StoreError> {
        self.call(move |c| acks_of(c, seq)).await
    }

    /// The show announce `seq` was made for: `None` for a free text or an unknown seq.
    pub async fn announcement_show(&self, seq: Seq) -> Result<Option<i64>, StoreError> {
        self.call(move |c| {
            let show: Option<Option<i64>> = c
                .query_row(
                    "SELECT show_id FROM announcements WHERE seq = ?1",
                    [seq.get()],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(show.flatten())
        })
        .await
    }

    pub async fn announcement_slug(&self, seq: Seq) -> Result<Option<Option<String>>, StoreError> {
        self.call(move |c| {
            let show: Option<Option<String>> = c
                .query_row(
                    "SELECT show FROM announcements WHERE seq = ?1",
                    [seq.get()],
                    |r| r.get(0),
                )
                .optional()?;
            // An empty slug is a line from before stations that no show adopted.
            Ok(show.map(|slug| slug.filter(|s| !s.is_empty())))
        })
        .await
    }

    /// The highest seq issued so far (0 before the first announce).
    pub async fn last_seq(&self) -> Result<Seq, StoreError> {
        self.call(|c| {
            let seq: u64 =
                c.query_row("SELECT COALESCE(MAX(seq), 0) FROM announcements", [], |r| {
                    r.get(0)
                })?;
            Ok(Seq::new(seq))
        })
        .await
    }
}

/// Why `target` cannot be corrected at `now`, if it cannot.
fn check_correctable(c: &Connection, target: Seq, now: Timestamp) -> Result<(), StoreError> {
    let row: Option<(Timestamp, Option<u64>)> = c
        .query_row(
            "SELECT announced_at, corrected_by FROM announcements WHERE seq = ?1",
            [target.get()],
            |r| Ok((time(r, 0)?, r.get(1)?)),
        )
        .optional()?;
    let reason = match row {
        None => format!("there is no announce with seq {target}"),
        Some((_, Some(by))) => format!("announce {target} was already corrected by {by}"),
        Some((at, None)) if at < now - CORRECTABLE_FOR => {
            format!("announce {target} is more than 24 hours old")
        }
        Some(_) => return Ok(()),
    };
    Err(StoreError::Uncorrectable(format!(
        "cannot correct: {reason} (corrects must name an uncorrected announce of the last 24 hours)"
    )))
}

fn acks_of(c: &Connection, seq: Seq) -> Result<Vec<Ack>, StoreError> {
    let mut stmt =
        c.prepare_cached("SELECT target, acked_at FROM acks WHERE seq = ?1 ORDER BY acked_at")?;
    let rows = stmt.query_map([seq.get()], |r| {
        Ok(Ack {
            target: r.get(0)?,
            acked_at: time(r, 1)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Appends `new` to the log inside `tx`; see [`Sqlite::record_announcement`].
pub(super) fn insert_announcement(
    tx: &Transaction<'_>,
    new: NewAnnouncement,
) -> Result<Announcement, StoreError> {
    let now = stored_now();
    if let Some(target) = new.corrects {
        check_correctable(tx, target, now)?;
    }
    let track_json = new.track.as_ref().map(serde_json::to_string).transpose()?;
    // `execute` steps the statement to its end; an `INSERT … RETURNING` read with
    // `query_row` does not, and SQLite then never checkpointed the WAL, which grew by
    // ~12 KB per announce for as long as the hub ran.
    let at = new.logged_at.map_or(now, stored);
    tx.execute(
        "INSERT INTO announcements
             (announced_at, message, show_id, position, track, corrects, show, log_only)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            to_ms(at),
            new.message.as_str(),
            new.show_id,
            new.position,
            track_json,
            new.corrects.map(Seq::get),
            new.show,
            new.logged_at.is_some(),
        ],
    )?;
    // `seq` is the table's INTEGER PRIMARY KEY, so it is the row id just issued.
    let seq = u64::try_from(tx.last_insert_rowid()).map_err(|_| StoreError::Corrupt {
        column: 0,
        message: "the announcement log issued a negative seq".into(),
    })?;
    if let Some(target) = new.corrects {
        tx.execute(
            "UPDATE announcements SET corrected_by = ?1 WHERE seq = ?2",
            params![seq, target.get()],
        )?;
    }
    Ok(Announcement {
        seq: Seq::new(seq),
        message: new.message,
        show_id: new.show_id,
        position: new.position,
        track: new.track,
        announced_at: at,
        corrects: new.corrects,
        corrected_by: None,
        show: new.show,
        log_only: new.logged_at.is_some(),
    })
}

/// Announce `seq`, which must exist.
pub(super) fn announcement(c: &Connection, seq: u64) -> Result<Announcement, StoreError> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM announcements WHERE seq = ?1"),
        [seq],
        from_row,
    )?)
}
