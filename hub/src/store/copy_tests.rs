//! Tests of the copy from SQLite into PostgreSQL: a database with every kind of row reads the
//! same through the face after the copy and goes on with the next seq; a target with data is
//! refused; a failed copy leaves nothing and can be run again; the copy knows every table.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use ntr_protocol::Seq;

use super::copy::{CopyError, TABLES, TableProgress, sqlite_to_postgres};
use super::{
    AlertKind, DeliveryKey, DeliveryOutcome, Enqueue, ExpectedTrack, Fired, IdempotencyKey, Keyed,
    Like, NewAnnouncement, NewEvent, NewEventRow, Recipient, RecordAs, Recorded, Store,
    StreamCheck, Track, TrackInfo, WeekLikes,
};
use crate::line::AnnounceLine;
use crate::station::ShowSlug;
use crate::week::Week;
use ntr_testpg::fresh_database;

fn slug() -> ShowSlug {
    ShowSlug::parse("main").expect("slug")
}

fn week() -> Week {
    let start = Timestamp::from_second(1_767_823_200).expect("in range");
    Week {
        start,
        end: start + SignedDuration::from_hours(7 * 24),
    }
}

fn text(line: &str) -> NewAnnouncement {
    NewAnnouncement::text(AnnounceLine::sanitize(line), Some(slug().to_string()))
}

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey {
        principal: "admin".into(),
        key: k.into(),
        body: format!("{{\"text\":\"{k}\"}}"),
    }
}

/// Records `new` under key `k`, held for a minute or logged now.
async fn keyed(store: &Store, new: NewAnnouncement, k: &str, held: bool) -> Recorded {
    let how = RecordAs {
        hold_until: held.then(|| Timestamp::now() + SignedDuration::from_secs(60)),
        key: Some(key(k)),
        keys_not_before: Timestamp::UNIX_EPOCH,
    };
    match store.record(new, how).await.expect("record") {
        Keyed::Recorded(r) => r,
        other => panic!("recorded: {other:?}"),
    }
}

/// A show with likes and the DJ's edits and a mark, then [`fill_log`]; answers the show's id.
async fn fill(store: &Store) -> i64 {
    let likes = (1..=4)
        .map(|id| Like {
            liked_at: week().start + SignedDuration::from_mins(id),
            track: TrackInfo {
                soundcloud_id: Some(id),
                title: format!("title {id}"),
                artist: "Band".into(),
                permalink_url: None,
                artwork_url: None,
                duration_ms: Some(1_000),
                license: None,
            },
        })
        .collect();
    let w = WeekLikes {
        week: week(),
        likes,
    };
    store.apply_likes(&slug(), vec![w]).await.expect("likes");
    let show = store.show_for_week(&slug(), week()).await.expect("show");
    store
        .remove_track(show.id, 2, ExpectedTrack::Any)
        .await
        .expect("remove");
    store
        .move_track(show.id, 3, 1, ExpectedTrack::Any)
        .await
        .expect("move");
    store.set_mark(show.id, week().start).await.expect("mark");
    fill_log(store, show.tracks[0].clone(), show.id).await;
    fill_alert(store, show.id).await;
    show.id
}

/// The show's live alert with a row sent to `discord` and one failed at once for `gone`.
async fn fill_alert(store: &Store, show_id: i64) {
    let at = Timestamp::now();
    let row = |target: &str, failed: Option<&str>| NewEventRow {
        target: target.into(),
        due_at: at,
        give_up_at: at + SignedDuration::from_mins(5),
        failed: failed.map(String::from),
    };
    let new = NewEvent {
        show_id,
        kind: AlertKind::Live,
        message: AnnounceLine::sanitize("Main is live now"),
        at,
        rows: vec![row("discord", None), row("gone", Some("expired"))],
    };
    let Fired::Now(live) = store.fire_event(new).await.expect("fire") else {
        panic!("the first live alert fires");
    };
    let key = DeliveryKey::Event(live.id);
    store
        .begin_attempt(key, "discord".into())
        .await
        .expect("try");
    let sent = DeliveryOutcome::Sent { latency_ms: 5 };
    store
        .finish_delivery(key, "discord".into(), sent)
        .await
        .expect("sent");
}

/// Announces (a track, texts, a correction, a log-only one), held ones and keys, then
/// [`fill_around`] of the first.
async fn fill_log(store: &Store, track: Track, show_id: i64) {
    store
        .init_delivery_cursor("discord".into())
        .await
        .expect("cursor");
    let played = NewAnnouncement {
        show_id: Some(show_id),
        position: Some(1),
        track: Some(track),
        ..text("Now Playing: title 1")
    };
    let first = store.record_announcement(played).await.expect("announce");
    let wrong = store.record_announcement(text("typo")).await.expect("typo");
    let fix = NewAnnouncement {
        corrects: Some(wrong.seq),
        ..text("fixed")
    };
    store.record_announcement(fix).await.expect("correct");
    let offline = NewAnnouncement {
        logged_at: Some(week().start),
        ..text("played offline")
    };
    store.record_announcement(offline).await.expect("log only");
    keyed(store, text("keyed"), "k1", false).await;
    let held = keyed(store, text("held"), "k2", true).await;
    let undone = keyed(store, text("undone"), "k3", true).await;
    if let (Recorded::Held(h), Recorded::Held(u)) = (held, undone) {
        store.release_held(h.id).await.expect("release");
        store.undo_held(u.id).await.expect("undo");
    }
    keyed(store, text("still held"), "k4", true).await;
    fill_around(store, first.seq).await;
}

/// Acks of `first`, relay cursors, a session, a meta value and deliveries (`first` sent).
async fn fill_around(store: &Store, first: Seq) {
    store.record_ack(first, "web".into()).await.expect("ack");
    store
        .record_relay_ack(first, "#ntr".into(), "ntrbot".into())
        .await
        .expect("relay ack");
    store
        .mark_relay_acking("ntrbot".into())
        .await
        .expect("acking");
    store
        .start_relay_cursor("plugin".into())
        .await
        .expect("plugin");
    let expires = Timestamp::now() + SignedDuration::from_hours(1);
    store
        .create_session("s1".into(), "dj".into(), expires)
        .await
        .expect("session");
    store
        .set_meta("soundcloud_user", "42".into())
        .await
        .expect("meta");
    let timing = Enqueue {
        not_before: Timestamp::UNIX_EPOCH,
        delay_ms: 0,
        give_up_ms: 300_000,
        shows: None,
    };
    store
        .enqueue_deliveries("discord".into(), timing)
        .await
        .expect("enqueue");
    let sent = DeliveryOutcome::Sent { latency_ms: 12 };
    store
        .finish_delivery(DeliveryKey::Announce(first), "discord".into(), sent)
        .await
        .expect("sent");
    let check = StreamCheck {
        stream_title: Some("Band - title 1".into()),
        verified: Some(true),
    };
    store
        .record_stream_check(first, "discord".into(), check)
        .await
        .expect("read back");
}

/// What the face reads back of everything [`fill`] wrote, as text to compare.
async fn read_all(store: &Store, show_id: i64) -> Vec<String> {
    let log = store
        .announcements_since(Seq::ZERO, Timestamp::UNIX_EPOCH)
        .await
        .expect("log");
    let cursors = store.relay_cursors().await.expect("cursors");
    let mut out = vec![
        format!("{:?}", store.last_seq().await.expect("seq")),
        format!("{log:?}"),
        format!("{:?}", store.show(show_id).await.expect("show")),
        format!("{:?}", store.shows(10, None).await.expect("shows")),
        format!("{:?}", store.mark(show_id).await.expect("mark")),
        format!("{:?}", store.played_by_show(10).await.expect("played")),
        format!("{:?}", cursors.into_iter().collect::<BTreeMap<_, _>>()),
        format!(
            "{:?}",
            store.live_session("s1".into()).await.expect("session")
        ),
        format!("{:?}", store.meta("soundcloud_user").await.expect("meta")),
        format!("{:?}", store.held_due(Timestamp::MAX).await.expect("held")),
        format!(
            "{:?}",
            store
                .events_since(Timestamp::UNIX_EPOCH)
                .await
                .expect("events")
        ),
        format!(
            "{:?}",
            store
                .delivery_summary("discord".into(), Timestamp::UNIX_EPOCH)
                .await
                .expect("summary")
        ),
    ];
    for k in ["k1", "k2", "k3", "k4"] {
        let made = store
            .keyed(key(k), Timestamp::UNIX_EPOCH)
            .await
            .expect("key");
        out.push(format!("{k}: {made:?}"));
    }
    let discord = Recipient {
        target: "discord".into(),
        shows: None,
    };
    for a in &log {
        // Acks of one millisecond have no order between them.
        let mut acks = store.acks(a.seq).await.expect("acks");
        acks.sort_by(|x, y| (x.acked_at, &x.target).cmp(&(y.acked_at, &y.target)));
        let rows = store.deliveries(a.seq, vec![discord.clone()]).await;
        out.push(format!("{}: {acks:?} {:?}", a.seq, rows.expect("rows")));
    }
    out
}

#[tokio::test]
async fn a_full_sqlite_history_reads_the_same_on_postgres_and_goes_on_with_the_next_seq() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let sqlite = Store::open(dir.path()).expect("sqlite");
    let show_id = fill(&sqlite).await;
    let before = read_all(&sqlite, show_id).await;
    let mut seen: Vec<TableProgress> = Vec::new();
    let copied = sqlite_to_postgres(dir.path(), &url, &[], &mut |p| seen.push(p))
        .await
        .expect("copy");
    assert_eq!(copied.len(), TABLES.len());
    assert!(copied.iter().all(|t| t.copied == t.total), "{copied:?}");
    for table in [
        "tracks",
        "announcements",
        "held_announcements",
        "idempotency_keys",
        "show_events",
        "event_deliveries",
    ] {
        let t = copied.iter().find(|t| t.table == table).expect("table");
        assert!(t.copied > 0, "{table} copied nothing");
        assert!(seen.contains(t), "no progress shown for {table}");
    }
    let postgres = Store::connect(&url).await.expect("postgres");
    assert_eq!(read_all(&postgres, show_id).await, before);
    let last = sqlite.last_seq().await.expect("seq");
    let next = postgres
        .record_announcement(text("after the move"))
        .await
        .expect("announce");
    assert_eq!(next.seq.get(), last.get() + 1);
    let week2 = Week {
        start: week().end,
        end: week().end + SignedDuration::from_hours(7 * 24),
    };
    let new_show = postgres.show_for_week(&slug(), week2).await.expect("week");
    assert!(new_show.id > show_id, "show ids go on: {}", new_show.id);
}

/// An SQLite hub in a temp dir with one announce ("one") in its log.
async fn sqlite_with_one_line() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("dir");
    let sqlite = Store::open(dir.path()).expect("sqlite");
    sqlite
        .record_announcement(text("one"))
        .await
        .expect("announce");
    (dir, sqlite)
}

#[tokio::test]
async fn a_target_with_hub_data_is_refused_and_left_alone() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let (dir, _sqlite) = sqlite_with_one_line().await;
    let postgres = Store::connect(&url).await.expect("postgres");
    postgres
        .record_announcement(text("already here"))
        .await
        .expect("announce");
    let again = sqlite_to_postgres(dir.path(), &url, &[], &mut |_| {}).await;
    assert!(
        matches!(
            again,
            Err(CopyError::NotEmpty {
                table: "announcements",
                ..
            })
        ),
        "{again:?}"
    );
    let log = postgres
        .announcements_since(Seq::ZERO, Timestamp::UNIX_EPOCH)
        .await
        .expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].message.as_str(), "already here");
}

/// A row that breaks a reference (here an ack of an announce that is not there, written behind
/// the hub's back) fails the copy at its commit: nothing is left, and once the row is gone the
/// same command succeeds.
#[tokio::test]
async fn a_failed_copy_leaves_nothing_and_can_be_run_again() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let (dir, _sqlite) = sqlite_with_one_line().await;
    let raw = rusqlite::Connection::open(dir.path().join(super::DB_FILE)).expect("raw");
    raw.execute_batch(
        "PRAGMA foreign_keys = OFF; INSERT INTO acks (seq, target, acked_at) VALUES (99, 'web', 0);",
    )
        .expect("a dangling ack");
    let failed = sqlite_to_postgres(dir.path(), &url, &[], &mut |_| {}).await;
    assert!(matches!(failed, Err(CopyError::Store(_))), "{failed:?}");
    let postgres = Store::connect(&url).await.expect("postgres");
    assert_eq!(postgres.last_seq().await.expect("seq"), Seq::ZERO);
    raw.execute_batch("DELETE FROM acks WHERE seq = 99;")
        .expect("repair");
    sqlite_to_postgres(dir.path(), &url, &[], &mut |_| {})
        .await
        .expect("the second run");
    assert_eq!(postgres.last_seq().await.expect("seq").get(), 1);
}

/// The copy's list of tables and columns is exactly both backends' schema: a table or column
/// added to one without the others fails here instead of being left behind by a copy.
#[tokio::test]
async fn the_copy_knows_every_table_and_column_of_both_backends() {
    let expected: BTreeSet<String> = TABLES
        .iter()
        .flat_map(|t| t.columns.iter().map(move |c| format!("{}.{c}", t.name)))
        .collect();
    let dir = tempfile::tempdir().expect("dir");
    Store::open(dir.path()).expect("sqlite");
    let raw = rusqlite::Connection::open(dir.path().join(super::DB_FILE)).expect("raw");
    let mut stmt = raw
        .prepare(
            "SELECT m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .expect("columns");
    let sqlite: BTreeSet<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(sqlite, expected, "SQLite");
    let Some(url) = fresh_database().await else {
        return;
    };
    Store::connect(&url).await.expect("postgres");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT table_name || '.' || column_name FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'schema_version'",
            &[],
        )
        .await
        .expect("columns");
    let postgres: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(postgres, expected, "PostgreSQL");
}
