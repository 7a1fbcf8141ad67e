//! The announcement log. Every announce is written here, with the [`Seq`] this log issues,
//! before it is broadcast, so a subscriber that reconnects with `?since=` gets exactly what it
//! missed and a restarted hub never reuses a number.

use std::collections::HashMap;

use jiff::Timestamp;
use ntr_protocol::{Seq, ServerMessage};
use rusqlite::{Connection, Row, params};
use serde::Serialize;

use super::{Store, StoreError, Track, json, stored_now, time, to_ms};
use crate::line::AnnounceLine;

/// What the announce handler asks the log to record.
#[derive(Debug, Clone)]
pub struct NewAnnouncement {
    pub message: AnnounceLine,
    pub show_id: Option<i64>,
    pub position: Option<u32>,
    pub track: Option<Track>,
}

#[derive(Debug, Clone)]
pub struct Announcement {
    pub seq: Seq,
    pub message: AnnounceLine,
    pub show_id: Option<i64>,
    pub position: Option<u32>,
    pub track: Option<Track>,
    pub announced_at: Timestamp,
}

/// Where an announce landed, as a relay reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ack {
    pub target: String,
    pub acked_at: Timestamp,
}

impl Announcement {
    /// The wire form: what subscribers get live and on a replay.
    pub fn to_message(&self) -> ServerMessage {
        ServerMessage::Announce(Box::new(ntr_protocol::Announce {
            seq: self.seq,
            message: self.message.as_str().to_string(),
            show_id: self.show_id,
            position: self.position,
            track: self.track.clone(),
            announced_at: self.announced_at,
            corrects: None,
        }))
    }
}

const COLUMNS: &str = "seq, message, show_id, position, track, announced_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Announcement> {
    Ok(Announcement {
        seq: Seq::new(r.get(0)?),
        // Stored lines were sanitised when written; sanitising again is a no-op that keeps the
        // type's promise even for a database edited by hand.
        message: AnnounceLine::sanitize(&r.get::<_, String>(1)?),
        show_id: r.get(2)?,
        position: r.get(3)?,
        track: json(r, 4)?,
        announced_at: time(r, 5)?,
    })
}

impl Store {
    /// Appends to the log and returns the entry with its new seq.
    pub async fn record_announcement(
        &self,
        new: NewAnnouncement,
    ) -> Result<Announcement, StoreError> {
        self.call(move |c| {
            let now = stored_now();
            let track_json = new.track.as_ref().map(serde_json::to_string).transpose()?;
            // `execute` steps the statement to its end; `INSERT … RETURNING` read with
            // `query_row` never does, and then SQLite never checkpoints the WAL, which grew by
            // ~12 KB per announce for as long as the hub ran.
            c.execute(
                "INSERT INTO announcements (announced_at, message, show_id, position, track)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    to_ms(now),
                    new.message.as_str(),
                    new.show_id,
                    new.position,
                    track_json
                ],
            )?;
            // `seq` is the table's INTEGER PRIMARY KEY, so it is the row id just issued.
            let seq = u64::try_from(c.last_insert_rowid()).map_err(|_| StoreError::Corrupt {
                column: 0,
                message: "the announcement log issued a negative seq".into(),
            })?;
            Ok(Announcement {
                seq: Seq::new(seq),
                message: new.message,
                show_id: new.show_id,
                position: new.position,
                track: new.track,
                announced_at: now,
            })
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
                 WHERE seq > ?1 AND announced_at >= ?2 ORDER BY seq LIMIT 10000"
            ))?;
            let rows = stmt.query_map(params![after.get(), to_ms(not_before)], from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The last announcement of each position of a show, with its acks.
    pub async fn show_announcements(
        &self,
        show_id: i64,
    ) -> Result<HashMap<u32, (Announcement, Vec<Ack>)>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM announcements
                 WHERE seq IN (SELECT MAX(seq) FROM announcements WHERE show_id = ?1 GROUP BY position)"
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

    pub async fn acks(&self, seq: Seq) -> Result<Vec<Ack>, StoreError> {
        self.call(move |c| acks_of(c, seq)).await
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
