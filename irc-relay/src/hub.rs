//! The hub side: a WebSocket subscription to `{hub_url}/ws/announce`.
//!
//! Runs its own reconnect loop, independent of IRC. It remembers the last sequence number it
//! has seen and resumes with `?since=` so that a short outage loses nothing, and it drops any
//! announce at or below that number so a replay never posts a line twice. Acks from the IRC
//! side are written back on the same socket (kept across a reconnect if the socket is down).
//!
//! A seq at or below the last seen one is skipped unless its `announced_at` is newer than the
//! last seen announce's: then the hub's sequence has started over (a new database) and the
//! relay follows it instead of staying silent until the new numbers pass the old ones.
//!
//! Before the first announce there is no seq to resume from, yet a hub restart can still fall
//! between the relay's first subscription and the DJ's first announce. Then the relay resumes
//! with `?since=0` and skips every announce made before its first subscription (by
//! `announced_at`): those predate this relay, and it starts live.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use url::Url;

use crate::backoff::Backoff;
use crate::config::Config;
use crate::relay::Status;
use crate::shutdown::Shutdown;

/// An announce accepted for posting.
#[derive(Debug, Clone)]
pub struct Announce {
    pub seq: u64,
    pub message: String,
    /// Past this the line is too old to post (end of the replay window).
    pub expires: Instant,
}

/// "Announce `seq` was posted to `target`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub seq: u64,
    pub target: String,
}

/// Acks kept while the hub is unreachable; acks are informational, so beyond this they go.
const PENDING_ACKS: usize = 256;
/// The hub pings every 25 s; this much silence means the connection is dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ServerMessage {
    Announce {
        seq: u64,
        message: String,
        #[serde(default)]
        announced_at: Option<String>,
    },
    Status {
        #[serde(default)]
        subscribers: Option<u64>,
    },
    #[serde(other)]
    Other,
}

/// Where to resume the hub stream from.
#[derive(Debug, Default)]
struct Resume {
    /// The highest announce seq seen.
    last_seen: Option<u64>,
    /// Its `announced_at` (hub clock).
    last_seen_at: Option<jiff::Timestamp>,
    /// When the first subscription went live (relay clock).
    first_live: Option<jiff::Timestamp>,
}

impl Resume {
    /// The `since` to subscribe with, and the time before which replayed announces are not
    /// this relay's to post.
    fn since(&self) -> (Option<u64>, Option<jiff::Timestamp>) {
        match (self.last_seen, self.first_live) {
            (Some(seq), _) => (Some(seq), None),
            (None, Some(at)) => (Some(0), Some(at)),
            (None, None) => (None, None),
        }
    }

    /// Whether announce `seq`, announced at `at`, is new; if so it becomes the last seen.
    fn take(&mut self, seq: u64, at: Option<jiff::Timestamp>) -> bool {
        if let Some(last) = self.last_seen
            && seq <= last
        {
            // A replay of something seen, unless it is newer than anything seen: then the
            // hub's numbering started over.
            let newer = at
                .zip(self.last_seen_at)
                .is_some_and(|(at, last_at)| at > last_at);
            if !newer {
                return false;
            }
            tracing::warn!(
                seq,
                last,
                "the hub's sequence numbers started over (a new database?); following them"
            );
        }
        self.last_seen = Some(seq);
        self.last_seen_at = at;
        true
    }
}

#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error("shutting down")]
    Shutdown,
    #[error("{0}")]
    Lost(String),
}

/// `http://host/base` → `ws://host/base/ws/announce?since=N`.
pub fn announce_url(hub_url: &Url, since: Option<u64>) -> Url {
    let mut url = hub_url.clone();
    // http→ws and https→wss are both "special" schemes, so set_scheme cannot fail here;
    // config validation only lets http(s) through.
    let scheme = if hub_url.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    let _ = url.set_scheme(scheme);
    let path = format!("{}/ws/announce", hub_url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_fragment(None);
    match since {
        Some(seq) => url.set_query(Some(&format!("since={seq}"))),
        None => url.set_query(None),
    }
    url
}

pub(crate) struct HubTask {
    pub config: Arc<Config>,
    pub announces: mpsc::Sender<Announce>,
    pub acks: mpsc::Receiver<Ack>,
    pub status: Arc<watch::Sender<Status>>,
    pub shutdown: Shutdown,
}

impl HubTask {
    pub async fn run(mut self) {
        let relay = &self.config.relay;
        let mut backoff = Backoff::new(relay.reconnect_initial, relay.reconnect_max);
        let mut resume = Resume::default();
        let mut pending_acks: Vec<Ack> = Vec::new();
        while !self.shutdown.is_shutdown() {
            match self
                .session(&mut resume, &mut pending_acks, &mut backoff)
                .await
            {
                Err(SessionEnd::Shutdown) => break,
                Err(SessionEnd::Lost(reason)) => {
                    tracing::warn!(%reason, "hub unreachable or connection lost");
                }
                Ok(()) => {}
            }
            self.status.send_modify(|s| s.hub_connected = false);
            let delay = backoff.next_delay();
            tracing::info!(?delay, "reconnecting to the hub");
            let wake = Instant::now() + delay;
            loop {
                tokio::select! {
                    _ = self.shutdown.recv() => return,
                    _ = tokio::time::sleep_until(wake) => break,
                    Some(ack) = self.acks.recv() => keep_ack(&mut pending_acks, ack),
                }
            }
        }
    }

    async fn session(
        &mut self,
        resume: &mut Resume,
        pending_acks: &mut Vec<Ack>,
        backoff: &mut Backoff,
    ) -> Result<(), SessionEnd> {
        let (since, not_before) = resume.since();
        let url = announce_url(&self.config.relay.hub_url, since);
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| SessionEnd::Lost(format!("bad hub URL {url}: {e}")))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", self.config.relay.token))
            .map_err(|_| SessionEnd::Lost("token is not a valid header value".into()))?;
        request.headers_mut().insert(header::AUTHORIZATION, bearer);

        tracing::debug!(%url, "connecting to the hub");
        let connect =
            tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request));
        let (mut ws, _) = tokio::select! {
            _ = self.shutdown.recv() => return Err(SessionEnd::Shutdown),
            result = connect => match result {
                Err(_) => return Err(SessionEnd::Lost("connect timed out".into())),
                Ok(Err(tungstenite::Error::Http(response)))
                    if response.status() == StatusCode::UNAUTHORIZED =>
                {
                    tracing::error!("the hub rejected the relay token (401); check [relay] token");
                    return Err(SessionEnd::Lost("401 Unauthorized".into()));
                }
                Ok(Err(e)) => return Err(SessionEnd::Lost(e.to_string())),
                Ok(Ok(pair)) => pair,
            },
        };
        tracing::info!(url = %url, "subscribed to the hub");
        resume.first_live.get_or_insert_with(jiff::Timestamp::now);
        backoff.connected();
        self.status.send_modify(|s| s.hub_connected = true);

        send_pending(&mut ws, pending_acks).await?;

        loop {
            let idle = tokio::time::sleep(IDLE_TIMEOUT);
            tokio::select! {
                _ = self.shutdown.recv() => {
                    let close = CloseFrame { code: CloseCode::Away, reason: "relay shutting down".into() };
                    // Best effort: the hub cleans up dead sockets on its own.
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(Some(close))).await;
                    return Err(SessionEnd::Shutdown);
                }
                _ = idle => return Err(SessionEnd::Lost("no message or ping for 60 s".into())),
                Some(ack) = self.acks.recv() => {
                    if let Err(e) = ws.send(ack_message(&ack)).await {
                        keep_ack(pending_acks, ack);
                        return Err(SessionEnd::Lost(e.to_string()));
                    }
                }
                frame = ws.next() => match frame {
                    None => return Err(SessionEnd::Lost("hub closed the connection".into())),
                    Some(Err(e)) => return Err(SessionEnd::Lost(e.to_string())),
                    Some(Ok(Message::Text(text))) => {
                        self.handle_text(text.as_str(), resume, not_before).await?;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let reason = match frame {
                            Some(f) if u16::from(f.code) == 4001 => {
                                tracing::error!("the hub rejected the relay token (close 4001)");
                                "close 4001 (unauthorized)".to_string()
                            }
                            Some(f) if u16::from(f.code) == 4008 => "close 4008 (relay too slow)".to_string(),
                            Some(f) => format!("closed by hub ({} {})", u16::from(f.code), f.reason),
                            None => "closed by hub".to_string(),
                        };
                        return Err(SessionEnd::Lost(reason));
                    }
                    // Pings are answered by tungstenite itself; they only reset the idle timer.
                    Some(Ok(_)) => {}
                },
            }
        }
    }

    async fn handle_text(
        &mut self,
        text: &str,
        resume: &mut Resume,
        not_before: Option<jiff::Timestamp>,
    ) -> Result<(), SessionEnd> {
        let message: ServerMessage = match serde_json::from_str(text) {
            Ok(message) => message,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a malformed message from the hub");
                return Ok(());
            }
        };
        match message {
            ServerMessage::Announce {
                seq,
                message,
                announced_at,
            } => {
                let announced_at = parse_time(announced_at.as_deref());
                if !resume.take(seq, announced_at) {
                    tracing::debug!(seq, "skipping an announce already seen");
                    return Ok(());
                }
                self.status.send_modify(|s| s.last_seq = Some(seq));
                if let Some(first_live) = not_before
                    && announced_at.is_none_or(|at| at < first_live)
                {
                    tracing::info!(
                        seq,
                        "not posting an announce made before the relay first subscribed"
                    );
                    return Ok(());
                }
                let window = self.config.relay.replay_window;
                let age = age_of(announced_at);
                let Some(left) = window.checked_sub(age) else {
                    tracing::warn!(
                        seq,
                        age_seconds = age.as_secs(),
                        "not posting an announce older than the replay window (check the clocks if this is unexpected)"
                    );
                    return Ok(());
                };
                let announce = Announce {
                    seq,
                    message,
                    expires: Instant::now() + left,
                };
                tracing::info!(seq, "announce received");
                if self.announces.send(announce).await.is_err() {
                    // The IRC side is gone, which only happens on shutdown.
                    return Err(SessionEnd::Shutdown);
                }
            }
            ServerMessage::Status { subscribers } => {
                tracing::debug!(?subscribers, "hub status");
            }
            ServerMessage::Other => {}
        }
        Ok(())
    }
}

/// An RFC 3339 time; `None` when missing or unreadable.
fn parse_time(text: Option<&str>) -> Option<jiff::Timestamp> {
    text.and_then(|s| s.parse().ok())
}

/// How long ago `announced_at` was; zero when unknown or in the future (clock skew must not
/// make the relay drop fresh lines).
fn age_of(announced_at: Option<jiff::Timestamp>) -> Duration {
    let Some(at) = announced_at else {
        return Duration::ZERO;
    };
    let age = jiff::Timestamp::now().duration_since(at);
    Duration::try_from(age).unwrap_or(Duration::ZERO)
}

fn keep_ack(pending: &mut Vec<Ack>, ack: Ack) {
    if pending.len() >= PENDING_ACKS {
        pending.remove(0);
    }
    pending.push(ack);
}

/// Writes the acks kept while the socket was down.
async fn send_pending<S>(ws: &mut S, pending_acks: &mut Vec<Ack>) -> Result<(), SessionEnd>
where
    S: futures_util::Sink<Message> + Unpin,
    S::Error: std::fmt::Display,
{
    // An ack leaves the queue only once written: a failure keeps it and every one after it.
    while let Some(ack) = pending_acks.first() {
        ws.send(ack_message(ack))
            .await
            .map_err(|e| SessionEnd::Lost(e.to_string()))?;
        pending_acks.remove(0);
    }
    Ok(())
}

fn ack_message(ack: &Ack) -> Message {
    let json = serde_json::json!({"type": "ack", "seq": ack.seq, "target": ack.target});
    Message::text(json.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announce_url_maps_scheme_path_and_since() {
        let http = Url::parse("http://127.0.0.1:8000").expect("url");
        assert_eq!(
            announce_url(&http, None).as_str(),
            "ws://127.0.0.1:8000/ws/announce"
        );
        assert_eq!(
            announce_url(&http, Some(41)).as_str(),
            "ws://127.0.0.1:8000/ws/announce?since=41"
        );
        let https = Url::parse("https://example.org/ntr/").expect("url");
        assert_eq!(
            announce_url(&https, Some(0)).as_str(),
            "wss://example.org/ntr/ws/announce?since=0"
        );
    }

    #[test]
    fn parses_server_messages() {
        let announce = r#"{"type":"announce","seq":42,"message":"Now Playing: x","show_id":7,
            "position":3,"track":{"title":"x"},"announced_at":"2026-03-14T01:00:00Z"}"#;
        match serde_json::from_str::<ServerMessage>(announce).expect("announce") {
            ServerMessage::Announce { seq, message, .. } => {
                assert_eq!(seq, 42);
                assert_eq!(message, "Now Playing: x");
            }
            other => panic!("{other:?}"),
        }
        let status = r#"{"type":"status","subscribers":2}"#;
        assert!(matches!(
            serde_json::from_str::<ServerMessage>(status).expect("status"),
            ServerMessage::Status {
                subscribers: Some(2)
            }
        ));
        // The hub echoes every relay's ack to every subscriber (for the dashboard).
        let ack = r##"{"type":"ack","seq":42,"target":"#ntr"}"##;
        assert!(matches!(
            serde_json::from_str::<ServerMessage>(ack).expect("ack"),
            ServerMessage::Other
        ));
        let future = r#"{"type":"something-new","x":1}"#;
        assert!(matches!(
            serde_json::from_str::<ServerMessage>(future).expect("other"),
            ServerMessage::Other
        ));
    }

    #[test]
    fn resumes_from_the_last_seen_seq_or_from_the_first_subscription() {
        let mut resume = Resume::default();
        assert_eq!(
            resume.since(),
            (None, None),
            "the first subscription is live"
        );
        let at: jiff::Timestamp = "2026-03-14T01:00:00Z".parse().expect("time");
        resume.first_live = Some(at);
        assert_eq!(
            resume.since(),
            (Some(0), Some(at)),
            "nothing seen yet: everything since going live"
        );
        resume.last_seen = Some(41);
        assert_eq!(resume.since(), (Some(41), None));
    }

    #[test]
    fn skips_what_was_seen_but_follows_a_sequence_that_started_over() {
        let t = |s: &str| parse_time(Some(s));
        let mut resume = Resume::default();
        assert!(resume.take(40, t("2026-03-14T01:00:00Z")));
        assert!(resume.take(41, t("2026-03-14T01:05:00Z")));
        // Replayed again (a hub that replays too much): skipped.
        assert!(!resume.take(41, t("2026-03-14T01:05:00Z")));
        assert!(!resume.take(40, t("2026-03-14T01:00:00Z")));
        // Without times nothing at or below the last seq gets through.
        assert!(!resume.take(3, None));
        assert_eq!(resume.last_seen, Some(41));
        // A new database: seq 1 again, announced after everything seen.
        assert!(resume.take(1, t("2026-03-14T02:00:00Z")));
        assert_eq!(resume.last_seen, Some(1));
        assert!(!resume.take(1, t("2026-03-14T02:00:00Z")));
        assert!(resume.take(2, t("2026-03-14T02:01:00Z")));
    }

    #[test]
    fn age_is_zero_for_unknown_or_future_times() {
        assert_eq!(age_of(None), Duration::ZERO);
        assert_eq!(age_of(parse_time(Some("yesterday"))), Duration::ZERO);
        assert_eq!(
            age_of(parse_time(Some("2999-01-01T00:00:00Z"))),
            Duration::ZERO
        );
        assert!(age_of(parse_time(Some("2000-01-01T00:00:00Z"))) > Duration::from_secs(86400));
    }

    /// A socket that takes `capacity` messages and then breaks.
    struct BreakingSink {
        sent: Vec<Message>,
        capacity: usize,
    }

    impl futures_util::Sink<Message> for BreakingSink {
        type Error = &'static str;

        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(if self.sent.len() < self.capacity {
                Ok(())
            } else {
                Err("connection reset")
            })
        }

        fn start_send(
            mut self: std::pin::Pin<&mut Self>,
            item: Message,
        ) -> Result<(), Self::Error> {
            if self.sent.len() < self.capacity {
                self.sent.push(item);
                Ok(())
            } else {
                Err("connection reset")
            }
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn acks_not_written_survive_a_send_that_fails_half_way() {
        let acks: Vec<Ack> = (1..=5)
            .map(|seq| Ack {
                seq,
                target: "#ntr".into(),
            })
            .collect();
        let mut pending = acks.clone();
        let mut socket = BreakingSink {
            sent: Vec::new(),
            capacity: 2,
        };
        assert!(send_pending(&mut socket, &mut pending).await.is_err());
        assert_eq!(socket.sent.len(), 2);
        assert_eq!(
            pending,
            acks[2..],
            "the three acks not written wait for the next socket"
        );
    }

    #[test]
    fn ack_json_shape() {
        let ack = Ack {
            seq: 42,
            target: "#ntr".into(),
        };
        let Message::Text(text) = ack_message(&ack) else {
            panic!("text");
        };
        let value: serde_json::Value = serde_json::from_str(text.as_str()).expect("json");
        assert_eq!(
            value,
            serde_json::json!({"type":"ack","seq":42,"target":"#ntr"})
        );
    }
}
