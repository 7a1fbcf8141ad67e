//! Mastodon statuses against a fake instance that checks what Mastodon checks: the bearer
//! token, the `Idempotency-Key`, at most 500 characters; 429 with `X-RateLimit-Reset`.

use e2e::fake_api::{FakeApi, Reply};
use e2e::fake_mastodon::{self, MASTODON_MAX_CHARS, MASTODON_TOKEN};
use e2e::hub::{TestHub, TestSchedule};

use crate::support::{
    T, delivery_metric, ledger_due, long_line_with_url, long_text, mastodon_toml, wait_status,
};

const PATH: &str = "/api/v1/statuses";
const URL: &str = "https://soundcloud.com/artist/track";

async fn hub_with(fake: &FakeApi, token: &str) -> TestHub {
    TestHub::start_with(
        TestSchedule::default(),
        &mastodon_toml("mastodon", &fake.base(), token),
    )
    .await
}

#[tokio::test]
async fn a_line_becomes_one_status_with_its_idempotency_key() {
    let fake = fake_mastodon::start().await;
    let hub = hub_with(&fake, MASTODON_TOKEN).await;
    let seq = hub.announce_track("Windowlicker", "Aphex Twin", URL).await;
    let row = wait_status(&hub, seq, "mastodon", "sent", T).await;
    assert_eq!(row["attempts"], 1, "{row}");
    let sent = fake.wait_accepted(PATH, 1, T).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {MASTODON_TOKEN}").as_str())
    );
    assert_eq!(
        sent[0].header("idempotency-key"),
        Some(format!("announce-{seq}").as_str())
    );
    let status = sent[0].json()["status"].as_str().map(str::to_owned);
    let status = status.expect("a status");
    assert!(status.contains("Windowlicker by Aphex Twin"), "{status}");
    assert!(hub.acks().await.contains(&(seq, "mastodon".to_string())));
    assert_eq!(delivery_metric(&hub, "mastodon", "sent").await, 1);
}

#[tokio::test]
async fn long_lines_are_cut_to_500_characters_and_the_link_kept_whole() {
    let fake = fake_mastodon::start().await;
    let hub = hub_with(&fake, MASTODON_TOKEN).await;
    let with_url = hub.announce_text(&long_line_with_url(URL)).await;
    wait_status(&hub, with_url, "mastodon", "sent", T).await;
    let long = hub.announce_text(&long_text()).await;
    wait_status(&hub, long, "mastodon", "sent", T).await;

    let sent = fake.wait_accepted(PATH, 2, T).await;
    let first = sent[0].json()["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(first.chars().count(), MASTODON_MAX_CHARS, "{first}");
    assert!(first.starts_with("Now Playing: ööö"), "{first}");
    assert!(first.ends_with(&format!("… {URL}")), "{first}");

    let second = sent[1].json()["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(second.chars().count(), MASTODON_MAX_CHARS);
    assert!(second.ends_with('…'), "marked as cut");
    let kept = second.trim_end_matches('…');
    assert!(
        long_text().starts_with(kept),
        "a prefix, cut on a character boundary"
    );
}

#[tokio::test]
async fn a_429_is_retried_at_x_ratelimit_reset() {
    let fake = fake_mastodon::start().await;
    fake.script([Reply::RateLimited(1.5)]);
    let hub = hub_with(&fake, MASTODON_TOKEN).await;
    let seq = hub.announce_text("rate limited").await;
    wait_status(&hub, seq, "mastodon", "sent", T).await;
    let received = fake.received();
    assert_eq!(received.len(), 2, "one 429, then the status");
    assert_eq!(received[0].status, 429);
    let told = received[0].retry_at.expect("the fake told a time");
    let (attempts, due) = ledger_due(&hub, seq, "mastodon");
    assert_eq!(attempts, 2);
    // The test backoff is at most 500 ms: only the header explains a retry this late.
    assert!(
        due >= told,
        "retry scheduled at {due}, the instance said {told}"
    );
    assert_eq!(
        received[0].header("idempotency-key"),
        received[1].header("idempotency-key"),
        "the retry carries the same key"
    );
    assert_eq!(delivery_metric(&hub, "mastodon", "retried").await, 1);
}

#[tokio::test]
async fn a_500_is_retried_and_a_bad_token_fails_in_the_ledger() {
    let fake = fake_mastodon::start().await;
    fake.script([Reply::Status(500)]);
    let hub = hub_with(&fake, MASTODON_TOKEN).await;
    let seq = hub.announce_text("after a 500").await;
    let row = wait_status(&hub, seq, "mastodon", "sent", T).await;
    assert_eq!(row["attempts"], 2, "{row}");

    let bad = hub_with(&fake, "revoked-token").await;
    let seq = bad.announce_text("refused").await;
    let row = wait_status(&bad, seq, "mastodon", "failed", T).await;
    assert_eq!(row["attempts"], 1, "no retry after a 401: {row}");
    assert_eq!(
        row["last_error"], "401 Unauthorized: The access token is invalid",
        "{row}"
    );
    assert_eq!(delivery_metric(&bad, "mastodon", "failed").await, 1);
}
