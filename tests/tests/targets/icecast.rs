//! Icecast stream titles against a real Icecast 2 with a source feeding the mount.

use e2e::hub::{TestHub, TestSchedule};
use e2e::icecast::{ADMIN_PASSWORD, ADMIN_USER, Icecast};

use crate::support::{T, wait_status};

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
