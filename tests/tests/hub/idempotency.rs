//! `Idempotency-Key` on `POST /admin/announce`: a tap retried after a lost answer announces
//! once; a key reused with another body is refused; duplicates sent at the same moment make
//! one announce; a malformed key is a clear 422.

use std::time::Duration;

use e2e::hub::{RELAY_TOKEN, TestHub};
use e2e::wsclient::{bearer, next_of, no_announce};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);

async fn keyed(hub: &TestHub, key: &str, body: Value) -> (u16, Value) {
    let response = hub
        .admin(hub.http.post(format!("{}/admin/announce", hub.url())))
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("announce");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn a_repeated_key_answers_the_first_announce_and_announces_nothing() {
    let hub = TestHub::start().await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;
    next_of(&mut relay, "status", T).await;
    let body = json!({"text": "Back after the news"});
    let (status, first) = keyed(&hub, "tap-1", body.clone()).await;
    assert_eq!(
        (status, first["replayed"].clone()),
        (200, json!(false)),
        "{first}"
    );
    let (status, again) = keyed(&hub, "tap-1", body.clone()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["replayed"], true);
    assert_eq!(
        (again["seq"].clone(), again["message"].clone()),
        (first["seq"].clone(), first["message"].clone())
    );
    assert_eq!(
        next_of(&mut relay, "announce", T).await["seq"],
        first["seq"]
    );
    // The repeat was not broadcast.
    no_announce(&mut relay, Duration::from_millis(700)).await;

    let (status, refused) = keyed(&hub, "tap-1", json!({"text": "something else"})).await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Idempotency-Key: "),
        "{refused}"
    );
    // Too long, and a control character (a tab: the one a header may carry).
    for key in ["k".repeat(65), "tap\t2".to_string()] {
        let (status, bad) = keyed(&hub, &key, body.clone()).await;
        assert_eq!(status, 422, "{key:?}: {bad}");
        assert!(
            bad["error"]
                .as_str()
                .unwrap_or_default()
                .contains("Idempotency-Key"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn duplicates_sent_at_the_same_moment_make_one_announce() {
    let hub = TestHub::start().await;
    let body = json!({"text": "one tap, sent four times"});
    let answers =
        futures_util::future::join_all((0..4).map(|_| keyed(&hub, "tap-burst", body.clone())))
            .await;
    let seqs: Vec<&Value> = answers.iter().map(|(_, a)| &a["seq"]).collect();
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    assert!(
        seqs.iter().all(|s| *s == seqs[0]),
        "one seq for all: {seqs:?}"
    );
    let replays = answers
        .iter()
        .filter(|(_, a)| a["replayed"] == true)
        .count();
    assert_eq!(replays, 3, "{answers:?}");
}
