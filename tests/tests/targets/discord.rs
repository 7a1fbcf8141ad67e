//! Discord webhooks against a fake that answers as Discord documents: 204, 429 with
//! `retry_after`, 400 for content over 2,000 characters, 5xx, and a hang.

use e2e::fake_target::{DISCORD_MAX_CHARS, FakeTarget, Reply};
use e2e::hub::{ADMIN_TOKEN, TestHub, TestSchedule};
use e2e::wsclient::{bearer, next_of};

use crate::support::{T, delivery_metric, discord_toml, wait_status};

async fn hub_with(discord: &FakeTarget) -> TestHub {
    TestHub::start_with(
        TestSchedule::default(),
        &discord_toml("discord", &discord.url()),
    )
    .await
}

#[tokio::test]
async fn a_line_reaches_discord_once_and_lands_as_an_ack() {
    let discord = FakeTarget::discord().await;
    let hub = hub_with(&discord).await;
    let mut dashboard = bearer(&hub.url(), "", ADMIN_TOKEN).await;

    let seq = hub
        .announce_track("Windowlicker", "Aphex Twin", "https://soundcloud.com/a/w")
        .await;
    let row = wait_status(&hub, seq, "discord", "sent", T).await;
    assert_eq!(row["attempts"], 1, "{row}");
    assert!(
        row["latency_ms"].as_i64().is_some_and(|ms| ms >= 0),
        "{row}"
    );
    assert!(row["last_error"].is_null(), "{row}");

    let delivered = discord.wait_delivered(1, T).await;
    let content = delivered[0]["content"].as_str().expect("content");
    assert!(content.contains("Windowlicker by Aphex Twin"), "{content}");
    assert_eq!(
        delivered[0]["allowed_mentions"]["parse"],
        serde_json::json!([])
    );

    let ack = next_of(&mut dashboard, "ack", T).await;
    assert_eq!(ack["seq"], seq);
    assert_eq!(ack["target"], "discord");
    assert!(hub.acks().await.contains(&(seq, "discord".to_string())));
    assert_eq!(delivery_metric(&hub, "discord", "sent").await, 1);
    assert_eq!(discord.received().len(), 1, "sent once");
}

#[tokio::test]
async fn a_rate_limited_line_waits_for_retry_after() {
    let discord = FakeTarget::discord().await;
    discord.script([Reply::RateLimited(0.6)]);
    let hub = hub_with(&discord).await;
    let seq = hub.announce_text("rate limited line").await;
    let row = wait_status(&hub, seq, "discord", "sent", T).await;
    assert_eq!(row["attempts"], 2, "{row}");
    let received = discord.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].status, Some(429));
    // The test backoff starts at 100 ms: only Discord's retry_after explains the wait.
    let gap = received[1].at - received[0].at;
    assert!(gap.as_secs_f64() >= 0.6, "retried after {gap:?}");
    assert_eq!(discord.delivered().len(), 1);
    assert_eq!(delivery_metric(&hub, "discord", "retried").await, 1);
}

#[tokio::test]
async fn a_line_over_2000_characters_is_cut_and_accepted() {
    let discord = FakeTarget::discord().await;
    let hub = hub_with(&discord).await;
    let long = "word ".repeat(420);
    let seq = hub.announce_text(&long).await;
    wait_status(&hub, seq, "discord", "sent", T).await;
    let delivered = discord.wait_delivered(1, T).await;
    let content = delivered[0]["content"].as_str().expect("content");
    assert_eq!(content.chars().count(), DISCORD_MAX_CHARS);
    assert!(content.ends_with('…'), "marked as cut");
}

#[tokio::test]
async fn a_refusal_fails_at_once_and_does_not_hold_back_the_next_line() {
    let discord = FakeTarget::discord().await;
    discord.script([Reply::Status(400)]);
    let hub = hub_with(&discord).await;
    let first = hub.announce_text("refused").await;
    let row = wait_status(&hub, first, "discord", "failed", T).await;
    assert_eq!(row["attempts"], 1, "no retry after a 400: {row}");
    let error = row["last_error"].as_str().expect("error kept");
    assert!(error.starts_with("400 Bad Request"), "{error}");
    assert_eq!(delivery_metric(&hub, "discord", "failed").await, 1);

    let second = hub.announce_text("accepted").await;
    wait_status(&hub, second, "discord", "sent", T).await;
    assert_eq!(discord.delivered().len(), 1);
    assert!(!hub.acks().await.contains(&(first, "discord".to_string())));
}

#[tokio::test]
async fn server_errors_and_a_hang_are_retried_until_sent_once() {
    let discord = FakeTarget::discord().await;
    discord.script([Reply::Status(502), Reply::Hang]);
    let hub = hub_with(&discord).await;
    let seq = hub.announce_text("after a 502 and a hang").await;
    let row = wait_status(&hub, seq, "discord", "sent", T).await;
    assert_eq!(row["attempts"], 3, "{row}");
    assert_eq!(discord.delivered().len(), 1);
    assert_eq!(delivery_metric(&hub, "discord", "retried").await, 2);
}

#[tokio::test]
async fn markdown_in_a_title_shows_literally_and_the_link_stays_clickable() {
    let discord = FakeTarget::discord().await;
    let hub = hub_with(&discord).await;
    let seq = hub
        .announce_track(
            "[free download](https://phish.example/login) **now**",
            "@everyone _x_",
            "https://soundcloud.com/a/w_x",
        )
        .await;
    wait_status(&hub, seq, "discord", "sent", T).await;
    let delivered = discord.wait_delivered(1, T).await;
    let content = delivered[0]["content"].as_str().expect("content");
    assert!(
        content.contains(
            r"\[free download\]\(https://phish.example/login\) \*\*now\*\* by @everyone \_x\_"
        ),
        "{content}"
    );
    assert!(!content.contains("]("), "no masked link: {content}");
    assert!(
        content.ends_with(" https://soundcloud.com/a/w_x"),
        "the permalink is left as it is, so Discord links it: {content}"
    );
    assert_eq!(
        delivered[0]["allowed_mentions"]["parse"],
        serde_json::json!([])
    );
}
