//! The announcement log's SQL: `seq` is the table's identity column, so a number is never
//! issued twice, and it is issued under the advisory lock [`SEQ_LOCK`] held to the end of the
//! transaction, so seqs are committed in the order they were issued: a reader that sees seq n
//! has seen every committed seq below it (a rolled-back one is skipped for good).

use std::collections::HashMap;

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;
use ntr_protocol::Seq;
use tokio_postgres::Row;

use super::{
    Postgres, SEQ_LOCK, col, json, optional_seq, optional_uint, seq, seq_param, time, to_ms,
};
use crate::line::AnnounceLine;
use crate::store::{
    ACK_TARGETS_PER_RELAY, Ack, Announcement, CORRECTABLE_FOR, NewAnnouncement, RelayAck,
    StoreError, stored, stored_now,
};

pub(super) const COLUMNS: &str =
    "seq, message, show_id, position, track, announced_at, corrects, corrected_by, show, log_only";

pub(super) fn from_row(r: &Row) -> Result<Announcement, StoreError> {
    Ok(Announcement {
        seq: seq(r, 0)?,
        // Stored lines were sanitised when written; sanitising again is a no-op that keeps the
        // type's promise even for a database edited by hand.
        message: AnnounceLine::sanitize(&col::<String>(r, 1)?),
        show_id: col(r, 2)?,
        position: optional_uint(r, 3)?,
        track: json(r, 4)?,
        announced_at: time(r, 5)?,
        corrects: optional_seq(r, 6)?,
        corrected_by: optional_seq(r, 7)?,
        show: col(r, 8)?,
        log_only: col(r, 9)?,
    })
}

/// Every row of `rows` as an announce.
fn announces(rows: &[Row]) -> Result<Vec<Announcement>, StoreError> {
    rows.iter().map(from_row).collect()
}

impl Postgres {
    /// Appends to the log and returns the entry with its new seq. A correction is checked
    /// (its target exists, is under 24 hours old and not corrected yet) and its target marked
    /// corrected in the same transaction, so two corrections of one announce cannot both land.
    pub async fn record_announcement(
        &self,
        new: NewAnnouncement,
    ) -> Result<Announcement, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let announcement = insert_announcement(&tx, new).await?;
        tx.commit().await?;
        Ok(announcement)
    }

    /// Announcements with `seq > after` made at or after `not_before`, oldest first.
    pub async fn announcements_since(
        &self,
        after: Seq,
        not_before: Timestamp,
    ) -> Result<Vec<Announcement>, StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM announcements
                 WHERE seq > $1 AND announced_at >= $2 AND NOT log_only
                 ORDER BY seq LIMIT 10000"
            ))
            .await?;
        let rows = c
            .query(&stmt, &[&seq_param(after)?, &to_ms(not_before)])
            .await?;
        announces(&rows)
    }

    /// Every log entry with `seq > after`, log-only ones included, oldest first.
    pub async fn log_after(&self, after: Seq, limit: u32) -> Result<Vec<Announcement>, StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM announcements WHERE seq > $1 ORDER BY seq LIMIT $2"
            ))
            .await?;
        let rows = c
            .query(&stmt, &[&seq_param(after)?, &i64::from(limit)])
            .await?;
        announces(&rows)
    }

    /// The last announcement of each position of a show that was not corrected, with its acks:
    /// a position whose announces were all corrected counts as not announced.
    pub async fn show_announcements(
        &self,
        show_id: i64,
    ) -> Result<HashMap<u32, (Announcement, Vec<Ack>)>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM announcements
                     WHERE seq IN (SELECT MAX(seq) FROM announcements
                                   WHERE show_id = $1 AND corrected_by IS NULL
                                   GROUP BY position)"
                ),
                &[&show_id],
            )
            .await?;
        let mut out = HashMap::new();
        for a in announces(&rows)? {
            if let Some(p) = a.position {
                let acks = acks_of(&c, a.seq).await?;
                out.insert(p, (a, acks));
            }
        }
        Ok(out)
    }

    /// A show's log, oldest first, corrected announces included: its track announces, and the
    /// free texts announced inside `window` (its live window), each with its acks.
    pub async fn show_log(
        &self,
        show_id: i64,
        window: (Timestamp, Timestamp),
    ) -> Result<Vec<(Announcement, Vec<Ack>)>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM announcements
                     WHERE show_id = $1
                        OR (show_id IS NULL AND announced_at >= $2 AND announced_at < $3
                            AND (show IS NULL OR show = (SELECT slug FROM shows WHERE id = $1)))
                     ORDER BY seq LIMIT 10000"
                ),
                &[&show_id, &to_ms(window.0), &to_ms(window.1)],
            )
            .await?;
        let mut out = Vec::new();
        for a in announces(&rows)? {
            let acks = acks_of(&c, a.seq).await?;
            out.push((a, acks));
        }
        Ok(out)
    }

    /// Records that a subscriber delivered `seq` to `target`. Unknown seqs are ignored (false).
    pub async fn record_ack(&self, seq: Seq, target: String) -> Result<bool, StoreError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO acks (seq, target, acked_at)
                 SELECT seq, $2, $3 FROM announcements WHERE seq = $1
                 ON CONFLICT(seq, target) DO NOTHING",
                &[&seq_param(seq)?, &target, &to_ms(Timestamp::now())],
            )
            .await?;
        Ok(n > 0)
    }

    /// A relay's ack: stored with the relay's name, so its targets per line can be capped.
    pub async fn record_relay_ack(
        &self,
        seq: Seq,
        target: String,
        relay: String,
    ) -> Result<RelayAck, StoreError> {
        let seq = seq_param(seq)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The announce's row is locked, so one relay's acks of one line are counted one at a
        // time and the cap holds with several connections.
        let exists = tx
            .query_opt(
                "SELECT 1 FROM announcements WHERE seq = $1 FOR UPDATE",
                &[&seq],
            )
            .await?;
        if exists.is_none() {
            return Ok(RelayAck::Known);
        }
        let known = tx
            .query_opt(
                "SELECT 1 FROM acks WHERE seq = $1 AND target = $2",
                &[&seq, &target],
            )
            .await?;
        if known.is_some() {
            return Ok(RelayAck::Known);
        }
        let row = tx
            .query_one(
                "SELECT COUNT(*) FROM acks WHERE seq = $1 AND relay = $2",
                &[&seq, &relay],
            )
            .await?;
        let targets: i64 = col(&row, 0)?;
        if usize::try_from(targets).unwrap_or(usize::MAX) >= ACK_TARGETS_PER_RELAY {
            return Ok(RelayAck::OverCap);
        }
        tx.execute(
            "INSERT INTO acks (seq, target, acked_at, relay) VALUES ($1, $2, $3, $4)",
            &[&seq, &target, &to_ms(Timestamp::now()), &relay],
        )
        .await?;
        tx.commit().await?;
        Ok(RelayAck::Recorded)
    }

    pub async fn acks(&self, seq: Seq) -> Result<Vec<Ack>, StoreError> {
        let c = self.client().await?;
        acks_of(&c, seq).await
    }

    /// The show announce `seq` was made for: `None` for a free text or an unknown seq.
    pub async fn announcement_show(&self, seq: Seq) -> Result<Option<i64>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT show_id FROM announcements WHERE seq = $1",
                &[&seq_param(seq)?],
            )
            .await?;
        Ok(row
            .map(|r| col::<Option<i64>>(&r, 0))
            .transpose()?
            .flatten())
    }

    pub async fn announcement_slug(&self, seq: Seq) -> Result<Option<Option<String>>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT show FROM announcements WHERE seq = $1",
                &[&seq_param(seq)?],
            )
            .await?;
        let show = row.map(|r| col::<Option<String>>(&r, 0)).transpose()?;
        // An empty slug is a line from before stations that no show adopted.
        Ok(show.map(|slug| slug.filter(|s| !s.is_empty())))
    }

    /// The highest seq issued so far (0 before the first announce).
    pub async fn last_seq(&self) -> Result<Seq, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM announcements", &[])
            .await?;
        seq(&row, 0)
    }
}

/// Why `target` cannot be corrected at `now`, if it cannot.
async fn check_correctable(
    tx: &Transaction<'_>,
    target: Seq,
    now: Timestamp,
) -> Result<(), StoreError> {
    // FOR UPDATE: a second correction of the same announce waits here, then sees the first.
    let row = tx
        .query_opt(
            "SELECT announced_at, corrected_by FROM announcements WHERE seq = $1 FOR UPDATE",
            &[&seq_param(target)?],
        )
        .await?;
    let row = row
        .map(|r| Ok::<_, StoreError>((time(&r, 0)?, optional_seq(&r, 1)?)))
        .transpose()?;
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

async fn acks_of<C: GenericClient>(c: &C, seq: Seq) -> Result<Vec<Ack>, StoreError> {
    let rows = c
        .query(
            "SELECT target, acked_at FROM acks WHERE seq = $1 ORDER BY acked_at",
            &[&seq_param(seq)?],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Ack {
                target: col(r, 0)?,
                acked_at: time(r, 1)?,
            })
        })
        .collect()
}

/// Appends `new` to the log inside `tx`; see [`Postgres::record_announcement`].
pub(super) async fn insert_announcement(
    tx: &Transaction<'_>,
    new: NewAnnouncement,
) -> Result<Announcement, StoreError> {
    let now = stored_now();
    if let Some(target) = new.corrects {
        check_correctable(tx, target, now).await?;
    }
    let track_json = new.track.as_ref().map(serde_json::to_string).transpose()?;
    let at = new.logged_at.map_or(now, stored);
    let corrects = new.corrects.map(seq_param).transpose()?;
    let position = new.position.map(i64::from);
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQ_LOCK])
        .await?;
    let row = tx
        .query_one(
            "INSERT INTO announcements
                 (announced_at, message, show_id, position, track, corrects, show, log_only)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             RETURNING seq",
            &[
                &to_ms(at),
                &new.message.as_str(),
                &new.show_id,
                &position,
                &track_json,
                &corrects,
                &new.show,
                &new.logged_at.is_some(),
            ],
        )
        .await?;
    let seq = seq(&row, 0)?;
    if let Some(target) = corrects {
        tx.execute(
            "UPDATE announcements SET corrected_by = $1 WHERE seq = $2",
            &[&seq_param(seq)?, &target],
        )
        .await?;
    }
    let announcement = Announcement {
        seq,
        message: new.message,
        show_id: new.show_id,
        position: new.position,
        track: new.track,
        announced_at: at,
        corrects: new.corrects,
        corrected_by: None,
        show: new.show,
        log_only: new.logged_at.is_some(),
    };
    // Delivered to every listening replica when (and only if) the transaction commits.
    super::notify::announced(tx, &announcement).await?;
    Ok(announcement)
}

/// Announce `seq`, which must exist.
pub(super) async fn announcement<C: GenericClient>(
    c: &C,
    seq: Seq,
) -> Result<Announcement, StoreError> {
    let row = c
        .query_one(
            &format!("SELECT {COLUMNS} FROM announcements WHERE seq = $1"),
            &[&seq_param(seq)?],
        )
        .await?;
    from_row(&row)
}
