//! Schema migrations, versioned in code with SQLite's `user_version`. Each step runs in one
//! transaction with the version bump, so a crash mid-upgrade leaves the previous version intact.
//! Append new steps; never edit a released one.

use rusqlite::Connection;

const STEPS: &[&str] = &[
    // 1: the initial schema.
    "
    CREATE TABLE tracks (
        id            INTEGER PRIMARY KEY,
        soundcloud_id INTEGER UNIQUE,          -- NULL for a record that is not on SoundCloud
        title         TEXT NOT NULL,
        artist        TEXT NOT NULL,
        permalink_url TEXT NOT NULL,
        artwork_url   TEXT,
        duration_ms   INTEGER,
        license       TEXT
    );
    CREATE TABLE shows (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        week_start INTEGER NOT NULL UNIQUE,    -- ms since the epoch
        week_end   INTEGER NOT NULL
    );
    -- Membership of a track in a show. Position is the rank by (sort_key, track_id).
    -- source 'like' rows follow SoundCloud; 'manual' rows were added by the DJ.
    -- removed = 1 is the DJ's removal, kept so later polls do not bring the track back.
    -- sort_key starts as liked_at * 1024 and is rewritten by moves and positional adds.
    CREATE TABLE show_tracks (
        show_id  INTEGER NOT NULL REFERENCES shows(id),
        track_id INTEGER NOT NULL REFERENCES tracks(id),
        source   TEXT NOT NULL CHECK (source IN ('like', 'manual')),
        liked_at INTEGER,
        added_at INTEGER NOT NULL,
        sort_key INTEGER NOT NULL,
        removed  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (show_id, track_id)
    );
    CREATE INDEX show_tracks_order ON show_tracks (show_id, removed, sort_key);
    -- The announcement log. AUTOINCREMENT: a seq is never reused, even after rows are deleted.
    CREATE TABLE announcements (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        announced_at INTEGER NOT NULL,
        message      TEXT NOT NULL,
        show_id      INTEGER,
        position     INTEGER,
        track        TEXT                     -- JSON snapshot of the track as announced
    );
    CREATE INDEX announcements_show ON announcements (show_id, position);
    CREATE TABLE acks (
        seq      INTEGER NOT NULL REFERENCES announcements(seq),
        target   TEXT NOT NULL,
        acked_at INTEGER NOT NULL,
        PRIMARY KEY (seq, target)
    );
    CREATE TABLE sessions (
        id         TEXT PRIMARY KEY,
        username   TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ended_at   INTEGER
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ",
    // 2: corrections (which announce corrects which) and the show's "recording started" mark.
    "
    ALTER TABLE announcements ADD COLUMN corrects INTEGER REFERENCES announcements(seq);
    ALTER TABLE announcements ADD COLUMN corrected_by INTEGER REFERENCES announcements(seq);
    CREATE INDEX announcements_time ON announcements (announced_at);
    CREATE TABLE show_marks (
        show_id   INTEGER PRIMARY KEY REFERENCES shows(id),
        marked_at INTEGER NOT NULL             -- ms since the epoch
    );
    ",
    // 3: the delivery ledger of `[[targets]]`: one row per (announce, target), and per target
    // the last announce whose row exists, so rows are created from the log after a crash too.
    "
    CREATE TABLE deliveries (
        seq        INTEGER NOT NULL REFERENCES announcements(seq),
        target     TEXT NOT NULL,
        status     TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts   INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        latency_ms INTEGER,                   -- from the announce to the target's acceptance
        due_at     INTEGER NOT NULL,          -- ms: no attempt before (delay_seconds, backoff)
        give_up_at INTEGER NOT NULL,          -- ms: failed if not sent by then
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (seq, target)
    );
    CREATE INDEX deliveries_pending ON deliveries (target, seq) WHERE status = 'pending';
    CREATE INDEX deliveries_updated ON deliveries (target, updated_at);
    CREATE TABLE delivery_cursors (
        target TEXT PRIMARY KEY,
        seq    INTEGER NOT NULL
    );
    ",
    // 4: per relay name, the highest seq it acked (or, for one that never acks, was sent), so a
    // relay that reconnects without `?since=` resumes where it was.
    "
    CREATE TABLE relay_cursors (
        name       TEXT PRIMARY KEY,
        seq        INTEGER NOT NULL,
        updated_at INTEGER NOT NULL          -- ms since the epoch
    );
    ",
    // 5: whether a relay acks (then only its acks move its cursor), and which relay made an
    // ack (its targets per line are capped). Acks stored before did not name their relay: a
    // relay that acked had its cursor moved by its own acks, so the line at its cursor carries
    // an ack that is not a `[[targets]]` delivery. An old plugin is marked too only if another
    // subscriber acked the very line its cursor is at; it then gets some lines twice, never
    // fewer.
    "
    ALTER TABLE relay_cursors ADD COLUMN acking INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE acks ADD COLUMN relay TEXT;
    UPDATE relay_cursors SET acking = 1 WHERE EXISTS (
        SELECT 1 FROM acks a WHERE a.seq = relay_cursors.seq AND NOT EXISTS (
            SELECT 1 FROM deliveries d WHERE d.seq = a.seq AND d.target = a.target));
    ",
    // 6: a station: each week belongs to a show, by slug, and so does each announce (NULL: a
    // station-wide free text). Rows from before name no show (''): the hub gives them the
    // show the configuration names at start-up. A week is unique per show, so the table is
    // rebuilt without its old `UNIQUE (week_start)`, ids kept.
    "
    CREATE TABLE shows_by_slug (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        slug       TEXT NOT NULL,
        week_start INTEGER NOT NULL,
        week_end   INTEGER NOT NULL,
        UNIQUE (slug, week_start)
    );
    INSERT INTO shows_by_slug (id, slug, week_start, week_end)
        SELECT id, '', week_start, week_end FROM shows;
    DROP TABLE shows;
    ALTER TABLE shows_by_slug RENAME TO shows;
    ALTER TABLE announcements ADD COLUMN show TEXT;
    UPDATE announcements SET show = '';
    ",
    // 7: announcing on a bad network. Announces held for a show's `hold_seconds` wait in
    // `held_announcements` (with the columns of the line they will be) until released into the
    // log or undone. `Idempotency-Key`s, per credential and kept 24 h, remember the request
    // body they came with (a reuse with another body is refused) and what they made: an
    // announce or a held one. A log-only entry is in the log at the time the DJ gave, but was
    // never broadcast, so replays and deliveries skip it.
    "
    CREATE TABLE held_announcements (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        held_at    INTEGER NOT NULL,
        release_at INTEGER NOT NULL,
        state      TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'released', 'undone')),
        seq        INTEGER REFERENCES announcements(seq),
        message    TEXT NOT NULL,
        show_id    INTEGER,
        position   INTEGER,
        track      TEXT,
        show       TEXT
    );
    CREATE INDEX held_announcements_due ON held_announcements (state, release_at);
    CREATE TABLE idempotency_keys (
        principal  TEXT NOT NULL,
        key        TEXT NOT NULL,
        body       TEXT NOT NULL,
        seq        INTEGER REFERENCES announcements(seq),
        held_id    INTEGER REFERENCES held_announcements(id),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (principal, key),
        CHECK ((seq IS NULL) <> (held_id IS NULL))
    );
    CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
    ALTER TABLE announcements ADD COLUMN log_only INTEGER NOT NULL DEFAULT 0;
    ",
    // 8: go-live alerts. At most one `live` and one `reminder` per show week (the UNIQUE is
    // what makes "once" hold across restarts and racing requests), and their ledger rows, one
    // per (alert, target), moving like `deliveries` but with no seq.
    "
    CREATE TABLE show_events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        show_id INTEGER NOT NULL REFERENCES shows(id),
        kind    TEXT NOT NULL CHECK (kind IN ('live', 'reminder')),
        message TEXT NOT NULL,
        at      INTEGER NOT NULL,             -- ms: when it fired
        UNIQUE (show_id, kind)
    );
    CREATE INDEX show_events_at ON show_events (at);
    CREATE TABLE event_deliveries (
        event_id   INTEGER NOT NULL REFERENCES show_events(id),
        target     TEXT NOT NULL,
        status     TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts   INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        latency_ms INTEGER,
        due_at     INTEGER NOT NULL,
        give_up_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        verified   INTEGER,                   -- always NULL: alerts are not read back
        stream_title TEXT,
        PRIMARY KEY (event_id, target)
    );
    CREATE INDEX event_deliveries_pending ON event_deliveries (target, due_at)
        WHERE status = 'pending';
    ",
    // 9: what a target's receiver showed when the hub read it back after a delivery (an
    // Icecast mount's title): the last text read, and whether the reads showed what was sent
    // (NULL: not read yet, unreadable, or a kind that is not read back).
    "
    ALTER TABLE deliveries ADD COLUMN stream_title TEXT;
    ALTER TABLE deliveries ADD COLUMN verified INTEGER CHECK (verified IN (0, 1));
    ",
    // 10: failed dashboard logins per client address, counted where every replica of a
    // station sees them (one hub on SQLite counts in memory and leaves this table empty).
    "
    CREATE TABLE login_attempts (
        id      INTEGER PRIMARY KEY,
        address TEXT NOT NULL,
        at      INTEGER NOT NULL                -- ms
    );
    CREATE INDEX login_attempts_address ON login_attempts (address, at);
    CREATE INDEX login_attempts_at ON login_attempts (at);
    ",
];

/// The `user_version` this binary brings a database to; a file with a higher one was written by
/// a newer hub.
pub fn schema_version() -> i64 {
    STEPS.len() as i64
}

/// Runs the steps this database lacks. Foreign keys must be off (step 6 rebuilds a table
/// that others reference); the caller turns them on afterwards.
pub fn run(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in STEPS.iter().enumerate().skip(current.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        run(&mut conn).expect("first");
        run(&mut conn).expect("second");
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, STEPS.len() as i64);
    }

    /// Step 6 on a database of step 5 (a v2 hub's): weeks keep their ids, tracks and marks,
    /// and with every announce they belong to the show the hub names at start-up.
    #[tokio::test]
    async fn a_v2_database_becomes_one_shows_weeks() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let mut conn = Connection::open(dir.path().join(crate::store::DB_FILE)).expect("db");
            let tx = conn.transaction().expect("tx");
            for sql in &STEPS[..5] {
                tx.execute_batch(sql).expect("old step");
            }
            tx.pragma_update(None, "user_version", 5).expect("version");
            tx.execute_batch(
                "INSERT INTO shows (id, week_start, week_end) VALUES (7, 1000, 2000), (8, 2000, 3000);
                 INSERT INTO tracks (id, soundcloud_id, title, artist, permalink_url)
                     VALUES (1, 11, 't', 'a', '');
                 INSERT INTO show_tracks (show_id, track_id, source, added_at, sort_key)
                     VALUES (8, 1, 'manual', 0, 0);
                 INSERT INTO show_marks (show_id, marked_at) VALUES (8, 2500);
                 INSERT INTO announcements (seq, announced_at, message, show_id, position)
                     VALUES (1, 2600, 'song', 8, 1), (2, 2700, 'hello', NULL, NULL);",
            )
            .expect("v2 rows");
            tx.commit().expect("commit");
        }
        let store = crate::store::Store::open(dir.path()).expect("upgrade");
        let ntr = crate::station::ShowSlug::parse("ntr").expect("slug");
        assert_eq!(store.adopt_unnamed(&ntr).await.expect("adopt"), 2);
        assert_eq!(store.adopt_unnamed(&ntr).await.expect("again"), 0, "once");
        let show = store.show(8).await.expect("week 8");
        assert_eq!((show.slug.as_str(), show.tracks.len()), ("ntr", 1));
        let weeks = store.shows(10, Some(&ntr)).await.expect("ntr's weeks");
        assert_eq!(weeks.iter().map(|w| w.id).collect::<Vec<_>>(), [8, 7]);
        let log = store
            .announcements_since(ntr_protocol::Seq::ZERO, jiff::Timestamp::UNIX_EPOCH)
            .await
            .expect("log");
        assert!(
            log.iter().all(|a| a.show.as_deref() == Some("ntr")),
            "{log:?}"
        );
        // A new week gets a fresh id after the rebuilt table's.
        let next = store
            .show_for_week(
                &ntr,
                crate::week::Week {
                    start: jiff::Timestamp::from_millisecond(3000).expect("ms"),
                    end: jiff::Timestamp::from_millisecond(4000).expect("ms"),
                },
            )
            .await
            .expect("new week");
        assert_eq!(next.id, 9);
    }

    /// Step 5 on a database of step 4: a relay whose cursor line carries a subscriber's ack is
    /// marked as acking; one whose line carries only a `[[targets]]` delivery's is not.
    #[test]
    fn relays_with_stored_acks_are_marked_as_acking() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        for sql in &STEPS[..4] {
            conn.execute_batch(sql).expect("old step");
        }
        conn.pragma_update(None, "user_version", 4)
            .expect("version");
        conn.execute_batch(
            "INSERT INTO announcements (seq, announced_at, message) VALUES (1, 0, 'a'), (2, 0, 'b');
             INSERT INTO acks (seq, target, acked_at) VALUES (1, '#ntr', 0), (2, 'discord', 0);
             INSERT INTO deliveries (seq, target, status, due_at, give_up_at, updated_at)
                 VALUES (2, 'discord', 'sent', 0, 0, 0);
             INSERT INTO relay_cursors (name, seq, updated_at)
                 VALUES ('ntrbot', 1, 0), ('plugin', 2, 0);",
        )
        .expect("v4 rows");
        run(&mut conn).expect("migrate");
        let acking = |name: &str| -> bool {
            conn.query_row(
                "SELECT acking FROM relay_cursors WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .expect("row")
        };
        assert!(acking("ntrbot"));
        assert!(!acking("plugin"));
    }
}
