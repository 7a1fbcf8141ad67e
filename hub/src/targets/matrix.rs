//! Matrix rooms: `PUT {homeserver}/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{txn}`
//! with `{"msgtype":"m.notice","body":line}`, authorised by the access token.
//!
//! The transaction id is `announce-{seq}` (`live-{show_id}` and `reminder-{show_id}` for
//! go-live alerts): the homeserver answers a repeated id from the same
//! device with the event it already made, so a retry after a lost answer never posts twice.
//! `m.notice` is the message type meant for bots (clients render it quieter, bots ignore it).
//!
//! Keys: `homeserver`, `room_id` and `access_token` (a secret, never shown).

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::json;
use url::Url;

use super::attempt::{self, Answer, Attempt};
use super::block::{Block, Secret, TargetConfigError, credential_and_url, without_query};
use super::kind::Kind;
use crate::store::Outgoing;

#[derive(Debug, Clone)]
pub struct MatrixTarget {
    pub homeserver: Url,
    pub room_id: String,
    pub access_token: Secret,
}

impl Kind for MatrixTarget {
    fn parse(block: &mut Block) -> Result<MatrixTarget, TargetConfigError> {
        let homeserver = block.take_url("homeserver", |r| &mut r.homeserver)?;
        let room_id = block.take_required("room_id", |r| &mut r.room_id)?;
        if !room_id.starts_with('!') || room_id.chars().any(char::is_whitespace) {
            return Err(block.err(
                "room_id",
                format!("`{room_id}` is not a room id (it starts with `!`, e.g. !abc:example.org)"),
            ));
        }
        let token = block.take_required("access_token", |r| &mut r.access_token)?;
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(block.err(
                "access_token",
                "may only hold printable ASCII characters without spaces",
            ));
        }
        Ok(MatrixTarget {
            homeserver,
            room_id,
            access_token: Secret::new(token),
        })
    }

    fn endpoint(&self) -> String {
        format!("{} room {}", without_query(&self.homeserver), self.room_id)
    }

    fn secrets(&self) -> Vec<&str> {
        credential_and_url([&self.access_token], &self.homeserver)
    }

    fn send<'a>(
        &'a self,
        http: &'a reqwest::Client,
        item: &'a Outgoing,
        timeout: Duration,
    ) -> BoxFuture<'a, Attempt> {
        Box::pin(send(http, self, item, timeout))
    }
}

async fn send(
    http: &reqwest::Client,
    target: &MatrixTarget,
    item: &Outgoing,
    timeout: Duration,
) -> Attempt {
    let Some(url) = send_url(target, &item.idempotency_key()) else {
        return Attempt::Failed {
            error: "the homeserver URL cannot take a path".into(),
        };
    };
    let request = http
        .put(url)
        .bearer_auth(target.access_token.expose())
        .json(&json!({"msgtype": "m.notice", "body": item.message().as_str()}));
    attempt::send(request, timeout, judge).await
}

fn judge(answer: Answer) -> Attempt {
    let hint = serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("retry_after_ms").and_then(serde_json::Value::as_f64))
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
