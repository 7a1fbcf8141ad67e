//! A station of two shows on one hub, with real parts: one irc-relay on a real ngircd routes
//! show `a` to `#a` and show `b` to `#b` (station-wide lines to `#main`); a relay limited to
//! `shows = ["a"]`, an old plugin's first-message subscribe on a relay token without `shows`,
//! a webhook target limited to `b`, and the `?show=` streams and now playing.
//!
//! The lines are announced in the order a, station-wide, b, so the last line is one the
//! `a`-only relay is not given: its cursor must still pass it.

use std::time::Duration;

use e2e::fake_target::FakeTarget;
use e2e::hub::{ADMIN_TOKEN, RELAY_TOKEN, TestHub, two_shows};
use e2e::ircd::{Ircd, Observer};
use e2e::sse::SseStream;
use e2e::wait;
use e2e::wsclient::{self, Event, Ws};
use irc_relay::{Config, Relay, RelayHandle};
use serde_json::json;

const BOT: &str = "stationbot";
const BOT_TOKEN: &str = "station-bot-token-0123456789abcdef";
const ONLY_A_TOKEN: &str = "only-a-relay-token-0123456789abcdef";
const READY: Duration = Duration::from_secs(10);
const LINE: Duration = Duration::from_secs(5);
/// How long "nothing more arrives" is watched for.
const QUIET: Duration = Duration::from_millis(700);

/// The hub's extra config: the routed bot's relay, the `a`-only relay, and a webhook target
/// for show `b` only. `relay_tokens` (the old plugin's) stays as the test hub writes it.
fn station_toml(hook: &str) -> String {
    format!(
        "[[hub.relays]]\nname = \"{BOT}\"\ntoken = \"{BOT_TOKEN}\"\n\
         [[hub.relays]]\nname = \"only-a\"\ntoken = \"{ONLY_A_TOKEN}\"\nshows = [\"a\"]\n\
         [[targets]]\nname = \"hook-b\"\nkind = \"webhook\"\nurl = \"{hook}\"\nshows = [\"b\"]\n"
    )
}

fn relay_config(hub_url: &str, irc_port: u16, state_dir: &std::path::Path) -> Config {
    let state_dir = state_dir.display();
    let toml = format!(
        r##"
        [relay]
        hub_url = "{hub_url}"
        state_dir = "{state_dir}"
        token = "{BOT_TOKEN}"
        reconnect_initial_seconds = 0.05
        reconnect_max_seconds = 0.5
        [irc]
        server = "127.0.0.1"
        port = {irc_port}
        tls = false
        nickname = "{BOT}"
        channels = ["#main"]
        command_cooldown_seconds = 0
        command_replies_window_seconds = 0
        [[irc.routes]]
        show = "a"
        channels = ["#a"]
        [[irc.routes]]
        show = "b"
        channels = ["#b"]
        "##
    );
    Config::from_toml(&toml).expect("relay config is valid")
}

/// The station's world: ngircd, the hub, a listener in each channel, the routed relay.
struct Station {
    _ircd: Ircd,
    hub: TestHub,
    hook: FakeTarget,
    in_a: Observer,
    in_b: Observer,
    in_main: Observer,
    _relay: RelayHandle,
    /// The relay's state directory, so runs never share what was posted.
    _state: tempfile::TempDir,
}

impl Station {
    /// `None` when ngircd is not installed (outside CI).
    async fn start() -> Option<Station> {
        let ircd = Ircd::start().await?;
        let hook = FakeTarget::webhook(None).await;
        let hub = TestHub::start_station(two_shows(), &station_toml(&hook.url())).await;
        let in_a = Observer::join(ircd.port(), "la", "#a").await;
        let in_b = Observer::join(ircd.port(), "lb", "#b").await;
        let in_main = Observer::join(ircd.port(), "lm", "#main").await;
        let state = tempfile::tempdir().expect("state dir");
        let relay = Relay::start(relay_config(&hub.url(), ircd.port(), state.path()));
        relay
            .wait_ready(3, READY)
            .await
            .unwrap_or_else(|status| panic!("relay not ready: {status:?}"));
        Some(Station {
            _ircd: ircd,
            hub,
            hook,
            in_a,
            in_b,
            in_main,
            _relay: relay,
            _state: state,
        })
    }

    /// Adds a record to `show`'s running week and announces it; returns (seq, line).
    async fn announce_track(&self, show: &str, title: &str) -> (u64, String) {
        let (status, week) = self.hub.get_json(&format!("/playlist?show={show}")).await;
        assert_eq!(status, 200, "{week}");
        let id = week["id"].as_i64().expect("show id");
        let url = format!("https://example.org/{show}/{}", title.len());
        let position = self.hub.add_record(id, title, "Artist", &url).await;
        let answer = self
            .hub
            .announce(json!({"show": show, "position": position}))
            .await;
        let line = answer["message"].as_str().expect("message").to_owned();
        (answer["seq"].as_u64().expect("seq"), line)
    }

    /// Announces a track of `a`, a station-wide text and a track of `b`, in that order.
    async fn announce_three(&self) -> Lines {
        let a = self.announce_track("a", "Song of A").await;
        let station = self.hub.announce_text("Station news for everyone").await;
        let b = self.announce_track("b", "Song of B").await;
        Lines {
            a,
            station: (station, "Station news for everyone".to_owned()),
            b,
        }
    }
}

/// The three lines announced, each (seq, text).
struct Lines {
    a: (u64, String),
    station: (u64, String),
    b: (u64, String),
}

/// The bot's lines an observer reads within a short window, as text.
async fn bot_texts(observer: &mut Observer) -> Vec<String> {
    let first = observer.next_privmsg_from(BOT, LINE).await;
    let mut texts = vec![first.text];
    let more = observer.privmsgs_from(BOT, QUIET).await;
    texts.extend(more.into_iter().map(|m| m.text));
    texts
}

/// Says `command` in `channel` and returns the bot's answer there.
async fn ask(observer: &mut Observer, channel: &str, command: &str) -> String {
    observer.say(channel, command).await;
    let reply = observer.next_privmsg_from(BOT, LINE).await;
    assert_eq!(reply.target, channel, "answered where asked");
    reply.text
}

/// The seqs of every announce frame a socket gets until it has been quiet for [`QUIET`].
async fn announced_seqs(ws: &mut Ws, expected: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    loop {
        let limit = if seqs.len() < expected { LINE } else { QUIET };
        match wsclient::next(ws, limit).await {
            Event::Json(v) if v["type"] == "announce" => {
                seqs.push(v["seq"].as_u64().expect("seq"));
            }
            Event::Json(_) => {}
            Event::Timeout if seqs.len() >= expected => return seqs,
            other => panic!("after announces {seqs:?}: {other:?}"),
        }
    }
}

/// The `only-a` relay's cursor as `/admin/relays` shows it.
async fn cursor_of(hub: &TestHub, relay: &str) -> Option<u64> {
    let (status, relays) = hub.get_json_admin("/admin/relays").await;
    assert_eq!(status, 200, "{relays}");
    let relays = relays.as_array().expect("a list").clone();
    let entry = relays.into_iter().find(|r| r["name"] == relay)?;
    entry["cursor"].as_u64()
}

/// Each show's line lands in its channel only, station-wide lines in `#main`, and `!np` in each
/// channel answers for its show.
#[tokio::test]
async fn routes_post_each_shows_lines_in_its_channel_and_np_answers_for_it() {
    let Some(mut s) = Station::start().await else {
        return;
    };
    let lines = s.announce_three().await;
    assert_eq!(bot_texts(&mut s.in_a).await, [lines.a.1.as_str()]);
    assert_eq!(bot_texts(&mut s.in_b).await, [lines.b.1.as_str()]);
    assert_eq!(bot_texts(&mut s.in_main).await, [lines.station.1.as_str()]);

    assert_eq!(ask(&mut s.in_a, "#a", "!np").await, lines.a.1);
    assert_eq!(ask(&mut s.in_b, "#b", "!np").await, lines.b.1);
    assert_eq!(
        ask(&mut s.in_main, "#main", "!np").await,
        lines.b.1,
        "the station's last"
    );
    let playlist = ask(&mut s.in_b, "#b", "!playlist").await;
    assert!(
        playlist.contains("1 track") && playlist.ends_with("/s/b"),
        "{playlist}"
    );
    let song = ask(&mut s.in_a, "#a", "!song 1").await;
    assert!(song.starts_with("Song #1: Song of A by Artist"), "{song}");

    // Each channel's lines were acked for that channel.
    let acks = s.hub.acks().await;
    for (seq, channel) in [
        (lines.a.0, "#a"),
        (lines.b.0, "#b"),
        (lines.station.0, "#main"),
    ] {
        assert!(
            acks.contains(&(seq, channel.to_owned())),
            "{seq} {channel}: {acks:?}"
        );
    }
}

/// A relay limited to `a` never sees `b`'s line, yet its cursor passes it; an old plugin on a
/// token without `shows` gets every line once; the target limited to `b` gets `b`'s line and
/// the station-wide one.
#[tokio::test]
async fn relays_and_targets_get_only_their_shows_and_station_wide_lines() {
    let Some(s) = Station::start().await else {
        return;
    };
    let url = s.hub.url();
    let mut only_a = wsclient::bearer(&url, "", ONLY_A_TOKEN).await;
    let mut plugin = wsclient::connect(&url, "", &[]).await.expect("upgrade");
    wsclient::send_json(
        &mut plugin,
        json!({"type": "subscribe", "token": RELAY_TOKEN}),
    )
    .await;
    wsclient::next_of(&mut plugin, "status", LINE).await;
    wsclient::next_of(&mut only_a, "status", LINE).await;

    let lines = s.announce_three().await;
    let (a, station, b) = (lines.a.0, lines.station.0, lines.b.0);
    assert_eq!(announced_seqs(&mut only_a, 2).await, [a, station]);
    assert_eq!(announced_seqs(&mut plugin, 3).await, [a, station, b]);
    let moved = wait::until(LINE, async || {
        (cursor_of(&s.hub, "only-a").await == Some(b)).then_some(())
    })
    .await;
    assert!(
        moved.is_some(),
        "only-a's cursor passed b's line: {:?}",
        cursor_of(&s.hub, "only-a").await
    );

    let delivered = s.hook.wait_delivered(2, LINE).await;
    tokio::time::sleep(QUIET).await;
    let seqs: Vec<u64> = s
        .hook
        .delivered()
        .iter()
        .map(|d| d["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, [station, b], "{delivered:?}");
    assert_eq!(s.hook.delivered()[1]["show"], "b");

    // After a reconnect without `?since=`, the a-only relay is offered nothing again.
    drop(only_a);
    let mut again = wsclient::bearer(&url, "", ONLY_A_TOKEN).await;
    let replayed = announced_seqs(&mut again, 0).await;
    assert!(replayed.is_empty(), "replayed {replayed:?}");
}

/// `?show=` narrows `/events` and `/ws/announce` (live and replayed) to that show and
/// station-wide lines, answers now playing for that show, and an unknown slug is 404 naming
/// the station's slugs.
#[tokio::test]
async fn show_queries_narrow_streams_and_now_playing() {
    let Some(s) = Station::start().await else {
        return;
    };
    let url = s.hub.url();
    let mut events_b = SseStream::connect(&format!("{url}/events?show=b"), None).await;
    let mut ws_a = wsclient::bearer(&url, "?show=a", ADMIN_TOKEN).await;
    let lines = s.announce_three().await;
    let (a, station, b) = (lines.a.0, lines.station.0, lines.b.0);
    assert_eq!(announced_seqs(&mut ws_a, 2).await, [a, station]);
    let mut from_events = Vec::new();
    while let Some((id, _)) = events_b.next_announce(QUIET.max(LINE / 2)).await {
        from_events.push(id.parse::<u64>().expect("seq id"));
    }
    assert_eq!(from_events, [station, b]);
    let mut replay = SseStream::connect(&format!("{url}/events?show=a&since=0"), None).await;
    let (id, _) = replay.next_announce(LINE).await.expect("replayed");
    assert_eq!(id.parse::<u64>().ok(), Some(a), "b's line is not replayed");

    for (show, title) in [("a", "Song of A"), ("b", "Song of B")] {
        let (status, now) = s
            .hub
            .get_json(&format!("/nowplaying.json?show={show}"))
            .await;
        assert_eq!(status, 200, "{now}");
        assert_eq!(now["now_playing"]["title"], title, "{now}");
        assert_eq!(now["show"]["show"], show, "{now}");
    }
    assert_unknown_show_is_404(&s.hub).await;
}

async fn assert_unknown_show_is_404(hub: &TestHub) {
    for path in [
        "/nowplaying.json?show=zzz",
        "/events?show=zzz",
        "/shows.rss?show=zzz",
    ] {
        let (status, body) = hub.get_json(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains("a, b"), "{path}: {body}");
    }
    let refused = wsclient::connect(&hub.url(), "?show=zzz", &[]).await;
    assert_eq!(refused.err(), Some(404));
}
