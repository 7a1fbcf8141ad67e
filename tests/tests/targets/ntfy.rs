//! ntfy pushes against a fake server that checks the access token, decodes the RFC 2047
//! `Title` header, and refuses bodies over 4,096 bytes; 429 with and without `Retry-After`.

use e2e::fake_api::{FakeApi, Reply};
use e2e::fake_ntfy::{self, NTFY_MAX_BYTES, NTFY_TOKEN, decoded_title};
use e2e::hub::{TestHub, TestSchedule};

use crate::support::{T, delivery_metric, ledger_due, long_text, ntfy_toml, wait_status};

const TOPIC: &str = "/station-live";
/// Not ASCII, so the header is RFC 2047 encoded.
const TITLE: &str = "Nachtcafé 夜の音";

async fn hub_with(fake: &FakeApi, token: &str) -> TestHub {
    let schedule = TestSchedule {
        show_keys: "title = \"Nachtcafé 夜の音\"\n",
        ..TestSchedule::default()
    };
    let url = format!("{}{TOPIC}", fake.base());
    TestHub::start_with(schedule, &ntfy_toml("push", &url, token)).await
}

#[tokio::test]
async fn a_line_is_pushed_with_the_show_title_decoded_by_ntfy() {
    let fake = fake_ntfy::start().await;
    let hub = hub_with(&fake, NTFY_TOKEN).await;
    let seq = hub
        .announce_track("Windowlicker", "Aphex Twin", "https://soundcloud.com/a/w")
        .await;
    let row = wait_status(&hub, seq, "push", "sent", T).await;
    assert_eq!(row["attempts"], 1, "{row}");
    let sent = fake.wait_accepted(TOPIC, 1, T).await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]
            .header("title")
            .is_some_and(|t| t.starts_with("=?UTF-8?B?")),
        "encoded: {:?}",
        sent[0].header("title")
    );
    assert_eq!(decoded_title(&sent[0]).as_deref(), Some(TITLE));
    assert!(
        sent[0].body.contains("Windowlicker by Aphex Twin"),
        "{}",
        sent[0].body
    );
    assert!(hub.acks().await.contains(&(seq, "push".to_string())));
}

#[tokio::test]
async fn a_3000_character_line_arrives_within_ntfys_limit() {
    let fake = fake_ntfy::start().await;
    let hub = hub_with(&fake, NTFY_TOKEN).await;
    let seq = hub.announce_text(&long_text()).await;
    wait_status(&hub, seq, "push", "sent", T).await;
    let sent = fake.wait_accepted(TOPIC, 1, T).await;
    assert!(sent[0].body.len() <= NTFY_MAX_BYTES);
    assert!(long_text().starts_with(sent[0].body.trim_end_matches('…')));
}

#[tokio::test]
async fn a_429_waits_for_retry_after_else_the_backoff() {
    let fake = fake_ntfy::start().await;
    fake.script([Reply::RateLimited(2.0)]);
    let hub = hub_with(&fake, NTFY_TOKEN).await;
    let seq = hub.announce_text("rate limited").await;
    wait_status(&hub, seq, "push", "sent", T).await;
    let told = fake.received()[0].retry_at.expect("the fake told a wait");
    let (attempts, due) = ledger_due(&hub, seq, "push");
    assert_eq!(attempts, 2);
    assert!(due >= told, "retry scheduled at {due}, ntfy said {told}");

    // A bare 429 (ntfy's usual one) is retried with the normal backoff.
    fake.script([Reply::Status(429)]);
    let seq = hub.announce_text("rate limited, no header").await;
    let row = wait_status(&hub, seq, "push", "sent", T).await;
    assert_eq!(row["attempts"], 2, "{row}");
    assert_eq!(delivery_metric(&hub, "push", "retried").await, 2);
}

#[tokio::test]
async fn a_500_is_retried_and_a_wrong_token_fails_in_the_ledger() {
    let fake = fake_ntfy::start().await;
    fake.script([Reply::Status(500)]);
    let hub = hub_with(&fake, NTFY_TOKEN).await;
    let seq = hub.announce_text("after a 500").await;
    let row = wait_status(&hub, seq, "push", "sent", T).await;
    assert_eq!(row["attempts"], 2, "{row}");

    let bad = hub_with(&fake, "tk_wrong").await;
    let seq = bad.announce_text("refused").await;
    let row = wait_status(&bad, seq, "push", "failed", T).await;
    assert_eq!(row["attempts"], 1, "{row}");
    assert!(
        row["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("403 Forbidden")),
        "{row}"
    );
    assert_eq!(delivery_metric(&bad, "push", "failed").await, 1);
}
