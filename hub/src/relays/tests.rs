//! The registry against a real (temporary) database: how cursors move and what survives.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ntr_protocol::{IrcState, RelayStatus, Seq};

use super::*;
use crate::line::AnnounceLine;
use crate::store::{NewAnnouncement, Store};

fn name(n: &str) -> RelayName {
    RelayName::parse(n).expect("valid name")
}

fn localhost() -> IpAddr {
    "127.0.0.1".parse().expect("ip")
}

async fn announce(store: &Store) -> Seq {
    let new = NewAnnouncement::text(AnnounceLine::sanitize("line"), None);
    store.record_announcement(new).await.expect("announce").seq
}

/// What the socket task does for each announce.
fn write(conn: &RelayConnection, seq: Seq) {
    conn.sending(seq);
    conn.written(seq);
}

fn status() -> RelayStatus {
    RelayStatus {
        irc: IrcState::Connected,
        server: "irc.example:6697".into(),
        nick: "ntrbot".into(),
        channels: vec!["#ntr".into()],
        queued: 0,
        version: "0.2.0".into(),
        error: None,
    }
}

/// A registry of `ntrbot` and `relay-1` on a fresh database.
async fn setup() -> (tempfile::TempDir, Store, Relays) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let relays = Relays::load(names(), &BTreeMap::new(), &store, "test")
        .await
        .expect("load");
    (dir, store, relays)
}

fn names() -> Vec<RelayName> {
    vec![name("ntrbot"), name("relay-1")]
}

async fn stored(store: &Store, relay: &str) -> Option<Seq> {
    let cursors = store.relay_cursors().await.expect("cursors");
    cursors.get(relay).map(|c| c.seq)
}

#[tokio::test]
async fn an_ack_moves_the_cursor_at_once_and_it_survives_a_restart() {
    let (dir, store, relays) = setup().await;
    let seq = announce(&store).await;
    let conn = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    write(&conn, seq);
    assert!(conn.acked(&store, seq, "#ntr").await.expect("ack"));
    let info = &relays.infos()[0];
    assert_eq!(info.cursor, Some(seq));
    let last = info.last_ack.as_ref().expect("last ack");
    assert_eq!((last.seq, last.target.as_str()), (seq, "#ntr"));
    drop(conn);

    // No flush: an ack is committed by itself, and so is that the relay acks.
    let reopened = Store::open(dir.path()).expect("reopen");
    let cursors = reopened.relay_cursors().await.expect("cursors");
    let cursor = cursors.get("ntrbot").expect("stored");
    assert_eq!((cursor.seq, cursor.acking), (seq, true));
    let reloaded = Relays::load(vec![name("ntrbot")], &BTreeMap::new(), &reopened, "test")
        .await
        .expect("load");
    assert_eq!(reloaded.infos()[0].cursor, Some(seq));
}

#[tokio::test]
async fn an_ack_counts_only_for_a_seq_written_to_that_socket() {
    let (_dir, store, relays) = setup().await;
    let (one, two, three) = (
        announce(&store).await,
        announce(&store).await,
        announce(&store).await,
    );
    let relay = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    let other = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    write(&relay, two);
    let unwritten = [(&other, two), (&relay, one), (&relay, three)];
    for (conn, seq) in unwritten {
        assert!(
            !conn.acked(&store, seq, "#ntr").await.expect("ack"),
            "{seq}"
        );
    }
    assert_eq!(relays.infos()[0].cursor, None);
    assert!(relay.acked(&store, two, "#ntr").await.expect("ack"));
    assert_eq!(relays.infos()[0].cursor, Some(two));
}

#[tokio::test]
async fn a_plugins_writes_move_its_cursor_from_its_first_connection_on() {
    let (_dir, store, relays) = setup().await;
    let seq = announce(&store).await;
    let plugin = relays
        .connect(&name("relay-1"), localhost())
        .expect("configured");
    write(&plugin, seq);
    drop(plugin); // a connection of a few milliseconds
    assert!(!relays.infos()[1].connected);
    relays.flush(&store).await.expect("flush");
    assert_eq!(stored(&store, "relay-1").await, Some(seq));
}

#[tokio::test]
async fn a_relay_that_reports_moves_its_cursor_by_acks_only_even_after_a_restart() {
    let (dir, store, relays) = setup().await;
    let relay = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    let listener = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    relay.resume_point(&store).await.expect("cursor");
    relay.status(&store, status()).await.expect("status");
    let (one, two) = (announce(&store).await, announce(&store).await);
    write(&relay, one);
    write(&listener, two);
    relays.flush(&store).await.expect("flush");
    assert_eq!(
        relays.infos()[0].cursor,
        Some(Seq::ZERO),
        "written is not posted"
    );
    assert!(relay.acked(&store, one, "#ntr").await.expect("ack"));
    drop((relay, listener));

    let reopened = Store::open(dir.path()).expect("reopen");
    let relays = Relays::load(names(), &BTreeMap::new(), &reopened, "test")
        .await
        .expect("load");
    let listener = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    write(&listener, two);
    drop(listener);
    relays.flush(&reopened).await.expect("flush");
    assert_eq!(stored(&reopened, "ntrbot").await, Some(one));
}

#[tokio::test]
async fn writes_before_a_relay_first_reports_count_and_none_after() {
    let (_dir, store, relays) = setup().await;
    let (one, two) = (announce(&store).await, announce(&store).await);
    let conn = relays
        .connect(&name("relay-1"), localhost())
        .expect("configured");
    write(&conn, one);
    relays.flush(&store).await.expect("flush");
    conn.status(&store, status()).await.expect("status");
    write(&conn, two);
    relays.flush(&store).await.expect("flush");
    assert_eq!(stored(&store, "relay-1").await, Some(one));
}

#[tokio::test]
async fn a_relay_without_a_cursor_gets_one_at_the_newest_seq_when_it_connects() {
    let (_dir, store, relays) = setup().await;
    let early = relays
        .connect(&name("relay-1"), localhost())
        .expect("configured");
    assert_eq!(
        early.resume_point(&store).await.expect("cursor"),
        Seq::ZERO,
        "before any announce: everything announced later is replayed"
    );
    let seq = announce(&store).await;
    let conn = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    assert_eq!(conn.resume_point(&store).await.expect("cursor"), seq);
    announce(&store).await;
    assert_eq!(
        conn.resume_point(&store).await.expect("cursor"),
        seq,
        "created once"
    );
    assert_eq!(
        stored(&store, "ntrbot").await,
        Some(seq),
        "committed at once"
    );
    assert_eq!(early.resume_point(&store).await.expect("cursor"), Seq::ZERO);
}

#[tokio::test]
async fn infos_list_every_configured_relay_and_a_new_connection_clears_the_old_status() {
    let (_dir, store, relays) = setup().await;
    assert!(relays.connect(&name("unknown"), localhost()).is_none());
    let first = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    first.status(&store, status()).await.expect("status");
    let infos = relays.infos();
    assert_eq!(infos.len(), 2);
    assert_eq!(
        (infos[0].name.as_str(), infos[1].name.as_str()),
        ("ntrbot", "relay-1")
    );
    assert!(infos[0].connected && !infos[1].connected);
    assert_eq!(infos[0].address.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        infos[0].status.as_ref().map(|s| s.nick.as_str()),
        Some("ntrbot")
    );

    let second = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    assert_eq!(
        relays.infos()[0].status,
        None,
        "an old plugin shows no IRC details"
    );
    drop(first);
    assert!(
        relays.infos()[0].connected,
        "still connected through the second socket"
    );
    drop(second);
    assert!(!relays.infos()[0].connected);
}

#[tokio::test]
async fn a_plugins_cursor_passes_lines_of_shows_it_is_not_given() {
    let (_dir, store, relays) = setup().await;
    let (given, other) = (announce(&store).await, announce(&store).await);
    let plugin = relays
        .connect(&name("relay-1"), localhost())
        .expect("configured");
    write(&plugin, given);
    plugin.skipped(other);
    relays.flush(&store).await.expect("flush");
    assert_eq!(stored(&store, "relay-1").await, Some(other));
}

#[tokio::test]
async fn an_acking_relays_cursor_passes_a_skipped_line_only_once_all_before_it_is_acked() {
    let (_dir, store, relays) = setup().await;
    let (one, two, three) = (
        announce(&store).await,
        announce(&store).await,
        announce(&store).await,
    );
    let relay = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    relay.status(&store, status()).await.expect("status");
    write(&relay, one);
    relay.skipped(two); // `one` is not acked yet: passing `two` would lose it
    relays.flush(&store).await.expect("flush");
    assert!(relays.infos()[0].cursor < Some(one));
    assert!(relay.acked(&store, one, "#a").await.expect("ack"));
    relay.skipped(three);
    relays.flush(&store).await.expect("flush");
    assert_eq!(stored(&store, "ntrbot").await, Some(three));
}
