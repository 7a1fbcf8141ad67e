//! A real Sopel bot (PyPI, in `<target>/sopel-venv`, which `scripts/test` creates) with an
//! old-style announce plugin (tests/plugins/ntr_announce.py: first-message subscribe, no
//! cursor, no acks, no shows) against a station hub of two shows on ngircd. It must post every
//! line of both shows and the station-wide ones once, in order, across a hub restart during
//! which lines are announced while it is away.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use e2e::binaries::{binary, is_ci, target_dir};
use e2e::ircd::{Ircd, Observer};
use e2e::net::free_port;
use e2e::wait;
use serde_json::{Value, json};

const ADMIN: &str = "station-admin-token-0123456789";
const PLUGIN_TOKEN: &str = "old-plugin-token-0123456789";
const CHANNEL: &str = "#station";
const T: Duration = Duration::from_secs(20);

/// The Python of Sopel's virtualenv, or `None` (after a SKIPPED line) outside CI when it is
/// missing.
fn sopel() -> Option<PathBuf> {
    let sopel = target_dir().join("sopel-venv/bin/python");
    if sopel.is_file() {
        return Some(sopel);
    }
    assert!(
        !is_ci(),
        "no {} but CI=true: scripts/test creates it",
        sopel.display()
    );
    eprintln!("SKIPPED: no {} (scripts/test creates it)", sopel.display());
    None
}

/// A station of two shows, one of them (`late`) on air now, so that lines of both and a
/// station-wide one can be announced.
fn station_config(dir: &Path, port: u16) -> PathBuf {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let day = |date: jiff::civil::Date| format!("{:?}", date.weekday()).to_lowercase();
    let on_air_day = day(now.date());
    let config = format!(
        "[hub]\nlisten = \"127.0.0.1:{port}\"\ndata_dir = {data:?}\nadmin_token = \"{ADMIN}\"\n\
         relay_tokens = [\"{PLUGIN_TOKEN}\"]\n\
         [[shows]]\nslug = \"late\"\nsource = \"manual\"\ntimezone = \"UTC\"\nday = \"{on_air_day}\"\n\
         hour = {hour}\nduration_minutes = 120\n\
         [[shows]]\nslug = \"early\"\nsource = \"manual\"\ntimezone = \"Asia/Tokyo\"\nday = \"{other_day}\"\n\
         hour = 9\nduration_minutes = 60\n",
        data = dir.join("data").display().to_string(),
        hour = now.hour(),
        // Three days on, in another zone: far from the other show's window.
        other_day = day(now
            .date()
            .checked_add(jiff::ToSpan::days(3))
            .expect("a date")),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, config).expect("config");
    path
}

fn start_hub(config: &Path) -> Child {
    Command::new(binary("hub"))
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn hub")
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    child.wait().expect("hub exits");
}

/// Sopel, configured for ngircd on `irc_port` with only the announce plugin.
fn start_sopel(sopel: &Path, dir: &Path, irc_port: u16, hub_port: u16) -> Child {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins");
    let home = dir.join("sopel");
    std::fs::create_dir_all(&home).expect("sopel home");
    let config = format!(
        "[core]\nnick = oldbot\nhost = 127.0.0.1\nport = {irc_port}\nuse_ssl = false\n\
         owner = tester\nchannels = \"{CHANNEL}\"\nextra = {plugins}\nenable = ntr_announce\n\
         homedir = {home}\nlogdir = {home}/logs\npid_dir = {home}\n\
         flood_burst_lines = 20\nflood_empty_wait = 0.1\n",
        plugins = plugins.display(),
        home = home.display(),
    );
    let path = home.join("default.cfg");
    std::fs::write(&path, config).expect("sopel config");
    // Sopel refuses to start as root (a guard for production hosts); CI runs the tests as
    // root, so the launcher turns that one check off and runs Sopel's own command line.
    let launcher = "import sys, sopel.cli.run as run; run.check_not_root = lambda: None; \
                    sys.argv[0] = 'sopel'; sys.exit(run.main())";
    let log = std::fs::File::create(home.join("output.log")).expect("sopel log");
    Command::new(sopel)
        .args(["-c", launcher, "start", "--config-dir"])
        .arg(&home)
        .args(["-c", "default"])
        .env(
            "NTR_HUB_WS",
            format!("ws://127.0.0.1:{hub_port}/ws/announce"),
        )
        .env("NTR_TOKEN", PLUGIN_TOKEN)
        .env("NTR_CHANNEL", CHANNEL)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("spawn sopel")
}

async fn announce(hub_port: u16, body: Value) -> String {
    let answer: Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{hub_port}/admin/announce"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .expect("announce")
        .json()
        .await
        .expect("json");
    answer["message"]
        .as_str()
        .unwrap_or_else(|| panic!("announced: {answer}"))
        .to_owned()
}

/// Waits until the plugin's token (`relay-1`) has a connection.
async fn plugin_connected(hub_port: u16, dir: &Path) {
    let http = reqwest::Client::new();
    let found = wait::until(Duration::from_secs(60), async || {
        let relays: Value = http
            .get(format!("http://127.0.0.1:{hub_port}/admin/relays"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let connected = relays.as_array()?.iter().any(|r| r["connected"] == true);
        connected.then_some(())
    })
    .await;
    assert!(
        found.is_some(),
        "the Sopel plugin never connected to the hub; Sopel said:\n{}",
        std::fs::read_to_string(dir.join("sopel/output.log")).unwrap_or_default()
    );
}

/// The lines the plugin posts within `window`, in order.
async fn posted(observer: &mut Observer, window: Duration) -> Vec<String> {
    observer
        .privmsgs_from("oldbot", window)
        .await
        .into_iter()
        .map(|p| p.text)
        .collect()
}

#[tokio::test]
async fn an_old_sopel_plugin_posts_every_shows_lines_once_across_a_hub_restart() {
    let Some(sopel) = sopel() else { return };
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let hub_port = free_port();
    let config = station_config(dir.path(), hub_port);
    let hub = start_hub(&config);
    wait::until_listening(hub_port, T).await;
    let mut observer = Observer::join(ircd.port(), "watcher", CHANNEL).await;
    let mut bot = start_sopel(&sopel, dir.path(), ircd.port(), hub_port);

    // Lines announced before the plugin's first connection are not its to post.
    plugin_connected(hub_port, dir.path()).await;
    let hello = announce(hub_port, json!({"show": "late", "text": "hello from late"})).await;
    let first = observer
        .next_privmsg_from("oldbot", Duration::from_secs(60))
        .await;
    assert_eq!(first.text, hello, "the first line the plugin was sent");

    let mut expected = vec![
        announce(hub_port, json!({"show": "early", "text": "early's news"})).await,
        announce(hub_port, json!({"show": "late", "text": "late's news"})).await,
        announce(hub_port, json!({"text": "on air: goes with late"})).await,
    ];
    stop(hub);
    let hub = start_hub(&config);
    wait::until_listening(hub_port, T).await;
    // Announced while the plugin is still in its reconnect pause.
    expected.push(
        announce(
            hub_port,
            json!({"show": "early", "text": "after restart 1"}),
        )
        .await,
    );
    expected.push(announce(hub_port, json!({"show": "late", "text": "after restart 2"})).await);

    let lines = posted(&mut observer, Duration::from_secs(8)).await;
    assert_eq!(lines, expected, "every line once, in order");
    stop(hub);
    let _ = bot.kill();
    let _ = bot.wait();
}
