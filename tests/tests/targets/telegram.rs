//! Telegram messages against a fake Bot API that checks the token in the path, `chat_id` and
//! at most 4,096 characters; 429 with `retry_after` in the body.

use e2e::fake_api::{FakeApi, Reply};
use e2e::fake_telegram::{self, TELEGRAM_CHAT, TELEGRAM_MAX_CHARS, TELEGRAM_TOKEN};
use e2e::hub::{TestHub, TestSchedule};

use crate::support::{T, delivery_metric, ledger_due, long_text, row, telegram_toml, wait_status};

const PATH: &str = "/sendMessage";

async fn hub_with(fake: &FakeApi, token: &str) -> TestHub {
    TestHub::start_with(
        TestSchedule::default(),
        &telegram_toml("telegram", &fake.base(), token, TELEGRAM_CHAT),
    )
    .await
}

#[tokio::test]
async fn a_line_reaches_the_chat_once() {
    let fake = fake_telegram::start().await;
    let hub = hub_with(&fake, TELEGRAM_TOKEN).await;
    let seq = hub
        .announce_track("Windowlicker", "Aphex Twin", "https://soundcloud.com/a/w")
        .await;
    let row = wait_status(&hub, seq, "telegram", "sent", T).await;
    assert_eq!(row["attempts"], 1, "{row}");
    let sent = fake.wait_accepted(PATH, 1, T).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, format!("/bot{TELEGRAM_TOKEN}/sendMessage"));
    let body = sent[0].json();
    assert_eq!(body["chat_id"], TELEGRAM_CHAT);
    let text = body["text"].as_str().unwrap_or_default();
    assert!(text.contains("Windowlicker by Aphex Twin"), "{text}");
    assert!(hub.acks().await.contains(&(seq, "telegram".to_string())));
}

#[tokio::test]
async fn a_3000_character_line_fits_and_arrives_whole() {
    let fake = fake_telegram::start().await;
    let hub = hub_with(&fake, TELEGRAM_TOKEN).await;
    let seq = hub.announce_text(&long_text()).await;
    wait_status(&hub, seq, "telegram", "sent", T).await;
    let sent = fake.wait_accepted(PATH, 1, T).await;
    let text = sent[0].json()["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(text.chars().count() <= TELEGRAM_MAX_CHARS);
    // The hub keeps a line's first 2,048 bytes: under Telegram's limit, so nothing more is cut.
    assert!(!text.ends_with('…'), "{text}");
    assert!(text.len() > 2000 && long_text().starts_with(&text));
}

#[tokio::test]
async fn a_429_waits_the_retry_after_of_the_body() {
    let fake = fake_telegram::start().await;
    fake.script([Reply::RateLimited(2.0)]);
    let hub = hub_with(&fake, TELEGRAM_TOKEN).await;
    let seq = hub.announce_text("rate limited").await;
    wait_status(&hub, seq, "telegram", "sent", T).await;
    let received = fake.received();
    assert_eq!(received.len(), 2, "one 429, then the message");
    let told = received[0].retry_at.expect("the fake told a wait");
    let (attempts, due) = ledger_due(&hub, seq, "telegram");
    assert_eq!(attempts, 2);
    assert!(
        due >= told,
        "retry scheduled at {due}, Telegram said {told}"
    );
    assert_eq!(delivery_metric(&hub, "telegram", "retried").await, 1);
}

#[tokio::test]
async fn a_500_is_retried_and_a_wrong_token_fails_without_showing_it() {
    let fake = fake_telegram::start().await;
    fake.script([Reply::Status(500)]);
    let hub = hub_with(&fake, TELEGRAM_TOKEN).await;
    let seq = hub.announce_text("after a 500").await;
    let r = wait_status(&hub, seq, "telegram", "sent", T).await;
    assert_eq!(r["attempts"], 2, "{r}");

    let wrong = "999:wrong-telegram-token";
    let bad = hub_with(&fake, wrong).await;
    let seq = bad.announce_text("refused").await;
    let r = wait_status(&bad, seq, "telegram", "failed", T).await;
    assert_eq!(r["attempts"], 1, "{r}");
    assert_eq!(r["last_error"], "401: Unauthorized", "{r}");
    assert!(!row(&bad, seq, "telegram").await.to_string().contains(wrong));
    assert_eq!(delivery_metric(&bad, "telegram", "failed").await, 1);
}
