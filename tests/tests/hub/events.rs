//! `GET /events` through real HTTP clients: live announces as Server-Sent Events, resuming with
//! `Last-Event-ID` (and `?since=`), and a stalled reader cut off without slowing the others.

use std::time::Duration;

use e2e::hub::TestHub;
use e2e::sse::SseStream;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn announces_arrive_live_with_their_seq_as_id() {
    let hub = TestHub::start().await;
    let mut events = SseStream::connect(&format!("{}/events", hub.url()), None).await;
    assert_eq!(events.headers()["cache-control"], "no-cache");
    assert_eq!(events.headers()["access-control-allow-origin"], "*");
    let (_, health) = hub.get_json("/health").await;
    assert_eq!(
        health["subscribers"], 0,
        "listeners are not counted as bots"
    );

    let text = hub.announce_text("Hello listeners").await;
    let track = hub
        .announce_track("Night Drive", "Some One", "https://x.test/nd")
        .await;
    let (id, first) = events.next_announce(LIMIT).await.expect("first event");
    assert_eq!(id, text.to_string());
    assert_eq!(
        first,
        json!({"type": "announce", "seq": text, "message": "Hello listeners", "show_id": null,
               "position": null, "track": null, "announced_at": first["announced_at"],
               "corrects": null, "show": null}),
        "a free text while no show is on air is station-wide"
    );
    let (id, second) = events.next_announce(LIMIT).await.expect("second event");
    assert_eq!(id, track.to_string());
    assert_eq!(second["track"]["title"], "Night Drive");
    assert_eq!(second["track"]["artist"], "Some One");
    assert!(second["position"].as_u64().is_some());
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_what_it_missed_once() {
    let hub = TestHub::start().await;
    let url = format!("{}/events", hub.url());
    let mut events = SseStream::connect(&url, None).await;
    let a = hub.announce_text("a").await;
    let (last_id, _) = events.next_announce(LIMIT).await.expect("a");
    drop(events);
    let b = hub.announce_text("b").await;
    let c = hub.announce_text("c").await;

    let mut resumed = SseStream::connect(&url, Some(&last_id)).await;
    let d = hub.announce_text("d").await;
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let (id, data) = resumed.next_announce(LIMIT).await.expect("event");
        assert_eq!(id, data["seq"].to_string());
        seqs.push(data["seq"].as_u64().expect("seq"));
    }
    assert_eq!(
        seqs,
        [b, c, d],
        "missed ones in order, then live, nothing twice"
    );
    assert!(
        resumed.next(Duration::from_millis(300)).await.is_none(),
        "no duplicate follows"
    );

    // `?since=` does the same for a page that knows the last seq it rendered.
    let mut since = SseStream::connect(&format!("{url}?since={a}"), None).await;
    let (_, first) = since.next_announce(LIMIT).await.expect("b again");
    assert_eq!(first["seq"], b);
    // The header wins over the query: it is what the browser's own reconnect sends.
    let mut both = SseStream::connect(&format!("{url}?since={a}"), Some(&c.to_string())).await;
    let (_, first) = both.next_announce(LIMIT).await.expect("d");
    assert_eq!(first["seq"], d);
}

#[tokio::test]
async fn a_malformed_last_event_id_is_a_json_error() {
    let hub = TestHub::start().await;
    let resp = hub
        .http
        .get(format!("{}/events", hub.url()))
        .header("last-event-id", "yesterday")
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("Last-Event-ID"))
    );
}

/// Enough 1.5 KB lines to overflow the stalled reader's kernel buffers and then its 64 slots.
const COUNT: usize = 300;

#[tokio::test]
async fn a_stalled_reader_is_cut_off_and_slows_nobody() {
    let hub = TestHub::start().await;
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let mut stalled = socket
        .connect(format!("127.0.0.1:{}", hub.port).parse().expect("addr"))
        .await
        .expect("connect");
    stalled
        .write_all(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .expect("request");
    let mut healthy = Vec::new();
    for _ in 0..20 {
        healthy.push(SseStream::connect(&format!("{}/events", hub.url()), None).await);
    }
    let readers: Vec<_> = healthy
        .into_iter()
        .map(|mut events| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                while got.len() < COUNT {
                    let (_, data) = events
                        .next_announce(Duration::from_secs(30))
                        .await
                        .expect("a healthy reader keeps its stream");
                    got.push(data["seq"].as_u64().expect("seq"));
                }
                got
            })
        })
        .collect();
    let padding = "x".repeat(1500);
    let mut sent = Vec::new();
    for i in 0..COUNT {
        sent.push(hub.announce_text(&format!("{i} {padding}")).await);
    }
    for r in readers {
        assert_eq!(r.await.expect("reader"), sent, "every line, in order");
    }
    // The stalled reader now reads: what fit in its buffers, then the end of the stream.
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(5), stalled.read(&mut buf)).await {
            Ok(Ok(0)) => break true,
            Ok(Ok(n)) => {
                bytes.extend_from_slice(&buf[..n]);
                if bytes.ends_with(b"\r\n0\r\n\r\n") {
                    break true;
                }
            }
            _ => break false,
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let got = text.matches("event: announce").count();
    assert!(ended, "the stream ended after {got} events");
    assert!(got < COUNT, "it was cut off, not served everything ({got})");
}

#[tokio::test]
async fn streams_end_when_the_hub_stops() {
    let mut hub = TestHub::start().await;
    let mut events = SseStream::connect(&format!("{}/events", hub.url()), None).await;
    hub.stop().await;
    assert!(
        events.next(LIMIT).await.is_none(),
        "the stream ended instead of holding the shutdown"
    );
}
