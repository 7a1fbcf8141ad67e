//! The delivery ledger in SQL: `deliveries` holds the announces' rows, `delivery_cursors` per
//! target the last announce whose row exists. Rows are made by one `INSERT … SELECT` from the
//! log in the same transaction as the cursor's advance. Go-live alerts' rows live in
//! `event_deliveries` (made when the alert fires) and move through the same methods, by
//! [`DeliveryKey`].

use jiff::Timestamp;
use ntr_protocol::Seq;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::alerts::{EVENT_COLUMNS, event_from};
use super::announcements::{COLUMNS, from_row};
use super::ledger_rows::{ROW_COLUMNS, row_from};
use super::{Sqlite, time, to_ms};
use crate::store::{
    AlertKind, DeliveryKey, DeliveryOutcome, DeliveryRow, DeliveryStatus, Enqueue, Outgoing,
    PendingDelivery, Recipient, StoreError, StreamCheck, TargetSummary,
};

/// The table and row id of a key: an announce's row is found by seq, an alert's by its id.
fn row_of(key: DeliveryKey) -> (&'static str, &'static str, i64) {
    match key {
        DeliveryKey::Announce(seq) => ("deliveries", "seq", seq.get() as i64),
        DeliveryKey::Event(id) => ("event_deliveries", "event_id", id),
    }
}

/// A pending row's bookkeeping: attempts, last error, due and give-up times.
type Bookkeeping = (u32, Option<String>, jiff::Timestamp, jiff::Timestamp);

fn bookkeeping(r: &Row<'_>, at: usize) -> rusqlite::Result<Bookkeeping> {
    Ok((
        r.get(at)?,
        r.get(at + 1)?,
        time(r, at + 2)?,
        time(r, at + 3)?,
    ))
}

fn pending(
    item: Outgoing,
    (attempts, last_error, due_at, give_up_at): Bookkeeping,
) -> PendingDelivery {
    PendingDelivery {
        item,
        attempts,
        last_error,
        due_at,
        give_up_at,
    }
}

/// The oldest pending announce row of `target`.
fn next_announce(c: &Connection, target: &str) -> rusqlite::Result<Option<PendingDelivery>> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, attempts, last_error, due_at, give_up_at FROM deliveries
         WHERE target = ?1 AND status = 'pending' ORDER BY seq LIMIT 1",
    )?;
    let Some((seq, book)) = stmt
        .query_row([target], |r| Ok((r.get::<_, u64>(0)?, bookkeeping(r, 1)?)))
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM announcements WHERE seq = ?1"
    ))?;
    let announce = stmt.query_row([seq], from_row)?;
    Ok(Some(pending(Outgoing::Announce(Box::new(announce)), book)))
}

/// The pending alert row of `target` due first.
fn next_event(c: &Connection, target: &str) -> rusqlite::Result<Option<PendingDelivery>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS}, d.attempts, d.last_error, d.due_at, d.give_up_at
         FROM event_deliveries d JOIN show_events e ON e.id = d.event_id
         JOIN shows s ON s.id = e.show_id
         WHERE d.target = ?1 AND d.status = 'pending' ORDER BY d.due_at, d.event_id LIMIT 1"
    ))?;
    stmt.query_row([target], |r| {
        Ok(pending(Outgoing::Event(event_from(r)?), bookkeeping(r, 6)?))
    })
    .optional()
}

impl Sqlite {
    /// Gives a target seen for the first time its cursor at the log's end: it delivers what is
    /// announced from now on, not the whole history. Run before the hub serves, so no announce
    /// can slip in between.
    pub async fn init_delivery_cursor(&self, target: String) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO delivery_cursors (target, seq)
                 SELECT ?1, COALESCE(MAX(seq), 0) FROM announcements",
                [&target],
            )?;
            Ok(())
        })
        .await
    }

    /// Makes `pending` rows for `target` for every announce logged since its cursor (inside the
    /// give-up window) and advances the cursor, in one transaction. Returns how many rows were
    /// made.
    pub async fn enqueue_deliveries(
        &self,
        target: String,
        e: Enqueue,
    ) -> Result<usize, StoreError> {
        // The shows as a JSON array, which SQLite's `json_each` reads as a list of slugs.
        let shows = e.shows.as_ref().map(|s| serde_json::json!(s).to_string());
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT OR IGNORE INTO delivery_cursors (target, seq)
                 SELECT ?1, COALESCE(MAX(seq), 0) FROM announcements",
                [&target],
            )?;
            let cursor: i64 = tx.query_row(
                "SELECT seq FROM delivery_cursors WHERE target = ?1",
                [&target],
                |r| r.get(0),
            )?;
            let made = tx.execute(
                "INSERT INTO deliveries (seq, target, status, due_at, give_up_at, updated_at)
                 SELECT seq, ?1, 'pending', announced_at + ?3, announced_at + ?3 + ?4, ?5
                 FROM announcements WHERE seq > ?2 AND announced_at >= ?6 AND NOT log_only
                   AND (?7 IS NULL OR show IS NULL
                        OR show IN (SELECT value FROM json_each(?7)))
                 ON CONFLICT(seq, target) DO NOTHING",
                params![
                    target,
                    cursor,
                    e.delay_ms,
                    e.give_up_ms,
                    to_ms(Timestamp::now()),
                    to_ms(e.not_before),
                    shows,
                ],
            )?;
            tx.execute(
                "UPDATE delivery_cursors
                 SET seq = MAX(seq, (SELECT COALESCE(MAX(seq), 0) FROM announcements))
                 WHERE target = ?1",
                [&target],
            )?;
            tx.commit()?;
            Ok(made)
        })
        .await
    }

    /// The oldest pending row of `target`, with its announce: a target's lines go out in
    /// announce order, so a line being retried holds back the later ones of that target.
    pub async fn next_delivery(
        &self,
        target: String,
    ) -> Result<Option<PendingDelivery>, StoreError> {
        self.call(move |c| {
            let announce = next_announce(c, &target)?;
            let event = next_event(c, &target)?;
            Ok(match (announce, event) {
                (Some(a), Some(e)) if e.due_at < a.due_at => Some(e),
                (Some(a), _) => Some(a),
                (None, e) => e,
            })
        })
        .await
    }

    /// Counts an attempt before it is made, so a crash mid-request still shows it; returns the
    /// attempts made so far, this one included.
    pub async fn begin_attempt(&self, key: DeliveryKey, target: String) -> Result<u32, StoreError> {
        let (table, id_column, id) = row_of(key);
        self.call(move |c| {
            // Not `UPDATE … RETURNING` read with `query_row`: that leaves the statement unfinished
            // and SQLite then never checkpoints the WAL.
            c.execute(
                &format!(
                    "UPDATE {table} SET attempts = attempts + 1, updated_at = ?3
                     WHERE {id_column} = ?1 AND target = ?2 AND status = 'pending'"
                ),
                params![id, target, to_ms(Timestamp::now())],
            )?;
            Ok(c.query_row(
                &format!("SELECT attempts FROM {table} WHERE {id_column} = ?1 AND target = ?2"),
                params![id, target],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Records how an attempt ended. Only a `pending` row changes: `sent` and `failed` are final.
    pub async fn finish_delivery(
        &self,
        key: DeliveryKey,
        target: String,
        outcome: DeliveryOutcome,
    ) -> Result<(), StoreError> {
        let (table, id_column, id) = row_of(key);
        self.call(move |c| {
            let now = to_ms(Timestamp::now());
            let row = format!("WHERE {id_column} = ?1 AND target = ?2 AND status = 'pending'");
            match outcome {
                DeliveryOutcome::Sent { latency_ms } => c.execute(
                    &format!(
                        "UPDATE {table} SET status = 'sent', latency_ms = ?3, updated_at = ?4 {row}"
                    ),
                    params![id, target, latency_ms, now],
                ),
                DeliveryOutcome::Retry { error, due_at } => c.execute(
                    &format!(
                        "UPDATE {table} SET last_error = ?3, due_at = ?4, updated_at = ?5 {row}"
                    ),
                    params![id, target, error, to_ms(due_at), now],
                ),
                DeliveryOutcome::Failed { error } => c.execute(
                    &format!(
                        "UPDATE {table} SET status = 'failed', last_error = ?3, updated_at = ?4 {row}"
                    ),
                    params![id, target, error, now],
                ),
            }?;
            Ok(())
        })
        .await
    }

    /// Records a read-back of a `sent` row. `updated_at` stays the delivery's own time: a
    /// read-back is not a change of the delivery, and the panel's "last delivery" is by it.
    pub async fn record_stream_check(
        &self,
        seq: Seq,
        target: String,
        check: StreamCheck,
    ) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                "UPDATE deliveries
                 SET stream_title = COALESCE(?3, stream_title), verified = ?4
                 WHERE seq = ?1 AND target = ?2 AND status = 'sent'",
                params![seq.get(), target, check.stream_title, check.verified],
            )?;
            Ok(())
        })
        .await
    }

    /// Every ledger row of `seq`, plus a `pending` placeholder for each of `enabled` that has
    /// not made its row yet (its worker is about to); `None` when no such announce exists.
    pub async fn deliveries(
        &self,
        seq: Seq,
        enabled: Vec<Recipient>,
    ) -> Result<Option<Vec<DeliveryRow>>, StoreError> {
        self.call(move |c| {
            let seq = seq.get();
            let announced = c
                .query_row(
                    "SELECT announced_at, show FROM announcements WHERE seq = ?1",
                    [seq],
                    |r| Ok((time(r, 0)?, r.get::<_, Option<String>>(1)?)),
                )
                .optional()?;
            let Some((announced_at, show)) = announced else {
                return Ok(None);
            };
            let mut stmt = c.prepare_cached(&format!(
                "SELECT target, {ROW_COLUMNS} FROM deliveries WHERE seq = ?1 ORDER BY target"
            ))?;
            let mut rows = stmt
                .query_map([seq], |r| row_from(r.get(0)?, r, 1))?
                .collect::<Result<Vec<_>, _>>()?;
            for recipient in enabled {
                let target = recipient.target.clone();
                if recipient.gets(show.as_deref())
                    && !rows.iter().any(|r| r.target == target)
                    && not_yet_made(c, &target, seq)?
                {
                    rows.push(DeliveryRow {
                        target,
                        status: DeliveryStatus::Pending,
                        attempts: 0,
                        last_error: None,
                        latency_ms: None,
                        updated_at: announced_at,
                        verified: None,
                        stream_title: None,
                    });
                }
            }
            rows.sort_by(|a, b| a.target.cmp(&b.target));
            Ok(Some(rows))
        })
        .await
    }

    /// Per target: pending and failed rows changed since `since`, and the latest row.
    pub async fn delivery_summary(
        &self,
        target: String,
        since: Timestamp,
    ) -> Result<TargetSummary, StoreError> {
        self.call(move |c| {
            let (pending, failed) = c.query_row(
                "SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'failed'), 0)
                 FROM deliveries WHERE target = ?1 AND updated_at >= ?2",
                params![target, to_ms(since)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let last = c
                .query_row(
                    &format!(
                        "SELECT seq, {ROW_COLUMNS} FROM deliveries WHERE target = ?1
                         ORDER BY updated_at DESC, seq DESC LIMIT 1"
                    ),
                    [&target],
                    |r| Ok((Seq::new(r.get(0)?), row_from(target.clone(), r, 1)?)),
                )
                .optional()?;
            Ok(TargetSummary {
                pending,
                failed,
                last,
                events: last_events(c, &target)?,
            })
        })
        .await
    }

    /// Rows not sent (yet) that carry an error, changed since `since`, newest first: what the
    /// dashboard marks next to the tracks.
    pub async fn delivery_problems(
        &self,
        since: Timestamp,
    ) -> Result<Vec<(Seq, DeliveryRow)>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT seq, target, {ROW_COLUMNS} FROM deliveries
                 WHERE status != 'sent' AND last_error IS NOT NULL AND updated_at >= ?1
                 ORDER BY updated_at DESC LIMIT 200"
            ))?;
            let rows = stmt.query_map([to_ms(since)], |r| {
                Ok((Seq::new(r.get(0)?), row_from(r.get(1)?, r, 2)?))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

/// The latest row of each alert kind `target` got.
fn last_events(c: &Connection, target: &str) -> rusqlite::Result<Vec<(AlertKind, DeliveryRow)>> {
    let mut out = Vec::new();
    for kind in AlertKind::ALL {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT d.target, {} FROM event_deliveries d
             JOIN show_events e ON e.id = d.event_id
             WHERE d.target = ?1 AND e.kind = ?2 ORDER BY e.at DESC, e.id DESC LIMIT 1",
            prefixed("d.")
        ))?;
        if let Some(row) = stmt
            .query_row(params![target, kind.as_str()], |r| {
                row_from(r.get(0)?, r, 1)
            })
            .optional()?
        {
            out.push((kind, row));
        }
    }
    Ok(out)
}

/// [`ROW_COLUMNS`] of a table aliased `alias` (`d.`).
fn prefixed(alias: &str) -> String {
    ROW_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `target`'s worker has yet to make rows up to `seq` (its cursor is behind).
fn not_yet_made(c: &Connection, target: &str, seq: u64) -> rusqlite::Result<bool> {
    let cursor: Option<u64> = c
        .query_row(
            "SELECT seq FROM delivery_cursors WHERE target = ?1",
            [target],
            |r| r.get(0),
        )
        .optional()?;
    Ok(cursor.is_some_and(|cursor| cursor < seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::AnnounceLine;
    use crate::store::{NewAnnouncement, Store};

    async fn announce(store: &Store, text: &str) -> Seq {
        store
            .record_announcement(NewAnnouncement::text(AnnounceLine::sanitize(text), None))
            .await
            .expect("announce")
            .seq
    }

    fn every_show(t: &str) -> Recipient {
        Recipient {
            target: t.into(),
            shows: None,
        }
    }

    fn timing() -> Enqueue {
        Enqueue {
            not_before: Timestamp::UNIX_EPOCH,
            delay_ms: 0,
            give_up_ms: 300_000,
            shows: None,
        }
    }

    #[tokio::test]
    async fn the_wal_is_checkpointed_while_delivering() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        store.init_delivery_cursor("t".into()).await.expect("init");
        for n in 0..1_000 {
            let seq = announce(&store, &format!("line {n}")).await;
            store
                .enqueue_deliveries("t".into(), timing())
                .await
                .expect("enqueue");
            let next = store.next_delivery("t".into()).await.expect("next");
            assert_eq!(next.map(|d| d.item.key()), Some(DeliveryKey::Announce(seq)));
            let key = DeliveryKey::Announce(seq);
            store.begin_attempt(key, "t".into()).await.expect("attempt");
            let sent = DeliveryOutcome::Sent { latency_ms: 1 };
            store
                .finish_delivery(key, "t".into(), sent)
                .await
                .expect("sent");
            store
                .deliveries(seq, vec![every_show("t")])
                .await
                .expect("rows");
            store
                .delivery_summary("t".into(), Timestamp::UNIX_EPOCH)
                .await
                .expect("summary");
        }
        let wal = std::fs::metadata(dir.path().join(format!("{}-wal", crate::store::DB_FILE)))
            .map_or(0, |m| m.len());
        // SQLite checkpoints every 1,000 pages (~4 MB) and then reuses the file.
        assert!(wal < 8_000_000, "the WAL grew to {wal} bytes");
    }
}
