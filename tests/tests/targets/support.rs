//! Helpers shared by the target tests: config blocks and waiting for the delivery ledger.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use e2e::binaries::binary;
use e2e::hub::TestHub;
use serde_json::{Value, json};
use tokio::time::Instant;

pub const T: Duration = Duration::from_secs(20);

pub fn discord_toml(name: &str, url: &str) -> String {
    format!("[[targets]]\nname = \"{name}\"\nkind = \"discord\"\nurl = \"{url}\"\n")
}

pub fn webhook_toml(name: &str, url: &str, secret: Option<&str>) -> String {
    let secret = secret
        .map(|s| format!("secret = \"{s}\"\n"))
        .unwrap_or_default();
    format!("[[targets]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"{url}\"\n{secret}")
}

/// `GET /admin/deliveries?seq=N` as the admin.
pub async fn deliveries(hub: &TestHub, seq: u64) -> (u16, Value) {
    let resp = hub
        .admin(
            hub.http
                .get(format!("{}/admin/deliveries?seq={seq}", hub.url())),
        )
        .send()
        .await
        .expect("GET /admin/deliveries");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The ledger row of `target` for `seq`.
pub async fn row(hub: &TestHub, seq: u64, target: &str) -> Value {
    let (status, body) = deliveries(hub, seq).await;
    assert_eq!(status, 200, "deliveries: {body}");
    body.as_array()
        .and_then(|rows| rows.iter().find(|r| r["target"] == target).cloned())
        .unwrap_or(Value::Null)
}

/// Waits until the row of `target` for `seq` has `status` (`sent`, `failed`, `pending`) and
/// returns it; panics with the last row seen after `limit`.
pub async fn wait_status(
    hub: &TestHub,
    seq: u64,
    target: &str,
    status: &str,
    limit: Duration,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let r = row(hub, seq, target).await;
        if r["status"] == status {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "seq {seq} to {target}: not {status} within {limit:?}; last row {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `check` holds for the row, e.g. "has an error and is still pending".
pub async fn wait_row(
    hub: &TestHub,
    seq: u64,
    target: &str,
    limit: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let r = row(hub, seq, target).await;
        if check(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "seq {seq} to {target}: condition not met within {limit:?}; last row {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `/metrics` value of `announce_deliveries_total` for a target and outcome.
pub async fn delivery_metric(hub: &TestHub, target: &str, outcome: &str) -> u64 {
    let text = hub.metrics().await;
    let needle = format!("announce_deliveries_total{{target=\"{target}\",outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&needle))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {needle} in /metrics:\n{text}"))
}

/// Starts the hub binary on `config`; its output (the log, and any error) goes to `log`, or
/// nowhere.
pub fn spawn_logged(config: &Path, log: Option<&Path>) -> Child {
    let (stdout, stderr) = match log {
        Some(path) => {
            let file = std::fs::File::create(path).expect("log file");
            let copy = file.try_clone().expect("log file handle");
            (Stdio::from(file), Stdio::from(copy))
        }
        None => (Stdio::null(), Stdio::null()),
    };
    Command::new(binary("hub"))
        .arg("--config")
        .arg(config)
        .env(
            "RUST_LOG",
            "debug,hyper=info,hyper_util=info,reqwest=info,rustls=info",
        )
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("spawn hub")
}

/// Waits (bounded) until the hub at `hub.url()` answers.
pub async fn wait_listening(hub: &TestHub) {
    let deadline = Instant::now() + T;
    while Instant::now() < deadline {
        if hub
            .http
            .get(format!("{}/health", hub.url()))
            .send()
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the hub did not come up");
}

/// `POST /admin/announce` of a free text, against whatever hub listens at `hub.url()`.
pub async fn announce(hub: &TestHub, text: &str) -> u64 {
    let resp = hub
        .admin(hub.http.post(format!("{}/admin/announce", hub.url())))
        .json(&json!({ "text": text }))
        .send()
        .await
        .expect("announce");
    let body: Value = resp.json().await.expect("json");
    body["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq: {body}"))
}

/// SIGTERM, then waits (bounded) for the exit, so the log is complete.
pub async fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub fn mastodon_toml(name: &str, instance: &str, token: &str) -> String {
    format!(
        "[[targets]]\nname = \"{name}\"\nkind = \"mastodon\"\ninstance = \"{instance}\"\n\
         access_token = \"{token}\"\n"
    )
}

pub fn bluesky_toml(name: &str, pds: &str, handle: &str, app_password: &str) -> String {
    format!(
        "[[targets]]\nname = \"{name}\"\nkind = \"bluesky\"\npds = \"{pds}\"\nhandle = \"{handle}\"\n\
         app_password = \"{app_password}\"\n"
    )
}

pub fn telegram_toml(name: &str, api_base: &str, token: &str, chat_id: i64) -> String {
    format!(
        "[[targets]]\nname = \"{name}\"\nkind = \"telegram\"\napi_base = \"{api_base}\"\n\
         bot_token = \"{token}\"\nchat_id = {chat_id}\n"
    )
}

pub fn ntfy_toml(name: &str, url: &str, token: &str) -> String {
    format!(
        "[[targets]]\nname = \"{name}\"\nkind = \"ntfy\"\nurl = \"{url}\"\ntoken = \"{token}\"\n"
    )
}

/// The ledger's `(attempts, due_at)` of a row: after a retry, `due_at` is the time the retry
/// was scheduled for (a later send leaves it as it was).
pub fn ledger_due(hub: &TestHub, seq: u64, target: &str) -> (i64, jiff::Timestamp) {
    let db = rusqlite::Connection::open_with_flags(
        hub.data_dir().join("hub.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the ledger");
    let (attempts, due_ms): (i64, i64) = db
        .query_row(
            "SELECT attempts, due_at FROM deliveries WHERE seq = ?1 AND target = ?2",
            rusqlite::params![seq as i64, target],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the ledger row");
    let due = jiff::Timestamp::from_millisecond(due_ms).expect("a time");
    (attempts, due)
}

/// A 3,000-character line of multi-byte text (the hub keeps its first 2,048 bytes).
pub fn long_text() -> String {
    "Ünïcödé 日本 ".chars().cycle().take(3000).collect()
}

/// A line longer than Mastodon's and Bluesky's limits, with multi-byte text before its URL.
pub fn long_line_with_url(url: &str) -> String {
    format!("Now Playing: {} by Björk - {url}", "ö".repeat(700))
}
