//! Bluesky posts against a fake PDS that checks the session, the `app.bsky.feed.post` lexicon's
//! required fields, 300 graphemes and the link facets' byte offsets; 429 with
//! `RateLimit-Reset`; an expired session renewed.

use e2e::fake_api::{FakeApi, Reply};
use e2e::fake_bluesky::{
    self, BLUESKY_APP_PASSWORD, BLUESKY_DID, BLUESKY_HANDLE, BLUESKY_MAX_GRAPHEMES, RECORD_PATH,
    SESSION_PATH, check_post, expire_sessions,
};
use e2e::hub::{TestHub, TestSchedule};
use serde_json::Value;
use unicode_segmentation::UnicodeSegmentation;

use crate::support::{
    T, bluesky_toml, delivery_metric, ledger_due, long_line_with_url, long_text, wait_status,
};

const URL: &str = "https://soundcloud.com/artist/track";

async fn hub_with(fake: &FakeApi, password: &str) -> TestHub {
    TestHub::start_with(
        TestSchedule::default(),
        &bluesky_toml("bluesky", &fake.base(), BLUESKY_HANDLE, password),
    )
    .await
}

fn record(fake: &FakeApi, n: usize) -> Value {
    fake.accepted(RECORD_PATH)[n].json()["record"].clone()
}

#[tokio::test]
async fn posts_reuse_one_session_and_link_the_url_by_its_bytes() {
    let fake = fake_bluesky::start().await;
    let hub = hub_with(&fake, BLUESKY_APP_PASSWORD).await;
    let line = format!("Now Playing: Jóga ✨ 日本語 👩‍👩‍👧 by Björk - {URL}");
    let first = hub.announce_text(&line).await;
    let second = hub.announce_text("second line").await;
    wait_status(&hub, first, "bluesky", "sent", T).await;
    wait_status(&hub, second, "bluesky", "sent", T).await;
    assert_eq!(
        fake.accepted(SESSION_PATH).len(),
        1,
        "one session for both posts"
    );
    let posts = fake.wait_accepted(RECORD_PATH, 2, T).await;
    assert_eq!(posts[0].json()["repo"], BLUESKY_DID);

    let post = record(&fake, 0);
    assert_eq!(check_post(&post), Ok(()));
    assert_eq!(post["$type"], "app.bsky.feed.post");
    let text = post["text"].as_str().expect("text");
    assert_eq!(text, line);
    let facet = &post["facets"][0];
    let start = facet["index"]["byteStart"].as_u64().expect("byteStart") as usize;
    let end = facet["index"]["byteEnd"].as_u64().expect("byteEnd") as usize;
    assert_eq!(&text.as_bytes()[start..end], URL.as_bytes());
    assert!(
        start > text[..start].chars().count(),
        "offsets in bytes, not characters"
    );
    assert_eq!(
        facet["features"][0]["$type"],
        "app.bsky.richtext.facet#link"
    );
    assert_eq!(facet["features"][0]["uri"], URL);
    assert!(record(&fake, 1).get("facets").is_none(), "no URL, no facet");
    assert!(hub.acks().await.contains(&(first, "bluesky".to_string())));
}

#[tokio::test]
async fn long_lines_are_cut_to_300_graphemes_and_the_link_kept_whole() {
    let fake = fake_bluesky::start().await;
    let hub = hub_with(&fake, BLUESKY_APP_PASSWORD).await;
    let with_url = hub.announce_text(&long_line_with_url(URL)).await;
    wait_status(&hub, with_url, "bluesky", "sent", T).await;
    let long = hub.announce_text(&long_text()).await;
    wait_status(&hub, long, "bluesky", "sent", T).await;
    fake.wait_accepted(RECORD_PATH, 2, T).await;

    let post = record(&fake, 0);
    let text = post["text"].as_str().expect("text");
    assert_eq!(
        text.graphemes(true).count(),
        BLUESKY_MAX_GRAPHEMES,
        "{text}"
    );
    assert!(text.ends_with(&format!("… {URL}")), "{text}");
    let start = post["facets"][0]["index"]["byteStart"]
        .as_u64()
        .expect("start") as usize;
    assert_eq!(&text[start..], URL);

    let text = record(&fake, 1)["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(text.graphemes(true).count(), BLUESKY_MAX_GRAPHEMES);
    assert!(long_text().starts_with(text.trim_end_matches('…')));
}

#[tokio::test]
async fn a_429_is_retried_at_ratelimit_reset_and_an_expired_session_renewed() {
    let fake = fake_bluesky::start().await;
    let hub = hub_with(&fake, BLUESKY_APP_PASSWORD).await;
    let warm = hub.announce_text("first post makes the session").await;
    wait_status(&hub, warm, "bluesky", "sent", T).await;

    fake.script([Reply::RateLimited(2.0)]);
    let seq = hub.announce_text("rate limited").await;
    wait_status(&hub, seq, "bluesky", "sent", T).await;
    let limited = fake.received().into_iter().find(|r| r.status == 429);
    let told = limited
        .and_then(|r| r.retry_at)
        .expect("a 429 with a reset time");
    let (attempts, due) = ledger_due(&hub, seq, "bluesky");
    assert_eq!(attempts, 2);
    assert!(due >= told, "retry scheduled at {due}, the PDS said {told}");

    expire_sessions(&fake);
    let after = hub.announce_text("after the session expired").await;
    let row = wait_status(&hub, after, "bluesky", "sent", T).await;
    assert_eq!(row["attempts"], 1, "renewed within the attempt: {row}");
    assert_eq!(fake.accepted(SESSION_PATH).len(), 2, "one new session");
    assert_eq!(fake.accepted(RECORD_PATH).len(), 3);
}

#[tokio::test]
async fn a_500_is_retried_and_a_wrong_app_password_fails_in_the_ledger() {
    let fake = fake_bluesky::start().await;
    fake.script([Reply::Status(500)]);
    let hub = hub_with(&fake, BLUESKY_APP_PASSWORD).await;
    let seq = hub.announce_text("after a 500").await;
    let row = wait_status(&hub, seq, "bluesky", "sent", T).await;
    assert_eq!(row["attempts"], 2, "{row}");

    let bad = hub_with(&fake, "wrong-app-password").await;
    let seq = bad.announce_text("refused").await;
    let row = wait_status(&bad, seq, "bluesky", "failed", T).await;
    assert_eq!(row["attempts"], 1, "{row}");
    assert_eq!(
        row["last_error"],
        "createSession: 401 Unauthorized: Invalid identifier or password"
    );
    assert_eq!(delivery_metric(&bad, "bluesky", "failed").await, 1);
}
