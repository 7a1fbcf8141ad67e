//! Named relays: `/admin/relays`, `relay_status`, `relays` frames for dashboards, who is
//! counted as a subscriber, hub-side cursors (a relay or an old plugin that comes back without
//! `?since=` gets what it missed, once), and the slow 4001 for a wrong first-message token.

use std::time::{Duration, Instant};

use e2e::browser::Browser;
use e2e::hub::{ADMIN_TOKEN, RELAY_TOKEN, TestHub, TestSchedule};
use e2e::wsclient::{Event, Ws, bearer, connect, next, next_of, send_json};
use futures_util::SinkExt;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);
const NAMED_TOKEN: &str = "named-relay-token-0123456789";

/// A hub with a named relay `ntrbot` next to the numbered `relay-1` of `relay_tokens`.
async fn hub_with_named_relay() -> TestHub {
    let extra = format!("[[hub.relays]]\nname = \"ntrbot\"\ntoken = \"{NAMED_TOKEN}\"\n");
    TestHub::start_with(TestSchedule::default(), &extra).await
}

async fn relays(hub: &TestHub) -> Vec<Value> {
    let (status, body) = hub.get_json_admin("/admin/relays").await;
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("an array").clone()
}

/// Polls `/admin/relays` until `check` holds for the relay `name` (bounded).
async fn wait_relay(
    hub: &TestHub,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + T;
    loop {
        let all = relays(hub).await;
        let relay = all
            .iter()
            .find(|r| r["name"] == name)
            .expect("listed")
            .clone();
        if check(&relay) {
            return relay;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: {what}; last seen {relay}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn dashboard(hub: &TestHub) -> Ws {
    let (cookie, _) = e2e::hub::login(&hub.http, &hub.url()).await;
    connect(&hub.url(), "", &[("cookie", cookie), ("origin", hub.url())])
        .await
        .expect("cookie upgrade")
}

/// An old bot plugin: no header, the token in a first message, never acks.
async fn old_plugin(hub: &TestHub) -> Ws {
    let mut ws = connect(&hub.url(), "", &[]).await.expect("upgrade");
    send_json(&mut ws, json!({"type": "subscribe", "token": RELAY_TOKEN})).await;
    ws
}

fn status_frame(irc: &str, channels: &[&str], error: Option<&str>) -> Value {
    json!({"type": "relay_status", "irc": irc, "server": "irc.example:6697", "nick": "ntrbot",
           "channels": channels, "queued": 2, "version": "0.2.0", "error": error})
}

/// The next `n` announces' seqs, then proof that nothing else comes within a second.
async fn exactly_these_announces(ws: &mut Ws, n: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    for _ in 0..n {
        seqs.push(
            next_of(ws, "announce", T).await["seq"]
                .as_u64()
                .expect("seq"),
        );
    }
    loop {
        match next(ws, Duration::from_secs(1)).await {
            Event::Timeout => return seqs,
            Event::Json(v) if v["type"] != "announce" => {}
            other => panic!("after {seqs:?}, unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn admin_relays_needs_the_admin_token_and_lists_every_configured_relay() {
    let hub = hub_with_named_relay().await;
    let unauthenticated = hub.get_json("/admin/relays").await.0;
    assert_eq!(unauthenticated, 401);
    let as_relay = hub
        .http
        .get(format!("{}/admin/relays", hub.url()))
        .bearer_auth(RELAY_TOKEN)
        .send()
        .await
        .expect("GET");
    assert_eq!(as_relay.status(), 403);

    let listed = relays(&hub).await;
    let names: Vec<&str> = listed.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["ntrbot", "relay-1"]);
    assert!(
        listed
            .iter()
            .all(|r| r["connected"] == false && r["status"].is_null())
    );
}

#[tokio::test]
async fn a_relays_status_ack_and_error_show_on_admin_relays_and_in_metrics() {
    let hub = hub_with_named_relay().await;
    let mut relay = bearer(&hub.url(), "", NAMED_TOKEN).await;
    send_json(&mut relay, status_frame("connected", &["#ntr"], None)).await;
    let shown = wait_relay(&hub, "ntrbot", "status shown", |r| !r["status"].is_null()).await;
    assert_eq!(
        (shown["connected"].as_bool(), shown["address"].as_str()),
        (Some(true), Some("127.0.0.1"))
    );
    assert!(
        shown["connected_since"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let status = &shown["status"];
    assert_eq!(status["irc"], "connected");
    assert_eq!(status["channels"], json!(["#ntr"]));
    assert_eq!(
        (status["queued"].as_u64(), status["error"].is_null()),
        (Some(2), true)
    );

    let seq = hub.announce_text("acked line").await;
    assert_eq!(next_of(&mut relay, "announce", T).await["seq"], seq);
    send_json(
        &mut relay,
        json!({"type": "ack", "seq": seq, "target": "#ntr"}),
    )
    .await;
    let acked = wait_relay(&hub, "ntrbot", "ack shown", |r| !r["last_ack"].is_null()).await;
    assert_eq!(acked["cursor"], seq);
    assert_eq!(acked["last_ack"]["seq"], seq);
    assert_eq!(acked["last_ack"]["target"], "#ntr");
    assert!(acked["last_ack"]["lag_ms"].as_u64().is_some());
    assert_metrics(
        &hub,
        &[
            "ntr_relay_connected{relay=\"ntrbot\"} 1".to_string(),
            "ntr_relay_connected{relay=\"relay-1\"} 0".to_string(),
            "ntr_relay_delivering{relay=\"ntrbot\"} 1".to_string(),
            format!("ntr_relay_cursor{{relay=\"ntrbot\"}} {seq}"),
        ],
    )
    .await;

    let error = Some("SASL failed for ntrbot");
    send_json(&mut relay, status_frame("disconnected", &[], error)).await;
    let failed = wait_relay(&hub, "ntrbot", "error shown", |r| {
        !r["status"]["error"].is_null()
    })
    .await;
    assert_eq!(failed["status"]["error"], "SASL failed for ntrbot");
    relay.close(None).await.expect("close");
    let gone = wait_relay(&hub, "ntrbot", "disconnected", |r| r["connected"] == false).await;
    assert_eq!(gone["cursor"], seq, "the cursor outlives the connection");
}

/// Each of `lines` starts a line of `/metrics`.
async fn assert_metrics(hub: &TestHub, lines: &[String]) {
    let metrics = hub.metrics().await;
    for line in lines {
        assert!(
            metrics.lines().any(|l| l.starts_with(line.as_str())),
            "{line} in {metrics}"
        );
    }
}

#[tokio::test]
async fn dashboards_get_relays_frames_and_are_not_counted() {
    let hub = hub_with_named_relay().await;
    let mut dash = dashboard(&hub).await;
    assert_eq!(next_of(&mut dash, "status", T).await["subscribers"], 0);
    let (_, answer) = hub
        .post_admin("/admin/announce", json!({"text": "nobody listens"}))
        .await;
    assert_eq!(
        answer["subscribers"], 0,
        "the dashboard does not count itself"
    );

    let mut relay = bearer(&hub.url(), "", NAMED_TOKEN).await;
    send_json(&mut relay, status_frame("connecting", &[], None)).await;
    // Frames are coalesced: wait for one that shows the reported state.
    let deadline = Instant::now() + T;
    let frame = loop {
        let frame = next_of(&mut dash, "relays", T).await;
        if frame["relays"][0]["status"]["irc"] == "connecting" {
            break frame;
        }
        assert!(Instant::now() < deadline, "no relays frame with the status");
    };
    assert_eq!(frame["relays"].as_array().map(Vec::len), Some(2));
    assert_eq!(frame["relays"][0]["connected"], true);
    assert_eq!(next_of(&mut dash, "status", T).await["subscribers"], 1);
    let (_, answer) = hub
        .post_admin("/admin/announce", json!({"text": "one bot listens"}))
        .await;
    assert_eq!(answer["subscribers"], 1);
    // The relay got the announce and no relays frame before it (those are for dashboards).
    let m = next_of(&mut relay, "announce", T).await;
    assert_eq!(m["message"], "one bot listens");
}

#[tokio::test]
async fn a_relay_without_since_resumes_from_its_cursor_and_since_wins() {
    let hub = hub_with_named_relay().await;
    let mut relay = bearer(&hub.url(), "", NAMED_TOKEN).await;
    send_json(&mut relay, status_frame("connected", &["#ntr"], None)).await;
    let first = hub.announce_text("posted").await;
    assert_eq!(next_of(&mut relay, "announce", T).await["seq"], first);
    send_json(
        &mut relay,
        json!({"type": "ack", "seq": first, "target": "#ntr"}),
    )
    .await;
    wait_relay(&hub, "ntrbot", "acked", |r| r["cursor"] == first).await;
    drop(relay); // gone without a goodbye, like a kill -9

    let mut missed = Vec::new();
    for i in 1..=3 {
        missed.push(hub.announce_text(&format!("missed {i}")).await);
    }
    let mut back = bearer(&hub.url(), "", NAMED_TOKEN).await;
    assert_eq!(exactly_these_announces(&mut back, 3).await, missed);
    let live = hub.announce_text("live again").await;
    assert_eq!(next_of(&mut back, "announce", T).await["seq"], live);

    let mut explicit = bearer(&hub.url(), &format!("?since={}", missed[1]), NAMED_TOKEN).await;
    assert_eq!(
        exactly_these_announces(&mut explicit, 2).await,
        [missed[2], live]
    );
    // The admin token has no cursor: live only.
    let mut admin = bearer(&hub.url(), "", ADMIN_TOKEN).await;
    assert_eq!(
        exactly_these_announces(&mut admin, 0).await,
        Vec::<u64>::new()
    );
}

#[tokio::test]
async fn an_old_plugin_misses_three_lines_while_away_and_gets_them_on_reconnect() {
    let mut hub = TestHub::start().await;
    let mut plugin = old_plugin(&hub).await;
    next_of(&mut plugin, "status", T).await;
    let seen = hub.announce_text("seen before leaving").await;
    assert_eq!(next_of(&mut plugin, "announce", T).await["seq"], seen);
    // It never acks: what was written to it counts, saved within 100 ms.
    wait_relay(&hub, "relay-1", "written cursor saved", |r| {
        r["cursor"] == seen
    })
    .await;
    drop(plugin);

    let mut missed = Vec::new();
    for i in 1..=3 {
        missed.push(hub.announce_text(&format!("while away {i}")).await);
    }
    let mut plugin = old_plugin(&hub).await;
    assert_eq!(exactly_these_announces(&mut plugin, 3).await, missed);

    // Across a hub restart too: the plugin is in its backoff while the DJ announces.
    wait_relay(&hub, "relay-1", "cursor", |r| r["cursor"] == missed[2]).await;
    hub.restart().await;
    assert!(matches!(next(&mut plugin, T).await, Event::Closed(_)));
    let after_restart = vec![
        hub.announce_text("after restart 1").await,
        hub.announce_text("after restart 2").await,
        hub.announce_text("after restart 3").await,
    ];
    let mut plugin = old_plugin(&hub).await;
    assert_eq!(exactly_these_announces(&mut plugin, 3).await, after_restart);
}

/// A relay that acks, and a silent listener on its token (README used to suggest one): the
/// listener's writes must not move the relay's cursor, or a relay killed meanwhile never posts
/// what was announced while it was down. Across a hub restart too: the database remembers
/// that the relay acks.
#[tokio::test]
async fn a_silent_listener_on_a_relays_token_does_not_move_its_cursor() {
    let mut hub = hub_with_named_relay().await;
    let mut relay = bearer(&hub.url(), "", NAMED_TOKEN).await;
    send_json(&mut relay, status_frame("connected", &["#ntr"], None)).await;
    let posted = hub.announce_text("posted").await;
    assert_eq!(next_of(&mut relay, "announce", T).await["seq"], posted);
    send_json(
        &mut relay,
        json!({"type": "ack", "seq": posted, "target": "#ntr"}),
    )
    .await;
    wait_relay(&hub, "ntrbot", "acked", |r| r["cursor"] == posted).await;
    let mut listener = bearer(&hub.url(), "", NAMED_TOKEN).await;
    // Longer than any grace period a silent socket could be given.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    drop(relay); // kill -9

    let missed = vec![
        hub.announce_text("missed 1").await,
        hub.announce_text("missed 2").await,
    ];
    assert_eq!(exactly_these_announces(&mut listener, 2).await, missed);
    let mut back = bearer(&hub.url(), "", NAMED_TOKEN).await;
    assert_eq!(exactly_these_announces(&mut back, 2).await, missed);
    send_json(
        &mut back,
        json!({"type": "ack", "seq": missed[1], "target": "#ntr"}),
    )
    .await;
    wait_relay(&hub, "ntrbot", "acked", |r| r["cursor"] == missed[1]).await;
    drop((listener, back));

    hub.restart().await;
    let mut listener = bearer(&hub.url(), "", NAMED_TOKEN).await;
    next_of(&mut listener, "status", T).await;
    let after_restart = hub.announce_text("after restart").await;
    assert_eq!(
        next_of(&mut listener, "announce", T).await["seq"],
        after_restart
    );
    tokio::time::sleep(Duration::from_millis(300)).await; // past a cursor flush
    drop(listener);
    let mut back = bearer(&hub.url(), "", NAMED_TOKEN).await;
    assert_eq!(exactly_these_announces(&mut back, 1).await, [after_restart]);
}

/// A relay's first connection may be short: the lines announced after it are replayed on its
/// next connection without `?since=`, for first-message and header logins alike.
#[tokio::test]
async fn a_relay_whose_first_connection_is_short_gets_what_was_announced_after_it() {
    let hub = hub_with_named_relay().await;
    let mut plugin = old_plugin(&hub).await;
    next_of(&mut plugin, "status", T).await;
    let seen = hub.announce_text("seen").await;
    assert_eq!(next_of(&mut plugin, "announce", T).await["seq"], seen);
    drop(plugin);
    let mut relay = bearer(&hub.url(), "", NAMED_TOKEN).await;
    next_of(&mut relay, "status", T).await;
    drop(relay);

    let mut missed = Vec::new();
    for i in 1..=3 {
        missed.push(hub.announce_text(&format!("missed {i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // past a cursor flush
    let mut plugin = old_plugin(&hub).await;
    assert_eq!(exactly_these_announces(&mut plugin, 3).await, missed);
    let mut relay = bearer(&hub.url(), "", NAMED_TOKEN).await;
    assert_eq!(exactly_these_announces(&mut relay, 3).await, missed);
}

/// Invented ack targets are capped per (seq, relay) and counted; an ack of a line never
/// written to that socket counts for nothing.
#[tokio::test]
async fn fake_acks_are_capped_counted_and_only_count_for_lines_written_to_the_socket() {
    let hub = hub_with_named_relay().await;
    let before = hub.announce_text("before the relay came").await;
    let mut relay = bearer(&hub.url(), "", NAMED_TOKEN).await;
    next_of(&mut relay, "status", T).await;
    let seq = hub.announce_text("acked too often").await;
    assert_eq!(next_of(&mut relay, "announce", T).await["seq"], seq);
    send_json(
        &mut relay,
        json!({"type": "ack", "seq": before, "target": "#never-sent"}),
    )
    .await;
    for i in 0..2000 {
        send_json(
            &mut relay,
            json!({"type": "ack", "seq": seq, "target": format!("#fake-{i}")}),
        )
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = hub.metrics().await;
        if metrics.lines().any(|l| l == "ntr_acks_dropped_total 1984") {
            break;
        }
        assert!(Instant::now() < deadline, "no drops counted: {metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let acks = hub.acks().await;
    assert_eq!(
        acks.iter().filter(|(s, _)| *s == seq).count(),
        16,
        "{acks:?}"
    );
    assert!(acks.iter().all(|(s, _)| *s == seq), "{acks:?}");
    assert_metrics(&hub, &["ntr_acks_total 16".to_string()]).await;
    let shown = wait_relay(&hub, "ntrbot", "acked", |r| r["cursor"] == seq).await;
    assert_eq!(shown["last_ack"]["seq"], seq);
}

#[tokio::test]
async fn a_wrong_first_message_token_is_closed_with_4001_after_a_second() {
    let hub = TestHub::start().await;
    for _ in 0..2 {
        let mut ws = connect(&hub.url(), "", &[]).await.expect("upgrade");
        let sent = Instant::now();
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            json!({"type": "subscribe", "token": "mistyped-token-0123456789"})
                .to_string()
                .into(),
        ))
        .await
        .expect("send");
        match next(&mut ws, T).await {
            Event::Closed(code) => assert_eq!(code, Some(ntr_protocol::close::BAD_AUTH)),
            other => panic!("expected 4001, got {other:?}"),
        }
        assert!(
            sent.elapsed() >= Duration::from_secs(1),
            "closed after {:?}: a reconnecting plugin would spin",
            sent.elapsed()
        );
    }
}

const BANNER_SHOWN: &str = "return !document.getElementById('relay-banner').hidden";
const BANNER_HIDDEN: &str = "return document.getElementById('relay-banner').hidden";

/// The dashboard's relay panel in Chromium, during the live window: the banner shows while no
/// relay is in its channel and goes once one is; the cards follow `relays` frames. Screenshots
/// at a phone's and a laptop's width.
#[tokio::test]
async fn the_dashboard_shows_each_relay_and_a_banner_when_irc_is_out_of_reach() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let live = TestSchedule {
        ago: jiff::SignedDuration::from_mins(10),
        live_minutes: 60,
        ..TestSchedule::default()
    };
    let extra = format!("[[hub.relays]]\nname = \"ntrbot\"\ntoken = \"{NAMED_TOKEN}\"\n");
    let hub = TestHub::start_with(live, &extra).await;
    let failure = format!("relays-failure-{}", hub.port);
    browser
        .or_screenshot(&failure, async {
            browser.log_in(&hub.url(), T).await;
            // Server-rendered: nobody is connected yet.
            let text = browser.text("#relay-banner").await;
            assert!(text.contains("No relay is connected"), "{text}");
            assert_eq!(browser.eval(BANNER_SHOWN).await, json!(true));
        })
        .await;

    let (mut relay, plugin) = relay_and_old_plugin(&hub).await;
    browser
        .or_screenshot(&failure, cards_show_both(&browser))
        .await;
    browser
        .screenshots("#relays", ["relays-375", "relays-1280"])
        .await;

    // IRC goes away: the banner names the bot and the channel it last posted to.
    drop(plugin);
    let refused = Some("connection refused by irc.example:6697");
    send_json(&mut relay, status_frame("disconnected", &[], refused)).await;
    browser
        .or_screenshot(&failure, async {
            browser.wait_for_script(BANNER_SHOWN, T).await;
            let text = browser.text("#relay-banner").await;
            let expected = "ntrbot is not in #ntr — announces will not reach IRC";
            assert!(text.contains(expected), "{text}");
            let error = "article.relay[data-name='ntrbot'] .error";
            browser.wait_for_text(error, "connection refused", T).await;
        })
        .await;
    browser
        .screenshots("body", ["relays-banner-375", "relays-banner-1280"])
        .await;
}

/// `ntrbot` reporting it is in `#ntr` and acking one line, and an old plugin as `relay-1`.
async fn relay_and_old_plugin(hub: &TestHub) -> (Ws, Ws) {
    let mut relay = bearer(&hub.url(), "", NAMED_TOKEN).await;
    send_json(&mut relay, status_frame("connected", &["#ntr"], None)).await;
    let mut plugin = old_plugin(hub).await;
    next_of(&mut plugin, "status", T).await;
    let seq = hub.announce_text("Now Playing: the panel").await;
    next_of(&mut relay, "announce", T).await;
    let ack = json!({"type": "ack", "seq": seq, "target": "#ntr"});
    send_json(&mut relay, ack).await;
    (relay, plugin)
}

/// No banner; the relay's card with its IRC details and ack, the plugin's without details.
async fn cards_show_both(browser: &Browser) {
    browser.wait_for_script(BANNER_HIDDEN, T).await;
    let card = browser
        .wait_for_text("article.relay[data-name='ntrbot']", "#ntr at", T)
        .await;
    assert!(
        card.contains("connected") && card.contains("irc.example:6697"),
        "{card}"
    );
    let plugin_card = browser
        .wait_for_text("article.relay[data-name='relay-1']", "older bot plugin", T)
        .await;
    assert!(plugin_card.contains("connected since"), "{plugin_card}");
}
