//! The `hub` binary as an operator runs it: configuration errors, the first start with no
//! config at all, `hash-password`, SIGTERM, and kill -9 in the middle of a poll.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::binaries::binary;
use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{ADMIN_TOKEN, TestHub, plus_hours, spawn_hub};
use e2e::net::free_port;
use e2e::wait;

/// How long a hub process may take to listen.
pub(crate) const START: Duration = Duration::from_secs(20);

fn run_with_config(toml: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("c.toml");
    std::fs::write(&path, toml).expect("write");
    let mut cmd = Command::new(binary("hub"));
    cmd.arg("--config")
        .arg(&path)
        .env("NTR_HUB__DATA_DIR", dir.path().join("data"));
    output_within(cmd, Duration::from_secs(20))
}

/// Runs a command that should exit by itself; a hub that starts instead is killed and fails.
/// Returns the exit code and what it printed (stdout, then stderr).
pub(crate) fn output_within(mut cmd: Command, limit: Duration) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hub");
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut printed = String::new();
            if let Some(mut out) = child.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut out, &mut printed);
            }
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut printed);
            }
            return (status.code(), printed);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the hub did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn configuration_errors_exit_2_with_one_line_naming_the_key() {
    let cases = [
        ("[hub]\nlisten_on = \"x\"\n", "listen_on"),
        ("[show]\nhour = 25\n", "show.hour"),
        ("[show]\ntimezone = \"Mars/Base\"\n", "show.timezone"),
        ("[hub]\nlisten = \"not an address\"\n", "hub.listen"),
        (
            "[dashboard]\nsecret_key = \"too short\"\n",
            "dashboard.secret_key",
        ),
        ("[show]\nday = 7\n", "day"),
        ("[show]\nhold_seconds = 121\n", "show.hold_seconds"),
        ("[show]\nhold_seconds = -1\n", "show.hold_seconds"),
        (
            "[show]\nannounce_max_age_seconds = 0\n",
            "show.announce_max_age_seconds",
        ),
        ("[show]\nremind_minutes = 0\n", "show.remind_minutes"),
        ("[show]\nremind_minutes = 1441\n", "show.remind_minutes"),
        (
            "[show]\nlive_template = \"{show} live at {minutes}\"\n",
            "show.live_template",
        ),
        (
            "[show]\nreminder_template = \"soon\"\n",
            "show.reminder_template",
        ),
        (
            "[[targets]]\nname = \"x\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n\
             events = [\"golive\"]\n",
            "targets[0].events",
        ),
        ("not toml at all [", "TOML"),
        (
            "[[hub.relays]]\nname = \"a\"\ntoken = \"same-token-0123456\"\n\
             [[hub.relays]]\nname = \"b\"\ntoken = \"same-token-0123456\"\n",
            "hub.relays",
        ),
        (
            "[hub]\nrelay_tokens = [\"numbered-token-0123\"]\n\
             [[hub.relays]]\nname = \"relay-1\"\ntoken = \"named-token-012345\"\n",
            "relay-1",
        ),
    ];
    for (toml, key) in cases {
        let (code, stderr) = run_with_config(toml);
        assert_eq!(code, Some(2), "{toml:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line for {toml:?}: {stderr:?}");
        assert!(lines[0].contains(key), "{key} in {stderr:?}");
        assert!(!stderr.contains("panicked"));
    }
    // An environment override is checked like the file.
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = Command::new(binary("hub"));
    cmd.env("NTR_SHOW__HOUR", "99").current_dir(dir.path());
    let (code, stderr) = output_within(cmd, Duration::from_secs(20));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("show.hour"), "{stderr}");
    // A --config that does not exist is an error, not silently the defaults.
    let mut cmd = Command::new(binary("hub"));
    cmd.args(["--config", "/nonexistent/ntr.toml"]);
    let (code, stderr) = output_within(cmd, Duration::from_secs(20));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/ntr.toml"));
}

#[test]
fn hash_password_prints_an_argon2id_hash() {
    let mut child = Command::new(binary("hub"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"s3cret pass\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(hub::password::verify("s3cret pass", &hash));
}

pub(crate) fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[tokio::test]
async fn first_start_without_config_generates_and_keeps_secrets() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let start = || {
        Command::new(binary("hub"))
            .current_dir(dir.path())
            .env("NTR_HUB__LISTEN", format!("127.0.0.1:{port}"))
            // Keep the test off the internet: SoundCloud's address is a closed local port.
            .env(
                "NTR_SOUNDCLOUD__API_BASE",
                format!("http://127.0.0.1:{}", free_port()),
            )
            .env(
                "NTR_SOUNDCLOUD__WEB_BASE",
                format!("http://127.0.0.1:{}", free_port()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn hub")
    };
    let child = start();
    wait::until_listening(port, START).await;
    let secrets_path = dir.path().join("data/secrets.toml");
    let text = std::fs::read_to_string(&secrets_path).expect("secrets.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets_path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let admin = text
        .lines()
        .find_map(|l| l.strip_prefix("admin_token = \""))
        .map(|l| l.trim_end_matches('"').to_owned())
        .expect("admin token");
    let http = reqwest::Client::new();
    let announce = |http: reqwest::Client, admin: String| async move {
        http.post(format!("http://127.0.0.1:{port}/admin/announce"))
            .bearer_auth(admin)
            .json(&serde_json::json!({"text": "hello"}))
            .send()
            .await
            .expect("announce")
            .status()
    };
    assert_eq!(announce(http.clone(), admin.clone()).await, 200);
    sigterm(&child);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "SIGTERM is a clean stop");
    let printed = String::from_utf8_lossy(&out.stdout);
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("dashboard_password = \""))
        .map(|l| l.trim_end_matches('"').to_owned())
        .expect("password");
    assert!(
        printed.contains(&format!("Password:  {password}")),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("http://127.0.0.1:{port}/dashboard")),
        "{printed}"
    );

    // The second start reuses the secrets and does not print the password again. The file is
    // read after the first hub stopped: it notes `password_shown` once the password is printed.
    let after_first = std::fs::read_to_string(&secrets_path).expect("secrets");
    assert!(
        after_first.contains("password_shown = true"),
        "{after_first}"
    );
    let child = start();
    wait::until_listening(port, START).await;
    let http = reqwest::Client::new(); // the pooled connection died with the first hub
    assert_eq!(
        announce(http.clone(), admin.clone()).await,
        200,
        "same admin token"
    );
    sigterm(&child);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&password));
    assert_eq!(
        std::fs::read_to_string(&secrets_path).expect("secrets"),
        after_first
    );
}

/// A first start that fails after writing secrets.toml (its port is taken) must not swallow the
/// password: the first start that serves prints it. `hub reset-password` prints a new one.
#[tokio::test]
async fn the_password_is_shown_by_the_first_start_that_serves_and_can_be_reset() {
    let dir = tempfile::tempdir().expect("dir");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("occupy a port");
    let busy_port = busy.local_addr().expect("addr").port();
    let hub = |port: u16, args: &[&str]| {
        let mut cmd = Command::new(binary("hub"));
        cmd.args(args)
            .current_dir(dir.path())
            .env("NTR_HUB__LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "NTR_SOUNDCLOUD__API_BASE",
                format!("http://127.0.0.1:{}", free_port()),
            )
            .env(
                "NTR_SOUNDCLOUD__WEB_BASE",
                format!("http://127.0.0.1:{}", free_port()),
            );
        cmd
    };
    let (code, failed) = output_within(hub(busy_port, &[]), Duration::from_secs(20));
    assert_ne!(code, Some(0), "the port is taken: {failed}");
    assert!(
        !failed.contains("Password:"),
        "not served, not shown: {failed}"
    );
    drop(busy);

    let port = free_port();
    let mut cmd = hub(port, &[]);
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn hub");
    // Serving, not only listening: the port is bound before the password is printed.
    let health = format!("http://127.0.0.1:{port}/health");
    let served = wait::until(START, async || {
        let answer = reqwest::get(&health).await.ok()?;
        answer.status().is_success().then_some(())
    })
    .await;
    assert!(served.is_some(), "the hub did not serve /health");
    sigterm(&child);
    let out = child.wait_with_output().expect("wait");
    let printed = String::from_utf8_lossy(&out.stdout);
    let password = printed
        .lines()
        .find_map(|l| l.strip_prefix("Password:  "))
        .expect("the first serving start prints the password")
        .to_owned();

    let (code, reset) = output_within(hub(port, &["reset-password"]), Duration::from_secs(20));
    assert_eq!(code, Some(0), "{reset}");
    let new = reset
        .lines()
        .find_map(|l| l.strip_prefix("Password:  "))
        .expect("reset-password prints the new password")
        .to_owned();
    assert_ne!(new, password);
    let secrets = std::fs::read_to_string(dir.path().join("data/secrets.toml")).expect("file");
    assert!(secrets.contains(&format!("dashboard_password = \"{new}\"")));
}

#[tokio::test]
async fn kill_9_mid_poll_leaves_a_consistent_database() {
    // A stopped in-process hub lends its config and fake SoundCloud to hub processes.
    let mut hub = TestHub::start().await;
    let (current, previous) = hub.weeks();
    let likes: Vec<FakeLike> = (0..3000)
        .map(|i| FakeLike {
            created_at: plus_hours(
                if i % 2 == 0 {
                    current.start
                } else {
                    previous.start
                },
                1 + i / 60,
            ),
            track: Some(track(i + 1, &format!("T{i}"), "A")),
        })
        .collect();
    hub.soundcloud.set_likes(likes);
    hub.soundcloud.set_page_size(200);
    hub.stop().await;
    let config = hub.write_config();
    let db = hub.data_dir().join("hub.db");

    for (round, delay_ms) in [30u64, 80, 150, 250, 400].into_iter().enumerate() {
        let mut child = spawn_hub(&config);
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        child.kill().expect("kill -9");
        let _ = child.wait();
        let conn = rusqlite_check(&db);
        assert!(conn.0 == "ok", "round {round}: integrity {}", conn.0);
        assert!(
            conn.1 == 0 || conn.1 == 3000,
            "round {round}: a poll is all or nothing, found {}",
            conn.1
        );
    }
    // And the hub comes back on the same files.
    let mut child = spawn_hub(&config);
    wait::until_listening(hub.port, START).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/admin/refresh", hub.url()))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("refresh");
    assert_eq!(r.status(), 200);
    let shows: serde_json::Value = http
        .get(format!("{}/shows", hub.url()))
        .send()
        .await
        .expect("shows")
        .json()
        .await
        .expect("json");
    let total: u64 = shows
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["track_count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, 3000);
    sigterm(&child);
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}

/// (integrity_check result, rows of show membership), read with SQLite itself after the crash.
fn rusqlite_check(db: &std::path::Path) -> (String, i64) {
    let conn = rusqlite::Connection::open(db).expect("open the database after the crash");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    let count: i64 = conn
        .query_row("SELECT COUNT(*) FROM show_tracks", [], |r| r.get(0))
        .unwrap_or(0);
    (integrity, count)
}

#[tokio::test]
async fn a_database_from_a_newer_hub_is_refused_with_exit_2() {
    let mut hub = TestHub::start().await;
    hub.announce_text("written by this hub").await;
    hub.stop().await;
    let config = hub.write_config();
    let db = hub.data_dir().join("hub.db");
    let known = hub::schema_version();
    rusqlite::Connection::open(&db)
        .and_then(|c| c.pragma_update(None, "user_version", known + 3))
        .expect("bump user_version");
    let before = std::fs::read(&db).expect("db");

    let mut cmd = Command::new(binary("hub"));
    cmd.arg("--config").arg(&config);
    let (code, printed) = output_within(cmd, Duration::from_secs(20));
    assert_eq!(code, Some(2), "{printed}");
    let expected = format!(
        "hub: the database at {} is schema {}, newer than this hub's {known}: run a newer hub \
         or restore a backup",
        db.display(),
        known + 3
    );
    assert_eq!(printed.trim_end(), expected);
    assert_eq!(
        std::fs::read(&db).expect("db"),
        before,
        "the file is left alone"
    );
}
