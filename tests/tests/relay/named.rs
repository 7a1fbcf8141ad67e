//! Named relays end to end, with the real relay (in-process, or the binary where a test kills
//! it) and real IRC servers: `relay_status` reaching `/admin/relays`, SASL PLAIN and NickServ
//! IDENTIFY against InspIRCd with Atheme (what Libera.Chat runs), connection errors a
//! self-hoster understands, the kill -9 drill (nothing lost, nothing twice) and the dashboard
//! banner in Chromium while the IRC server is down.
//!
//! Everything binds 127.0.0.1; every wait is bounded.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use e2e::binaries::binary;
use e2e::browser::Browser;
use e2e::hub::{TestHub, TestSchedule};
use e2e::ircd::{Ircd, Observer, Privmsg, ScriptedPeer};
use e2e::net::free_port;
use e2e::services::{CountingProxy, Services};
use e2e::wait;
use irc_proto::{Command as IrcCommand, Response};
use irc_relay::{Config, Relay, RelayHandle};
use serde_json::Value;
use tokio::time::Instant;

const CHANNEL: &str = "#ntr";
const BOT: &str = "ntrbot";
const RELAY_TOKEN: &str = "ntrbot-relay-token-0123456789";
const READY: Duration = Duration::from_secs(15);
const LINE: Duration = Duration::from_secs(5);

/// The hub with the relay `ntrbot` configured, on `schedule`.
async fn hub_on(schedule: TestSchedule) -> TestHub {
    let extra = format!("[[hub.relays]]\nname = \"{BOT}\"\ntoken = \"{RELAY_TOKEN}\"\n");
    TestHub::start_with(schedule, &extra).await
}

/// The relay's config file text for `hub`, an IRC server on 127.0.0.1:`port` (plaintext
/// unless `irc_extra` says `tls = true`), and `irc_extra` lines under `[irc]`. The relay keeps
/// its state in the hub's temporary directory, so no test sees another's.
fn relay_toml(hub: &TestHub, port: u16, irc_extra: &str) -> String {
    let plaintext = if irc_extra.contains("tls =") {
        ""
    } else {
        "tls = false"
    };
    format!(
        "[relay]\nhub_url = \"{url}\"\ntoken = \"{RELAY_TOKEN}\"\nreconnect_initial_seconds = 0.4\n\
         reconnect_max_seconds = 1\nstate_dir = \"{state_dir}\"\n[irc]\nserver = \"127.0.0.1\"\nport = {port}\n{plaintext}\n\
         nickname = \"{BOT}\"\nchannels = [\"{CHANNEL}\"]\n{irc_extra}\n",
        url = hub.url(),
        state_dir = hub.data_dir().join("relay-state").display(),
    )
}

fn start_relay(hub: &TestHub, port: u16, irc_extra: &str) -> RelayHandle {
    let config = Config::from_toml(&relay_toml(hub, port, irc_extra)).expect("relay config");
    Relay::start(config)
}

/// The relay `ntrbot` as `/admin/relays` shows it, once `check` holds (bounded).
async fn relay_info(hub: &TestHub, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let found = wait::until(READY, async || {
        let (status, body) = hub.get_json_admin("/admin/relays").await;
        assert_eq!(status, 200, "{body}");
        last = body[0].clone();
        assert_eq!(last["name"], BOT);
        check(&last).then(|| last.clone())
    })
    .await;
    found.unwrap_or_else(|| panic!("{BOT}: {what}; last seen {last}"))
}

fn in_channel(relay: &Value) -> bool {
    relay["connected"] == true
        && relay["status"]["irc"] == "connected"
        && relay["status"]["channels"] == serde_json::json!([CHANNEL])
}

/// The account the server shows for `nick` (WHOIS numeric 330), if any.
async fn account_of(observer: &mut Observer, nick: &str) -> Option<String> {
    observer.send(&format!("WHOIS {nick}\r\n")).await;
    let mut account = None;
    observer
        .read_until(LINE, |m| match &m.command {
            // RPL_WHOISACCOUNT, which irc-proto has no name for.
            IrcCommand::Raw(code, args) if code == "330" => {
                account = args.get(2).cloned();
                false
            }
            IrcCommand::Response(Response::RPL_ENDOFWHOIS, _) => true,
            _ => false,
        })
        .await
        .expect("end of WHOIS");
    account
}

fn texts(lines: &[Privmsg]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

#[tokio::test]
async fn sasl_plain_logs_in_to_atheme_and_the_status_reaches_the_hub() {
    let Some(services) = Services::start().await else {
        return;
    };
    services.register(BOT, "correct-pass-123").await;
    let hub = hub_on(TestSchedule::default()).await;
    let mut observer = Observer::join(services.port(), "listener", CHANNEL).await;
    let relay = start_relay(
        &hub,
        services.port(),
        "sasl_password = \"correct-pass-123\"",
    );
    relay
        .wait_ready(1, READY)
        .await
        .unwrap_or_else(|s| panic!("relay not ready: {s:?}\n{}", services.logs()));
    assert_eq!(account_of(&mut observer, BOT).await.as_deref(), Some(BOT));

    let shown = relay_info(&hub, "in the channel", in_channel).await;
    let status = &shown["status"];
    assert_eq!(status["server"], format!("127.0.0.1:{}", services.port()));
    assert_eq!(
        (status["nick"].as_str(), status["error"].is_null()),
        (Some(BOT), true)
    );
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));

    let seq = hub.announce_text("Now Playing: logged in").await;
    let line = observer.wait_for_privmsg(LINE).await.expect("the line");
    assert_eq!(
        (line.from.as_str(), line.text.as_str()),
        (BOT, "Now Playing: logged in")
    );
    let acked = relay_info(&hub, "acked", |r| r["last_ack"]["seq"] == seq).await;
    assert_eq!(acked["cursor"], seq);
    relay.shutdown().await;
}

#[tokio::test]
async fn nickserv_identify_logs_in_to_atheme() {
    let Some(services) = Services::start().await else {
        return;
    };
    services.register(BOT, "identify-pass-123").await;
    let hub = hub_on(TestSchedule::default()).await;
    let mut observer = Observer::join(services.port(), "listener", CHANNEL).await;
    let relay = start_relay(
        &hub,
        services.port(),
        "nickserv_password = \"identify-pass-123\"",
    );
    relay.wait_ready(1, READY).await.expect("relay ready");
    // IDENTIFY goes out after registration; give services a moment to answer.
    let account = wait::until(LINE, async || account_of(&mut observer, BOT).await).await;
    assert_eq!(account.as_deref(), Some(BOT), "{}", services.logs());
    relay.shutdown().await;

    // A wrong password: services say so, and the dashboard shows it.
    let relay = start_relay(
        &hub,
        services.port(),
        "nickserv_password = \"not-the-pass-1\"",
    );
    let shown = relay_info(&hub, "the refusal", |r| !r["status"]["error"].is_null()).await;
    let error = shown["status"]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("NickServ IDENTIFY as `ntrbot` refused"),
        "{error}"
    );
    assert_eq!(account_of(&mut observer, BOT).await, None);
    relay.shutdown().await;
}

/// The relay binary with its config in `dir`, stderr kept in `dir/relay.log`.
fn spawn_relay_binary(dir: &Path, toml: &str) -> (Child, PathBuf) {
    let config = dir.join("relay.toml");
    std::fs::write(&config, toml).expect("relay config");
    let log_path = dir.join("relay.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .expect("relay log");
    let child = Command::new(binary("irc-relay"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start irc-relay");
    (child, log_path)
}

#[tokio::test]
async fn a_wrong_sasl_password_is_one_clear_error_on_the_dashboard_and_retried_with_backoff() {
    let Some(services) = Services::start().await else {
        return;
    };
    services.register(BOT, "the-real-pass-123").await;
    let hub = hub_on(TestSchedule::default()).await;
    let proxy = CountingProxy::start(services.port()).await;
    let dir = tempfile::tempdir().expect("dir");
    let toml = relay_toml(&hub, proxy.port(), "sasl_password = \"a-wrong-pass-123\"");
    let (mut child, log) = spawn_relay_binary(dir.path(), &toml);

    let shown = relay_info(&hub, "the SASL error", |r| !r["status"]["error"].is_null()).await;
    let error = shown["status"]["error"].as_str().expect("error text");
    assert!(error.contains("SASL") && error.contains(BOT), "{error}");
    assert_ne!(shown["status"]["irc"], "connected");

    // Retries follow the backoff (0.4 s doubling to 1 s, never under half a step): a tight
    // loop would make hundreds of attempts in the time this allows at most a dozen.
    let before = proxy.connections();
    let window = Duration::from_secs(4);
    tokio::time::sleep(window).await;
    let attempts = proxy.connections() - before;
    assert!(
        (2..=12).contains(&attempts),
        "{attempts} attempts in {window:?}"
    );

    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(log).expect("relay log");
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(!errors.is_empty(), "{text}");
    assert!(
        errors.iter().all(|l| l.contains("SASL") && l.contains(BOT)),
        "every ERROR line names SASL and the account: {errors:#?}"
    );
    assert!(
        errors.len() <= attempts + before,
        "one ERROR per attempt at most: {errors:#?}"
    );
}

/// An IRC server's plaintext port greets a new connection at once (most do, with a hostname
/// lookup notice); a relay set to TLS reads that as a broken handshake and says what to change.
/// A port where nothing listens is a refused connection, named as such.
#[tokio::test]
async fn tls_against_a_plaintext_port_and_a_refused_connection_are_named() {
    let hub = hub_on(TestSchedule::default()).await;
    let plaintext = ScriptedPeer::bind().await;
    let relay = start_relay(&hub, plaintext.port(), "tls = true");
    let mut client = plaintext.accept(READY).await;
    client
        .send(":irc.localhost NOTICE * :*** Looking up your hostname...\r\n")
        .await;
    let shown = relay_info(&hub, "a TLS error", |r| !r["status"]["error"].is_null()).await;
    let expected = format!(
        "TLS handshake with 127.0.0.1:{} failed (is it a plaintext port? set tls = false)",
        plaintext.port()
    );
    assert_eq!(shown["status"]["error"], expected);
    assert_eq!(shown["status"]["irc"], "disconnected");
    relay.shutdown().await;

    let closed = free_port();
    let relay = start_relay(&hub, closed, "");
    let shown = relay_info(&hub, "a refused connection", |r| {
        r["status"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused"))
    })
    .await;
    let error = shown["status"]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with(&format!("connection to 127.0.0.1:{closed} refused")),
        "{error}"
    );
    relay.shutdown().await;
}

/// The three lines after a kill -9 arrive once, in order; nothing posted before the kill comes
/// again.
#[tokio::test]
async fn kill_9_of_the_relay_loses_nothing_and_posts_nothing_twice() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let hub = hub_on(TestSchedule::default()).await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let dir = tempfile::tempdir().expect("dir");
    let toml = relay_toml(&hub, ircd.port(), "");
    let (mut relay, _) = spawn_relay_binary(dir.path(), &toml);
    relay_info(&hub, "in the channel", in_channel).await;
    let before = hub.announce_text("before the kill").await;
    let line = observer
        .wait_for_privmsg(LINE)
        .await
        .expect("the first line");
    assert_eq!(line.text, "before the kill");
    relay_info(&hub, "acked", |r| r["cursor"] == before).await;

    relay.kill().expect("kill -9");
    relay.wait().expect("reaped");
    relay_info(&hub, "gone", |r| r["connected"] == false).await;
    let mut missed = Vec::new();
    for i in 1..=3 {
        missed.push(hub.announce_text(&format!("while down {i}")).await);
    }
    let restarted = Instant::now();
    let (mut relay, _) = spawn_relay_binary(dir.path(), &toml);
    let mut lines = Vec::new();
    while lines.len() < 3 {
        lines.push(
            observer
                .wait_for_privmsg(READY)
                .await
                .expect("a missed line"),
        );
    }
    let took = restarted.elapsed();
    lines.extend(observer.privmsgs_during(Duration::from_secs(2)).await);
    assert_eq!(
        texts(&lines),
        ["while down 1", "while down 2", "while down 3"]
    );
    eprintln!("kill -9 drill: the 3 missed lines arrived {took:?} after the restart");
    relay_info(&hub, "caught up", |r| r["cursor"] == missed[2]).await;
    let _ = relay.kill();
    let _ = relay.wait();
}

/// Found by `ntr-bench chaos`: a line the relay posts while the hub is unreachable is acked
/// only in the relay's memory; killed before the hub is back, the relay loses that ack and
/// the hub's cursor stays before the line. Its successor resumes after what the relay
/// recorded as posted in `state_dir`, so the line is not posted a second time.
#[tokio::test]
async fn a_line_posted_while_the_hub_is_down_is_not_posted_again_after_a_kill_9() {
    let Some(mut ircd) = Ircd::start().await else {
        return;
    };
    let mut hub = hub_on(TestSchedule::default()).await;
    let dir = tempfile::tempdir().expect("dir");
    let toml = relay_toml(&hub, ircd.port(), "");
    let (mut relay, _) = spawn_relay_binary(dir.path(), &toml);
    relay_info(&hub, "in the channel", in_channel).await;
    let first = hub.announce_text("before").await;
    relay_info(&hub, "acked", |r| r["cursor"] == first).await;

    // IRC goes down; the announce waits in the relay's queue; then the hub goes down too.
    ircd.stop();
    hub.announce_text("posted while the hub is down").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    hub.stop().await;
    ircd.start_again().await;
    let mut observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let posted = observer
        .wait_for_privmsg(READY)
        .await
        .expect("the queued line");
    assert_eq!(posted.text, "posted while the hub is down");

    // The relay dies before the hub is back, its ack unsent; then both come back.
    relay.kill().expect("kill -9");
    relay.wait().expect("reaped");
    hub.restart().await;
    let (mut relay, _) = spawn_relay_binary(dir.path(), &toml);
    relay_info(&hub, "back in the channel", in_channel).await;
    hub.announce_text("after").await;
    let mut lines = vec![observer.wait_for_privmsg(READY).await.expect("a line")];
    lines.extend(observer.privmsgs_during(Duration::from_secs(2)).await);
    assert_eq!(texts(&lines), ["after"], "a posted line came again");
    let _ = relay.kill();
    let _ = relay.wait();
}

/// The DJ's dashboard in Chromium during the live window: while the relay is in the channel
/// there is no banner; stop the IRC server and the red banner appears within seconds; start
/// it again and the banner goes once the relay is back in the channel.
#[tokio::test]
async fn the_banner_follows_the_irc_server_in_chromium() {
    let (Some(mut ircd), Some(browser)) = (Ircd::start().await, Browser::start().await) else {
        return;
    };
    let live = TestSchedule {
        ago: jiff::SignedDuration::from_mins(10),
        live_minutes: 60,
        ..TestSchedule::default()
    };
    let hub = hub_on(live).await;
    let relay = start_relay(&hub, ircd.port(), "");
    relay.wait_ready(1, READY).await.expect("relay ready");
    let failure = format!("banner-failure-{}", hub.port);
    let shown = "return !document.getElementById('relay-banner').hidden";
    let hidden = "return document.getElementById('relay-banner').hidden";
    browser
        .or_screenshot(&failure, async {
            browser.log_in(&hub.url(), READY).await;
            browser.wait_for_script(hidden, READY).await;
        })
        .await;

    ircd.stop();
    let stopped = Instant::now();
    browser
        .or_screenshot(&failure, browser.wait_for_script(shown, READY))
        .await;
    let appeared = stopped.elapsed();
    let text = browser.text("#relay-banner").await;
    assert!(
        text.contains("ntrbot is not on IRC — announces will not reach IRC"),
        "{text}"
    );

    ircd.start_again().await;
    let started = Instant::now();
    browser
        .or_screenshot(&failure, browser.wait_for_script(hidden, READY))
        .await;
    let went = started.elapsed();
    eprintln!(
        "banner drill: shown {appeared:?} after the ircd stopped, gone {went:?} after it started"
    );
    relay.shutdown().await;
}
