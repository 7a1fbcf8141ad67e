//! Edits by position (remove, move, announce) that name the track they mean with `track_id`: a
//! poll between the page's render and the DJ's tap can put another track at that position, and
//! then the hub answers 409 and changes nothing. Without `track_id` they work as before.

use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{TestHub, plus_hours};
use ntr_protocol::Seq;
use serde_json::{Value, json};

fn like(hub: &TestHub, n: i64, title: &str) -> FakeLike {
    let (current, _) = hub.weeks();
    FakeLike {
        created_at: plus_hours(current.start, n),
        track: Some(track(n, title, &format!("Artist {n}"))),
    }
}

/// A hub whose current show has the likes Aurora (id 1), Basalt (id 2) and Cinder (id 3);
/// returns it with the show's id.
async fn hub_with_three() -> (TestHub, i64) {
    let hub = TestHub::start().await;
    hub.soundcloud.set_likes(vec![
        like(&hub, 1, "Aurora"),
        like(&hub, 2, "Basalt"),
        like(&hub, 3, "Cinder"),
    ]);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("show id");
    (hub, id)
}

async fn titles(hub: &TestHub) -> Vec<String> {
    let (status, show) = hub.get_json("/playlist").await;
    assert_eq!(status, 200, "{show}");
    show["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .map(|t| t["title"].as_str().expect("title").to_owned())
        .collect()
}

/// `DELETE path` with the admin token.
async fn delete(hub: &TestHub, path: &str) -> (u16, Value) {
    let resp = hub
        .admin(hub.http.delete(format!("{}{path}", hub.url())))
        .send()
        .await
        .expect("DELETE");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn assert_conflict(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 409, "{what}: {body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("playlist changed") && error.contains("reload"),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn an_edit_naming_another_track_is_refused_and_changes_nothing() {
    let (hub, id) = hub_with_three().await;
    let before = vec!["Aurora", "Basalt", "Cinder"];
    let (status, body) = delete(&hub, &format!("/admin/shows/{id}/tracks/1?track_id=2")).await;
    assert_conflict(status, &body, "remove");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("Aurora")
    );
    assert_eq!(titles(&hub).await, before);
    let (status, body) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks/1/move"),
            json!({"to": 3, "track_id": 2}),
        )
        .await;
    assert_conflict(status, &body, "move");
    assert_eq!(titles(&hub).await, before);
    let (status, body) = hub
        .post_admin(
            "/admin/announce",
            json!({"show_id": id, "position": 1, "track_id": 2}),
        )
        .await;
    assert_conflict(status, &body, "announce");
    assert_eq!(
        hub.state().store.last_seq().await.expect("seq"),
        Seq::ZERO,
        "nothing was announced"
    );
}

#[tokio::test]
async fn a_poll_that_shifts_the_positions_makes_the_tap_a_conflict() {
    let (hub, id) = hub_with_three().await;
    // The page showed Basalt at 2; then Aurora's like went and Cinder moved up to 2.
    hub.soundcloud
        .set_likes(vec![like(&hub, 2, "Basalt"), like(&hub, 3, "Cinder")]);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    let (status, body) = delete(&hub, &format!("/admin/shows/{id}/tracks/2?track_id=2")).await;
    assert_conflict(status, &body, "remove after a poll");
    assert_eq!(titles(&hub).await, ["Basalt", "Cinder"]);
}

#[tokio::test]
async fn an_edit_naming_its_own_track_or_none_works() {
    let (hub, id) = hub_with_three().await;
    let answer = hub
        .announce(json!({"show_id": id, "position": 1, "track_id": 1}))
        .await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Aurora")
    );
    let (status, body) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks/1/move"),
            json!({"to": 2, "track_id": 1}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(titles(&hub).await, ["Basalt", "Aurora", "Cinder"]);
    let (status, body) = delete(&hub, &format!("/admin/shows/{id}/tracks/3?track_id=3")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(titles(&hub).await, ["Basalt", "Aurora"]);
    // Scripts that send no track_id keep working.
    let (status, body) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks/2/move"),
            json!({"to": 1}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(titles(&hub).await, ["Aurora", "Basalt"]);
    hub.announce(json!({"show_id": id, "position": 2})).await;
    let (status, body) = delete(&hub, &format!("/admin/shows/{id}/tracks/1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(titles(&hub).await, ["Basalt"]);
}

#[tokio::test]
async fn a_record_without_an_id_is_named_by_track_id_0() {
    let (hub, id) = hub_with_three().await;
    hub.add_record(id, "Dub Plate", "Nobody", "").await;
    // The record is at 4: a SoundCloud id does not name it, and 0 does not name a like.
    let (status, body) = delete(&hub, &format!("/admin/shows/{id}/tracks/4?track_id=3")).await;
    assert_conflict(status, &body, "remove the record by a like's id");
    let (status, body) = hub
        .post_admin(
            "/admin/announce",
            json!({"show_id": id, "position": 3, "track_id": 0}),
        )
        .await;
    assert_conflict(status, &body, "announce a like as a record");
    assert_eq!(
        titles(&hub).await,
        ["Aurora", "Basalt", "Cinder", "Dub Plate"]
    );
    hub.announce(json!({"show_id": id, "position": 4, "track_id": 0}))
        .await;
    let (status, body) = delete(&hub, &format!("/admin/shows/{id}/tracks/4?track_id=0")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(titles(&hub).await, ["Aurora", "Basalt", "Cinder"]);
}

#[tokio::test]
async fn a_negative_track_id_is_a_bad_request() {
    let (hub, id) = hub_with_three().await;
    let (status, body) = delete(&hub, &format!("/admin/shows/{id}/tracks/1?track_id=-1")).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks/1/move"),
            json!({"to": 2, "track_id": -1}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(titles(&hub).await, ["Aurora", "Basalt", "Cinder"]);
}

/// JSON Schema's `integer` (what the API document says) counts `2.0` as 2: a client that writes
/// every number as a float is understood, and a fraction is still refused.
#[tokio::test]
async fn whole_numbers_written_as_floats_are_integers() {
    let (hub, id) = hub_with_three().await;
    let (status, body) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks/1/move"),
            json!({"to": 3.0, "track_id": 1.0}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(titles(&hub).await, ["Basalt", "Cinder", "Aurora"]);
    let (status, body) = hub
        .post_admin(
            "/admin/announce",
            json!({"show_id": id as f64, "position": 1.0}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Basalt")),
        "{body}"
    );
    let (status, body) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks/1/move"),
            json!({"to": 1.5}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(titles(&hub).await, ["Basalt", "Cinder", "Aurora"]);
}
