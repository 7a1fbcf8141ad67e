//! The relay against real parts: a real ngircd per test, the real hub in-process
//! ([`TestHub`], with a fake SoundCloud behind it), the relay library in-process with its real
//! reconnect loops, and an observer IRC client reading exactly what listeners read. A
//! [`Fixture`] starts them all, so each test reads as its scenario.
//!
//! One test keeps an in-test hub ([`FakeHub`]): a hub that replays more than asked for, which
//! the real hub never does, so the relay's own "skip what was seen" rule is still exercised.
//!
//! Everything binds 127.0.0.1; every wait is bounded. Backoff is shortened (0.05 s → 0.5 s) so
//! reconnect scenarios take well under a second.

use std::path::Path;
use std::time::Duration;

use e2e::fake_hub::FakeHub;
use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{TestHub, plus_hours};
use e2e::ircd::{Gate, Ircd, Observer, Privmsg, ScriptedPeer};
use e2e::wait;
use irc_proto::{Command, Message};
use irc_relay::{Config, Relay, RelayHandle};
use serde_json::json;

const CHANNEL: &str = "#ntr";
const BOT: &str = "ntrbot";
const SECOND: Duration = Duration::from_secs(1);
const READY: Duration = Duration::from_secs(10);
/// How long a line the bot should post may take to arrive.
const LINE: Duration = Duration::from_secs(5);
/// For tests that ask many questions in a row: no cooldown per nick, no cap per channel.
const NO_COMMAND_LIMITS: &str = "command_cooldown_seconds = 0\ncommand_replies_window_seconds = 0";

/// A relay config for the hub at `hub_url` and an IRC server on 127.0.0.1:`port`, plus
/// `irc_extra` lines under `[irc]` and `relay_extra` under `[relay]`. The relay keeps its state
/// in `state_dir`, a test's temporary directory, so no test sees another's.
fn config_at(
    hub_url: &str,
    token: &str,
    state_dir: &Path,
    port: u16,
    irc_extra: &str,
    relay_extra: &str,
) -> Config {
    let state_dir = state_dir.display();
    let toml = format!(
        r#"
        [relay]
        hub_url = "{hub_url}"
        token = "{token}"
        state_dir = "{state_dir}"
        reconnect_initial_seconds = 0.05
        reconnect_max_seconds = 0.5
        {relay_extra}
        [irc]
        server = "127.0.0.1"
        port = {port}
        tls = false
        nickname = "{BOT}"
        channels = ["{CHANNEL}"]
        {irc_extra}
        "#,
    );
    Config::from_toml(&toml).expect("test config is valid")
}

async fn ready(relay: &RelayHandle) {
    relay
        .wait_ready(1, READY)
        .await
        .unwrap_or_else(|status| panic!("relay not ready: {status:?}"));
}

/// Waits until the relay noticed the hub going away.
async fn wait_hub_lost(relay: &RelayHandle) {
    relay
        .wait_for(READY, |s| !s.hub_connected)
        .await
        .expect("relay noticed the hub going away");
}

/// Waits until the relay is subscribed again and has seen `seq`.
async fn wait_caught_up(relay: &RelayHandle, seq: u64) {
    relay
        .wait_for(READY, |s| s.hub_connected && s.last_seq == Some(seq))
        .await
        .expect("relay resubscribed and caught up");
}

fn texts(lines: &[Privmsg]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

/// Whether the hub has recorded an ack of `seq` for the channel.
async fn acked(hub: &TestHub, seq: u64) -> bool {
    hub.acks()
        .await
        .iter()
        .any(|(s, t)| *s == seq && t == CHANNEL)
}

/// What varies between scenarios; the rest of the set-up is the same for every test.
#[derive(Default)]
struct Setup<'a> {
    /// Lines under the relay config's `[irc]`.
    irc_extra: &'a str,
    /// Lines under the relay config's `[relay]`.
    relay_extra: &'a str,
    /// ngircd gets a TLS port too, and the relay uses it, trusting the test CA.
    tls: bool,
    /// The observer's nick (`listener` when empty).
    observer: &'a str,
}

impl<'a> Setup<'a> {
    /// The default set-up with `extra` under the relay config's `[irc]`.
    fn irc(irc_extra: &'a str) -> Setup<'a> {
        Setup {
            irc_extra,
            ..Setup::default()
        }
    }

    /// The default set-up with `extra` under the relay config's `[relay]`.
    fn relay(relay_extra: &'a str) -> Setup<'a> {
        Setup {
            relay_extra,
            ..Setup::default()
        }
    }

    /// The default set-up with an observer named `nick`.
    fn observer(nick: &'a str) -> Setup<'a> {
        Setup {
            observer: nick,
            ..Setup::default()
        }
    }
}

/// One scenario's world: a real ngircd, the real hub, an observer in the channel, and a relay
/// that is ready (registered, joined, subscribed). The relay reaches the hub and ngircd
/// through gates, so a test decides when it may reconnect after either goes away.
struct Fixture {
    ircd: Ircd,
    hub: TestHub,
    hub_gate: Gate,
    irc_gate: Gate,
    observer: Observer,
    relay: RelayHandle,
}

impl Fixture {
    /// `None` when ngircd is not installed (outside CI).
    async fn start() -> Option<Fixture> {
        Self::start_with(Setup::default()).await
    }

    async fn start_with(setup: Setup<'_>) -> Option<Fixture> {
        let (fixture, ()) = Self::start_after(setup, async |_| ()).await?;
        Some(fixture)
    }

    /// Like [`Fixture::start_with`], running `before` against the hub before the relay starts;
    /// returns what `before` returned.
    async fn start_after<T>(
        setup: Setup<'_>,
        before: impl AsyncFnOnce(&TestHub) -> T,
    ) -> Option<(Fixture, T)> {
        let ircd = if setup.tls {
            Ircd::start_tls().await?
        } else {
            Ircd::start().await?
        };
        let hub = TestHub::start().await;
        let earlier = before(&hub).await;
        let hub_gate = Gate::start(hub.port).await;
        let irc_gate = Gate::start(ircd.tls_port().unwrap_or(ircd.port())).await;
        let nick = match setup.observer {
            "" => "listener",
            nick => nick,
        };
        let observer = Observer::join(ircd.port(), nick, CHANNEL).await;
        let hub_url = format!("http://127.0.0.1:{}", hub_gate.port());
        let mut config = config_at(
            &hub_url,
            &hub.relay_token(),
            &hub.data_dir().join("relay-state"),
            irc_gate.port(),
            setup.irc_extra,
            setup.relay_extra,
        );
        if setup.tls {
            config.irc.tls = true;
            config.irc.server = "localhost".into();
            config.irc.ca_file = ircd.ca_file().map(Path::to_path_buf);
        }
        let relay = Relay::start(config);
        ready(&relay).await;
        let fixture = Fixture {
            ircd,
            hub,
            hub_gate,
            irc_gate,
            observer,
            relay,
        };
        Some((fixture, earlier))
    }

    /// The hub's URL as the relay sees it (through the gate), and so as its answers link it.
    fn hub_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.hub_gate.port())
    }

    /// The observer's next line from the bot.
    async fn next_bot_line(&mut self) -> Privmsg {
        self.observer.next_privmsg_from(BOT, LINE).await
    }

    /// The bot's lines among those the observer reads within `window`.
    async fn bot_lines(&mut self, window: Duration) -> Vec<Privmsg> {
        self.observer.privmsgs_from(BOT, window).await
    }

    /// Says `command` in the channel and returns the bot's answer there.
    async fn ask(&mut self, command: &str) -> String {
        self.observer.say(CHANNEL, command).await;
        let reply = self.next_bot_line().await;
        assert_eq!(reply.target, CHANNEL, "answers in the channel");
        reply.text
    }

    /// Waits until the hub has recorded the relay's ack of `seq` for the channel.
    async fn wait_for_ack(&self, seq: u64) {
        let done = wait::until(LINE, async || acked(&self.hub, seq).await.then_some(())).await;
        assert!(
            done.is_some(),
            "no ack for {seq}; acks: {:?}",
            self.hub.acks().await
        );
    }

    /// Asserts that the hub has no ack of `seq`.
    async fn assert_not_acked(&self, seq: u64, why: &str) {
        let acks = self.hub.acks().await;
        assert!(!acks.iter().any(|(s, _)| *s == seq), "{why}: {acks:?}");
    }

    /// Gives the current show these `(title, artist, url)` tracks, position 1 first: the fake
    /// SoundCloud lists them as likes of this week, and the hub polls it.
    async fn set_show(&self, tracks: &[(&str, &str, &str)]) {
        let hub = &self.hub;
        let (current, _) = hub.weeks();
        let likes = tracks
            .iter()
            .zip(1..)
            .map(|((title, artist, url), n)| {
                let mut t = track(n, title, artist);
                t["permalink_url"] = json!(url);
                FakeLike {
                    created_at: plus_hours(current.start, n),
                    track: Some(t),
                }
            })
            .collect();
        hub.soundcloud.set_likes(likes);
        let outcome = hub.refresh().await;
        assert_eq!(outcome["status"], "ok", "{outcome}");
        let (_, show) = hub.get_json("/playlist").await;
        assert_eq!(
            show["tracks"].as_array().map(Vec::len),
            Some(tracks.len()),
            "{show}"
        );
    }

    /// `POST /admin/announce {"position": N}` (the DJ's Announce button); returns the seq and
    /// the line the hub broadcast.
    async fn announce_position(&self, position: u32) -> (u64, String) {
        let (status, body) = self
            .hub
            .post_admin("/admin/announce", json!({ "position": position }))
            .await;
        assert_eq!(status, 200, "announce: {body}");
        (
            body["seq"].as_u64().expect("seq"),
            body["message"].as_str().expect("message").to_owned(),
        )
    }

    /// Restarts the hub with its gate closed and waits until the relay noticed: the relay
    /// stays away (announces meanwhile reach it only by replay) until the test opens the gate.
    async fn restart_hub_keeping_the_relay_out(&mut self) {
        self.hub_gate.set_open(false);
        self.hub.restart().await;
        wait_hub_lost(&self.relay).await;
    }
}

/// The whole path with nothing faked but SoundCloud: the DJ's announce of track 1 reaches a
/// listener through the real hub, the relay and ngircd byte for byte, and the hub records the
/// relay's ack.
#[tokio::test]
async fn announce_reaches_the_channel_byte_exact_and_is_acked() {
    let Some(mut f) = Fixture::start().await else {
        return;
    };
    let title = "Café Olé: \"live\" – 日本 🎵";
    let url = "https://soundcloud.com/los-ninos/cafe-ole?a=1&b=2";
    f.set_show(&[(title, "Los Niños", url)]).await;
    let (_, health) = f.hub.get_json("/health").await;
    assert_eq!(
        health["subscribers"], 1,
        "the relay is subscribed: {health}"
    );

    let (seq, message) = f.announce_position(1).await;
    let expected = format!("Now Playing: Song #1: {title} by Los Niños - {url}");
    assert_eq!(message, expected, "the hub's line");
    let line = f.next_bot_line().await;
    assert_eq!(line.target, CHANNEL);
    assert_eq!(line.text, expected, "text arrives byte for byte");
    assert!(line.raw.ends_with(b"\r\n"));
    f.wait_for_ack(seq).await;
    assert_eq!(f.hub.acks().await, [(seq, CHANNEL.to_string())], "one ack");

    // Shutdown says goodbye with a QUIT message.
    f.relay.shutdown().await;
    let quit = f
        .observer
        .read_until(LINE, |m| {
            matches!(m.command, Command::QUIT(_)) && m.source_nickname() == Some(BOT)
        })
        .await
        .expect("bot QUIT seen");
    let Command::QUIT(Some(reason)) = &quit.command else {
        panic!("a QUIT without a message: {quit:?}");
    };
    assert!(reason.contains(irc_relay::QUIT_MESSAGE), "{reason}");
}

#[tokio::test]
async fn hostile_title_arrives_as_one_line_within_512_bytes_and_the_bot_stays() {
    let Some(mut f) = Fixture::start().await else {
        return;
    };
    // As SoundCloud would send it: the hub stores titles as given.
    let title = format!(
        "Evil\r\nQUIT :x\0\x02bold\x03 {}",
        "ünïcødé 日本語 ".repeat(40)
    );
    assert!(title.len() > 600);
    f.set_show(&[(&title, "Artist\nJOIN #other", "https://soundcloud.com/a/b")])
        .await;

    let (seq, _) = f.announce_position(1).await;
    let lines = f.bot_lines(2 * SECOND).await;
    assert_eq!(lines.len(), 1, "exactly one line: {lines:?}");
    let line = &lines[0];
    assert!(line.raw.len() <= 512, "{} bytes", line.raw.len());
    // The estimated prefix (before the server shows the real one) is ~57 bytes longer than
    // ngircd's real one here; a line this long proves the real prefix was used.
    assert!(
        line.raw.len() >= 480,
        "cut with the real prefix: {} bytes",
        line.raw.len()
    );
    assert!(
        line.text
            .starts_with("Now Playing: Song #1: EvilQUIT :xbold ünïcødé 日本語 "),
        "{}",
        line.text
    );
    assert!(line.text.ends_with('…'));
    assert!(!line.text.chars().any(char::is_control));
    f.wait_for_ack(seq).await;

    // `!song 1` reads the title from the hub's JSON API, where it is stored as SoundCloud sent
    // it: the relay's own sanitiser is all that stands between it and IRC.
    f.observer.say(CHANNEL, "!song 1").await;
    let lines = f.bot_lines(2 * SECOND).await;
    assert_eq!(lines.len(), 1, "exactly one answer: {lines:?}");
    let answer = &lines[0];
    assert!(answer.raw.len() <= 512, "{} bytes", answer.raw.len());
    assert!(
        answer.text.starts_with("Song #1: EvilQUIT :xbold ünïcødé "),
        "{}",
        answer.text
    );
    assert!(answer.text.ends_with('…'));
    assert!(!answer.text.chars().any(char::is_control));

    assert!(
        !f.observer.seen.iter().any(|m| match &m.command {
            Command::QUIT(_) => true,
            Command::JOIN(channel, ..) => channel == "#other",
            _ => false,
        }),
        "nobody quit, nothing else joined: {:?}",
        f.observer.seen
    );
    let names = f.observer.names(CHANNEL).await;
    assert!(
        names.iter().any(|n| n == BOT),
        "bot still in channel: {names:?}"
    );
    assert_eq!(f.relay.status().joined, [CHANNEL.to_string()]);
    // And it still works.
    f.hub.announce_text("still here").await;
    assert_eq!(f.next_bot_line().await.text, "still here");
    f.relay.shutdown().await;
}

#[tokio::test]
async fn flood_control_spaces_a_burst_of_ten() {
    // Burst 4, then 5 lines/s: lines 5..10 should come 200 ms apart.
    let Some(mut f) = Fixture::start_with(Setup::irc("flood_lines_per_second = 5.0")).await else {
        return;
    };

    let mut seqs = Vec::new();
    for i in 1..=10 {
        seqs.push(f.hub.announce_text(&format!("line {i}")).await);
    }
    let mut lines = Vec::new();
    while lines.len() < 10 {
        lines.push(f.next_bot_line().await);
    }
    let expected: Vec<_> = (1..=10).map(|i| format!("line {i}")).collect();
    assert_eq!(texts(&lines), expected, "all lines, in order");
    let start = lines[0].at;
    // Lower bounds only: a busy machine can delay lines, but flood control must never let
    // line k (k ≥ 5) out earlier than (k-4) · 200 ms after the first. The times are arrival
    // times at the observer, and on a loaded machine the first line can arrive late (seen:
    // 31 ms), so allow 100 ms; without flood control all ten arrive within a few ms, so the
    // bound (1.1 s for line 10) still proves the spacing.
    for (i, line) in lines.iter().enumerate().skip(4) {
        let earliest =
            Duration::from_millis(200 * (i as u64 - 3)).saturating_sub(Duration::from_millis(100));
        let at = line.at - start;
        assert!(
            at >= earliest,
            "line {} after {at:?}, expected ≥ {earliest:?}",
            i + 1
        );
    }
    // Without a burst, line 4 could not leave before 600 ms; the four POSTs themselves take a
    // few milliseconds each (more on a loaded machine, hence the margin).
    let burst = lines[3].at - start;
    assert!(
        burst < Duration::from_millis(550),
        "the burst of 4 goes at once: {burst:?}"
    );
    assert!(
        f.observer
            .privmsgs_during(Duration::from_millis(300))
            .await
            .is_empty()
    );
    // Every line was acked, and the hub's ack frames echoed back to the relay did not disturb it.
    for seq in &seqs {
        f.wait_for_ack(*seq).await;
    }
    assert_eq!(f.relay.status().last_seq, seqs.last().copied());
    f.relay.shutdown().await;
}

/// Hub restart: the gate decides when the relay may reconnect, so the test can announce while
/// the relay is away. Those announces reach the relay only through the real hub's `?since=`
/// replay; nothing from before is posted again.
#[tokio::test]
async fn hub_restart_resumes_with_no_loss_and_no_duplicate() {
    let Some(mut f) = Fixture::start().await else {
        return;
    };
    let first = f.hub.announce_text("before the restart").await;
    assert_eq!(f.next_bot_line().await.text, "before the restart");
    f.wait_for_ack(first).await;

    f.restart_hub_keeping_the_relay_out().await;
    let missed = [
        f.hub.announce_text("missed 1").await,
        f.hub.announce_text("missed 2").await,
    ];
    assert!(
        !f.relay.status().hub_connected,
        "announced while the relay was away"
    );
    f.hub_gate.set_open(true);
    wait_caught_up(&f.relay, missed[1]).await;
    let after = f.hub.announce_text("after the restart").await;

    let lines = f.bot_lines(2 * SECOND).await;
    assert_eq!(
        texts(&lines),
        ["missed 1", "missed 2", "after the restart"],
        "nothing lost, nothing twice"
    );
    assert!(first < missed[0] && missed[0] < missed[1] && missed[1] < after);
    for seq in [missed[0], missed[1], after] {
        f.wait_for_ack(seq).await;
    }
    let acks = f.hub.acks().await;
    for seq in [first, missed[0], missed[1], after] {
        assert_eq!(
            acks.iter().filter(|(s, _)| *s == seq).count(),
            1,
            "one ack for {seq}: {acks:?}"
        );
    }
    f.relay.shutdown().await;
}

/// The hub comes back with a new, empty database (a fresh deployment) while the relay keeps
/// running: its sequence numbers start over below the relay's last seen one. The relay follows
/// them instead of staying silent until they pass the old numbers.
#[tokio::test]
async fn a_hub_with_a_new_database_is_followed() {
    let Some(mut f) = Fixture::start().await else {
        return;
    };
    let mut old = 0;
    for text in ["old 1", "old 2", "old 3"] {
        old = f.hub.announce_text(text).await;
        assert_eq!(f.next_bot_line().await.text, text);
    }

    f.hub.stop().await;
    wait_hub_lost(&f.relay).await;
    for entry in std::fs::read_dir(f.hub.data_dir()).expect("data dir") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("hub.db"))
        {
            std::fs::remove_file(&path).expect("remove the database");
        }
    }
    f.hub.restart().await;
    f.relay
        .wait_for(READY, |s| s.hub_connected)
        .await
        .expect("relay resubscribed");
    let new = [
        f.hub.announce_text("new 1").await,
        f.hub.announce_text("new 2").await,
    ];
    assert!(
        new[0] <= old,
        "the new database numbers from 1 again: {new:?}"
    );
    let lines = f.bot_lines(2 * SECOND).await;
    assert_eq!(texts(&lines), ["new 1", "new 2"]);
    for seq in new {
        f.wait_for_ack(seq).await;
    }
    f.relay.shutdown().await;
}

/// The real hub replays exactly what was asked for; a hub that errs on the side of replaying
/// too much (here the in-test `FakeHub`) must not make the relay post anything twice.
#[tokio::test]
async fn an_over_replaying_hub_gets_nothing_posted_twice() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let hub = FakeHub::start().await;
    let state = tempfile::tempdir().expect("state dir");
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let relay = Relay::start(config_at(
        &hub.url(),
        &hub.relay_token(),
        state.path(),
        ircd.port(),
        "",
        "",
    ));
    ready(&relay).await;

    let first = hub.announce_text("before the restart");
    assert_eq!(
        observer.next_privmsg_from(BOT, LINE).await.text,
        "before the restart"
    );
    let acked = wait::until(LINE, async || (!hub.acks().is_empty()).then_some(())).await;
    assert!(acked.is_some(), "the first line was acked");

    // The restarted hub replays more than asked for: the relay must skip what it has seen.
    hub.replay_overlap(5);
    hub.stop().await;
    wait_hub_lost(&relay).await;
    let during = hub.announce_text("while the hub was down");
    hub.restart().await;
    wait_caught_up(&relay, during).await;
    let after = hub.announce_text("after the restart");

    let lines = observer.privmsgs_from(BOT, 2 * SECOND).await;
    assert_eq!(
        texts(&lines),
        ["while the hub was down", "after the restart"]
    );
    assert!(after > during && during > first);
    let subscriptions = hub.subscriptions();
    assert_eq!(
        subscriptions.first(),
        Some(&None),
        "first subscription is live-only"
    );
    assert!(
        subscriptions[1..]
            .iter()
            .all(|s| s.is_some_and(|since| since >= first)),
        "every resubscription resumes from what was seen: {subscriptions:?}"
    );
    let acked: Vec<u64> = hub.acks().into_iter().map(|(seq, _)| seq).collect();
    assert_eq!(acked, [first, during, after], "each acked once");
    relay.shutdown().await;
}

/// ngircd restarts while announces keep coming: the gate lets the relay back in only once the
/// observer is in the channel again, to see the queued line.
#[tokio::test]
async fn ircd_restart_rejoins_and_delivers_queued_lines_within_the_window() {
    let Some(mut f) = Fixture::start_with(Setup::relay("replay_window_seconds = 2")).await else {
        return;
    };
    f.hub.announce_text("first").await;
    assert_eq!(f.next_bot_line().await.text, "first");

    f.irc_gate.set_open(false);
    f.ircd.stop();
    f.relay
        .wait_for(READY, |s| !s.irc_registered)
        .await
        .expect("relay noticed IRC going away");
    let stale = f
        .hub
        .announce_text("stale: queued longer than the window")
        .await;
    // Let the first queued line outlive the two-second window.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let queued = f.hub.announce_text("queued while IRC was down").await;
    assert!(
        f.relay.status().hub_connected,
        "the hub side stayed up meanwhile"
    );
    f.ircd.start_again().await;
    f.observer = Observer::join(f.ircd.port(), "listener", CHANNEL).await;
    f.irc_gate.set_open(true);
    ready(&f.relay).await;

    let lines = f.bot_lines(2 * SECOND).await;
    assert_eq!(texts(&lines), ["queued while IRC was down"]);
    let joins = f
        .observer
        .seen
        .iter()
        .filter(|m| matches!(m.command, Command::JOIN(..)) && m.source_nickname() == Some(BOT))
        .count();
    assert_eq!(joins, 1, "rejoined once: {:?}", f.observer.seen);
    f.wait_for_ack(queued).await;
    f.assert_not_acked(stale, "the expired line is not acked")
        .await;
    f.relay.shutdown().await;
}

/// The relay's own replay window, against the real hub's replay: an announce that waited in
/// the hub's log longer than the relay's window is skipped, a fresh one is posted.
#[tokio::test]
async fn announces_older_than_the_replay_window_are_not_posted() {
    let Some(mut f) = Fixture::start_with(Setup::relay("replay_window_seconds = 1")).await else {
        return;
    };
    let seen = f.hub.announce_text("seen").await;
    assert_eq!(f.next_bot_line().await.text, "seen");

    f.restart_hub_keeping_the_relay_out().await;
    let old = f.hub.announce_text("older than the window").await;
    // Let it outlive the one-second window.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let fresh = f.hub.announce_text("fresh").await;
    f.hub_gate.set_open(true);
    // The hub (window 300 s) replays both; the relay sees both and posts only the fresh one.
    wait_caught_up(&f.relay, fresh).await;
    let lines = f.bot_lines(SECOND).await;
    assert_eq!(texts(&lines), ["fresh"]);
    f.wait_for_ack(fresh).await;
    assert!(seen < old && old < fresh);
    f.assert_not_acked(old, "the old line is not posted").await;
    f.relay.shutdown().await;
}

/// A hub restart before the relay has seen any announce (no seq to resume from): what the DJ
/// announces while the relay is away still arrives, and what was announced before the relay
/// first subscribed is still not its to post.
#[tokio::test]
async fn hub_restart_before_the_first_announce_loses_nothing() {
    let before_relay =
        async |hub: &TestHub| hub.announce_text("from before the relay started").await;
    let Some((mut f, before)) = Fixture::start_after(Setup::default(), before_relay).await else {
        return;
    };
    assert_eq!(f.relay.status().last_seq, None, "started live");

    f.restart_hub_keeping_the_relay_out().await;
    let missed = f.hub.announce_text("while the relay was away").await;
    f.hub_gate.set_open(true);
    wait_caught_up(&f.relay, missed).await;
    let lines = f.bot_lines(SECOND).await;
    assert_eq!(texts(&lines), ["while the relay was away"]);
    f.wait_for_ack(missed).await;
    f.assert_not_acked(before, "not the relay's to post").await;
    f.relay.shutdown().await;
}

#[tokio::test]
async fn commands_answer_in_the_channel() {
    let Some(mut f) = Fixture::start_with(Setup::irc(NO_COMMAND_LIMITS)).await else {
        return;
    };
    f.set_show(&[
        (
            "Midnight Drive",
            "Synth Rider",
            "https://soundcloud.com/synth-rider/midnight-drive",
        ),
        (
            "Café Olé",
            "Los Niños",
            "https://soundcloud.com/los-ninos/cafe-ole",
        ),
        (
            "Third Stone",
            "The Rats",
            "https://soundcloud.com/the-rats/third-stone",
        ),
    ])
    .await;

    assert_eq!(f.ask("!np").await, "Nothing has been announced yet.");
    let announce = "Now Playing: Song #1: Midnight Drive by Synth Rider - https://soundcloud.com/synth-rider/midnight-drive";
    let (_, message) = f.announce_position(1).await;
    assert_eq!(message, announce);
    assert_eq!(f.next_bot_line().await.text, announce);
    assert_eq!(f.ask("!np").await, announce);
    assert_eq!(
        f.ask("!song 2").await,
        "Song #2: Café Olé by Los Niños - https://soundcloud.com/los-ninos/cafe-ole"
    );
    assert_eq!(
        f.ask("!song 99").await,
        "No song #99 in this week's show (it has 3 tracks)."
    );
    assert_eq!(
        f.ask("!song abc").await,
        "Usage: !song N, where N is the track number (e.g. !song 3)."
    );
    assert_eq!(
        f.ask("!playlist").await,
        format!("This week's show has 3 tracks: {}/", f.hub_url())
    );
    let help = f.ask("!help").await;
    for command in ["!np", "!song N", "!playlist", "!help"] {
        assert!(help.contains(command), "{help}");
    }
    // The DJ removes a track: the answers follow the hub, they are not cached.
    let (_, show) = f.hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("show id");
    let resp = f
        .hub
        .admin(
            f.hub
                .http
                .delete(format!("{}/admin/shows/{id}/tracks/3", f.hub.url())),
        )
        .send()
        .await
        .expect("DELETE track");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        f.ask("!song 3").await,
        "No song #3 in this week's show (it has 2 tracks)."
    );
    // Chat and unknown commands get no answer.
    f.observer.say(CHANNEL, "hello everyone").await;
    f.observer.say(CHANNEL, "!unknown").await;
    assert!(f.bot_lines(Duration::from_millis(500)).await.is_empty());
    f.relay.shutdown().await;
}

#[tokio::test]
async fn an_empty_show_gets_a_helpful_answer() {
    let Some(mut f) = Fixture::start_with(Setup::irc(NO_COMMAND_LIMITS)).await else {
        return;
    };
    assert_eq!(
        f.ask("!song 1").await,
        "This week's show has no tracks yet."
    );
    assert_eq!(
        f.ask("!playlist").await,
        format!("This week's show has no tracks yet: {}/", f.hub_url())
    );
    f.relay.shutdown().await;
}

#[tokio::test]
async fn one_answer_per_user_per_three_seconds() {
    let setup = Setup {
        // Three answers in 3.3 s: more than the channel's share.
        irc_extra: "command_replies_window_seconds = 0",
        ..Setup::observer("alice")
    };
    let Some(mut f) = Fixture::start_with(setup).await else {
        return;
    };
    let alice = &mut f.observer;
    let mut bob = Observer::join(f.ircd.port(), "bob", CHANNEL).await;

    let start = tokio::time::Instant::now();
    alice.say(CHANNEL, "!help").await;
    alice.next_privmsg_from(BOT, LINE).await;
    alice.say(CHANNEL, "!np").await;
    alice.say(CHANNEL, "!playlist").await;
    // Bob is another user: answered at once. Alice's two commands within 3 s are not.
    bob.say(CHANNEL, "!np").await;
    let seen_by_bob: Vec<_> = bob
        .privmsgs_from(BOT, Duration::from_millis(1200))
        .await
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(
        seen_by_bob.len(),
        2,
        "help for alice, np for bob: {seen_by_bob:?}"
    );
    assert!(seen_by_bob[0].starts_with("Commands:"));
    assert_eq!(seen_by_bob[1], "Nothing has been announced yet.");
    let seen_by_alice = alice.privmsgs_from(BOT, Duration::from_millis(100)).await;
    assert_eq!(
        seen_by_alice.len(),
        1,
        "only the answer to bob: {seen_by_alice:?}"
    );
    // After the cooldown alice is answered again.
    tokio::time::sleep_until(start + Duration::from_millis(3300)).await;
    alice.say(CHANNEL, "!np").await;
    assert_eq!(
        alice.next_privmsg_from(BOT, LINE).await.text,
        "Nothing has been announced yet."
    );
    f.relay.shutdown().await;
}

#[tokio::test]
async fn taken_nickname_falls_back_to_an_alternative() {
    let Some(mut f) = Fixture::start_with(Setup::observer(BOT)).await else {
        return;
    };
    assert_eq!(f.relay.status().nickname.as_deref(), Some("ntrbot_"));
    f.hub.announce_text("from the alternative nick").await;
    let line = f.next_bot_line().await;
    assert_eq!(line.from, "ntrbot_");
    assert_eq!(line.text, "from the alternative nick");
    f.relay.shutdown().await;
}

/// The fixture's relay trusts the test CA; a relay that does not must refuse the server.
#[tokio::test]
async fn tls_with_the_test_ca() {
    let setup = Setup {
        tls: true,
        ..Setup::default()
    };
    let Some(mut f) = Fixture::start_with(setup).await else {
        return;
    };
    f.hub.announce_text("over TLS").await;
    assert_eq!(f.next_bot_line().await.text, "over TLS");

    // Certificate verification is on by default: without the test CA the relay must refuse.
    let mut untrusted = config_at(
        &f.hub_url(),
        &f.hub.relay_token(),
        &f.hub.data_dir().join("relay-state"),
        f.irc_gate.port(),
        "",
        "",
    );
    untrusted.irc.tls = true;
    untrusted.irc.server = "localhost".into();
    let refused = Relay::start(untrusted);
    assert!(
        refused
            .wait_for(Duration::from_millis(1500), |s| s.irc_registered)
            .await
            .is_err(),
        "connected to a server whose certificate is not trusted"
    );
    refused.shutdown().await;
    f.relay.shutdown().await;
}

/// Neither ngircd nor any IRC server in Debian's archive here offers SASL (Debian's `ergo`
/// package is a chemistry program), so SASL PLAIN runs against a scripted server that plays
/// the IRCv3 exchange and checks every step.
#[tokio::test]
async fn sasl_plain_against_a_scripted_server() {
    let hub = TestHub::start().await;
    let peer = ScriptedPeer::bind().await;
    let relay = Relay::start(config_at(
        &hub.url(),
        &hub.relay_token(),
        &hub.data_dir().join("relay-state"),
        peer.port(),
        "sasl_password = \"s3cret\"",
        "",
    ));
    let mut client = peer.accept(5 * SECOND).await;
    let t = 5 * SECOND;

    client
        .expect(t, |l| l == "CAP REQ sasl" || l == "CAP REQ :sasl")
        .await;
    client.expect(t, |l| l == format!("NICK {BOT}")).await;
    client.expect(t, |l| l.starts_with("USER ")).await;
    client
        .send(&format!(":irc.test CAP {BOT} ACK :sasl\r\n"))
        .await;
    client.expect(t, |l| l == "AUTHENTICATE PLAIN").await;
    client.send("AUTHENTICATE +\r\n").await;
    let payload = client.expect(t, |l| l.starts_with("AUTHENTICATE ")).await;
    // base64("ntrbot\0ntrbot\0s3cret")
    assert_eq!(payload, "AUTHENTICATE bnRyYm90AG50cmJvdABzM2NyZXQ=");
    client
        .send(&format!(
            ":irc.test 900 {BOT} {BOT}!{BOT}@host {BOT} :You are now logged in\r\n\
             :irc.test 903 {BOT} :SASL authentication successful\r\n"
        ))
        .await;
    client.expect(t, |l| l == "CAP END").await;
    // Registration must not end (CAP END) before the server confirmed the login.
    let ends: Vec<_> = client.received.iter().filter(|l| *l == "CAP END").collect();
    assert_eq!(
        ends.len(),
        1,
        "one CAP END, after 903: {:?}",
        client.received
    );

    client
        .send(&format!(
            ":irc.test 001 {BOT} :Welcome\r\n:irc.test 422 {BOT} :MOTD File is missing\r\n"
        ))
        .await;
    client.expect(t, |l| l == format!("JOIN {CHANNEL}")).await;
    client
        .send(&format!(":{BOT}!{BOT}@host JOIN {CHANNEL}\r\n"))
        .await;
    ready(&relay).await;
    hub.announce_text("authenticated").await;
    client
        .expect(t, |l| {
            l == format!("PRIVMSG {CHANNEL} authenticated")
                || l == format!("PRIVMSG {CHANNEL} :authenticated")
        })
        .await;
    relay.shutdown().await;
}

/// Whether `message` is a PRIVMSG whose text is `text`, from a nick starting with `from`.
fn says(message: &Message, from: &str, text: impl FnOnce(&str) -> bool) -> bool {
    matches!(&message.command, Command::PRIVMSG(_, said) if text(said))
        && message
            .source_nickname()
            .is_some_and(|nick| nick.starts_with(from))
}

/// Fifteen listeners asking `!help` at once: the announce that follows goes out ahead of their
/// answers (announces have their own queue), and the channel gets only 2 answers (at most 2
/// per channel per 10 s, whoever asks).
#[tokio::test]
async fn a_crowd_of_commands_does_not_hold_up_an_announce() {
    let Some(mut f) = Fixture::start().await else {
        return;
    };
    let mut crowd = Vec::new();
    for i in 0..15 {
        crowd.push(Observer::join(f.ircd.port(), &format!("fan{i}"), CHANNEL).await);
    }
    for fan in &mut crowd {
        fan.say(CHANNEL, "!help").await;
    }
    // Once the listener has seen all 15 questions, the server has passed them to the bot too;
    // the bot's first answer shows it has started on them.
    let (mut asked, mut answered) = (0, 0);
    let seen_all = f
        .observer
        .read_until(LINE, |m| {
            asked += usize::from(says(m, "fan", |t| t == "!help"));
            answered += usize::from(says(m, BOT, |_| true));
            asked == 15 && answered >= 1
        })
        .await;
    assert!(seen_all.is_some(), "asked {asked}, answered {answered}");

    let announce = "Now Playing: after the crowd";
    let seq = f.hub.announce_text(announce).await;
    // Before the fix the 15 answers queued ahead of it at 1 line/s: ~11 s.
    let deadline = tokio::time::Instant::now() + LINE;
    let mut answers_before = answered;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let line = f.observer.next_privmsg_from(BOT, left).await;
        if line.text == announce {
            break;
        }
        assert!(line.text.starts_with("Commands:"), "{}", line.text);
        answers_before += 1;
    }
    assert!(
        answers_before <= 2,
        "{answers_before} answers went out before the announce"
    );
    f.wait_for_ack(seq).await;
    let answers_after = f.bot_lines(2 * SECOND).await;
    assert_eq!(
        answers_before + answers_after.len(),
        2,
        "15 asked, 2 answered in 10 s: after the announce {answers_after:?}"
    );
    f.relay.shutdown().await;
}
/// CTCP requests sent to the channel get no automatic answer: the `irc` crate's would echo
/// the sender's text to the whole channel, once per request, outside flood control.
#[tokio::test]
async fn ctcp_requests_get_no_automatic_answer() {
    let Some(mut f) = Fixture::start().await else {
        return;
    };
    let mut mallory = Observer::join(f.ircd.port(), "mallory", CHANNEL).await;
    for i in 0..20 {
        mallory
            .say(CHANNEL, &format!("\x01PING flood word {i}\x01"))
            .await;
        mallory.say(CHANNEL, "\x01VERSION\x01").await;
    }
    mallory.say(BOT, "\x01PING private\x01").await;
    mallory.say(BOT, "\x01VERSION\x01").await;
    // The bot reads its connection in order and would answer a CTCP as it reads it: once it
    // has answered a command sent after the requests, any automatic answer was sent before.
    mallory.say(CHANNEL, "!help").await;
    let answer = f.next_bot_line().await;
    assert!(answer.text.starts_with("Commands:"), "{}", answer.text);
    assert_eq!(mallory.next_privmsg_from(BOT, LINE).await.text, answer.text);
    let later = f.bot_lines(Duration::from_millis(500)).await;
    assert!(later.is_empty(), "{later:?}");
    for (who, seen) in [("listener", &f.observer.seen), ("mallory", &mallory.seen)] {
        let notices: Vec<_> = seen
            .iter()
            .filter(|m| {
                matches!(m.command, Command::NOTICE(..))
                    && m.source_nickname().is_some_and(|n| n.starts_with(BOT))
            })
            .collect();
        assert!(
            notices.is_empty(),
            "{who} got NOTICEs from the bot: {notices:?}"
        );
    }
    f.relay.shutdown().await;
}
