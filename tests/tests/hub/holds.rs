//! A show's `hold_seconds`: an announce is answered 202 and held; Undo while held means no
//! subscriber, relay or target ever sees it and no seq is used; without Undo it goes out once
//! when the hold ends, and a hub restarted in between still releases it.

use std::time::{Duration, Instant};

use e2e::fake_target::FakeTarget;
use e2e::hub::{RELAY_TOKEN, TestHub, TestSchedule};
use e2e::wsclient::{bearer, next_of, no_announce};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);
const HOLD: Duration = Duration::from_secs(5);

/// A hub whose show holds each announce 5 s, with a webhook target.
async fn held_hub(receiver: &FakeTarget) -> TestHub {
    let schedule = TestSchedule {
        show_keys: "hold_seconds = 5\n",
        ..TestSchedule::default()
    };
    let target = format!(
        "[[targets]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        receiver.url()
    );
    TestHub::start_with(schedule, &target).await
}

async fn delete(hub: &TestHub, held_id: &Value) -> u16 {
    hub.admin(
        hub.http
            .delete(format!("{}/admin/announce/held/{held_id}", hub.url())),
    )
    .send()
    .await
    .expect("DELETE")
    .status()
    .as_u16()
}

#[tokio::test]
async fn undo_while_held_sends_nothing_to_anyone_and_uses_no_seq() {
    let receiver = FakeTarget::webhook(None).await;
    let hub = held_hub(&receiver).await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;
    next_of(&mut relay, "status", T).await;
    let before = hub.state().store.last_seq().await.expect("seq");

    let (status, held) = hub
        .post_admin("/admin/announce", json!({"text": "oops, wrong track"}))
        .await;
    assert_eq!(status, 202, "{held}");
    assert_eq!(held["status"], "held");
    assert_eq!(held["message"], "oops, wrong track");
    let release_at: jiff::Timestamp = held["release_at"]
        .as_str()
        .expect("release_at")
        .parse()
        .expect("RFC 3339");
    let left = release_at.duration_since(jiff::Timestamp::now());
    assert!(
        left > jiff::SignedDuration::from_secs(3) && left <= jiff::SignedDuration::from_secs(5),
        "released 5 s after the tap: {left:?}"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(delete(&hub, &held["held_id"]).await, 200, "undo while held");
    // Past the end of the hold and then some: nothing anywhere.
    no_announce(&mut relay, HOLD + Duration::from_secs(1)).await;
    assert!(receiver.received().is_empty(), "the target got nothing");
    assert_eq!(
        hub.state().store.last_seq().await.expect("seq"),
        before,
        "no seq was used"
    );
    assert_eq!(delete(&hub, &held["held_id"]).await, 409, "undone already");
    assert_eq!(delete(&hub, &json!(999_999)).await, 404, "no such hold");
}

#[tokio::test]
async fn without_undo_the_line_goes_out_once_when_the_hold_ends() {
    let receiver = FakeTarget::webhook(None).await;
    let hub = held_hub(&receiver).await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;
    next_of(&mut relay, "status", T).await;

    let tapped = Instant::now();
    let (status, held) = hub
        .post_admin("/admin/announce", json!({"text": "Back after the news"}))
        .await;
    assert_eq!(status, 202, "{held}");
    let frame = next_of(&mut relay, "announce", T).await;
    assert!(
        tapped.elapsed() >= HOLD - Duration::from_millis(50),
        "held for its 5 s: {:?}",
        tapped.elapsed()
    );
    assert_eq!(frame["message"], "Back after the news");
    no_announce(&mut relay, Duration::from_secs(1)).await;
    let delivered = receiver.wait_delivered(1, T).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0]["seq"], frame["seq"]);
    assert_eq!(
        delete(&hub, &held["held_id"]).await,
        409,
        "too late to undo"
    );
}

#[tokio::test]
async fn a_repeated_key_answers_the_hold_then_the_announce_it_became() {
    let receiver = FakeTarget::webhook(None).await;
    let hub = held_hub(&receiver).await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;
    next_of(&mut relay, "status", T).await;
    let send = || async {
        let response = hub
            .admin(hub.http.post(format!("{}/admin/announce", hub.url())))
            .header("Idempotency-Key", "tap-held")
            .json(&json!({"text": "held once"}))
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.expect("json"))
    };
    let (status, first) = send().await;
    assert_eq!(
        (status, &first["replayed"]),
        (202, &json!(false)),
        "{first}"
    );
    let (status, again) = send().await;
    assert_eq!((status, &again["replayed"]), (202, &json!(true)), "{again}");
    assert_eq!(again["held_id"], first["held_id"]);
    let frame = next_of(&mut relay, "announce", T).await;
    let (status, after) = send().await;
    assert_eq!((status, &after["replayed"]), (200, &json!(true)), "{after}");
    assert_eq!(after["seq"], frame["seq"], "the announce the hold became");
    no_announce(&mut relay, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_hold_survives_a_restart_and_is_released_late() {
    let receiver = FakeTarget::webhook(None).await;
    let mut hub = held_hub(&receiver).await;
    let (status, held) = hub
        .post_admin("/admin/announce", json!({"text": "across a restart"}))
        .await;
    assert_eq!(status, 202, "{held}");
    hub.stop().await;
    tokio::time::sleep(HOLD + Duration::from_secs(1)).await;
    hub.restart().await;
    // Released by the restarted hub (late): the target gets it once, and it is in the log.
    let delivered = receiver.wait_delivered(1, T).await;
    assert_eq!(delivered[0]["message"], "across a restart");
    let mut relay = bearer(&hub.url(), "?since=0", RELAY_TOKEN).await;
    let frame = next_of(&mut relay, "announce", T).await;
    assert_eq!(frame["message"], "across a restart");
    no_announce(&mut relay, Duration::from_secs(1)).await;
    assert_eq!(delete(&hub, &held["held_id"]).await, 409);
}

#[tokio::test]
async fn a_dj_token_may_undo_and_press_next_on_its_own_show_only() {
    const B_DECK: &str = "b-deck-token-0123456789abcdef";
    let mut shows = e2e::hub::two_shows();
    shows[0].schedule.show_keys = "hold_seconds = 60\n";
    let hub = TestHub::start_station(
        shows,
        &format!("[[hub.tokens]]\nname = \"b-deck\"\ntoken = \"{B_DECK}\"\nshows = [\"b\"]\n"),
    )
    .await;
    let (status, held) = hub
        .post_admin(
            "/admin/announce",
            json!({"show": "a", "text": "show a's line"}),
        )
        .await;
    assert_eq!(status, 202, "{held}");
    let as_b = |req: reqwest::RequestBuilder| req.bearer_auth(B_DECK);
    let undo = as_b(hub.http.delete(format!(
        "{}/admin/announce/held/{}",
        hub.url(),
        held["held_id"]
    )))
    .send()
    .await
    .expect("DELETE");
    assert_eq!(undo.status(), 403, "show b's DJ cannot undo show a's line");
    let next = as_b(hub.http.post(format!("{}/admin/announce/next", hub.url())))
        .json(&json!({"show": "a"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(next.status(), 403, "nor press next in show a");
    // Its own show (named by default): nothing to announce there, so 409, not 403.
    let own = as_b(hub.http.post(format!("{}/admin/announce/next", hub.url())))
        .json(&json!({}))
        .send()
        .await
        .expect("POST");
    assert_eq!(own.status(), 409);
    assert_eq!(delete(&hub, &held["held_id"]).await, 200, "the admin may");
}
