//! Icecast stream titles against a real Icecast 2 with a source feeding the mount, and their
//! read-back: verified when the stream shows the title sent, a mismatch when a source client
//! sets another after the hub's.

use std::time::Duration;

use e2e::hub::{TestHub, TestSchedule};
use e2e::icecast::{ADMIN_PASSWORD, ADMIN_USER, Icecast};
use serde_json::json;

use crate::support::{T, wait_row, wait_status};

const MOUNT: &str = "/live.mp3";

fn icecast_toml(icecast: &Icecast, password: &str) -> String {
    format!(
        "[[targets]]\nname = \"stream\"\nkind = \"icecast\"\nurl = \"{}\"\nmount = \"{MOUNT}\"\n\
         username = \"{ADMIN_USER}\"\npassword = \"{password}\"\nformat = \"{{artist}} - {{title}}\"\n",
        icecast.url()
    )
}

#[tokio::test]
async fn an_announce_sets_the_stream_title_with_unicode_intact() {
    let Some(icecast) = Icecast::start().await else {
        return;
    };
    let _source = icecast.source_for(MOUNT).await;
    let hub = TestHub::start_with(
        TestSchedule::default(),
        &icecast_toml(&icecast, ADMIN_PASSWORD),
    )
    .await;

    let seq = hub
        .announce_track(
            "Ünïcødé Söng — 日本語 & more",
            "Ärtist",
            "https://soundcloud.com/a/b",
        )
        .await;
    let row = wait_status(&hub, seq, "stream", "sent", T).await;
    assert_eq!(row["attempts"], 1, "{row}");
    icecast
        .wait_title(MOUNT, "Ärtist - Ünïcødé Söng — 日本語 & more", T)
        .await;
    assert!(hub.acks().await.contains(&(seq, "stream".to_string())));

    let text = hub.announce_text("Live from the studio: Q&A 🎙").await;
    wait_status(&hub, text, "stream", "sent", T).await;
    icecast
        .wait_title(MOUNT, "Live from the studio: Q&A 🎙", T)
        .await;
}

#[tokio::test]
async fn a_wrong_password_fails_with_401_kept() {
    let Some(icecast) = Icecast::start().await else {
        return;
    };
    let _source = icecast.source_for(MOUNT).await;
    let before = icecast.title(MOUNT).await;
    let hub = TestHub::start_with(
        TestSchedule::default(),
        &icecast_toml(&icecast, "not-the-password"),
    )
    .await;
    let seq = hub.announce_text("never shown").await;
    let row = wait_status(&hub, seq, "stream", "failed", T).await;
    assert_eq!(row["attempts"], 1, "a 401 is not retried: {row}");
    assert!(
        row["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("401 Unauthorized")),
        "{row}"
    );
    assert_eq!(icecast.title(MOUNT).await, before, "the title is unchanged");
}

/// The read-back makes its two reads about 1 s and 5 s after the delivery; this leaves room.
const READ_BACK: Duration = Duration::from_secs(12);

#[tokio::test]
async fn the_stream_title_is_read_back_verified_then_a_source_overwriting_it_is_a_mismatch() {
    let Some(icecast) = Icecast::start().await else {
        return;
    };
    let _source = icecast.source_for(MOUNT).await;
    let hub = TestHub::start_with(
        TestSchedule::default(),
        &icecast_toml(&icecast, ADMIN_PASSWORD),
    )
    .await;

    let sent = "Ärtist - Söng \"quoted\" \\ & 日本語";
    let seq = hub
        .announce_track(
            "Söng \"quoted\" \\ & 日本語",
            "Ärtist",
            "https://soundcloud.com/a/b",
        )
        .await;
    wait_status(&hub, seq, "stream", "sent", T).await;
    let row = wait_row(&hub, seq, "stream", READ_BACK, |r| !r["verified"].is_null()).await;
    assert_eq!(
        (&row["verified"], &row["stream_title"]),
        (&json!(true), &json!(sent)),
        "{row}"
    );
    assert!(!row.to_string().contains(ADMIN_PASSWORD), "{row}");

    let seq = hub.announce_text("Live from the studio").await;
    wait_status(&hub, seq, "stream", "sent", T).await;
    // The first read saw the hub's title; the source's own metadata comes before the second.
    let first = wait_row(&hub, seq, "stream", READ_BACK, |r| {
        r["stream_title"] == "Live from the studio"
    })
    .await;
    assert!(
        first["verified"].is_null(),
        "one read verifies nothing yet: {first}"
    );
    icecast.set_title(MOUNT, "Liquidsoap - jingle.mp3").await;
    let row = wait_row(&hub, seq, "stream", READ_BACK, |r| !r["verified"].is_null()).await;
    assert_eq!(
        (&row["verified"], &row["stream_title"]),
        (&json!(false), &json!("Liquidsoap - jingle.mp3")),
        "{row}"
    );

    let (status, targets) = hub.get_json_admin("/admin/targets").await;
    assert_eq!(status, 200, "{targets}");
    let panel = &targets[0];
    assert_eq!(panel["failing"], true, "{panel}");
    let summary = panel["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("mismatch: the stream shows “Liquidsoap - jingle.mp3”"),
        "{panel}"
    );
    assert_eq!(panel["last"]["verified"], false, "{panel}");
}
