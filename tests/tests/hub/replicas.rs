//! Replicas sharing one PostgreSQL database (`[store] url`), in-process like every `TestHub`:
//! every subscriber of every replica gets every announce once in seq order, a login on one is
//! valid on the other, each replica has a name of its own, and what runs once per station (the
//! deliveries to a target) runs on the leader and moves to another replica when it stops.

use std::time::Duration;

use e2e::fake_target::FakeTarget;
use e2e::hub::{TestHub, TestSchedule, login};
use e2e::wsclient::{self, Ws};
use serde_json::Value;

use super::ops::{Outcome, hub_command};

const LIMIT: Duration = Duration::from_secs(10);

/// `[store]` for a replica named `name` on the database at `url`, with `extra` after it.
fn replica_toml(url: &str, name: &str, extra: &str) -> String {
    format!("[store]\nurl = \"{url}\"\nreplica = \"{name}\"\n{extra}")
}

/// Two replicas `a` and `b` on a fresh database, each with `extra` in its configuration, or
/// `None` where PostgreSQL is missing and not required.
async fn two_replicas(extra: &str) -> Option<(String, TestHub, TestHub)> {
    let url = ntr_testpg::fresh_database().await?;
    let a = TestHub::start_with(TestSchedule::default(), &replica_toml(&url, "a", extra)).await;
    let b = TestHub::start_with(TestSchedule::default(), &replica_toml(&url, "b", extra)).await;
    Some((url, a, b))
}

/// The seqs of the next `n` announces on `ws`.
async fn seqs(ws: &mut Ws, n: usize) -> Vec<u64> {
    let mut seen = Vec::new();
    for _ in 0..n {
        let v = wsclient::next_of(ws, "announce", LIMIT).await;
        seen.push(v["seq"].as_u64().expect("seq"));
    }
    seen
}

#[tokio::test]
async fn every_subscriber_of_every_replica_gets_every_line_once_in_order() {
    let Some((_url, a, b)) = two_replicas("").await else {
        return;
    };
    let mut on_a = wsclient::bearer(&a.url(), "", &a.relay_token()).await;
    let mut on_b = wsclient::bearer(&b.url(), "", &b.relay_token()).await;
    let mut announced = Vec::new();
    for i in 0..6 {
        let hub = if i % 2 == 0 { &a } else { &b };
        announced.push(hub.announce_text(&format!("line {i}")).await);
    }
    assert_eq!(announced, (1..=6).collect::<Vec<u64>>(), "one seq order");
    assert_eq!(seqs(&mut on_a, 6).await, announced);
    assert_eq!(seqs(&mut on_b, 6).await, announced);
    wsclient::no_announce(&mut on_a, Duration::from_millis(500)).await;
    wsclient::no_announce(&mut on_b, Duration::from_millis(500)).await;

    // A subscriber that resumes on the other replica gets what it missed from the database.
    let mut late = wsclient::bearer(&b.url(), "?since=4", &b.relay_token()).await;
    assert_eq!(seqs(&mut late, 2).await, [5, 6]);

    let (_, health_a) = a.get_json("/health").await;
    let (_, health_b) = b.get_json("/health").await;
    assert_eq!(
        (health_a["replica"].clone(), health_b["replica"].clone()),
        ("a".into(), "b".into())
    );
}

#[tokio::test]
async fn a_login_and_a_logout_on_one_replica_hold_on_the_other_and_edits_show_live() {
    let Some((_url, a, b)) = two_replicas("").await else {
        return;
    };
    let (cookie, _) = login(&a.http, &a.url()).await;
    let dashboard = b
        .http
        .get(format!("{}/dashboard", b.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("dashboard on b");
    assert_eq!(
        dashboard.status(),
        200,
        "the session made on a is valid on b"
    );

    // A dashboard on b hears of a's edit of the playlist.
    let headers = [("cookie", cookie.clone()), ("origin", b.url())];
    let mut dash_b = wsclient::connect(&b.url(), "", &headers)
        .await
        .expect("dashboard socket on b");
    let (_, show) = a.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("show id");
    a.add_record(id, "First", "Artist", "https://example.com/first")
        .await;
    let changed = wsclient::next_of(&mut dash_b, "show_changed", LIMIT).await;
    assert_eq!(changed["show_id"], id, "{changed}");
    let (_, on_b) = b.get_json("/playlist").await;
    assert_eq!(
        on_b["tracks"][0]["title"], "First",
        "b's playlist is not a stale copy"
    );

    // A logout on a closes the session's socket on b.
    let out = a
        .http
        .post(format!("{}/logout", a.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 303);
    loop {
        match wsclient::next(&mut dash_b, LIMIT).await {
            wsclient::Event::Closed(code) => {
                assert_eq!(code, Some(1008), "closed as logged out");
                break;
            }
            wsclient::Event::Json(_) => {}
            wsclient::Event::Timeout => panic!("b kept the socket of a session ended on a"),
        }
    }
}

/// Deliveries to a target run on one replica, the leader (the first to start): a line
/// announced on either is delivered once; when the leader stops, the other takes over.
#[tokio::test]
async fn the_leader_delivers_each_line_once_and_the_other_takes_over() {
    let hook = FakeTarget::webhook(None).await;
    let target = format!(
        "[[targets]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url()
    );
    let Some((_url, mut a, b)) = two_replicas(&target).await else {
        return;
    };
    let first = a.announce_text("from a").await;
    let second = b.announce_text("from b").await;
    hook.wait_delivered(2, LIMIT).await;

    a.stop().await;
    let third = b.announce_text("after a stopped").await;
    let delivered = hook.wait_delivered(3, Duration::from_secs(20)).await;
    let seqs: Vec<u64> = delivered.iter().map(seq_of).collect();
    assert_eq!(seqs, [first, second, third], "each line once, in order");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(hook.delivered().len(), 3, "nothing delivered twice");
}

fn seq_of(body: &Value) -> u64 {
    body["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq in {body}"))
}

/// A second hub with the name of a running replica is refused (exit 2, naming it); with
/// PostgreSQL `hub backup` and `hub restore` point to PostgreSQL's own tools (exit 2).
#[tokio::test]
async fn a_taken_replica_name_and_backup_on_postgres_exit_2() {
    let Some(url) = ntr_testpg::fresh_database().await else {
        return;
    };
    let _a = TestHub::start_with(TestSchedule::default(), &replica_toml(&url, "a", "")).await;
    let twin = TestHub::start_with(TestSchedule::default(), &replica_toml(&url, "twin", "")).await;
    let config = twin
        .config_toml()
        .replace("replica = \"twin\"", "replica = \"a\"");
    let dir = tempfile::tempdir().expect("dir");
    let other_dir = dir.path().join("data");
    let config = config.replace(
        &format!("data_dir = {:?}", twin.data_dir().display().to_string()),
        &format!("data_dir = {:?}", other_dir.display().to_string()),
    );
    let listen = format!("127.0.0.1:{}", e2e::net::free_port());
    let config = config.replace(&format!("127.0.0.1:{}", twin.port), &listen);
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).expect("config");

    let taken: Outcome = hub_command(&path, &[], &[]).await;
    assert_eq!(taken.code, Some(2), "{}", taken.stderr);
    assert!(
        taken.stderr.contains("already named `a`"),
        "{}",
        taken.stderr
    );

    let check = hub_command(&path, &["check-config"], &[]).await;
    assert_eq!(check.code, Some(0), "{}", check.stderr);
    assert!(
        check
            .stdout
            .contains("PostgreSQL at postgres://hub@127.0.0.1")
            && check.stdout.contains("replica a"),
        "{}",
        check.stdout
    );

    let backup = hub_command(&path, &["backup", "/tmp/never-written.db"], &[]).await;
    assert_eq!(backup.code, Some(2), "{}", backup.stderr);
    assert!(backup.stderr.contains("pg_dump"), "{}", backup.stderr);
    let restore = hub_command(&path, &["restore", "/tmp/never-written.db"], &[]).await;
    assert_eq!(restore.code, Some(2), "{}", restore.stderr);
    assert!(restore.stderr.contains("pg_restore"), "{}", restore.stderr);
    assert!(!std::path::Path::new("/tmp/never-written.db").exists());
}

/// A PostgreSQL that cannot be reached is waited for (30 s), then the start fails with exit
/// 1 naming the host.
#[tokio::test]
async fn an_unreachable_database_is_waited_for_then_named() {
    if ntr_testpg::fresh_database().await.is_none() {
        return;
    }
    let hub = TestHub::start().await;
    let closed = e2e::net::free_port();
    let dir = tempfile::tempdir().expect("dir");
    let config = format!(
        "{}\n[store]\nurl = \"postgres://hub:hunter2@127.0.0.1:{closed}/station\"\n",
        hub.config_toml()
            .replace(
                &format!("127.0.0.1:{}", hub.port),
                &format!("127.0.0.1:{}", e2e::net::free_port())
            )
            .replace(
                &hub.data_dir().display().to_string(),
                &dir.path().display().to_string()
            )
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).expect("config");
    let out = hub_command(&path, &[], &[]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{closed}")),
        "{}",
        out.stderr
    );
    let waits = out.stderr.matches("waiting for PostgreSQL").count();
    assert!(waits >= 2, "it waited, and logged it: {}", out.stderr);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
}

/// Each replica says every second who is connected to it: a relay on `a` shows on `b`'s
/// `/admin/relays` with its replica, and `b`'s announce answer counts `a`'s subscriber, while
/// `b`'s `/health` counts only its own.
#[tokio::test]
async fn the_station_counts_every_replicas_subscribers_and_shows_their_relays() {
    let Some((_url, a, b)) = two_replicas("").await else {
        return;
    };
    let _relay_on_a = wsclient::bearer(&a.url(), "", &a.relay_token()).await;
    let shown = e2e::wait::until(LIMIT, async || {
        let (_, relays) = b.get_json_admin("/admin/relays").await;
        let relay = relays.as_array()?.first()?.clone();
        (relay["connected"] == true).then_some(relay)
    })
    .await
    .expect("b shows the relay connected to a");
    assert_eq!(shown["replica"], "a", "{shown}");
    let answer = b.announce(serde_json::json!({"text": "counted"})).await;
    assert_eq!(
        answer["subscribers"], 1,
        "the station's subscribers: {answer}"
    );
    let (_, health) = b.get_json("/health").await;
    assert_eq!(health["subscribers"], 0, "b's own: {health}");
}
