//! The hub side: a WebSocket subscription to `{hub_url}/ws/announce`, kept up by the
//! [`reconnect`](crate::reconnect) loop independently of IRC. With several hub URLs, each
//! (re)connect tries them in order and keeps the first that takes the relay; the hubs of one
//! station share the seq, so resuming with `?since=` works the same on whichever answers.
//!
//! Each announce that is new ([`Resume`]) and still inside the replay window goes to the IRC
//! side as a [`Post`]. Acks from the IRC side are written back on the same socket; while the
//! socket is down they wait in a bounded queue, and an ack leaves that queue only once it has
//! been written, so a reconnect loses none.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Sink, SinkExt, StreamExt};
use jiff::Timestamp;
use ntr_common::backoff::Backoff;
use ntr_common::shutdown::Shutdown;
use ntr_protocol::{
    Announce, ClientMessage, RelayStatus, Seq, ServerMessage, announce_path, close,
};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

use crate::config::Config;
use crate::handoff::{Ack, Post};
use crate::posted::Mark;
use crate::reconnect::{Ended, Link};
use crate::report::{self, Reporter};
use crate::resume::{Resume, Start};
use crate::status::Status;

/// Acks kept while the hub is unreachable; acks are informational, so beyond this they go.
const UNSENT_ACKS: usize = 256;
/// The hub pings every 25 s; this much silence means the connection is dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the close frame may take on shutdown; the hub cleans up dead sockets anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `http://host/base` → `ws://host/base/ws/announce?since=N`.
pub fn announce_url(hub_url: &Url, since: Option<Seq>) -> Url {
    let mut url = hub_url.clone();
    // http→ws and https→wss are both "special" schemes, so set_scheme cannot fail here;
    // config validation only lets http(s) through.
    let scheme = if hub_url.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    let _ = url.set_scheme(scheme);
    let target = announce_path(since);
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target.as_str(), None),
    };
    url.set_path(&format!("{}{path}", hub_url.path().trim_end_matches('/')));
    url.set_query(query);
    url.set_fragment(None);
    url
}

/// The hub side's state across connections.
pub(crate) struct HubSide {
    config: Arc<Config>,
    posts: mpsc::Sender<Post>,
    acks: mpsc::Receiver<Ack>,
    unsent: VecDeque<Ack>,
    resume: Resume,
    status: watch::Sender<Status>,
    /// The IRC side's state, as `relay_status` reports for the hub's dashboard.
    reporter: Reporter,
    shutdown: Shutdown,
}

impl HubSide {
    pub(crate) fn new(
        config: Arc<Config>,
        posts: mpsc::Sender<Post>,
        acks: mpsc::Receiver<Ack>,
        resume: Resume,
        status: watch::Sender<Status>,
        shutdown: Shutdown,
    ) -> HubSide {
        HubSide {
            reporter: Reporter::new(&config, status.subscribe()),
            config,
            posts,
            acks,
            unsent: VecDeque::new(),
            resume,
            status,
            shutdown,
        }
    }

    /// Subscribes through the first hub URL, in the configured order, that connects and takes
    /// the token; a hub that fails is logged and the next one tried. Every (re)connect starts
    /// over from the first, the preferred one.
    async fn subscribe(&mut self, since: Option<Seq>) -> Result<Socket, Ended> {
        let config = Arc::clone(&self.config);
        let hub_urls = &config.relay.hub_urls;
        let mut failures = Vec::with_capacity(hub_urls.len());
        for hub_url in hub_urls {
            match self.connect(hub_url, since).await {
                Ok(socket) => return Ok(socket),
                Err(Ended::Lost(reason)) if hub_urls.len() > 1 => {
                    tracing::warn!(hub = %hub_url, %reason, "cannot subscribe through this hub URL; trying the next, if any");
                    failures.push(format!("{hub_url}: {reason}"));
                }
                Err(end) => return Err(end),
            }
        }
        Err(Ended::lost(failures.join("; ")))
    }

    /// Opens the subscription at one hub.
    async fn connect(&mut self, hub_url: &Url, since: Option<Seq>) -> Result<Socket, Ended> {
        let url = announce_url(hub_url, since);
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| Ended::lost(format!("bad hub URL {url}: {e}")))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", self.config.relay.token))
            .map_err(|_| Ended::lost("the token is not a valid header value"))?;
        request.headers_mut().insert(header::AUTHORIZATION, bearer);
        tracing::debug!(%url, "connecting to the hub");
        let connect =
            tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request));
        let result = tokio::select! {
            _ = self.shutdown.wait() => return Err(Ended::Shutdown),
            result = connect => result,
        };
        match result {
            Err(_) => Err(Ended::lost("connect timed out")),
            Ok(Err(tungstenite::Error::Http(response)))
                if response.status() == StatusCode::UNAUTHORIZED =>
            {
                tracing::error!(hub = %hub_url, "the hub rejected the relay token (401); check [relay] token");
                Err(Ended::lost("401 Unauthorized"))
            }
            Ok(Err(e)) => Err(Ended::lost(e.to_string())),
            Ok(Ok((socket, _))) => {
                tracing::info!(hub = %hub_url, %url, "subscribed to the hub");
                Ok(socket)
            }
        }
    }

    fn keep(&mut self, ack: Ack) {
        if self.unsent.len() >= UNSENT_ACKS
            && let Some(dropped) = self.unsent.pop_front()
        {
            tracing::debug!(seq = %dropped.seq, "too many unsent acks; dropped the oldest");
        }
        self.unsent.push_back(ack);
    }

    /// A new announce as a line to post, or why not.
    fn accept(&mut self, announce: Announce, start: Start) -> Option<Post> {
        let seq = announce.seq;
        if !self.resume.take(seq, announce.announced_at) {
            tracing::debug!(%seq, "skipping an announce already seen");
            return None;
        }
        self.status.send_modify(|s| s.last_seq = Some(seq.get()));
        if start
            .not_before()
            .is_some_and(|first_live| announce.announced_at < first_live)
        {
            tracing::info!(%seq, "not posting an announce made before the relay first subscribed");
            return None;
        }
        let age = age_of(announce.announced_at);
        let Some(left) = self.config.relay.replay_window.checked_sub(age) else {
            tracing::warn!(
                %seq,
                age_seconds = age.as_secs(),
                "not posting an announce older than the replay window (check the clocks if this is unexpected)"
            );
            return None;
        };
        tracing::info!(%seq, "announce received");
        Some(Post {
            announce: Mark {
                seq,
                announced_at: announce.announced_at,
            },
            message: announce.message,
            show: announce.show,
            expires: Instant::now() + left,
        })
    }
}

impl Link for HubSide {
    const PEER: &'static str = "the hub";

    async fn connect_and_serve(&mut self, backoff: &mut Backoff) -> Ended {
        let start = self.resume.start();
        let socket = match self.subscribe(start.since()).await {
            Ok(socket) => socket,
            Err(end) => return end,
        };
        self.resume.went_live();
        backoff.connected();
        self.status.send_modify(|s| s.hub_connected = true);
        Subscription {
            side: self,
            socket,
            start,
        }
        .serve()
        .await
    }

    fn disconnected(&mut self, _: &Ended) {
        self.status.send_modify(|s| s.hub_connected = false);
    }

    async fn meanwhile(&mut self) {
        match self.acks.recv().await {
            Some(ack) => self.keep(ack),
            // The IRC side is gone, which only happens on shutdown.
            None => std::future::pending().await,
        }
    }
}

/// One live subscription.
struct Subscription<'a> {
    side: &'a mut HubSide,
    socket: Socket,
    start: Start,
}

impl Subscription<'_> {
    async fn serve(mut self) -> Ended {
        // The hub forgets a relay's report when it reconnects: report at once.
        let report = self.side.reporter.current();
        if let Err(end) = self.report(report).await {
            return end;
        }
        if let Err(end) = write_acks(&mut self.socket, &mut self.side.unsent).await {
            return end;
        }
        loop {
            if let Err(end) = self.step().await {
                return end;
            }
        }
    }

    async fn step(&mut self) -> Result<(), Ended> {
        tokio::select! {
            _ = self.side.shutdown.wait() => {
                let close = CloseFrame { code: CloseCode::Away, reason: "relay shutting down".into() };
                // Best effort: the hub cleans up dead sockets on its own.
                let _ = tokio::time::timeout(CLOSE_GRACE, self.socket.close(Some(close))).await;
                Err(Ended::Shutdown)
            }
            _ = tokio::time::sleep(IDLE_TIMEOUT) => Err(Ended::lost("no message or ping for 60 s")),
            Some(ack) = self.side.acks.recv() => {
                self.side.keep(ack);
                write_acks(&mut self.socket, &mut self.side.unsent).await
            }
            report = self.side.reporter.next() => self.report(report).await,
            frame = self.socket.next() => match frame {
                None => Err(Ended::lost("the hub closed the connection")),
                Some(Err(e)) => Err(Ended::lost(e.to_string())),
                Some(Ok(Message::Text(text))) => self.on_text(text.as_str()).await,
                Some(Ok(Message::Close(frame))) => Err(Ended::Lost(close_reason(frame))),
                // Pings are answered by tungstenite itself; they only reset the idle timer.
                Some(Ok(_)) => Ok(()),
            },
        }
    }

    async fn report(&mut self, report: RelayStatus) -> Result<(), Ended> {
        let text = report::message(report.clone()).to_json();
        self.socket
            .send(Message::text(text))
            .await
            .map_err(|e| Ended::lost(e.to_string()))?;
        self.side.reporter.sent(report);
        Ok(())
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Ended> {
        match serde_json::from_str(text) {
            Ok(ServerMessage::Announce(announce)) => {
                let Some(post) = self.side.accept(*announce, self.start) else {
                    return Ok(());
                };
                // A closed channel means the IRC side is gone, which only happens on shutdown.
                self.side
                    .posts
                    .send(post)
                    .await
                    .map_err(|_| Ended::Shutdown)
            }
            Ok(ServerMessage::Status { subscribers }) => {
                tracing::debug!(subscribers, "hub status");
                Ok(())
            }
            // Dashboard messages and types newer than this relay.
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a malformed message from the hub");
                Ok(())
            }
        }
    }
}

/// Writes every unsent ack, oldest first. An ack leaves the queue only once written: a failure
/// keeps it and every one after it for the next socket.
async fn write_acks<S>(socket: &mut S, unsent: &mut VecDeque<Ack>) -> Result<(), Ended>
where
    S: Sink<Message> + Unpin,
    S::Error: std::fmt::Display,
{
    while let Some(ack) = unsent.front() {
        socket
            .send(ack_message(ack))
            .await
            .map_err(|e| Ended::lost(e.to_string()))?;
        unsent.pop_front();
    }
    Ok(())
}

fn ack_message(ack: &Ack) -> Message {
    let message = ClientMessage::Ack {
        seq: ack.seq,
        target: ack.target.clone(),
    };
    Message::text(message.to_json())
}

fn close_reason(frame: Option<CloseFrame>) -> String {
    let Some(frame) = frame else {
        return "closed by the hub".to_string();
    };
    let code = u16::from(frame.code);
    if code == close::BAD_AUTH {
        tracing::error!("the hub rejected the relay token (close {code}); check [relay] token");
    }
    format!("close {code}: {}", close::describe(code))
}

/// How long ago `announced_at` was; zero when it is in the future (clock skew must not make
/// the relay drop fresh lines).
fn age_of(announced_at: Timestamp) -> Duration {
    Duration::try_from(Timestamp::now().duration_since(announced_at)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    #[test]
    fn announce_url_maps_scheme_path_and_since() {
        let http = Url::parse("http://127.0.0.1:8000").expect("url");
        assert_eq!(
            announce_url(&http, None).as_str(),
            "ws://127.0.0.1:8000/ws/announce"
        );
        assert_eq!(
            announce_url(&http, Some(Seq::new(41))).as_str(),
            "ws://127.0.0.1:8000/ws/announce?since=41"
        );
        let https = Url::parse("https://example.org/ntr/").expect("url");
        assert_eq!(
            announce_url(&https, Some(Seq::ZERO)).as_str(),
            "wss://example.org/ntr/ws/announce?since=0"
        );
    }

    /// A socket that takes `capacity` messages and then breaks.
    struct BreakingSink {
        sent: Vec<Message>,
        capacity: usize,
    }

    impl BreakingSink {
        fn check(&self) -> Result<(), &'static str> {
            if self.sent.len() < self.capacity {
                Ok(())
            } else {
                Err("connection reset")
            }
        }
    }

    impl Sink<Message> for BreakingSink {
        type Error = &'static str;

        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(self.check())
        }

        fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
            self.check()?;
            self.sent.push(item);
            Ok(())
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
    }

    fn acks(seqs: std::ops::RangeInclusive<u64>) -> VecDeque<Ack> {
        seqs.map(|seq| Ack {
            seq: Seq::new(seq),
            target: "#ntr".into(),
        })
        .collect()
    }

    #[tokio::test]
    async fn acks_not_written_survive_a_send_that_fails_half_way() {
        let mut unsent = acks(1..=5);
        let mut socket = BreakingSink {
            sent: Vec::new(),
            capacity: 2,
        };
        assert!(write_acks(&mut socket, &mut unsent).await.is_err());
        assert_eq!(socket.sent.len(), 2);
        assert_eq!(
            unsent,
            acks(3..=5),
            "the acks not written wait for the next socket"
        );
        // The next socket gets them, in order.
        let mut next = BreakingSink {
            sent: Vec::new(),
            capacity: usize::MAX,
        };
        write_acks(&mut next, &mut unsent).await.expect("written");
        assert!(unsent.is_empty());
        assert_eq!(
            next.sent,
            acks(3..=5).iter().map(ack_message).collect::<Vec<_>>()
        );
    }

    #[test]
    fn ack_json_shape() {
        let ack = Ack {
            seq: Seq::new(42),
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

    fn side() -> HubSide {
        let config = Config::from_toml(
            r##"
            [relay]
            token = "0123456789abcdef"
            replay_window_seconds = 300
            [irc]
            server = "127.0.0.1"
            nickname = "ntrbot"
            channels = ["#ntr"]
            "##,
        )
        .expect("config");
        let (posts, _) = mpsc::channel(1);
        let (_, acks) = mpsc::channel(1);
        let (status, _) = watch::channel(Status::default());
        let (_, shutdown) = ntr_common::shutdown::channel();
        let resume = Resume::default();
        HubSide::new(Arc::new(config), posts, acks, resume, status, shutdown)
    }

    fn announce(seq: u64, ago: Duration) -> Announce {
        let announced_at = Timestamp::now()
            .checked_sub(jiff::SignedDuration::try_from(ago).expect("duration"))
            .expect("time");
        Announce {
            seq: Seq::new(seq),
            message: format!("line {seq}"),
            show_id: None,
            position: None,
            track: None,
            announced_at,
            corrects: None,
            show: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn posts_new_announces_inside_the_window_only() {
        let mut side = side();
        let live = Start::Live;
        let first = announce(1, Duration::from_secs(100));
        let post = side.accept(first.clone(), live).expect("new and fresh");
        assert_eq!(post.message, "line 1");
        let left = post.expires - Instant::now();
        assert!(
            left <= Duration::from_secs(200) && left > Duration::from_secs(190),
            "{left:?}"
        );
        assert_eq!(side.status.borrow().last_seq, Some(1));
        assert_eq!(side.accept(first, live), None, "seen");
        assert_eq!(
            side.accept(announce(2, Duration::from_secs(301)), live),
            None,
            "older than the window"
        );
        assert_eq!(
            side.status.borrow().last_seq,
            Some(2),
            "seen even if not posted"
        );
        let future = side
            .accept(announce(3, Duration::ZERO), live)
            .expect("fresh");
        assert!(future.expires > Instant::now() + Duration::from_secs(299));
    }

    #[tokio::test(start_paused = true)]
    async fn announces_before_the_first_subscription_are_not_posted() {
        let mut side = side();
        let first_live = Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(60))
            .expect("time");
        let start = Start::FirstLive(first_live);
        assert_eq!(
            side.accept(announce(1, Duration::from_secs(120)), start),
            None
        );
        assert!(
            side.accept(announce(2, Duration::from_secs(30)), start)
                .is_some()
        );
    }

    #[test]
    fn close_reasons_name_the_code() {
        let frame = |code: u16| {
            Some(CloseFrame {
                code: CloseCode::from(code),
                reason: "".into(),
            })
        };
        assert!(close_reason(frame(close::TOO_SLOW)).contains("4008"));
        assert!(close_reason(frame(close::BAD_AUTH)).contains("rejected the token"));
        assert_eq!(close_reason(None), "closed by the hub");
    }
}
