//! Two hubs behind nginx with the configuration docs/scaling.md shows: WebSockets are upgraded
//! through it, Server-Sent Events are not buffered, requests reach both hubs, and with one hub
//! stopped every request still succeeds on the other; a hub that trusts nginx sees each
//! client's own address in `X-Forwarded-For`. The hubs here are ordinary SQLite hubs
//! (each its own station), so each test first learns which hub a connection landed on.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::hub::{PASSWORD, RELAY_TOKEN, TestHub, USERNAME, announce_text_at};
use e2e::nginx::{Nginx, docs_config, read_timeout};
use e2e::sse::SseStream;
use e2e::wsclient::{bearer, next_of};

const LIMIT: Duration = Duration::from_secs(10);
/// How long a client waits for anything (the hub pings every 25 s) before it reconnects, per
/// the protocol: nginx must keep a quiet socket open at least this long.
const QUIET_SOCKET: Duration = Duration::from_secs(60);

/// Two hubs and nginx in front of them; `None` when nginx is missing outside CI.
async fn two_hubs_behind_nginx() -> Option<(TestHub, TestHub, Nginx)> {
    let a = TestHub::start().await;
    let b = TestHub::start().await;
    let nginx = Nginx::start(&[a.port, b.port]).await?;
    Some((a, b, nginx))
}

/// `/health`'s subscriber count, asked of a hub directly.
async fn subscribers(hub: &TestHub) -> u64 {
    let (status, health) = hub.get_json("/health").await;
    assert_eq!(status, 200, "{health}");
    health["subscribers"].as_u64().expect("subscribers")
}

/// Waits until each hub, asked directly, counts the given subscribers.
async fn until_counted(a: &TestHub, b: &TestHub, wanted: (u64, u64)) {
    let counted = e2e::wait::until(LIMIT, async || {
        ((subscribers(a).await, subscribers(b).await) == wanted).then_some(())
    })
    .await;
    assert!(
        counted.is_some(),
        "subscribers (a, b) never became {wanted:?}"
    );
}

#[tokio::test]
async fn a_websocket_through_nginx_gets_the_announces_of_its_hub() {
    let Some((a, b, nginx)) = two_hubs_behind_nginx().await else {
        return;
    };
    let mut ws = bearer(&nginx.url(), "", RELAY_TOKEN).await;
    let status = next_of(&mut ws, "status", LIMIT).await;
    assert_eq!(status["subscribers"], 1, "{status}");
    let on_a = subscribers(&a).await == 1;
    assert_eq!(
        subscribers(&b).await,
        u64::from(!on_a),
        "on exactly one hub"
    );
    let (mine, other) = if on_a { (&a, &b) } else { (&b, &a) };

    other.announce_text("not for this socket").await;
    let seq = mine.announce_text("through nginx").await;
    let line = next_of(&mut ws, "announce", LIMIT).await;
    assert_eq!(line["message"], "through nginx", "{line}");
    assert_eq!(line["seq"], seq);
}

#[tokio::test]
async fn server_sent_events_through_nginx_arrive_while_the_stream_is_open() {
    let Some((a, b, nginx)) = two_hubs_behind_nginx().await else {
        return;
    };
    let mut events = SseStream::connect(&format!("{}/events", nginx.url()), None).await;
    // Listeners are not counted as subscribers, so announce on both: the stream's hub sends
    // one line, a few hundred bytes, which a buffering proxy would hold back.
    a.announce_text("on a").await;
    b.announce_text("on b").await;
    let (_, line) = events
        .next_announce(LIMIT)
        .await
        .unwrap_or_else(|| panic!("no event through nginx: {}", nginx.error_log()));
    let message = line["message"].as_str().expect("message");
    assert!(["on a", "on b"].contains(&message), "{line}");
}

#[tokio::test]
async fn health_through_nginx_reaches_both_hubs() {
    let Some((a, b, nginx)) = two_hubs_behind_nginx().await else {
        return;
    };
    // One subscriber on b, connected directly, tells the two hubs' answers apart.
    let _marker = bearer(&b.url(), "", RELAY_TOKEN).await;
    until_counted(&a, &b, (0, 1)).await;
    let mut seen = BTreeSet::new();
    for _ in 0..8 {
        let resp = a
            .http
            .get(format!("{}/health", nginx.url()))
            .send()
            .await
            .expect("GET /health through nginx");
        assert_eq!(resp.status(), 200);
        let health: serde_json::Value = resp.json().await.expect("health JSON");
        seen.insert(health["subscribers"].as_u64().expect("subscribers"));
    }
    assert_eq!(seen, BTreeSet::from([0, 1]), "both hubs answered");
}

#[tokio::test]
async fn with_one_hub_stopped_every_request_goes_to_the_other() {
    let Some((mut a, b, nginx)) = two_hubs_behind_nginx().await else {
        return;
    };
    a.stop().await;
    for n in 0..6 {
        let resp = b
            .http
            .get(format!("{}/health", nginx.url()))
            .send()
            .await
            .expect("GET /health through nginx");
        assert_eq!(resp.status(), 200, "request {n}: {}", nginx.error_log());
    }
    // A refused connection never carried the POST, so nginx may send it to the next hub.
    for n in 1..=4u64 {
        let seq = announce_text_at(&b.http, &nginx.url(), &format!("line {n}")).await;
        assert_eq!(seq, n, "every announce landed on b");
    }
    let mut ws = bearer(&nginx.url(), "?since=0", RELAY_TOKEN).await;
    let first = next_of(&mut ws, "announce", LIMIT).await;
    assert_eq!(first["message"], "line 1", "the socket is on b: {first}");
}

/// An HTTP client whose connections come from `source`, a loopback address of its own.
fn client_from(source: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(source))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(LIMIT)
        .build()
        .expect("http client")
}

#[tokio::test]
async fn a_hub_trusting_nginx_throttles_logins_by_the_client_address_nginx_saw() {
    let hub = TestHub::start_with_hub_keys("trusted_proxies = [\"127.0.0.1\"]\n").await;
    let Some(nginx) = Nginx::start(&[hub.port]).await else {
        return;
    };
    // The guesser comes from 127.0.0.2 and makes up a new X-Forwarded-For each time; nginx
    // appends the address it saw, and the hub takes the nearest address that is not nginx's.
    let guesser = client_from([127, 0, 0, 2]);
    let attempt = |http: &reqwest::Client, password: &'static str, claimed: String| {
        let request = http
            .post(format!("{}/login", nginx.url()))
            .header("x-forwarded-for", claimed)
            .form(&[("username", USERNAME), ("password", password)]);
        async move { request.send().await.expect("login").status().as_u16() }
    };
    for n in 0..10 {
        let claimed = format!("198.51.100.{n}");
        assert_eq!(attempt(&guesser, "wrong", claimed).await, 401);
    }
    assert_eq!(
        attempt(&guesser, PASSWORD, "198.51.100.99".into()).await,
        429,
        "the guessing address is locked out, whatever it claims"
    );
    let dj = client_from([127, 0, 0, 3]);
    assert_eq!(
        attempt(&dj, PASSWORD, "198.51.100.0".into()).await,
        303,
        "another client through the same nginx is not"
    );
}

#[test]
fn the_docs_config_keeps_quiet_sockets_open_longer_than_clients_wait() {
    let config = docs_config();
    for path in ["/ws/announce", "/events"] {
        let timeout = read_timeout(&config, path)
            .unwrap_or_else(|| panic!("location {path} sets a proxy_read_timeout"));
        assert!(timeout >= QUIET_SOCKET, "{path}: {timeout:?}");
    }
}
