//! The relay against real parts: a real ngircd per test, the relay library in-process with its
//! real reconnect loops, a hub speaking the real protocol (the in-test `FakeHub`), and an
//! observer IRC client reading exactly what listeners read.
//!
//! Everything binds 127.0.0.1; every wait is bounded. Backoff is shortened (0.05 s → 0.5 s) so
//! reconnect scenarios take well under a second.

use std::time::Duration;

use e2e::fake_hub::FakeHub;
use e2e::ircd::{Gate, Ircd, Observer, Privmsg, ScriptedPeer};
use irc_relay::{Config, Relay, RelayHandle};

const CHANNEL: &str = "#ntr";
const BOT: &str = "ntrbot";
const SECOND: Duration = Duration::from_secs(1);
const READY: Duration = Duration::from_secs(10);

/// A relay config for `hub` and an IRC server on 127.0.0.1:`port`, plus `irc_extra` lines
/// under `[irc]` and `relay_extra` under `[relay]`.
fn config(hub: &FakeHub, port: u16, irc_extra: &str, relay_extra: &str) -> Config {
    let toml = format!(
        r#"
        [relay]
        hub_url = "{url}"
        token = "{token}"
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
        url = hub.url(),
        token = hub.relay_token(),
    );
    Config::from_toml(&toml).expect("test config is valid")
}

async fn ready(relay: &RelayHandle) {
    relay
        .wait_ready(1, READY)
        .await
        .unwrap_or_else(|status| panic!("relay not ready: {status:?}"));
}

/// The bot's PRIVMSGs among the next ones within `window`.
async fn bot_lines(observer: &mut Observer, window: Duration) -> Vec<Privmsg> {
    observer
        .privmsgs_during(window)
        .await
        .into_iter()
        .filter(|p| p.from.starts_with(BOT))
        .collect()
}

async fn next_bot_line(observer: &mut Observer, timeout: Duration) -> Privmsg {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match observer.wait_for_privmsg(left).await {
            Some(p) if p.from.starts_with(BOT) => return p,
            Some(_) => continue,
            None => panic!(
                "no line from the bot within {timeout:?}; saw {:?}",
                observer.seen
            ),
        }
    }
}

async fn wait_for_ack(hub: &FakeHub, seq: u64) {
    for _ in 0..100 {
        if hub.acks().iter().any(|(s, t)| *s == seq && t == CHANNEL) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no ack for {seq}; acks: {:?}", hub.acks());
}

#[tokio::test]
async fn announce_reaches_the_channel_byte_exact_and_is_acked() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let hub = FakeHub::start().await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let relay = Relay::start(config(&hub, ircd.port(), "", ""));
    ready(&relay).await;

    let message = "Now Playing: Song #3: Café Olé: \"live\" – 日本 🎵 by Los Niños - https://soundcloud.com/x/y?a=1&b=2";
    let seq = hub.announce_text(message);
    let line = next_bot_line(&mut observer, 5 * SECOND).await;
    assert_eq!(line.target, CHANNEL);
    assert_eq!(line.text, message, "text arrives byte for byte");
    assert!(line.raw.ends_with(b"\r\n"));
    wait_for_ack(&hub, seq).await;

    // Shutdown says goodbye with a QUIT message.
    relay.shutdown().await;
    let quit = observer
        .read_until(5 * SECOND, |l| {
            l.contains(" QUIT ") && l.starts_with(&format!(":{BOT}!"))
        })
        .await
        .expect("bot QUIT seen");
    assert!(quit.contains(irc_relay::QUIT_MESSAGE), "{quit}");
}

#[tokio::test]
async fn hostile_title_arrives_as_one_line_within_512_bytes_and_the_bot_stays() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let hub = FakeHub::start().await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let relay = Relay::start(config(&hub, ircd.port(), "", ""));
    ready(&relay).await;

    let title = format!(
        "Evil\r\nQUIT :x\0\x02bold\x03 {}",
        "ünïcødé 日本語 ".repeat(40)
    );
    assert!(title.len() > 600);
    hub.announce_track(&title, "Artist\nJOIN #other", "https://soundcloud.com/a/b");
    let lines = bot_lines(&mut observer, 2 * SECOND).await;
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
        line.text.starts_with("Now Playing: EvilQUIT :xbold "),
        "{}",
        line.text
    );
    assert!(line.text.ends_with('…'));
    assert!(!line.text.chars().any(char::is_control));

    assert!(
        !observer.seen.iter().any(|l| l.contains(" QUIT ")),
        "nobody quit: {:?}",
        observer.seen
    );
    let names = observer.names(CHANNEL).await;
    assert!(
        names.iter().any(|n| n == BOT),
        "bot still in channel: {names:?}"
    );
    assert!(relay.status().joined.contains(&CHANNEL.to_string()));
    // And it still works.
    hub.announce_text("still here");
    assert_eq!(
        next_bot_line(&mut observer, 5 * SECOND).await.text,
        "still here"
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn flood_control_spaces_a_burst_of_ten() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let hub = FakeHub::start().await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    // Burst 4, then 5 lines/s: lines 5..10 should come 200 ms apart.
    let relay = Relay::start(config(
        &hub,
        ircd.port(),
        "flood_lines_per_second = 5.0",
        "",
    ));
    ready(&relay).await;

    for i in 1..=10 {
        hub.announce_text(&format!("line {i}"));
    }
    let mut lines = Vec::new();
    while lines.len() < 10 {
        lines.push(next_bot_line(&mut observer, 5 * SECOND).await);
    }
    let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
    let expected: Vec<_> = (1..=10).map(|i| format!("line {i}")).collect();
    assert_eq!(texts, expected, "all lines, in order");
    let start = lines[0].at;
    // Lower bounds only: a busy machine can delay lines, but flood control must never let
    // line k (k ≥ 5) out earlier than (k-4) · 200 ms after the first. 30 ms of slack for
    // ngircd's own scheduling.
    for (i, line) in lines.iter().enumerate().skip(4) {
        let earliest =
            Duration::from_millis(200 * (i as u64 - 3)).saturating_sub(Duration::from_millis(30));
        let at = line.at - start;
        assert!(
            at >= earliest,
            "line {} after {at:?}, expected ≥ {earliest:?}",
            i + 1
        );
    }
    let burst = lines[3].at - start;
    assert!(
        burst < Duration::from_millis(150),
        "the burst of 4 goes at once: {burst:?}"
    );
    assert!(
        observer
            .privmsgs_during(Duration::from_millis(300))
            .await
            .is_empty()
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn hub_restart_resumes_with_no_loss_and_no_duplicate() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let hub = FakeHub::start().await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let relay = Relay::start(config(&hub, ircd.port(), "", ""));
    ready(&relay).await;

    let first = hub.announce_text("before the restart");
    assert_eq!(
        next_bot_line(&mut observer, 5 * SECOND).await.text,
        "before the restart"
    );

    // The restarted hub replays more than asked for: the relay must skip what it has seen.
    hub.replay_overlap(5);
    hub.stop().await;
    relay
        .wait_for(READY, |s| !s.hub_connected)
        .await
        .expect("relay noticed the hub going away");
    let during = hub.announce_text("while the hub was down");
    hub.restart().await;
    relay
        .wait_for(READY, |s| s.hub_connected && s.last_seq == Some(during))
        .await
        .expect("relay resubscribed and caught up");
    let after = hub.announce_text("after the restart");

    let lines = bot_lines(&mut observer, 2 * SECOND).await;
    let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["while the hub was down", "after the restart"]);
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
    relay.shutdown().await;
}

#[tokio::test]
async fn ircd_restart_rejoins_and_delivers_queued_lines_within_the_window() {
    let Some(mut ircd) = Ircd::start().await else {
        return;
    };
    let hub = FakeHub::start().await;
    // The relay reaches ngircd through a gate, so the test decides when it may reconnect:
    // after the observer is back in the channel to see the queued line.
    let gate = Gate::start(ircd.port()).await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let relay = Relay::start(config(&hub, gate.port(), "", "replay_window_seconds = 2"));
    ready(&relay).await;
    hub.announce_text("first");
    assert_eq!(next_bot_line(&mut observer, 5 * SECOND).await.text, "first");

    gate.set_open(false);
    ircd.stop();
    relay
        .wait_for(READY, |s| !s.irc_registered)
        .await
        .expect("relay noticed IRC going away");
    hub.announce_text("stale: queued longer than the window");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    hub.announce_text("queued while IRC was down");
    ircd.start_again().await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    gate.set_open(true);
    ready(&relay).await;

    let lines = bot_lines(&mut observer, 2 * SECOND).await;
    let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["queued while IRC was down"]);
    let joins = observer
        .seen
        .iter()
        .filter(|l| l.starts_with(&format!(":{BOT}!")) && l.contains(" JOIN "))
        .count();
    assert_eq!(joins, 1, "rejoined once: {:?}", observer.seen);
    relay.shutdown().await;
}

#[tokio::test]
async fn announces_older_than_the_replay_window_are_not_posted() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let hub = FakeHub::start().await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let relay = Relay::start(config(&hub, ircd.port(), "", ""));
    ready(&relay).await;
    let old = hub.announce_text_aged("ten minutes old", Duration::from_secs(600));
    hub.announce_text("fresh");
    let lines = bot_lines(&mut observer, SECOND).await;
    let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["fresh"]);
    assert!(!hub.acks().iter().any(|(s, _)| *s == old));
    relay.shutdown().await;
}

/// Says `command` in the channel and returns the bot's answer there.
async fn ask(observer: &mut Observer, command: &str) -> String {
    observer.say(CHANNEL, command).await;
    let reply = next_bot_line(observer, 5 * SECOND).await;
    assert_eq!(reply.target, CHANNEL, "answers in the channel");
    reply.text
}

#[tokio::test]
async fn commands_answer_in_the_channel() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let hub = FakeHub::start().await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let relay = Relay::start(config(
        &hub,
        ircd.port(),
        "command_cooldown_seconds = 0",
        "",
    ));
    ready(&relay).await;

    assert_eq!(
        ask(&mut observer, "!np").await,
        "Nothing has been announced yet."
    );
    let announce = "Now Playing: Song #1: Midnight Drive by Synth Rider - https://soundcloud.com/synth-rider/midnight-drive";
    hub.announce_text(announce);
    assert_eq!(
        next_bot_line(&mut observer, 5 * SECOND).await.text,
        announce
    );
    assert_eq!(
        ask(&mut observer, "!np").await,
        "Now Playing: Song #1: Midnight Drive by Synth Rider - https://soundcloud.com/synth-rider/midnight-drive"
    );
    assert_eq!(
        ask(&mut observer, "!song 2").await,
        "Song #2: Café Olé by Los Niños - https://soundcloud.com/los-ninos/cafe-ole"
    );
    assert_eq!(
        ask(&mut observer, "!song 99").await,
        "No song #99 in this week's show (it has 3 tracks)."
    );
    assert_eq!(
        ask(&mut observer, "!song abc").await,
        "Usage: !song N, where N is the track number (e.g. !song 3)."
    );
    assert_eq!(
        ask(&mut observer, "!playlist").await,
        format!("This week's show has 3 tracks: {}/", hub.url())
    );
    let help = ask(&mut observer, "!help").await;
    for command in ["!np", "!song N", "!playlist", "!help"] {
        assert!(help.contains(command), "{help}");
    }
    // Chat and unknown commands get no answer.
    observer.say(CHANNEL, "hello everyone").await;
    observer.say(CHANNEL, "!unknown").await;
    assert!(
        bot_lines(&mut observer, Duration::from_millis(500))
            .await
            .is_empty()
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn one_answer_per_user_per_three_seconds() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let hub = FakeHub::start().await;
    let mut alice = Observer::join(ircd.port(), "alice", CHANNEL).await;
    let mut bob = Observer::join(ircd.port(), "bob", CHANNEL).await;
    let relay = Relay::start(config(&hub, ircd.port(), "", ""));
    ready(&relay).await;

    let start = tokio::time::Instant::now();
    alice.say(CHANNEL, "!help").await;
    next_bot_line(&mut alice, 5 * SECOND).await;
    alice.say(CHANNEL, "!np").await;
    alice.say(CHANNEL, "!playlist").await;
    // Bob is another user: answered at once. Alice's two commands within 3 s are not.
    bob.say(CHANNEL, "!np").await;
    let seen_by_bob: Vec<_> = bot_lines(&mut bob, Duration::from_millis(1200))
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
    let seen_by_alice = bot_lines(&mut alice, Duration::from_millis(100)).await;
    assert_eq!(
        seen_by_alice.len(),
        1,
        "only the answer to bob: {seen_by_alice:?}"
    );
    // After the cooldown alice is answered again.
    tokio::time::sleep_until(start + Duration::from_millis(3300)).await;
    alice.say(CHANNEL, "!np").await;
    assert_eq!(
        next_bot_line(&mut alice, 5 * SECOND).await.text,
        "Nothing has been announced yet."
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn taken_nickname_falls_back_to_an_alternative() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let hub = FakeHub::start().await;
    let mut squatter = Observer::join(ircd.port(), BOT, CHANNEL).await;
    let relay = Relay::start(config(&hub, ircd.port(), "", ""));
    let status = relay.wait_ready(1, READY).await.expect("ready");
    assert_eq!(status.nickname.as_deref(), Some("ntrbot_"));
    hub.announce_text("from the alternative nick");
    let line = next_bot_line(&mut squatter, 5 * SECOND).await;
    assert_eq!(line.from, "ntrbot_");
    assert_eq!(line.text, "from the alternative nick");
    relay.shutdown().await;
}

#[tokio::test]
async fn tls_with_the_test_ca() {
    let Some(ircd) = Ircd::start_tls().await else {
        return;
    };
    let hub = FakeHub::start().await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let tls_port = ircd.tls_port().expect("tls port");
    let ca = ircd.ca_file().expect("ca").display().to_string();

    // Certificate verification is on by default: without the test CA the relay must refuse.
    let mut untrusted = config(&hub, tls_port, "", "");
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

    let mut trusted = config(&hub, tls_port, &format!("ca_file = \"{ca}\""), "");
    trusted.irc.tls = true;
    trusted.irc.server = "localhost".into();
    let relay = Relay::start(trusted);
    ready(&relay).await;
    hub.announce_text("over TLS");
    assert_eq!(
        next_bot_line(&mut observer, 5 * SECOND).await.text,
        "over TLS"
    );
    relay.shutdown().await;
}

/// Neither ngircd nor any IRC server in Debian's archive here offers SASL (Debian's `ergo`
/// package is a chemistry program), so SASL PLAIN runs against a scripted server that plays
/// the IRCv3 exchange and checks every step.
#[tokio::test]
async fn sasl_plain_against_a_scripted_server() {
    let hub = FakeHub::start().await;
    let peer = ScriptedPeer::bind().await;
    let relay = Relay::start(config(&hub, peer.port(), "sasl_password = \"s3cret\"", ""));
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
    hub.announce_text("authenticated");
    client
        .expect(t, |l| {
            l == format!("PRIVMSG {CHANNEL} authenticated")
                || l == format!("PRIVMSG {CHANNEL} :authenticated")
        })
        .await;
    relay.shutdown().await;
}
