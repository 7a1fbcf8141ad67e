//! The registry against a real (temporary) database: how cursors move and what survives.

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
    let new = NewAnnouncement::text(AnnounceLine::sanitize("line"));
    store.record_announcement(new).await.expect("announce").seq
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

/// A registry of `ntrbot` and `relay-1` whose silent connections count as never-acking after
/// `classify_after`.
async fn setup(classify_after: Duration) -> (tempfile::TempDir, Store, Relays) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let names = vec![name("ntrbot"), name("relay-1")];
    let relays = Relays::load_with(names, &store, classify_after)
        .await
        .expect("load");
    (dir, store, relays)
}

#[tokio::test]
async fn an_ack_moves_the_cursor_at_once_and_it_survives_a_restart() {
    let (dir, store, relays) = setup(CLASSIFY_AFTER).await;
    let seq = announce(&store).await;
    let conn = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    assert_eq!(conn.cursor(), None, "a relay never seen has no cursor");
    conn.acked(&store, seq, "#ntr").await.expect("ack");
    conn.acked(&store, Seq::new(seq.get() + 10), "#ntr")
        .await
        .expect("unknown seq");
    let info = &relays.infos()[0];
    assert_eq!(info.cursor, Some(seq));
    let last = info.last_ack.as_ref().expect("last ack");
    assert_eq!((last.seq, last.target.as_str()), (seq, "#ntr"));
    drop(conn);

    // No flush: an ack is committed by itself.
    let reopened = Relays::load(
        vec![name("ntrbot")],
        &Store::open(dir.path()).expect("reopen"),
    )
    .await
    .expect("load");
    assert_eq!(reopened.infos()[0].cursor, Some(seq));
}

#[tokio::test]
async fn writes_count_only_once_a_connection_has_stayed_silent_long_enough() {
    let (_dir, store, relays) = setup(Duration::from_secs(3600)).await;
    let seq = announce(&store).await;
    let plugin = relays
        .connect(&name("relay-1"), localhost())
        .expect("configured");
    plugin.written(seq);
    relays.flush(&store).await.expect("flush");
    drop(plugin);
    relays.flush(&store).await.expect("flush");
    assert_eq!(
        relays.infos()[1].cursor,
        None,
        "too early to call it a plugin"
    );
}

#[tokio::test]
async fn writes_count_only_for_a_connection_that_stays_silent() {
    let (_dir, store, relays) = setup(Duration::ZERO).await;
    let one = announce(&store).await;
    let two = announce(&store).await;
    let plugin = relays
        .connect(&name("relay-1"), localhost())
        .expect("configured");
    let relay = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    plugin.written(two);
    relay.written(two);
    relay.status(status());
    relays.flush(&store).await.expect("flush");
    let infos = relays.infos();
    assert_eq!(
        infos[1].cursor,
        Some(two),
        "silent: what was written counts"
    );
    assert_eq!(
        infos[0].cursor, None,
        "a relay that reports only moves by acks"
    );
    relay.acked(&store, one, "#ntr").await.expect("ack");
    assert_eq!(relays.infos()[0].cursor, Some(one));
    assert_eq!(
        store.relay_cursors().await.expect("cursors").get("relay-1"),
        Some(&two)
    );
}

#[tokio::test]
async fn writes_after_classification_count_until_the_connection_reports() {
    let (_dir, store, relays) = setup(Duration::ZERO).await;
    let (one, two, three) = (
        announce(&store).await,
        announce(&store).await,
        announce(&store).await,
    );
    let plugin = relays
        .connect(&name("relay-1"), localhost())
        .expect("configured");
    let newer = relays
        .connect(&name("relay-1"), localhost())
        .expect("configured");
    relays.flush(&store).await.expect("flush"); // both classified, nothing written yet
    assert_eq!(relays.infos()[1].cursor, None);
    plugin.written(one);
    newer.written(two);
    relays.flush(&store).await.expect("flush");
    assert_eq!(
        relays.infos()[1].cursor,
        Some(two),
        "the highest write of any silent connection"
    );
    newer.status(status());
    newer.written(three);
    relays.flush(&store).await.expect("flush");
    assert_eq!(
        relays.infos()[1].cursor,
        Some(two),
        "a connection that reports moves the cursor only by acks"
    );
    plugin.written(three);
    relays.flush(&store).await.expect("flush");
    assert_eq!(
        store.relay_cursors().await.expect("cursors").get("relay-1"),
        Some(&three)
    );
}

#[tokio::test]
async fn a_silent_connection_that_leaves_is_committed_by_the_next_flush() {
    let (_dir, store, relays) = setup(Duration::ZERO).await;
    let seq = announce(&store).await;
    let plugin = relays
        .connect(&name("relay-1"), localhost())
        .expect("configured");
    plugin.written(seq);
    drop(plugin);
    assert!(!relays.infos()[1].connected);
    relays.flush(&store).await.expect("flush");
    assert_eq!(
        store.relay_cursors().await.expect("cursors").get("relay-1"),
        Some(&seq)
    );
}

#[tokio::test]
async fn infos_list_every_configured_relay_and_a_new_connection_clears_the_old_status() {
    let (_dir, _store, relays) = setup(CLASSIFY_AFTER).await;
    assert!(relays.connect(&name("unknown"), localhost()).is_none());
    let first = relays
        .connect(&name("ntrbot"), localhost())
        .expect("configured");
    first.status(status());
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
