//! Tests of the PostgreSQL backend's own details: what the conformance suite cannot see
//! through the face of one handle (several connections or hubs at once, a schema from a newer
//! hub).

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use ntr_protocol::Seq;

use crate::line::AnnounceLine;
use crate::station::ShowSlug;
use crate::store::{AlertKind, Fired, NewAnnouncement, NewEvent, NewEventRow, Store, StoreError};
use crate::week::Week;
use ntr_testpg::fresh_database;

/// A store on a fresh database, or `None` where PostgreSQL is missing and not required.
async fn store() -> Option<(String, Store)> {
    let url = fresh_database().await?;
    let store = Store::connect(&url).await.expect("connect");
    Some((url, store))
}

/// A reader that resumes after the highest seq it saw (as `?since=` does) while several
/// connections announce at once must still see every seq: seqs are committed in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_resuming_by_seq_misses_nothing_while_many_announce() {
    let Some((_url, store)) = store().await else {
        return;
    };
    const WRITERS: u64 = 6;
    const EACH: u64 = 40;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..EACH {
                    let line = AnnounceLine::sanitize(&format!("writer {w} line {n}"));
                    store
                        .record_announcement(NewAnnouncement::text(line, None))
                        .await
                        .expect("announce");
                }
            })
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut after = Seq::ZERO;
    while seen.len() < (WRITERS * EACH) as usize {
        let read = store
            .announcements_since(after, Timestamp::UNIX_EPOCH)
            .await
            .expect("read");
        for a in read {
            seen.insert(a.seq.get());
            after = after.max(a.seq);
        }
        if writers.iter().all(tokio::task::JoinHandle::is_finished) {
            // One last read after every writer committed: anything still missing was skipped.
            let rest = store
                .announcements_since(after, Timestamp::UNIX_EPOCH)
                .await
                .expect("read");
            seen.extend(rest.iter().map(|a| a.seq.get()));
            break;
        }
    }
    for w in writers {
        w.await.expect("writer");
    }
    let all: BTreeSet<u64> = (1..=WRITERS * EACH).collect();
    assert_eq!(seen, all, "the reader skipped a seq committed late");
}

/// The live alert of show week `show_id` with a pending row for target `t`.
fn live_alert(show_id: i64) -> NewEvent {
    let at = Timestamp::now();
    NewEvent {
        show_id,
        kind: AlertKind::Live,
        message: AnnounceLine::sanitize("Main is live now"),
        at,
        rows: vec![NewEventRow {
            target: "t".into(),
            due_at: at,
            give_up_at: at + SignedDuration::from_mins(5),
            failed: None,
        }],
    }
}

/// Hubs sharing the database (each its own pool) firing one week's alert at the same moment:
/// exactly one fires it, every other is told it fired before, and it has one set of rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alert_fired_by_racing_hubs_fires_once() {
    let Some((url, store)) = store().await else {
        return;
    };
    const HUBS: usize = 6;
    let mut hubs = Vec::with_capacity(HUBS);
    for _ in 0..HUBS {
        hubs.push(Store::connect(&url).await.expect("another hub"));
    }
    let slug = ShowSlug::parse("main").expect("slug");
    for n in 0..5 {
        let start = Timestamp::from_second(1_767_823_200 + n * 7 * 86_400).expect("in range");
        let week = Week {
            start,
            end: start + SignedDuration::from_hours(7 * 24),
        };
        let show_id = store.show_for_week(&slug, week).await.expect("week").id;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(HUBS));
        let racers: Vec<_> = hubs
            .iter()
            .cloned()
            .map(|hub| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    hub.fire_event(live_alert(show_id)).await
                })
            })
            .collect();
        let mut fired = Vec::with_capacity(HUBS);
        for racer in racers {
            fired.push(racer.await.expect("racer").expect("fire"));
        }
        let now: Vec<_> = fired
            .iter()
            .filter_map(|f| match f {
                Fired::Now(e) => Some(e.clone()),
                Fired::Before(_) => None,
            })
            .collect();
        assert_eq!(now.len(), 1, "week {n}: {fired:?}");
        assert!(
            fired
                .iter()
                .all(|f| matches!(f, Fired::Before(e) | Fired::Now(e) if *e == now[0])),
            "week {n}: {fired:?}"
        );
    }
    let events = store.events_since(Timestamp::UNIX_EPOCH).await;
    let events = events.expect("events");
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.deliveries.len() == 1), "{events:?}");
}

/// A database a newer hub marked as unusable by older ones is refused, naming both schemas;
/// one that a newer hub changed compatibly is used.
#[tokio::test]
async fn a_database_only_a_newer_hub_can_use_is_refused() {
    let Some((url, _store)) = store().await else {
        return;
    };
    let known = super::migrations::schema_version();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .execute(
            "UPDATE schema_version SET version = $1, oldest_reader = $2",
            &[&(known + 5), &known],
        )
        .await
        .expect("a compatible newer schema");
    Store::connect(&url).await.expect("still usable");
    client
        .execute(
            "UPDATE schema_version SET oldest_reader = $1",
            &[&(known + 1)],
        )
        .await
        .expect("an incompatible newer schema");
    let refused = Store::connect(&url).await.err();
    assert!(
        matches!(
            refused,
            Some(StoreError::NewerPostgres { found, oldest_reader, .. })
                if found == known + 5 && oldest_reader == known + 1
        ),
        "{refused:?}"
    );
}

/// A stored time out of range is a corrupt row, never the epoch.
#[tokio::test]
async fn a_time_out_of_range_is_a_corrupt_row() {
    let Some((url, store)) = store().await else {
        return;
    };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .execute(
            "INSERT INTO sessions (id, username, created_at, expires_at) VALUES ('s', 'dj', 0, $1)",
            &[&i64::MAX],
        )
        .await
        .expect("seed");
    let read = store.live_session("s".into()).await;
    assert!(
        matches!(read, Err(StoreError::Corrupt { column: 2, .. })),
        "{read:?}"
    );
}

/// A database nobody answers for is an error naming where it was looked for, without the
/// URL's password.
#[tokio::test]
async fn an_unreachable_database_is_named_without_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://hub:hunter2@127.0.0.1:{port}/station");
    let failed = Store::connect(&url).await.err();
    let Some(StoreError::Connect { url: shown, .. }) = &failed else {
        panic!("{failed:?}");
    };
    assert_eq!(shown, &format!("postgres://hub@127.0.0.1:{port}/station"));
    assert!(!format!("{failed:?}").contains("hunter2"), "{failed:?}");
}

/// A replica's session: its name is its own while it lives, one session leads at a time and
/// the next takes over when the leader's connection ends; the others hear its announces (with
/// their wire form, or the seq alone for a log-only entry) and its show changes.
#[tokio::test]
async fn sessions_hold_names_and_leadership_and_hear_each_other() {
    use crate::store::Notice;
    let Some((url, a)) = store().await else {
        return;
    };
    let b = Store::connect(&url).await.expect("second hub");
    let mut first = a.open_session("a").await.expect("a");
    let taken = b.open_session("a").await.err().expect("a is taken");
    assert!(
        matches!(&taken, StoreError::ReplicaTaken(n) if n == "a"),
        "{taken}"
    );
    let mut second = b.open_session("b").await.expect("b");
    assert!(first.try_lead().await.expect("ask"), "the first leads");
    assert!(
        !second.try_lead().await.expect("ask"),
        "one leader at a time"
    );

    let line = AnnounceLine::sanitize("heard on b");
    let sent = a
        .record_announcement(NewAnnouncement::text(line, None))
        .await
        .expect("announce");
    let heard = tokio::time::timeout(std::time::Duration::from_secs(5), second.next_notice())
        .await
        .expect("in time")
        .expect("a notice");
    let Notice::Announced { seq, frame } = heard else {
        panic!("{heard:?}");
    };
    assert_eq!(seq, sent.seq);
    assert_eq!(
        frame.expect("the wire form").json,
        sent.to_message().to_json()
    );

    drop(first);
    let mut led = false;
    for _ in 0..50 {
        if second.try_lead().await.expect("ask") {
            led = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        led,
        "the second takes over once the first's connection is gone"
    );
    let _again = a.open_session("a").await.expect("the name is free again");
}
