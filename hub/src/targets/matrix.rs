//! Matrix rooms: `PUT {homeserver}/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{txn}`
//! with `{"msgtype":"m.notice","body":line}`, authorised by the access token.
//!
//! The transaction id is `announce-{seq}`: the homeserver answers a repeated id from the same
//! device with the event it already made, so a retry after a lost answer never posts twice.
//! `m.notice` is the message type meant for bots (clients render it quieter, bots ignore it).

use std::time::Duration;

use crate::store::Announcement;
use serde_json::json;
use url::Url;

use super::attempt::{self, Answer, Attempt};
use super::config::MatrixTarget;

pub async fn send(
    http: &reqwest::Client,
    target: &MatrixTarget,
    announce: &Announcement,
    timeout: Duration,
) -> Attempt {
    let Some(url) = send_url(target, &format!("announce-{}", announce.seq)) else {
        return Attempt::Failed {
            error: "the homeserver URL cannot take a path".into(),
        };
    };
    let request = http
        .put(url)
        .bearer_auth(target.access_token.expose())
        .json(&json!({"msgtype": "m.notice", "body": announce.message.as_str()}));
    attempt::send(request, timeout, judge).await
}

fn judge(answer: Answer) -> Attempt {
    let hint = serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("retry_after_ms").and_then(|r| r.as_f64()))
        .and_then(|ms| attempt::seconds(ms / 1000.0));
    answer.judge(hint)
}

/// The send URL; the room id is one percent-encoded path segment, whatever it holds.
fn send_url(target: &MatrixTarget, txn: &str) -> Option<Url> {
    let mut url = target.homeserver.clone();
    url.set_query(None);
    url.path_segments_mut().ok()?.pop_if_empty().extend([
        "_matrix",
        "client",
        "v3",
        "rooms",
        &target.room_id,
        "send",
        "m.room.message",
        txn,
    ]);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::config::Secret;

    #[test]
    fn the_room_id_is_one_segment() {
        let target = MatrixTarget {
            homeserver: Url::parse("https://matrix.example.org/").expect("url"),
            room_id: "!abc/def:example.org".into(),
            access_token: Secret::new("t"),
        };
        let url = send_url(&target, "announce-7").expect("url");
        assert_eq!(
            url.as_str(),
            "https://matrix.example.org/_matrix/client/v3/rooms/!abc%2Fdef:example.org/send/m.room.message/announce-7"
        );
    }
}
