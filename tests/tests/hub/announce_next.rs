//! `POST /admin/announce/next` (hardware buttons announce what the console's big button
//! would) and log-only entries (`"log_only": true, "at": …`: in the log and tracklist at their
//! time, sent to no one).

use std::time::Duration;

use e2e::fake_target::FakeTarget;
use e2e::hub::{RELAY_TOKEN, TestHub, TestSchedule};
use e2e::wsclient::{bearer, next_of, no_announce};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

/// A hub whose current show has the records `titles`, in order; answers the show's id.
async fn with_tracks(hub: &TestHub, titles: &[&str]) -> i64 {
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("show id");
    for title in titles {
        hub.add_record(id, title, "Artist", "https://example.org/r")
            .await;
    }
    id
}

async fn next_call(hub: &TestHub) -> (u16, Value) {
    hub.post_admin("/admin/announce/next", json!({})).await
}

#[tokio::test]
async fn two_presses_at_once_announce_two_tracks_then_409_at_the_end() {
    let hub = TestHub::start().await;
    with_tracks(&hub, &["One", "Two", "Three"]).await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;
    next_of(&mut relay, "status", T).await;

    let (a, b) = tokio::join!(next_call(&hub), next_call(&hub));
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let mut positions = Vec::new();
    for _ in 0..2 {
        positions.push(next_of(&mut relay, "announce", T).await["position"].clone());
    }
    positions.sort_by_key(Value::as_u64);
    assert_eq!(positions, vec![json!(1), json!(2)], "two tracks, in order");

    let (status, third) = next_call(&hub).await;
    assert_eq!(status, 200, "{third}");
    assert!(
        third["message"]
            .as_str()
            .is_some_and(|m| m.contains("Three")),
        "{third}"
    );
    let (status, none) = next_call(&hub).await;
    assert_eq!(status, 409, "{none}");
    assert!(
        none["error"]
            .as_str()
            .is_some_and(|e| e.contains("nothing is left")),
        "{none}"
    );
    // The hardware button checks its body as strictly as the rest of the API.
    let (status, bad) = hub
        .post_admin("/admin/announce/next", json!({"show": "no-such-show"}))
        .await;
    assert_eq!(status, 404, "{bad}");
    let (status, bad) = hub
        .post_admin("/admin/announce/next", json!({"shows": "main"}))
        .await;
    assert_eq!(status, 422, "{bad}");
}

#[tokio::test]
async fn next_follows_the_track_on_air_and_counts_held_ones() {
    let schedule = TestSchedule {
        show_keys: "hold_seconds = 60\n",
        ..TestSchedule::default()
    };
    let hub = TestHub::start_with(schedule, "").await;
    let id = with_tracks(&hub, &["One", "Two", "Three", "Four"]).await;
    // The DJ skipped to #3 by hand (held): next is #4, then the skipped #1.
    let (status, held) = hub
        .post_admin("/admin/announce", json!({"show_id": id, "position": 3}))
        .await;
    assert_eq!(status, 202, "{held}");
    let (status, four) = next_call(&hub).await;
    assert_eq!(status, 202, "{four}");
    assert!(
        four["message"].as_str().is_some_and(|m| m.contains("Four")),
        "{four}"
    );
    let (status, one) = next_call(&hub).await;
    assert!(
        one["message"].as_str().is_some_and(|m| m.contains("One")),
        "{status} {one}"
    );
}

#[tokio::test]
async fn a_log_only_entry_is_in_the_log_but_reaches_no_one() {
    let receiver = FakeTarget::webhook(None).await;
    let hub = TestHub::start_with(
        TestSchedule::default(),
        &format!(
            "[[targets]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
            receiver.url()
        ),
    )
    .await;
    let id = with_tracks(&hub, &["Played offline", "Aired"]).await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;
    next_of(&mut relay, "status", T).await;

    let at = Timestamp::now() - SignedDuration::from_mins(5);
    let (status, logged) = hub
        .post_admin(
            "/admin/announce",
            json!({"show_id": id, "position": 1, "log_only": true, "at": at.to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{logged}");
    assert_eq!(
        (&logged["status"], &logged["subscribers"]),
        (&json!("logged"), &json!(0))
    );
    let (status, aired) = hub
        .post_admin("/admin/announce", json!({"show_id": id, "position": 2}))
        .await;
    assert_eq!(status, 200, "{aired}");
    // Only the aired one goes out, live and on replay, and to the target.
    let frame = next_of(&mut relay, "announce", T).await;
    assert_eq!(frame["seq"], aired["seq"]);
    let mut late = bearer(&hub.url(), "?since=0", RELAY_TOKEN).await;
    let replayed = next_of(&mut late, "announce", T).await;
    assert_eq!(
        replayed["seq"], aired["seq"],
        "the log-only entry is not replayed"
    );
    no_announce(&mut late, Duration::from_millis(500)).await;
    let delivered = receiver.wait_delivered(1, T).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["seq"], aired["seq"]);
    // In the tracklist, at its time, before the aired one.
    let tracklist = hub
        .admin(
            hub.http
                .get(format!("{}/shows/{id}/tracklist?format=json", hub.url())),
        )
        .send()
        .await
        .expect("tracklist")
        .text()
        .await
        .expect("body");
    let offline = tracklist
        .find("Played offline")
        .expect("the log-only entry is listed");
    let on_air = tracklist.find("Aired").expect("the aired one is listed");
    assert!(offline < on_air, "in the order they played: {tracklist}");
    // The console counts it as announced: Announce next skips it.
    let (status, nothing) = next_call(&hub).await;
    assert_eq!(status, 409, "{nothing}");
}

#[tokio::test]
async fn a_log_only_entry_needs_a_time_inside_its_show() {
    let hub = TestHub::start().await;
    let id = with_tracks(&hub, &["One"]).await;
    let (week, _) = hub.weeks();
    let cases = [
        (
            json!({"show_id": id, "position": 1, "log_only": true}),
            "at",
        ),
        (
            json!({"show_id": id, "position": 1, "at": Timestamp::now().to_string()}),
            "log_only",
        ),
        (
            json!({"show_id": id, "position": 1, "log_only": true,
                   "at": (Timestamp::now() + SignedDuration::from_mins(5)).to_string()}),
            "outside",
        ),
        (
            json!({"show_id": id, "position": 1, "log_only": true,
                   "at": (week.start - SignedDuration::from_mins(1)).to_string()}),
            "outside",
        ),
        (
            json!({"show_id": id, "position": 1, "log_only": true, "at": "yesterday"}),
            "RFC 3339",
        ),
    ];
    for (body, says) in cases {
        let (status, refused) = hub.post_admin("/admin/announce", body.clone()).await;
        assert_eq!(status, 422, "{body}: {refused}");
        assert!(
            refused["error"].as_str().is_some_and(|e| e.contains(says)),
            "{body}: {refused}"
        );
    }
    assert_eq!(
        hub.state().store.last_seq().await.expect("seq").get(),
        0,
        "nothing logged"
    );
}
