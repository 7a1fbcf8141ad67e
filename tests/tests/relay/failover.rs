//! `[relay] hub_url` as a list, with real parts: a real ngircd, the real hub in-process, the
//! relay library in-process, and an observer in the channel. The relay tries the URLs in order
//! on every (re)connect: past an address nobody listens on, past a hub that refuses its token,
//! and from a hub address that goes down to the next one, resuming with nothing lost.
//!
//! Two [`TestHub`]s would be two stations with separate seqs, so the failover test reaches one
//! hub by two addresses: a [`CutProxy`] the test takes down (the first URL) and a [`Gate`] (the
//! second). Everything binds 127.0.0.1; every wait is bounded.

use std::path::Path;
use std::time::Duration;

use e2e::cut_proxy::{Cut, CutProxy};
use e2e::hub::{TestHub, TestSchedule};
use e2e::ircd::{Gate, Ircd, Observer, Privmsg};
use e2e::net::free_port;
use e2e::wait;
use irc_relay::{Config, Relay, RelayHandle};

const CHANNEL: &str = "#ntr";
const BOT: &str = "ntrbot";
const READY: Duration = Duration::from_secs(10);
/// How long a line the bot should post may take to arrive.
const LINE: Duration = Duration::from_secs(5);
/// How long "nothing more arrives" is watched for.
const QUIET: Duration = Duration::from_secs(2);

/// A relay of its own, known to one hub only (the other test hubs share a relay token).
const OWN_TOKEN: &str = "failover-relay-token-0123456789abcdef";

/// A relay config for the hub URLs `hub_urls` (in order), `token`, and ngircd on `port`, with
/// a short backoff so reconnects take well under a second. Its state lives in `state_dir`.
pub(super) fn config(hub_urls: &[String], token: &str, state_dir: &Path, port: u16) -> Config {
    let quoted: Vec<String> = hub_urls.iter().map(|u| format!("\"{u}\"")).collect();
    let toml = format!(
        r#"
        [relay]
        hub_url = [{}]
        token = "{token}"
        state_dir = "{}"
        reconnect_initial_seconds = 0.05
        reconnect_max_seconds = 0.5
        [irc]
        server = "127.0.0.1"
        port = {port}
        tls = false
        nickname = "{BOT}"
        channels = ["{CHANNEL}"]
        command_cooldown_seconds = 0
        "#,
        quoted.join(", "),
        state_dir.display(),
    );
    Config::from_toml(&toml).expect("test config is valid")
}

/// ngircd (`None` when it is not installed, outside CI), an observer in the channel, and a
/// relay on `hub_urls` with `token` that is ready: registered, joined, subscribed.
async fn start(
    hub_urls: &[String],
    token: &str,
    hub: &TestHub,
) -> Option<(Ircd, Observer, RelayHandle)> {
    let ircd = Ircd::start().await?;
    let observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let state_dir = hub.data_dir().join("relay-state");
    let relay = Relay::start(config(hub_urls, token, &state_dir, ircd.port()));
    relay
        .wait_ready(1, READY)
        .await
        .unwrap_or_else(|status| panic!("relay not ready: {status:?}"));
    Some((ircd, observer, relay))
}

fn texts(lines: &[Privmsg]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

/// Waits until the hub has one ack of each of `seqs` for the channel, and no second one.
async fn assert_acked_once(hub: &TestHub, seqs: &[u64]) {
    let all = wait::until(LINE, async || {
        let acks = hub.acks().await;
        seqs.iter()
            .all(|seq| acks.iter().any(|(s, t)| s == seq && t == CHANNEL))
            .then_some(acks)
    })
    .await;
    let Some(acks) = all else {
        panic!("not all of {seqs:?} acked: {:?}", hub.acks().await);
    };
    for seq in seqs {
        let count = acks.iter().filter(|(s, _)| s == seq).count();
        assert_eq!(count, 1, "one ack for {seq}: {acks:?}");
    }
}

/// The first URL is a port nobody listens on: the relay subscribes through the second, posts
/// what is announced, and the commands that read the hub are answered by it too.
#[tokio::test]
async fn a_dead_first_url_is_passed_over_for_the_next() {
    let hub = TestHub::start().await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let Some((_ircd, mut observer, relay)) =
        start(&[dead.clone(), hub.url()], &hub.relay_token(), &hub).await
    else {
        return;
    };
    let (_, health) = hub.get_json("/health").await;
    assert_eq!(
        health["subscribers"], 1,
        "subscribed to the live hub: {health}"
    );

    let seq = hub.announce_text("through the second URL").await;
    let line = observer.next_privmsg_from(BOT, LINE).await;
    assert_eq!(line.text, "through the second URL");
    assert_acked_once(&hub, &[seq]).await;

    // Answered by the hub that answers; the link is public_url, which defaults to the first.
    observer.say(CHANNEL, "!playlist").await;
    let answer = observer.next_privmsg_from(BOT, LINE).await;
    assert_eq!(
        answer.text,
        format!("This week's show has no tracks yet: {dead}/")
    );
    relay.shutdown().await;
}

/// The first URL is another station's hub, which refuses the relay's token (401): the relay
/// goes on to the next URL instead of waiting on the first.
#[tokio::test]
async fn a_hub_that_refuses_the_token_is_passed_over_for_the_next() {
    let other = TestHub::start().await;
    let own = format!("[[hub.relays]]\nname = \"failover\"\ntoken = \"{OWN_TOKEN}\"\n");
    let hub = TestHub::start_with(TestSchedule::default(), &own).await;
    let Some((_ircd, mut observer, relay)) =
        start(&[other.url(), hub.url()], OWN_TOKEN, &hub).await
    else {
        return;
    };
    let (_, health) = other.get_json("/health").await;
    assert_eq!(
        health["subscribers"], 0,
        "nothing on the refusing hub: {health}"
    );

    let seq = hub.announce_text("past the refusal").await;
    assert_eq!(
        observer.next_privmsg_from(BOT, LINE).await.text,
        "past the refusal"
    );
    assert_acked_once(&hub, &[seq]).await;
    relay.shutdown().await;
}

/// The relay is on the first URL (a proxy to the hub). That address goes down while the
/// second is closed too, and two lines are announced meanwhile; once the second opens, the
/// relay resubscribes through it with `?since=`: the two lines arrive once, in order, then a
/// live one, and each is acked once.
#[tokio::test]
async fn losing_the_first_url_fails_over_to_the_next_with_nothing_lost() {
    let hub = TestHub::start().await;
    let first = CutProxy::start(hub.port).await;
    let second = Gate::start(hub.port).await;
    let second_url = format!("http://127.0.0.1:{}", second.port());
    let Some((_ircd, mut observer, relay)) =
        start(&[first.url(), second_url], &hub.relay_token(), &hub).await
    else {
        return;
    };
    let before = hub.announce_text("before the cut").await;
    assert_eq!(
        observer.next_privmsg_from(BOT, LINE).await.text,
        "before the cut"
    );
    assert_acked_once(&hub, &[before]).await;

    // Losing the first address ends the subscription: the relay was on the first URL.
    second.set_open(false);
    first.set(Cut::Down);
    relay
        .wait_for(READY, |s| !s.hub_connected)
        .await
        .expect("the relay noticed the first URL going down");
    let missed = [
        hub.announce_text("during the cut 1").await,
        hub.announce_text("during the cut 2").await,
    ];
    assert!(
        !relay.status().hub_connected,
        "announced while the relay had no hub"
    );

    second.set_open(true);
    relay
        .wait_for(READY, |s| s.hub_connected && s.last_seq == Some(missed[1]))
        .await
        .expect("resubscribed through the second URL and caught up");
    let after = hub.announce_text("after the failover").await;
    let lines = observer.privmsgs_from(BOT, QUIET).await;
    assert_eq!(
        texts(&lines),
        ["during the cut 1", "during the cut 2", "after the failover"],
        "nothing lost, nothing twice, in order"
    );
    assert!(before < missed[0] && missed[0] < missed[1] && missed[1] < after);
    assert_acked_once(&hub, &[before, missed[0], missed[1], after]).await;
    relay.shutdown().await;
}
