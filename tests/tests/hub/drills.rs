//! Fault drills: the failures a live show meets, each bounded in time.
//! - kill -9 of the hub mid-show, then a restart: nothing lost, seq continues, the relay
//!   resumes and posts nothing twice;
//! - SoundCloud down for a while, then back;
//! - a flood of hostile requests: no 5xx, no panic, and the DJ can still work.

use std::process::Command;
use std::time::{Duration, Instant};

use e2e::fake_soundcloud::{FakeLike, Fault, track};
use e2e::hub::{ADMIN_TOKEN, RELAY_TOKEN, TestHub, announce_text_at, plus_hours, spawn_hub};
use e2e::ircd::{Ircd, Observer};
use e2e::wsclient::{self, Event, bearer, connect, next_of};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const T: Duration = Duration::from_secs(10);

/// An HTTP client that shows redirects instead of following them (a login answers 303).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

async fn wait_listening(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let http = client();
    while Instant::now() < deadline {
        if http.get(format!("{url}/health")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("hub at {url} did not come up");
}

async fn login_cookie(http: &reqwest::Client, url: &str) -> String {
    e2e::hub::login(http, url).await.0
}

#[tokio::test]
async fn kill_9_mid_show_loses_nothing_and_the_relay_posts_nothing_twice() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let mut template = TestHub::start().await;
    let (current, _) = template.weeks();
    template.soundcloud.set_likes(vec![FakeLike {
        created_at: plus_hours(current.start, 1),
        track: Some(track(1, "Kept", "Artist")),
    }]);
    template.stop().await;
    let config = template.write_config();
    let url = template.url();

    let mut hub = spawn_hub(&config);
    wait_listening(&url).await;
    let http = client();
    let refresh = http
        .post(format!("{url}/admin/refresh"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("refresh");
    assert_eq!(refresh.status(), 200);
    let cookie = login_cookie(&http, &url).await;

    let relay_config = irc_relay::Config::from_toml(&format!(
        "[relay]\nhub_url = \"{url}\"\ntoken = \"{RELAY_TOKEN}\"\nreconnect_initial_seconds = 0.05\n\
         reconnect_max_seconds = 0.5\nstate_dir = \"{}\"\n[irc]\nserver = \"127.0.0.1\"\n\
         port = {}\ntls = false\nnickname = \"drillbot\"\nchannels = [\"#drill\"]\n",
        template.data_dir().join("relay-state").display(),
        ircd.port()
    ))
    .expect("relay config");
    let mut observer = Observer::join(ircd.port(), "listener", "#drill").await;
    let relay = irc_relay::Relay::start(relay_config);
    relay.wait_ready(1, T).await.expect("relay ready");

    let mut seqs = Vec::new();
    for i in 1..=3 {
        seqs.push(announce_text_at(&http, &url, &format!("before crash {i}")).await);
    }
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let line = observer
            .wait_for_privmsg(T)
            .await
            .expect("a line before the crash");
        seen.push(line.text);
    }

    // The crash: no shutdown, no flush.
    hub.kill().expect("kill -9");
    let _ = hub.wait();
    let mut hub = spawn_hub(&config);
    wait_listening(&url).await;
    let http = client();

    let after = announce_text_at(&http, &url, "after the crash").await;
    assert_eq!(after, seqs[2] + 1, "seq continues after kill -9");
    let line = observer
        .wait_for_privmsg(Duration::from_secs(15))
        .await
        .expect("the relay resumed");
    seen.push(line.text);
    // Nothing else arrives: no line is posted twice after the reconnect.
    let extra = observer.privmsgs_during(Duration::from_secs(2)).await;
    assert!(extra.is_empty(), "duplicates after the restart: {extra:?}");
    assert_eq!(
        seen,
        [
            "before crash 1",
            "before crash 2",
            "before crash 3",
            "after the crash"
        ]
    );

    // The session and the playlist survived.
    let dashboard = http
        .get(format!("{url}/dashboard"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("dashboard");
    assert_eq!(dashboard.status(), 200, "the session survived kill -9");
    let show: Value = http
        .get(format!("{url}/playlist"))
        .send()
        .await
        .expect("playlist")
        .json()
        .await
        .expect("json");
    assert_eq!(show["tracks"][0]["title"], "Kept");

    relay.shutdown().await;
    let _ = Command::new("kill")
        .args(["-TERM", &hub.id().to_string()])
        .status();
    assert_eq!(hub.wait().expect("wait").code(), Some(0));
}

#[tokio::test]
async fn soundcloud_down_for_a_while_then_back() {
    let hub = TestHub::start().await;
    let (current, _) = hub.weeks();
    let like = |h, id| FakeLike {
        created_at: plus_hours(current.start, h),
        track: Some(track(id, &format!("T{id}"), "A")),
    };
    hub.soundcloud.set_likes(vec![like(1, 1), like(2, 2)]);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    let cookie = login_cookie(&hub.http, &hub.url()).await;

    // Down: every request fails for three polls in a row.
    hub.soundcloud.push_faults(vec![Fault::Status(503); 9]);
    hub.soundcloud
        .set_likes(vec![like(1, 1), like(2, 2), like(3, 3)]);
    for _ in 0..3 {
        let outcome = hub.refresh().await;
        assert_eq!(outcome["poll"]["ok"], false, "{outcome}");
        let (_, show) = hub.get_json("/playlist").await;
        assert_eq!(
            show["tracks"].as_array().map(Vec::len),
            Some(2),
            "the last good playlist stays"
        );
    }
    let page = hub
        .http
        .get(format!("{}/dashboard", hub.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("dashboard")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("failed: SoundCloud kept answering HTTP 503"),
        "the dashboard shows the error"
    );
    assert!(page.contains("T1") && page.contains("T2"));

    // Back: the next good poll catches up.
    let outcome = hub.refresh().await;
    assert_eq!(outcome["poll"]["ok"], true, "{outcome}");
    let (_, show) = hub.get_json("/playlist").await;
    assert_eq!(show["tracks"].as_array().map(Vec::len), Some(3));
}

/// Sends raw bytes as an HTTP request and returns the status code (0 if the hub hung up).
async fn raw_status(port: u16, request: &[u8]) -> u16 {
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return 0;
    };
    if s.write_all(request).await.is_err() {
        return 0;
    }
    let mut buf = vec![0u8; 64];
    match tokio::time::timeout(T, s.read(&mut buf)).await {
        Ok(Ok(n)) if n >= 12 => std::str::from_utf8(&buf[9..12])
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

#[tokio::test]
async fn a_flood_of_hostile_requests_gets_no_5xx_and_the_dj_keeps_working() {
    let hub = TestHub::start().await;
    let url = hub.url();
    let port = hub.port;
    let mut statuses = Vec::new();

    let bodies: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{\"text\": \"\xff\xfe\"}".to_vec(),
        b"{\"position\": 1e309}".to_vec(),
        b"{\"position\": -99999999999999999999}".to_vec(),
        b"{\"show_id\": \"7\", \"position\": 3}".to_vec(),
        b"{\"text\": \"a\", \"extra\": true}".to_vec(),
        vec![b'['; 60_000],
        vec![b'x'; 1_000_000],
    ];
    let paths = [
        "/admin/announce",
        "/admin/refresh",
        "/admin/shows/1/tracks",
        "/admin/shows/1/tracks/1/move",
        "/admin/shows/-1/tracks",
        "/login",
    ];
    for path in paths {
        for body in &bodies {
            for auth in [
                Some(format!("Bearer {ADMIN_TOKEN}")),
                None,
                Some("Bearer \u{0}".into()),
            ] {
                let mut req = hub
                    .http
                    .post(format!("{url}{path}"))
                    .header("content-type", "application/json")
                    .body(body.clone());
                if let Some(a) = auth
                    .as_ref()
                    .and_then(|a| reqwest::header::HeaderValue::from_str(a).ok())
                {
                    req = req.header("authorization", a);
                }
                if let Ok(r) = req.send().await {
                    statuses.push(r.status().as_u16());
                }
            }
        }
    }
    let raw_requests: Vec<Vec<u8>> = vec![
        b"GET /playlist/%FF%FE HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /shows?limit=%00 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /shows/99999999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /static/..%2f..%2fCargo.toml HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(20_000)).into_bytes(),
        b"GET /dashboard HTTP/1.1\r\nHost: x\r\nCookie: ntr_session=\xff\xff.\xff\r\n\r\n".to_vec(),
        b"GET /dashboard HTTP/1.1\r\nHost: x\r\nCookie: ntr_session=a.b; ntr_session=c.d\r\n\r\n".to_vec(),
        b"POST /admin/announce HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n".to_vec(),
        b"POST /admin/announce HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer test-admin-token-0123456789abcdef\r\nContent-Type: application/json\r\n\r\nFFFFF\r\n".to_vec(),
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nusername=".to_vec(),
        b"GARBAGE\r\n\r\n".to_vec(),
        b"GET /ws/announce HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec(),
    ];
    for r in &raw_requests {
        statuses.push(raw_status(port, r).await);
    }
    // WebSocket garbage: binary frames, invalid JSON, an over-long frame, then a subscriber
    // that keeps working.
    let mut ws = bearer(&url, "", RELAY_TOKEN).await;
    for frame in [
        Message::Binary(vec![0u8, 159, 146, 150].into()),
        Message::Text("{\"type\":\"ack\",\"seq\":1e999}".into()),
        Message::Text("{\"type\":\"subscribe\"}".into()),
        Message::Text("\u{0}".repeat(100).into()),
    ] {
        let _ = ws.send(frame).await;
    }
    let seq = hub.announce_text("still here").await;
    assert_eq!(next_of(&mut ws, "announce", T).await["seq"], seq);
    let mut big = connect(
        &url,
        "",
        &[("authorization", format!("Bearer {RELAY_TOKEN}"))],
    )
    .await
    .expect("upgrade");
    let _ = big.send(Message::Text("x".repeat(100_000).into())).await;
    assert!(matches!(
        wsclient::next(&mut big, T).await,
        Event::Json(_) | Event::Closed(_)
    ));

    assert!(statuses.iter().all(|s| *s < 500), "5xx among {statuses:?}");
    let metrics = hub.metrics().await;
    assert!(
        !metrics.contains("code=\"5"),
        "the hub counted a 5xx:\n{metrics}"
    );
    assert!(metrics.contains("ntr_announces_total 1"), "{metrics}");

    // The DJ can still log in and announce.
    let cookie = login_cookie(&hub.http, &url).await;
    let ok = hub
        .http
        .post(format!("{url}/admin/announce"))
        .header("cookie", cookie)
        .header("origin", &url)
        .json(&json!({"text": "the show goes on"}))
        .send()
        .await
        .expect("announce");
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn shutdown_closes_websockets_with_1001() {
    let mut hub = TestHub::start().await;
    let mut ws = bearer(&hub.url(), "", RELAY_TOKEN).await;
    next_of(&mut ws, "status", T).await;
    hub.stop().await;
    // A coalesced status message may still be on its way; the close comes after it.
    loop {
        match wsclient::next(&mut ws, T).await {
            Event::Json(v) if v["type"] == "status" => {}
            Event::Closed(code) => break assert_eq!(code, Some(ntr_protocol::close::GOING_AWAY)),
            other => panic!("expected a 1001 close, got {other:?}"),
        }
    }
}
