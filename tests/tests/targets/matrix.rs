//! Matrix rooms against a real Synapse: a line appears once, and still once when the first
//! attempt's answer is lost (the retry reuses the transaction id `announce-{seq}`).

use e2e::hub::{TestHub, TestSchedule};
use e2e::synapse::{ResponseCutter, Synapse};

use crate::alerts::{all, next_start, on_air, starting_at, wait_events, with_events};
use crate::support::{T, wait_status};

fn matrix_toml(homeserver: &str, room_id: &str, token: &str) -> String {
    format!(
        "[[targets]]\nname = \"matrix\"\nkind = \"matrix\"\nhomeserver = \"{homeserver}\"\n\
         room_id = \"{room_id}\"\naccess_token = \"{token}\"\n"
    )
}

#[tokio::test]
async fn a_line_appears_in_the_room_once() {
    let Some(synapse) = Synapse::start().await else {
        return;
    };
    let room = synapse.create_room().await;
    let hub = TestHub::start_with(
        TestSchedule::default(),
        &matrix_toml(&synapse.url(), &room, &synapse.token),
    )
    .await;
    let seq = hub
        .announce_track("Ünïcødé", "Ärtist", "https://soundcloud.com/a/u")
        .await;
    let row = wait_status(&hub, seq, "matrix", "sent", T).await;
    assert_eq!(row["attempts"], 1, "{row}");
    let messages = synapse.messages(&room).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["content"]["msgtype"], "m.notice");
    let body = messages[0]["content"]["body"].as_str().expect("body");
    assert!(body.contains("Ünïcødé by Ärtist"), "{body}");
    assert!(hub.acks().await.contains(&(seq, "matrix".to_string())));
}

#[tokio::test]
async fn a_lost_answer_is_retried_without_a_second_message() {
    let Some(synapse) = Synapse::start().await else {
        return;
    };
    let room = synapse.create_room().await;
    let proxy = ResponseCutter::start(synapse.port, 1).await;
    let hub = TestHub::start_with(
        TestSchedule::default(),
        &matrix_toml(&proxy.url(), &room, &synapse.token),
    )
    .await;
    let seq = hub.announce_text("posted once, answered twice").await;
    let row = wait_status(&hub, seq, "matrix", "sent", T).await;
    assert_eq!(proxy.cuts_left(), 0, "the first answer was cut");
    assert_eq!(row["attempts"], 2, "the cut attempt was retried: {row}");
    let messages = synapse.messages(&room).await;
    let bodies: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["content"]["body"].as_str())
        .collect();
    assert_eq!(bodies, ["posted once, answered twice"]);
}

#[tokio::test]
async fn live_and_reminder_alerts_arrive_as_notices() {
    let Some(synapse) = Synapse::start().await else {
        return;
    };
    let room = synapse.create_room().await;
    let block = with_events(
        matrix_toml(&synapse.url(), &room, &synapse.token),
        &["live", "reminder"],
    );
    // A show starting within the hour whose reminder was due an hour and a half before: late.
    let (zone, _) = next_start();
    let soon = TestHub::start_with(starting_at(zone, "remind_minutes = 90\n".into()), &block).await;
    wait_events(&soon, T, |l| all(l, "sent")).await;
    drop(soon);
    let live = TestHub::start_with(on_air(), &block).await;
    let id = live.get_json("/playlist").await.1["id"]
        .as_i64()
        .expect("id");
    let (status, body) = live
        .post_admin(&format!("/admin/shows/{id}/live"), serde_json::json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    wait_events(&live, T, |l| {
        l.iter().any(|e| e["type"] == "live")
            && l.iter()
                .filter(|e| e["type"] == "live")
                .all(|e| e["deliveries"][0]["status"] == "sent")
    })
    .await;
    let messages = synapse.messages(&room).await;
    let bodies: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| {
            (
                m["content"]["msgtype"].as_str().unwrap_or_default(),
                m["content"]["body"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies.iter().all(|(t, _)| *t == "m.notice"), "{bodies:?}");
    assert!(
        bodies
            .iter()
            .any(|(_, b)| b.starts_with("The show starts in ")),
        "{bodies:?}"
    );
    let live_line = format!("The show is live now: {}/", live.url());
    assert!(bodies.iter().any(|(_, b)| *b == live_line), "{bodies:?}");
}
