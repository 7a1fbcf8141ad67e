//! `/ws/announce` over real sockets: every way to authenticate, order, replay with `since`,
//! acks, status coalescing, and a stalled subscriber that is cut off without slowing others.

use std::time::Duration;

use e2e::hub::{ADMIN_TOKEN, RELAY_TOKEN, TestHub};
use e2e::wsclient::{self, Event, bearer, connect, next, next_of, send_json};
use futures_util::StreamExt;
use ntr_protocol::close;
use serde_json::json;

const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn bearer_subscriber_gets_status_then_announces() {
    let hub = TestHub::start().await;
    let mut ws = bearer(&hub.url(), "", RELAY_TOKEN).await;
    let status = next_of(&mut ws, "status", T).await;
    assert_eq!(status["subscribers"], 1);
    let seq = hub.announce_text("Hello\r\nQUIT :x listeners").await;
    let m = next_of(&mut ws, "announce", T).await;
    assert_eq!(m["seq"], seq);
    assert_eq!(m["message"], "HelloQUIT :x listeners");
    assert_eq!(m["show_id"], serde_json::Value::Null);
    assert_eq!(m["position"], serde_json::Value::Null);
    assert_eq!(m["track"], serde_json::Value::Null);
    assert!(m["announced_at"].as_str().expect("time").ends_with('Z'));
    let (_, health) = hub.get_json("/health").await;
    assert_eq!(health["subscribers"], 1);
}

#[tokio::test]
async fn bad_credentials_are_refused() {
    let hub = TestHub::start().await;
    let bad = connect(
        &hub.url(),
        "",
        &[("authorization", "Bearer not-a-real-token-at-all".into())],
    )
    .await;
    assert_eq!(bad.err(), Some(401));
    let garbage = connect(
        &hub.url(),
        "",
        &[("authorization", "Basic Zm9vOmJhcg==".into())],
    )
    .await;
    assert_eq!(garbage.err(), Some(401));

    // First-message form with a wrong token: closed with 4001.
    let mut ws = connect(&hub.url(), "", &[]).await.expect("upgrade");
    send_json(&mut ws, json!({"type": "subscribe", "token": "wrong"})).await;
    match next(&mut ws, T).await {
        Event::Closed(code) => assert_eq!(code, Some(close::BAD_AUTH)),
        other => panic!("expected a 4001 close, got {other:?}"),
    }
    // Not JSON at all: the same.
    let mut ws = connect(&hub.url(), "", &[]).await.expect("upgrade");
    ws.send_text("hello?").await;
    assert!(matches!(
        next(&mut ws, T).await,
        Event::Closed(Some(close::BAD_AUTH))
    ));
}

trait SendText {
    async fn send_text(&mut self, t: &str);
}

impl SendText for wsclient::Ws {
    async fn send_text(&mut self, t: &str) {
        use futures_util::SinkExt;
        self.send(tokio_tungstenite::tungstenite::Message::Text(t.into()))
            .await
            .expect("send");
    }
}

#[tokio::test]
async fn silent_first_message_clients_are_closed_after_10_seconds() {
    let hub = TestHub::start().await;
    let mut ws = connect(&hub.url(), "", &[]).await.expect("upgrade");
    match next(&mut ws, Duration::from_secs(15)).await {
        Event::Closed(code) => assert_eq!(code, Some(close::BAD_AUTH)),
        other => panic!("expected a 4001 close, got {other:?}"),
    }
}

#[tokio::test]
async fn first_message_and_cookie_subscribers_work() {
    let hub = TestHub::start().await;
    let mut plugin = connect(&hub.url(), "", &[]).await.expect("upgrade");
    send_json(
        &mut plugin,
        json!({"type": "subscribe", "token": RELAY_TOKEN}),
    )
    .await;
    next_of(&mut plugin, "status", T).await;

    let (cookie, _) = e2e::hub::login(&hub.http, &hub.url()).await;
    let foreign = connect(
        &hub.url(),
        "",
        &[
            ("cookie", cookie.clone()),
            ("origin", "https://evil.example".into()),
        ],
    )
    .await;
    assert_eq!(
        foreign.err(),
        Some(403),
        "a cookie from another origin is refused"
    );
    let mut dashboard = connect(&hub.url(), "", &[("cookie", cookie), ("origin", hub.url())])
        .await
        .expect("cookie upgrade");

    let seq = hub.announce_text("both of you").await;
    for ws in [&mut plugin, &mut dashboard] {
        assert_eq!(next_of(ws, "announce", T).await["seq"], seq);
    }
}

#[tokio::test]
async fn announces_arrive_in_order_and_since_replays_exactly_what_was_missed() {
    let hub = TestHub::start().await;
    let mut seqs = Vec::new();
    for i in 0..5 {
        seqs.push(hub.announce_text(&format!("line {i}")).await);
    }
    let mut ws = bearer(&hub.url(), &format!("?since={}", seqs[1]), RELAY_TOKEN).await;
    for expected in &seqs[2..] {
        assert_eq!(next_of(&mut ws, "announce", T).await["seq"], *expected);
    }
    let mut live = Vec::new();
    for i in 0..20 {
        live.push(hub.announce_text(&format!("live {i}")).await);
    }
    for expected in &live {
        let m = next_of(&mut ws, "announce", T).await;
        assert_eq!(m["seq"], *expected, "in order, no duplicates");
    }
    // since beyond the last seq replays nothing; since=0 replays everything in the window.
    let mut ws = bearer(&hub.url(), "?since=99999", RELAY_TOKEN).await;
    next_of(&mut ws, "status", T).await;
    let seq = hub.announce_text("after").await;
    assert_eq!(next_of(&mut ws, "announce", T).await["seq"], seq);
    let mut all = bearer(&hub.url(), "?since=0", RELAY_TOKEN).await;
    assert_eq!(next_of(&mut all, "announce", T).await["seq"], 1);
    assert_eq!(
        connect(
            &hub.url(),
            "?since=abc",
            &[("authorization", format!("Bearer {RELAY_TOKEN}"))]
        )
        .await
        .err(),
        Some(400)
    );
}

#[tokio::test]
async fn acks_are_recorded_and_shown_to_other_subscribers() {
    let hub = TestHub::start().await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;
    let mut dashboard = bearer(&hub.url(), "", ADMIN_TOKEN).await;
    let seq = hub.announce_text("ack me").await;
    next_of(&mut relay, "announce", T).await;
    send_json(
        &mut relay,
        json!({"type": "ack", "seq": seq, "target": "#ntr"}),
    )
    .await;
    send_json(
        &mut relay,
        json!({"type": "ack", "seq": 999, "target": "#nowhere"}),
    )
    .await;
    send_json(&mut relay, json!({"type": "ack", "seq": "x"})).await;
    let ack = next_of(&mut dashboard, "ack", T).await;
    assert_eq!(ack["seq"], seq);
    assert_eq!(ack["target"], "#ntr");
    assert_eq!(hub.acks().await, vec![(seq, "#ntr".to_string())]);
}

#[tokio::test]
async fn status_messages_are_coalesced() {
    let hub = TestHub::start().await;
    let mut watcher = bearer(&hub.url(), "", RELAY_TOKEN).await;
    next_of(&mut watcher, "status", T).await;
    let mut clients = Vec::new();
    for _ in 0..60 {
        clients.push(bearer(&hub.url(), "", RELAY_TOKEN).await);
    }
    let mut statuses = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(2500);
    while tokio::time::Instant::now() < deadline {
        match next(&mut watcher, Duration::from_millis(200)).await {
            Event::Json(v) if v["type"] == "status" => {
                statuses.push(v["subscribers"].as_u64().expect("n"));
            }
            _ => {}
        }
    }
    assert!(
        !statuses.is_empty() && statuses.len() <= 4,
        "60 joins gave {} status messages: {statuses:?}",
        statuses.len()
    );
    assert_eq!(statuses.last(), Some(&61));
}

/// Enough 1.5 KB lines to overflow the stalled socket's kernel buffers and then its 64 slots.
const COUNT: usize = 300;

#[tokio::test]
async fn a_stalled_subscriber_is_closed_with_4008_and_slows_nobody() {
    let hub = TestHub::start().await;
    // A subscriber that stops reading, with a tiny receive buffer so it backs up quickly.
    let addr = format!("127.0.0.1:{}", hub.port);
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let stream = socket
        .connect(addr.parse().expect("addr"))
        .await
        .expect("connect");
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{addr}/ws/announce"),
    )
    .expect("request");
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {RELAY_TOKEN}").parse().expect("header"),
    );
    let (mut stalled, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .expect("stalled upgrade");

    let mut others = Vec::new();
    for _ in 0..100 {
        others.push(bearer(&hub.url(), "", RELAY_TOKEN).await);
    }
    let readers: Vec<_> = others
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                while got.len() < COUNT {
                    match next(&mut ws, Duration::from_secs(30)).await {
                        Event::Json(v) if v["type"] == "announce" => {
                            got.push(v["seq"].as_i64().expect("seq"));
                        }
                        Event::Json(_) => {}
                        other => panic!("a healthy subscriber lost its stream: {other:?}"),
                    }
                }
                got
            })
        })
        .collect();
    let padding = "x".repeat(1500);
    let mut sent = Vec::new();
    for i in 0..COUNT {
        sent.push(hub.announce_text(&format!("{i} {padding}")).await as i64);
    }
    for r in readers {
        assert_eq!(
            r.await.expect("reader"),
            sent,
            "every healthy subscriber got every line in order"
        );
    }
    // The stalled one now reads: it finds what fit in its buffers, then the 4008 close.
    let mut code = None;
    let mut read = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), stalled.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(f)))) => {
                code = f.map(|f| u16::from(f.code));
                break;
            }
            Ok(Some(Ok(_))) => read += 1,
            _ => break,
        }
    }
    assert_eq!(code, Some(close::TOO_SLOW), "after {read} messages");
}
