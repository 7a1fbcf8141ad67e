//! The hub on a hostile network: half-open connections are cut by the head deadline while the
//! DJ is served, kept-alive ones by the idle limit; one address gets at most 256 connections,
//! but authenticated WebSockets are not counted; a half-open connection does not hold up a
//! SIGTERM; every page carries the security headers; a track link is http(s) or a 422; and
//! `hub.db` is private.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{ADMIN_TOKEN, RELAY_TOKEN, TestHub, TestSchedule, login, plus_hours, spawn_hub};
use e2e::wait;
use e2e::wsclient::{Ws, next_of, send_json};
use hub::Timeouts;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const T: Duration = Duration::from_secs(10);
const HALF_HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";

/// 127.0.0.`n`: Linux answers on the whole 127/8, so each test can be its own set of clients.
fn loopback(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// A thousand sockets on each side of the loopback may pass a soft limit of 1,024 files; the
/// hard limit is usually far higher, and a process may raise its own soft limit up to it.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    assert!(limit.rlim_cur >= 4096, "open file limit {}", limit.rlim_cur);
}

async fn connect_from(source: IpAddr, port: u16) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("bind source");
    socket
        .connect(SocketAddr::new(loopback(1), port))
        .await
        .expect("connect")
}

/// Whether the hub closed `stream` without answering within `limit` (EOF or reset, no bytes).
async fn closed_unanswered(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(limit, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Sends `GET path` on a raw connection and returns the status, reading exactly one response.
async fn get_on(stream: &mut TcpStream, path: &str) -> Option<u16> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(T, stream.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    tokio::time::timeout(T, stream.read_exact(&mut body))
        .await
        .ok()?
        .ok()?;
    head.get(9..12)?.parse().ok()
}

/// An HTTP client whose connections come from `source`.
fn client_from(source: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(T)
        .build()
        .expect("http client")
}

/// A WebSocket from `source`, authenticated on the upgrade (`bearer`) or not at all.
async fn ws_from(source: IpAddr, port: u16, bearer: Option<&str>) -> Ws {
    let mut request = format!("ws://127.0.0.1:{port}/ws/announce")
        .into_client_request()
        .expect("ws request");
    if let Some(token) = bearer {
        let value = format!("Bearer {token}").parse().expect("header");
        request.headers_mut().insert("authorization", value);
    }
    let stream = connect_from(source, port).await;
    let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .expect("upgrade");
    ws
}

#[tokio::test]
async fn a_thousand_half_open_connections_are_cut_by_the_head_deadline_while_the_dj_is_served() {
    raise_open_file_limit();
    let timeouts = Timeouts {
        head: Duration::from_secs(1),
        ..Timeouts::default()
    };
    let hub = TestHub::start_tuned(TestSchedule::default(), "", timeouts).await;
    let url = hub.url();
    let mut subscriber = ws_from(loopback(1), hub.port, Some(RELAY_TOKEN)).await;

    // 250 from each of four addresses: under the per-address cap, so the deadline is what acts.
    let mut half_open = Vec::new();
    for i in 0..1000u16 {
        let source = loopback(20 + (i / 250) as u8);
        let mut stream = connect_from(source, hub.port).await;
        stream.write_all(HALF_HEAD).await.expect("half a head");
        half_open.push(stream);
    }

    let (session, _) = login(&hub.http, &url).await;
    let dashboard = hub
        .http
        .get(format!("{url}/dashboard"))
        .header("cookie", session)
        .send()
        .await
        .expect("dashboard");
    assert_eq!(dashboard.status(), 200);
    let seq = hub.announce_text("Now Playing: through the flood").await;
    let line = next_of(&mut subscriber, "announce", T).await;
    assert_eq!(line["seq"], seq);

    for (i, stream) in half_open.iter_mut().enumerate() {
        assert!(
            closed_unanswered(stream, T).await,
            "half-open connection {i} still open"
        );
    }
    let (status, _) = hub.get_json("/health").await;
    assert_eq!(status, 200, "the hub still serves after the flood");
}

#[tokio::test]
async fn a_kept_alive_connection_may_idle_longer_than_the_head_deadline_and_no_longer_than_the_idle_limit()
 {
    let timeouts = Timeouts {
        head: Duration::from_millis(500),
        idle: Duration::from_secs(4),
        ..Timeouts::default()
    };
    let hub = TestHub::start_tuned(TestSchedule::default(), "", timeouts).await;
    let mut stream = connect_from(loopback(30), hub.port).await;
    assert_eq!(get_on(&mut stream, "/health").await, Some(200));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        get_on(&mut stream, "/health").await,
        Some(200),
        "an idle pause over the head deadline is allowed"
    );
    assert!(
        closed_unanswered(&mut stream, T).await,
        "an idle connection is closed after the idle limit"
    );
}

#[tokio::test]
async fn the_257th_connection_from_one_address_is_refused_and_an_authenticated_websocket_is_unaffected()
 {
    let hub = TestHub::start().await;
    let source = loopback(40);
    let mut subscriber = ws_from(source, hub.port, Some(RELAY_TOKEN)).await;
    next_of(&mut subscriber, "status", T).await;

    let mut held = Vec::new();
    for _ in 0..256 {
        held.push(connect_from(source, hub.port).await);
    }
    // One accept loop takes connections in order: the 256 are counted before this one.
    let mut extra = connect_from(source, hub.port).await;
    extra
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .ok();
    assert!(
        closed_unanswered(&mut extra, T).await,
        "the 257th is refused"
    );

    let other = client_from(loopback(41));
    let resp = other
        .post(format!("{}/admin/announce", hub.url()))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"text": "another address is served"}))
        .send()
        .await
        .expect("announce");
    assert_eq!(resp.status(), 200);
    let line = next_of(&mut subscriber, "announce", T).await;
    assert_eq!(line["message"], "another address is served");

    held.pop();
    let served = wait::until(T, async || {
        let mut stream = connect_from(source, hub.port).await;
        get_on(&mut stream, "/health").await
    })
    .await;
    assert_eq!(served, Some(200), "a freed place is taken again");
}

#[tokio::test]
async fn authenticated_websockets_do_not_count_against_the_cap_and_unauthenticated_ones_do() {
    raise_open_file_limit();
    let hub = TestHub::start().await;
    let source = loopback(50);
    let mut subscribers = Vec::new();
    for _ in 0..300 {
        subscribers.push(ws_from(source, hub.port, Some(RELAY_TOKEN)).await);
    }
    let mut stream = connect_from(source, hub.port).await;
    assert_eq!(
        get_on(&mut stream, "/health").await,
        Some(200),
        "300 authenticated WebSockets leave the address its places"
    );
    drop(stream);

    // Upgraded but not yet authenticated: a subscribe still has to come, so they count.
    let waiting_source = loopback(51);
    let mut waiting = Vec::new();
    for _ in 0..256 {
        waiting.push(ws_from(waiting_source, hub.port, None).await);
    }
    let mut extra = connect_from(waiting_source, hub.port).await;
    assert!(
        closed_unanswered(&mut extra, T).await,
        "the 257th is refused"
    );
    for ws in &mut waiting {
        send_json(ws, json!({"type": "subscribe", "token": RELAY_TOKEN})).await;
    }
    for ws in &mut waiting {
        next_of(ws, "status", T).await;
    }
    let mut stream = connect_from(waiting_source, hub.port).await;
    assert_eq!(
        get_on(&mut stream, "/health").await,
        Some(200),
        "once authenticated, they leave the address its places"
    );
    let seq = hub.announce_text("to all 556").await;
    for ws in subscribers.iter_mut().chain(waiting.iter_mut()) {
        assert_eq!(next_of(ws, "announce", T).await["seq"], seq);
    }
}

#[tokio::test]
async fn a_half_open_connection_does_not_hold_up_a_sigterm() {
    let mut template = TestHub::start().await;
    template.stop().await;
    let config = template.write_config();
    let port = template.port;
    let mut child = spawn_hub(&config);
    wait::until_listening(port, T).await;
    let mut stream = connect_from(loopback(60), port).await;
    stream.write_all(HALF_HEAD).await.expect("half a head");
    // Let the hub read the half head, so the connection is mid-request when the signal comes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    // SAFETY: kill(2) on the pid of a child this test spawned.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    // The head deadline is 10 s: an exit well before it shows the connection was not waited on.
    let exited = wait::until(Duration::from_secs(5), async || {
        child.try_wait().ok().flatten()
    })
    .await;
    let Some(status) = exited else {
        let _ = child.kill();
        panic!("the hub was still running 5 s after SIGTERM");
    };
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn every_page_carries_the_security_headers_and_no_inline_script() {
    let hub = TestHub::start().await;
    let url = hub.url();
    let (session, _) = login(&hub.http, &url).await;
    for path in ["/", "/login", "/dashboard"] {
        let resp = hub
            .http
            .get(format!("{url}{path}"))
            .header("cookie", &session)
            .send()
            .await
            .expect("page");
        assert_eq!(resp.status(), 200, "{path}");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        for directive in ["default-src 'self'", "frame-ancestors 'none'"] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert_eq!(
            header("strict-transport-security"),
            "",
            "{path}: plain http"
        );
        let html = resp.text().await.expect("html");
        assert!(
            !html.contains("<style") && !html.contains("style="),
            "{path}"
        );
        for script in html.split("<script").skip(1) {
            assert!(
                script.split('>').next().is_some_and(|t| t.contains("src=")),
                "{path}: inline script"
            );
        }
    }
}

#[tokio::test]
async fn a_track_link_is_http_or_https_or_a_422_and_never_rendered_otherwise() {
    let hub = TestHub::start().await;
    let (current, _) = hub.weeks();
    let mut bad_link = track(1, "Bad Link", "Artist");
    bad_link["permalink_url"] = json!("javascript:alert(1)");
    hub.soundcloud.set_likes(vec![FakeLike {
        created_at: plus_hours(current.start, 1),
        track: Some(bad_link),
    }]);
    hub.refresh().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("show id");
    assert_eq!(show["tracks"][0]["title"], "Bad Link", "the track is kept");
    assert_eq!(show["tracks"][0]["permalink_url"], "", "without its link");

    let path = format!("/admin/shows/{id}/tracks");
    for url in [
        "javascript:alert(1)",
        "data:text/html,x",
        "ftp://soundcloud.com/a/b",
    ] {
        for body in [
            json!({"title": "T", "artist": "A", "url": url}),
            json!({ "url": url }),
        ] {
            let (status, answer) = hub.post_admin(&path, body).await;
            assert_eq!(status, 422, "{url}: {answer}");
            assert!(
                answer["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("http or https")),
                "{answer}"
            );
        }
    }
    let (status, _) = hub
        .post_admin(
            &path,
            json!({"title": "Fine", "artist": "A", "url": "https://example.com/fine"}),
        )
        .await;
    assert_eq!(status, 200);

    let page = hub
        .http
        .get(hub.url())
        .send()
        .await
        .expect("public page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Bad Link") && !page.contains("javascript:"),
        "{page}"
    );
    assert!(page.contains("href=\"https://example.com/fine\""), "{page}");
}

#[cfg(unix)]
#[tokio::test]
async fn hub_db_and_its_wal_files_are_readable_by_the_hub_user_alone() {
    use std::os::unix::fs::PermissionsExt;
    let hub = TestHub::start().await;
    hub.announce_text("written to the log").await;
    for name in ["hub.db", "hub.db-wal", "hub.db-shm"] {
        let mode = std::fs::metadata(hub.data_dir().join(name))
            .expect(name)
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[tokio::test]
async fn seqs_beyond_what_can_be_stored_are_4xx_never_5xx() {
    let hub = TestHub::start().await;
    hub.announce_text("before").await;
    let http = reqwest::Client::new();
    let status = |r: reqwest::Response| r.status().as_u16();
    let events = format!("{}/events", hub.url());
    for since in [
        "9223372036854775808",
        "18446744073709551615",
        "99999999999999999999",
    ] {
        let r = http
            .get(format!("{events}?since={since}"))
            .send()
            .await
            .expect("events");
        assert_eq!(status(r), 400, "since={since}");
        let r = http
            .get(&events)
            .header("Last-Event-ID", since)
            .send()
            .await
            .expect("events");
        assert_eq!(status(r), 400, "Last-Event-ID: {since}");
    }
    let (code, body) = hub
        .post_admin(
            "/admin/announce",
            json!({"text": "fix", "corrects": 9_223_372_036_854_775_808_u64}),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("seq")),
        "{body}"
    );
    let (code, body) = hub.get_json("/health").await;
    assert_eq!(
        (code, &body["status"]),
        (200, &json!("ok")),
        "the hub is fine"
    );
}

#[tokio::test]
async fn a_body_that_stops_coming_gets_408_and_the_connection_closes() {
    let timeouts = Timeouts {
        body: Duration::from_secs(1),
        ..Timeouts::default()
    };
    let hub = TestHub::start_tuned(TestSchedule::default(), "", timeouts).await;
    let mut stream = connect_from(loopback(1), hub.port).await;
    let head = "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
        Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n";
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(b"username=dj")
        .await
        .expect("11 of 100 bytes");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection is still open 10 s later");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    // The DJ on another connection is served meanwhile and after.
    let (code, _) = hub.get_json("/health").await;
    assert_eq!(code, 200);
}
