//! What operators and the DJ see of targets: start-up validation of `[[targets]]`,
//! `GET /admin/deliveries`, `GET /admin/targets`, the dashboard's Targets panel, `/metrics`,
//! and that no secret ever shows up in any of them or in the hub's log.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::binaries::binary;
use e2e::browser::{Browser, PHONE};
use e2e::fake_target::{DISCORD_ID, DISCORD_TOKEN, FakeTarget};
use e2e::hub::{TestHub, TestSchedule, login};
use e2e::net::free_port;
use serde_json::{Value, json};

use crate::support::{
    self, T, announce, deliveries, discord_toml, spawn_logged, stop, wait_listening, wait_row,
    wait_status, webhook_toml,
};

/// Runs the hub on `toml` and expects it to refuse to start.
fn start_refused(toml: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("c.toml");
    std::fs::write(&path, toml).expect("write config");
    let mut child = Command::new(binary("hub"))
        .arg("--config")
        .arg(&path)
        .env("NTR_HUB__DATA_DIR", dir.path().join("data"))
        .env("NTR_HUB__LISTEN", format!("127.0.0.1:{}", free_port()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hub");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
            }
            return (status.code(), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the hub started with {toml:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bad_targets_stop_the_start_with_exit_2_and_one_line_naming_the_key() {
    let hook =
        "[[targets]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"https://example.org/h\"\n";
    let cases = [
        (
            "[[targets]]\nname = \"x\"\nkind = \"pager\"\n".to_string(),
            "targets[0].kind",
        ),
        (
            "[[targets]]\nname = \"m\"\nkind = \"matrix\"\nhomeserver = \"https://m.org\"\naccess_token = \"t\"\n".into(),
            "targets[0].room_id",
        ),
        (format!("{hook}{hook}"), "targets[1].name"),
        (
            "[[targets]]\nname = \"d\"\nkind = \"discord\"\nurl = \"not a url\"\n".into(),
            "targets[0].url",
        ),
        (
            "[[targets]]\nname = \"s\"\nkind = \"icecast\"\nurl = \"http://127.0.0.1:8010\"\nmount = \"/live.mp3\"\n".into(),
            "targets[0].password",
        ),
    ];
    for (toml, key) in cases {
        let (code, stderr) = start_refused(&toml);
        assert_eq!(code, Some(2), "{toml:?}: {stderr}");
        assert!(stderr.contains(key), "{toml:?} gave {stderr:?}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    }
}

#[tokio::test]
async fn deliveries_answers_one_object_per_target_and_404_for_an_unknown_seq() {
    let discord = FakeTarget::discord().await;
    let off = "[[targets]]\nname = \"off\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nenabled = false\n";
    let toml = format!("{}{off}", discord_toml("discord", &discord.url()));
    let hub = TestHub::start_with(TestSchedule::default(), &toml).await;
    let seq = hub.announce_text("where did it land").await;
    let row = wait_status(&hub, seq, "discord", "sent", T).await;
    let keys: Vec<&str> = row
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "attempts",
            "last_error",
            "latency_ms",
            "status",
            "stream_title",
            "target",
            "updated_at",
            "verified"
        ]
    );
    let read_back = (&row["verified"], &row["stream_title"]);
    assert_eq!(
        read_back,
        (&Value::Null, &Value::Null),
        "not read back: {row}"
    );
    let (_, all) = deliveries(&hub, seq).await;
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(1),
        "a disabled target sends nothing: {all}"
    );
    assert!(discord.delivered().len() == 1);

    assert_eq!(deliveries(&hub, seq + 100).await.0, 404);
    let (cookie, _) = login(&hub.http, &hub.url()).await;
    let path = format!("/admin/deliveries?seq={seq}");
    for (path, auth, status) in [
        ("/admin/deliveries", Auth::Admin, 400),
        ("/admin/deliveries?seq=abc", Auth::Admin, 400),
        ("/admin/deliveries?seq=-1", Auth::Admin, 400),
        (path.as_str(), Auth::None, 401),
        (path.as_str(), Auth::Cookie(&cookie), 200),
    ] {
        assert_eq!(get(&hub, path, auth).await.0, status, "{path}");
    }
}

/// How a test request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Admin,
    Cookie(&'a str),
}

/// `GET path` on the hub: the status and the body.
async fn get(hub: &TestHub, path: &str, auth: Auth<'_>) -> (u16, String) {
    let req = hub.http.get(format!("{}{path}", hub.url()));
    let req = match auth {
        Auth::None => req,
        Auth::Admin => hub.admin(req),
        Auth::Cookie(c) => req.header("cookie", c),
    };
    let resp = req.send().await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

#[tokio::test]
async fn a_failing_target_shows_its_error_on_the_dashboard() {
    let discord = FakeTarget::discord().await;
    let wrong = discord.url().replace(DISCORD_TOKEN, "not-the-token");
    let hook = FakeTarget::webhook(None).await;
    let toml = format!(
        "{}{}",
        discord_toml("discord", &wrong),
        webhook_toml("hook", &hook.url(), None)
    );
    let hub = TestHub::start_with(TestSchedule::default(), &toml).await;
    let seq = hub
        .announce_track("Track", "Artist", "https://soundcloud.com/t/a")
        .await;
    wait_status(&hub, seq, "discord", "failed", T).await;
    wait_status(&hub, seq, "hook", "sent", T).await;

    let (cookie, _) = login(&hub.http, &hub.url()).await;
    let (_, body) = get(&hub, "/admin/targets", Auth::Cookie(&cookie)).await;
    let targets: Value = serde_json::from_str(&body).expect("json");
    let discord_view = &targets[0];
    assert_eq!(discord_view["name"], "discord");
    assert_eq!(discord_view["failed"], 1);
    assert_eq!(discord_view["last"]["status"], "failed");
    assert_eq!(
        discord_view["problems"][0]["last_error"],
        "401 Unauthorized: Invalid Webhook Token"
    );
    assert_eq!(discord_view["problems"][0]["seq"], seq);
    assert_eq!(targets[1]["last"]["status"], "sent");
    assert_eq!(targets[1]["problems"], json!([]));

    let (_, page) = get(&hub, "/dashboard", Auth::Cookie(&cookie)).await;
    assert!(page.contains("id=\"targets\""), "the panel is rendered");
    assert!(
        page.contains(&format!(
            "failed #{seq}: 401 Unauthorized: Invalid Webhook Token"
        )),
        "the panel shows the error"
    );
    // The track's row says where it landed: the webhook acked it.
    assert!(page.contains("→ hook"), "landed marks come from the acks");
    in_the_browser(&hub, seq).await;
}

/// The same in Chromium: the panel, and under the track the failing target's error, which
/// the panel's script draws from `/admin/targets`. Screenshots at both widths.
async fn in_the_browser(hub: &TestHub, seq: u64) {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let row = format!("tr[data-seq='{seq}']");
    browser
        .or_screenshot(&format!("targets-failure-{}", hub.port), async {
            browser.log_in(&hub.url(), T).await;
            let problem = "discord: 401 Unauthorized: Invalid Webhook Token";
            let marks = browser
                .wait_for_text(&format!("{row} .delivery-problems"), problem, T)
                .await;
            assert!(marks.starts_with('⚠'), "{marks}");
            let landed = browser.text(&format!("{row} .landed-to")).await;
            assert_eq!(landed.trim(), "→ hook");
            let panel = browser.text("#targets tr[data-target='discord']").await;
            assert!(panel.contains(&format!("failed #{seq}: 401")), "{panel}");
        })
        .await;
    // On a phone the panel must not hide its counts off to the side.
    browser.set_viewport(PHONE).await;
    let sideways = "const box = document.querySelector('#targets .overflow-auto'); \
                    return box.scrollWidth > box.clientWidth";
    assert_eq!(
        browser.eval(sideways).await,
        json!(false),
        "the panel scrolls sideways"
    );
    browser
        .screenshots(&row, ["targets-375", "targets-1280"])
        .await;
    browser
        .screenshots("#targets", ["targets-panel-375", "targets-panel-1280"])
        .await;
}

#[tokio::test]
async fn secrets_never_reach_answers_metrics_or_the_log() {
    let discord = FakeTarget::discord().await;
    let token = "wrong-token-the-log-must-not-show";
    let wrong = discord.url().replace(DISCORD_TOKEN, token);
    let secrets = [
        token,
        "hmac-secret-never-shown",
        "query-key-never-shown",
        "matrix-token-never-shown",
        "icecast-password-never-shown",
    ];
    let toml = every_kind_toml(&wrong, free_port(), &secrets);
    let mut template = TestHub::start_with(TestSchedule::default(), &toml).await;
    template.stop().await;
    let config = template.write_config();
    let log = template.data_dir().join("hub.log");
    let mut child = spawn_logged(&config, Some(&log));
    let hub = template;
    wait_listening(&hub).await;

    let seq = announce(&hub, "secret test").await;
    wait_status(&hub, seq, "discord", "failed", T).await;
    for name in ["hook", "matrix", "stream"] {
        wait_row(&hub, seq, name, T, |r| r["last_error"].is_string()).await;
    }
    let (cookie, _) = login(&hub.http, &hub.url()).await;
    let mut seen = String::new();
    for path in [
        format!("/admin/deliveries?seq={seq}"),
        "/admin/targets".into(),
        "/metrics".into(),
        "/dashboard".into(),
    ] {
        seen.push_str(&get(&hub, &path, Auth::Cookie(&cookie)).await.1);
    }
    stop(&mut child).await;
    let log_text = std::fs::read_to_string(&log).expect("read the log");
    for secret in secrets {
        assert!(!seen.contains(secret), "{secret} in an answer");
        assert!(!log_text.contains(secret), "{secret} in the log");
    }
    assert!(
        seen.contains("401 Unauthorized"),
        "the error itself is shown"
    );
    assert!(
        log_text.contains("401 Unauthorized"),
        "the log has the failure: {log_text}"
    );
    assert!(
        log_text.contains(&format!("/…/webhooks/{DISCORD_ID}/***")),
        "the Discord URL is logged redacted: {log_text}"
    );
}

/// One target of each kind, holding `secrets` (token, HMAC secret, URL key, access token,
/// password); every one but Discord points at a closed port.
fn every_kind_toml(discord_url: &str, closed: u16, secrets: &[&str; 5]) -> String {
    format!(
        "{}{}[[targets]]\nname = \"matrix\"\nkind = \"matrix\"\nhomeserver = \"http://127.0.0.1:{closed}\"\n\
         room_id = \"!room:localhost\"\naccess_token = \"{}\"\n\
         [[targets]]\nname = \"stream\"\nkind = \"icecast\"\nurl = \"http://127.0.0.1:{closed}\"\n\
         mount = \"/live.mp3\"\npassword = \"{}\"\n",
        discord_toml("discord", discord_url),
        webhook_toml(
            "hook",
            &format!("http://127.0.0.1:{closed}/hook?key={}", secrets[2]),
            Some(secrets[1])
        ),
        secrets[3],
        secrets[4],
    )
}

#[tokio::test]
async fn the_new_kinds_keep_their_secrets_out_of_answers_metrics_and_the_log() {
    let mastodon = e2e::fake_mastodon::start().await;
    let bluesky = e2e::fake_bluesky::start().await;
    let telegram = e2e::fake_telegram::start().await;
    let ntfy = e2e::fake_ntfy::start().await;
    // Wrong credentials everywhere, so every kind fails and writes an error; the Telegram
    // token also goes to a closed port, whose network error would carry the URL.
    let secrets = [
        "mastodon-token-the-log-must-not-show",
        "bluesky-app-password-not-shown",
        "4242:telegram-token-not-shown",
        "5353:telegram-token-closed-port",
        "tk_ntfy-token-not-shown",
    ];
    let toml = [
        support::mastodon_toml("mastodon", &mastodon.base(), secrets[0]),
        support::bluesky_toml("bluesky", &bluesky.base(), "station.bsky.test", secrets[1]),
        support::telegram_toml("telegram", &telegram.base(), secrets[2], -100),
        support::telegram_toml(
            "telegram-down",
            &format!("http://127.0.0.1:{}", free_port()),
            secrets[3],
            -100,
        ),
        support::ntfy_toml("push", &format!("{}/topic", ntfy.base()), secrets[4]),
    ]
    .concat();
    let mut template = TestHub::start_with(TestSchedule::default(), &toml).await;
    template.stop().await;
    let config = template.write_config();
    let log = template.data_dir().join("hub.log");
    let mut child = spawn_logged(&config, Some(&log));
    let hub = template;
    wait_listening(&hub).await;

    let seq = announce(&hub, "secret test").await;
    for name in ["mastodon", "bluesky", "telegram", "push"] {
        wait_status(&hub, seq, name, "failed", T).await;
    }
    wait_row(&hub, seq, "telegram-down", T, |r| {
        r["last_error"].is_string()
    })
    .await;
    let (cookie, _) = login(&hub.http, &hub.url()).await;
    let mut seen = String::new();
    for path in [
        format!("/admin/deliveries?seq={seq}"),
        "/admin/targets".into(),
        "/metrics".into(),
        "/dashboard".into(),
    ] {
        seen.push_str(&get(&hub, &path, Auth::Cookie(&cookie)).await.1);
    }
    let (_, targets) = get(&hub, "/admin/targets", Auth::Admin).await;
    stop(&mut child).await;
    let log_text = std::fs::read_to_string(&log).expect("read the log");
    for secret in secrets {
        assert!(!seen.contains(secret), "{secret} in an answer");
        assert!(!log_text.contains(secret), "{secret} in the log");
    }
    let targets: Value = serde_json::from_str(&targets).expect("targets JSON");
    let kinds: Vec<&str> = targets
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|t| t["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["mastodon", "bluesky", "telegram", "telegram", "ntfy"],
        "listed like the others: {targets}"
    );
    assert!(
        seen.contains("createSession: 401 Unauthorized"),
        "the error itself is shown"
    );
    assert!(
        log_text.contains("/bot***/sendMessage"),
        "the Telegram endpoint is logged redacted: {log_text}"
    );
}
