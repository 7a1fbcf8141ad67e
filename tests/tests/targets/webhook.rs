//! Generic webhooks against a receiver that verifies the HMAC-SHA256 signature, and the rule
//! that a slow or failing target is in nobody else's way.

use std::time::Duration;

use e2e::fake_target::{FakeTarget, Reply};
use e2e::hub::{RELAY_TOKEN, TestHub, TestSchedule, test_target_timings};
use e2e::wsclient::{bearer, next_of};
use hub::Timings;

use crate::support::{T, discord_toml, wait_row, wait_status, webhook_toml};

const SECRET: &str = "webhook-signing-secret";

#[tokio::test]
async fn the_body_is_the_signed_announce_frame() {
    let receiver = FakeTarget::webhook(Some(SECRET)).await;
    let hub = TestHub::start_with(
        TestSchedule::default(),
        &webhook_toml("hook", &receiver.url(), Some(SECRET)),
    )
    .await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;
    let seq = hub
        .announce_track("Ünïcødé Söng", "Ärtist", "https://soundcloud.com/x/y")
        .await;
    let frame = next_of(&mut relay, "announce", T).await;
    wait_status(&hub, seq, "hook", "sent", T).await;
    // The receiver answers 200 only to a valid signature.
    let delivered = receiver.wait_delivered(1, T).await;
    assert_eq!(delivered[0], frame, "the webhook gets the WebSocket frame");
    let headers = &receiver.received()[0].headers;
    assert_eq!(
        headers["idempotency-key"],
        format!("announce-{seq}").as_str()
    );
    assert!(
        headers["x-announce-signature"]
            .to_str()
            .is_ok_and(|s| s.starts_with("sha256=") && s.len() == 7 + 64)
    );
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_fails_at_once() {
    let receiver = FakeTarget::webhook(Some("the-receivers-secret")).await;
    let hub = TestHub::start_with(
        TestSchedule::default(),
        &webhook_toml("hook", &receiver.url(), Some("another-secret")),
    )
    .await;
    let seq = hub.announce_text("signed with the wrong key").await;
    let row = wait_status(&hub, seq, "hook", "failed", T).await;
    assert_eq!(row["attempts"], 1, "{row}");
    assert_eq!(row["last_error"], "401 Unauthorized");
}

#[tokio::test]
async fn without_a_secret_there_is_no_signature() {
    let receiver = FakeTarget::webhook(None).await;
    let hub = TestHub::start_with(
        TestSchedule::default(),
        &webhook_toml("hook", &receiver.url(), None),
    )
    .await;
    let seq = hub.announce_text("unsigned").await;
    wait_status(&hub, seq, "hook", "sent", T).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].headers.get("x-announce-signature").is_none());
}

#[tokio::test]
async fn a_target_that_keeps_failing_is_given_up_on() {
    let receiver = FakeTarget::webhook(None).await;
    receiver.script(std::iter::repeat_n(Reply::Status(503), 100));
    let timings = Timings {
        give_up_after: Duration::from_secs(2),
        ..test_target_timings()
    };
    let hub = TestHub::start_with_timings(
        TestSchedule::default(),
        &webhook_toml("hook", &receiver.url(), None),
        timings,
    )
    .await;
    let seq = hub.announce_text("never accepted").await;
    let row = wait_status(&hub, seq, "hook", "failed", T).await;
    assert!(row["attempts"].as_u64().is_some_and(|n| n >= 2), "{row}");
    let error = row["last_error"].as_str().expect("error");
    assert!(
        error.starts_with("gave up 2 s after the line was due: 503"),
        "{error}"
    );
    assert!(receiver.delivered().is_empty());
}

#[tokio::test]
async fn a_hung_target_holds_up_neither_the_post_nor_the_fan_out_nor_another_target() {
    let hung = FakeTarget::webhook(None).await;
    hung.script([Reply::Hang]);
    let discord = FakeTarget::discord().await;
    // Long enough that the hang outlasts everything this test checks.
    let timings = Timings {
        request_timeout: Duration::from_secs(60),
        ..test_target_timings()
    };
    let toml = format!(
        "{}{}",
        webhook_toml("hung", &hung.url(), None),
        discord_toml("discord", &discord.url())
    );
    let hub = TestHub::start_with_timings(TestSchedule::default(), &toml, timings).await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;

    let seq = hub.announce_text("first").await;
    hung.wait_until(T, "the hung target holds a request", |f| f.hanging() == 1)
        .await;
    let second = hub.announce_text("second").await;
    assert_eq!(next_of(&mut relay, "announce", T).await["seq"], seq);
    assert_eq!(next_of(&mut relay, "announce", T).await["seq"], second);
    let lines = discord.wait_delivered(2, T).await;
    assert_eq!(lines[1]["content"], "second");
    // All of that happened while the hung target still had the first line.
    assert_eq!(hung.hanging(), 1);
    let row = wait_row(&hub, seq, "hung", T, |r| r["status"] == "pending").await;
    assert_eq!(row["attempts"], 1, "{row}");
    assert!(hung.delivered().is_empty());
}
