//! Go-live alerts end to end: "We're live" (the endpoint and the first track announce in the
//! live window), once per show week, only to the targets whose `events` name it; reminders at
//! `remind_minutes` before a start (the test's schedule starts minutes from now), once across
//! restarts, late while the show has not started, `expired` after; and a kill -9 in the middle
//! of a live alert's fan-out to every kind of target.

use std::time::Duration;

use e2e::browser::Browser;
use e2e::fake_api::FakeApi;
use e2e::fake_target::{FakeTarget, Reply};
use e2e::hub::{TestHub, TestSchedule};
use e2e::{fake_bluesky, fake_mastodon, fake_ntfy, fake_telegram};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::{
    T, bluesky_toml, discord_toml, mastodon_toml, ntfy_toml, spawn_logged, stop, telegram_toml,
    wait_listening, webhook_toml,
};

/// Ten minutes into an hour-long live window.
pub(crate) fn on_air() -> TestSchedule {
    TestSchedule {
        ago: SignedDuration::from_mins(10),
        ..TestSchedule::default()
    }
}

/// A target block with `events = [...]`.
pub(crate) fn with_events(block: String, events: &[&str]) -> String {
    let list: Vec<String> = events.iter().map(|e| format!("\"{e}\"")).collect();
    format!("{block}events = [{}]\n", list.join(", "))
}

/// `GET /admin/events` as the admin.
async fn events(hub: &TestHub) -> Vec<Value> {
    let (status, body) = hub.get_json_admin("/admin/events").await;
    assert_eq!(status, 200, "{body}");
    body.as_array().cloned().unwrap_or_default()
}

/// Waits (bounded) until `done` holds for `/admin/events`, and returns the list.
pub(crate) async fn wait_events(
    hub: &TestHub,
    limit: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let list = events(hub).await;
        if done(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "events never got there: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether every delivery of every listed alert is `status`.
pub(crate) fn all(list: &[Value], status: &str) -> bool {
    !list.is_empty()
        && list.iter().all(|e| {
            e["deliveries"]
                .as_array()
                .is_some_and(|d| !d.is_empty() && d.iter().all(|r| r["status"] == status))
        })
}

/// `POST /admin/shows/{id}/live` as the admin.
async fn go_live(hub: &TestHub, id: i64) -> (u16, Value) {
    hub.post_admin(&format!("/admin/shows/{id}/live"), json!({}))
        .await
}

/// The id of the show week on air (or being collected).
async fn current_id(hub: &TestHub) -> i64 {
    let (_, show) = hub.get_json("/playlist").await;
    show["id"].as_i64().expect("show id")
}

/// The alerts (`type` set) a webhook fake accepted.
fn alerts_at(hook: &FakeTarget) -> Vec<Value> {
    hook.delivered()
        .into_iter()
        .filter(|b| b["type"] == "live" || b["type"] == "reminder")
        .collect()
}

#[tokio::test]
async fn we_are_live_goes_once_a_week_to_the_targets_that_take_it() {
    let hook = FakeTarget::webhook(None).await;
    let lines = FakeTarget::webhook(None).await;
    let discord = FakeTarget::discord().await;
    let toml = [
        with_events(webhook_toml("hook", &hook.url(), None), &["live"]),
        webhook_toml("lines", &lines.url(), None),
        with_events(
            discord_toml("discord", &discord.url()),
            &["announce", "live"],
        ),
    ]
    .concat();
    let hub = TestHub::start_with(on_air(), &toml).await;
    assert!(events(&hub).await.is_empty());
    let id = current_id(&hub).await;

    let (status, fired) = go_live(&hub, id).await;
    assert_eq!(status, 200, "{fired}");
    assert_eq!(
        (fired["type"].as_str(), fired["show_id"].as_i64()),
        (Some("live"), Some(id))
    );
    let targets: Vec<&str> = fired["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .filter_map(|r| r["target"].as_str())
        .collect();
    assert_eq!(
        targets,
        ["discord", "hook"],
        "only the targets whose events name live"
    );

    let body = hook.wait_delivered(1, T).await.remove(0);
    let page = format!("{}/", hub.url());
    assert_eq!(body["type"], "live");
    assert_eq!(body["show"], "main");
    assert_eq!(body["message"], format!("The show is live now: {page}"));
    assert!(
        body["at"]
            .as_str()
            .is_some_and(|at| at.parse::<Timestamp>().is_ok()),
        "{body}"
    );
    let key = hook.received()[0].headers.get("idempotency-key").cloned();
    assert_eq!(
        key.as_ref().and_then(|k| k.to_str().ok()),
        Some(format!("live-{id}").as_str())
    );

    let (status, again) = go_live(&hub, id).await;
    assert_eq!(status, 409, "{again}");
    assert!(
        again["error"]
            .as_str()
            .is_some_and(|e| e.contains("sent already")),
        "{again}"
    );

    // The first track announce would fire it; this week's was fired, so nothing more goes.
    let seq = hub
        .announce_track("Cinder", "Ash", "https://soundcloud.com/a/c")
        .await;
    lines.wait_delivered(1, T).await;
    discord.wait_delivered(2, T).await;
    let list = wait_events(&hub, T, |l| all(l, "sent")).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(alerts_at(&hook).len(), 1);
    assert!(
        lines.delivered().iter().all(|b| b["seq"] == seq),
        "lines get no alert"
    );
    let contents: Vec<Value> = discord
        .delivered()
        .iter()
        .map(|b| b["content"].clone())
        .collect();
    assert_eq!(
        contents,
        [
            json!(format!("The show is live now: {page}")),
            // Discord would render a `#` as a heading: the hub escapes it.
            json!("Now Playing: Song \\#1: Cinder by Ash - https://soundcloud.com/a/c")
        ]
    );
}

#[tokio::test]
async fn the_first_track_announce_in_the_live_window_fires_live() {
    let hook = FakeTarget::webhook(None).await;
    let toml = with_events(webhook_toml("hook", &hook.url(), None), &["live"]);
    let hub = TestHub::start_with(on_air(), &toml).await;
    hub.announce_text("a free text is no track").await;
    hub.announce_track("One", "A", "https://soundcloud.com/a/1")
        .await;
    hub.announce_track("Two", "B", "https://soundcloud.com/a/2")
        .await;
    let list = wait_events(&hub, T, |l| all(l, "sent")).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["type"], "live");
    assert_eq!(alerts_at(&hook).len(), 1, "{:?}", hook.delivered());
    assert_eq!(hook.delivered().len(), 1, "the hook takes alerts only");
}

#[tokio::test]
async fn no_live_alert_outside_the_live_window() {
    let hook = FakeTarget::webhook(None).await;
    let toml = with_events(webhook_toml("hook", &hook.url(), None), &["live"]);
    let hub = TestHub::start_with(TestSchedule::default(), &toml).await;
    hub.announce_track("Off air", "A", "https://soundcloud.com/a/1")
        .await;
    let (status, body) = go_live(&hub, current_id(&hub).await).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not on air")),
        "{body}"
    );
    let (status, _) = go_live(&hub, 9_999).await;
    assert_eq!(status, 404);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(events(&hub).await.is_empty());
    assert!(hook.received().is_empty());
}

/// The next show start at least two minutes away: the next hour in UTC, or in India (whose
/// hours start at half past, UTC), whichever comes first. Answers the zone and the start.
pub(crate) fn next_start() -> (&'static str, Timestamp) {
    let now = Timestamp::now().as_second();
    let utc = (now / 3600 + 1) * 3600;
    let india = ((now - 1800) / 3600 + 1) * 3600 + 1800;
    let soon = |s: i64| s - now >= 120;
    let (zone, start) = match (soon(utc), soon(india)) {
        (true, true) if india < utc => ("Asia/Kolkata", india),
        (true, _) => ("UTC", utc),
        _ => ("Asia/Kolkata", india),
    };
    (zone, Timestamp::from_second(start).expect("in range"))
}

/// A schedule whose next start is `next_start()`'s, with `show_keys`.
pub(crate) fn starting_at(zone: &'static str, show_keys: String) -> TestSchedule {
    TestSchedule {
        // The week's start is the hour of an hour from now, i.e. the next start.
        ago: SignedDuration::from_mins(-60),
        timezone: zone,
        show_keys: Box::leak(show_keys.into_boxed_str()),
        ..TestSchedule::default()
    }
}

#[tokio::test]
async fn a_reminder_goes_once_at_remind_minutes_across_restarts() {
    let (zone, start) = loop {
        let (zone, start) = next_start();
        // At least a few seconds to restart the hub in before the reminder falls due.
        if start.duration_since(Timestamp::now()).as_secs() % 60 >= 8 {
            break (zone, start);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let minutes = start.duration_since(Timestamp::now()).as_secs() / 60;
    let hook = FakeTarget::webhook(None).await;
    let toml = with_events(webhook_toml("hook", &hook.url(), None), &["reminder"]);
    let schedule = starting_at(zone, format!("remind_minutes = {minutes}\n"));
    let mut hub = TestHub::start_with(schedule, &toml).await;
    hub.restart().await;
    assert!(hook.received().is_empty(), "not yet due");

    let body = hook
        .wait_delivered(1, Duration::from_secs(90))
        .await
        .remove(0);
    let fired_at = Timestamp::now();
    assert!(
        fired_at >= start - SignedDuration::from_mins(minutes),
        "not early"
    );
    assert_eq!(body["type"], "reminder");
    let message = body["message"].as_str().expect("message");
    assert_eq!(
        message,
        format!("The show starts in {minutes} minutes: {}/", hub.url())
    );
    hub.restart().await;
    let list = wait_events(&hub, T, |l| all(l, "sent")).await;
    assert_eq!(list.len(), 1, "{list:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(hook.received().len(), 1, "once, restarts included");
}

#[tokio::test]
async fn a_late_reminder_goes_while_the_show_has_not_started() {
    let (zone, start) = next_start();
    let hook = FakeTarget::webhook(None).await;
    let toml = with_events(webhook_toml("hook", &hook.url(), None), &["reminder"]);
    // Due minutes ago, as for a hub that was down at reminder time.
    let schedule = starting_at(zone, "remind_minutes = 90\n".into());
    let hub = TestHub::start_with(schedule, &toml).await;
    let body = hook.wait_delivered(1, T).await.remove(0);
    let left = start.duration_since(Timestamp::now()).as_secs();
    let message = body["message"].as_str().expect("message");
    // The minutes it really is, not the 90 configured.
    let said: i64 = message
        .trim_start_matches("The show starts in ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{message}"));
    assert!(
        (left / 60..=left / 60 + 1).contains(&said),
        "{message}, {left} s left"
    );
    wait_events(&hub, T, |l| all(l, "sent")).await;
}

#[tokio::test]
async fn a_reminder_missed_until_the_show_started_is_expired() {
    let hook = FakeTarget::webhook(None).await;
    let toml = with_events(webhook_toml("hook", &hook.url(), None), &["reminder"]);
    let hub = TestHub::start_with(on_air(), &toml).await;
    let list = wait_events(&hub, T, |l| all(l, "failed")).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["type"], "reminder");
    let row = &list[0]["deliveries"][0];
    assert_eq!(
        (row["target"].as_str(), row["last_error"].as_str()),
        (Some("hook"), Some("expired"))
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        hook.received().is_empty(),
        "an expired reminder is never sent"
    );
}

/// Each API fake and the path its posts arrive at.
struct Apis {
    mastodon: FakeApi,
    bluesky: FakeApi,
    telegram: FakeApi,
    ntfy: FakeApi,
}

impl Apis {
    async fn start() -> Apis {
        Apis {
            mastodon: fake_mastodon::start().await,
            bluesky: fake_bluesky::start().await,
            telegram: fake_telegram::start().await,
            ntfy: fake_ntfy::start().await,
        }
    }

    fn toml(&self) -> String {
        let live = |block: String| with_events(block, &["live"]);
        [
            live(mastodon_toml(
                "mastodon",
                &self.mastodon.base(),
                fake_mastodon::MASTODON_TOKEN,
            )),
            live(bluesky_toml(
                "bluesky",
                &self.bluesky.base(),
                fake_bluesky::BLUESKY_HANDLE,
                fake_bluesky::BLUESKY_APP_PASSWORD,
            )),
            live(telegram_toml(
                "telegram",
                &self.telegram.base(),
                fake_telegram::TELEGRAM_TOKEN,
                fake_telegram::TELEGRAM_CHAT,
            )),
            live(ntfy_toml(
                "ntfy",
                &format!("{}/radio", self.ntfy.base()),
                fake_ntfy::NTFY_TOKEN,
            )),
        ]
        .concat()
    }

    /// `(name, accepted posts)` per fake.
    fn posts(&self) -> Vec<(&'static str, Vec<e2e::fake_api::Received>)> {
        vec![
            ("mastodon", self.mastodon.accepted("/api/v1/statuses")),
            ("bluesky", self.bluesky.accepted(fake_bluesky::RECORD_PATH)),
            ("telegram", self.telegram.accepted("/sendMessage")),
            ("ntfy", self.ntfy.accepted("/radio")),
        ]
    }
}

#[tokio::test]
async fn kill_9_mid_fan_out_sends_the_live_alert_once_per_target() {
    let apis = Apis::start().await;
    let discord = FakeTarget::discord().await;
    let hook = FakeTarget::webhook(None).await;
    // The webhook hangs, so the hub is killed with that send open (and any other in flight).
    hook.script([Reply::Hang]);
    let toml = [
        apis.toml(),
        with_events(discord_toml("discord", &discord.url()), &["live"]),
        with_events(webhook_toml("hook", &hook.url(), None), &["live"]),
    ]
    .concat();
    let mut template = TestHub::start_with(on_air(), &toml).await;
    let id = current_id(&template).await;
    template.stop().await;
    let config = template.write_config();
    let hub = template;

    let mut process = spawn_logged(&config, None);
    wait_listening(&hub).await;
    let (status, body) = go_live(&hub, id).await;
    assert_eq!(status, 200, "{body}");
    hook.wait_until(T, "the webhook send hanging", |h| h.hanging() == 1)
        .await;
    process.kill().expect("kill -9");
    let _ = process.wait();

    let mut process = spawn_logged(&config, None);
    wait_listening(&hub).await;
    let list = wait_events(&hub, T, |l| all(l, "sent")).await;
    assert_eq!(
        list[0]["deliveries"].as_array().map(Vec::len),
        Some(6),
        "{list:?}"
    );
    // A second press after the restart: still this week's one alert.
    assert_eq!(go_live(&hub, id).await.0, 409);
    stop(&mut process).await;

    // Kinds with an idempotency key made one post; the others at most one repeat, counted.
    let key = format!("live-{id}");
    assert!(
        apis.mastodon
            .received()
            .iter()
            .all(|r| r.header("idempotency-key") == Some(key.as_str())),
        "every Mastodon attempt carries the alert's key"
    );
    let made: std::collections::HashSet<_> = apis
        .mastodon
        .accepted("/api/v1/statuses")
        .iter()
        .filter_map(|r| r.header("idempotency-key").map(str::to_owned))
        .collect();
    assert_eq!(made.len(), 1, "one Mastodon status, whatever was repeated");
    assert_eq!(
        alerts_at(&hook).len(),
        1,
        "the webhook: the hung send was never accepted"
    );
    let mut repeats = 0;
    for (name, posts) in apis.posts() {
        assert!(
            (1..=2).contains(&posts.len()),
            "{name}: {} posts",
            posts.len()
        );
        repeats += posts.len() - 1;
    }
    let discord_posts = discord.delivered().len();
    assert!((1..=2).contains(&discord_posts), "discord: {discord_posts}");
    repeats += discord_posts - 1;
    println!("kill -9 mid fan-out: {repeats} repeated sends across 6 targets");
}

/// The console's "We're live" in Chromium: offered while the show is on air, one click sends
/// the alert and turns the button into "Live alert sent"; the Targets panel shows it. Looked at
/// on a phone and a desktop.
#[tokio::test]
async fn the_console_button_sends_the_live_alert_once() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let hook = FakeTarget::webhook(None).await;
    let lines = FakeTarget::webhook(None).await;
    let toml = [
        with_events(
            webhook_toml("hook", &hook.url(), None),
            &["live", "reminder"],
        ),
        webhook_toml("lines", &lines.url(), None),
    ]
    .concat();
    let hub = TestHub::start_with(on_air(), &toml).await;
    browser
        .or_screenshot(&format!("go-live-{}", hub.port), async {
            browser.log_in(&hub.url(), T).await;
            let button = browser.wait_for_text("#go-live", "We're live", T).await;
            assert!(button.contains("We're live"), "{button}");
            browser
                .screenshots("#now-next", ["go-live-375", "go-live-1280"])
                .await;
            browser.click("#go-live").await;
            browser
                .wait_for_text("#go-live-sent", "Live alert sent", T)
                .await;
            hook.wait_delivered(1, T).await;
            let panel = browser
                .wait_for_text("#targets tr[data-target='hook']", "live: sent", T)
                .await;
            assert!(panel.contains("alerts only"), "{panel}");
            assert!(panel.contains("reminder: "), "{panel}");
            browser
                .screenshots("#targets", ["alerts-panel-375", "alerts-panel-1280"])
                .await;
            // Drawn by the server after a reload: the time it went, no button.
            browser.reload().await;
            browser
                .wait_for_text("#go-live-sent", "Live alert sent at", T)
                .await;
            assert_eq!(
                browser
                    .eval("return !!document.getElementById('go-live')")
                    .await,
                json!(false)
            );
        })
        .await;
    assert_eq!(alerts_at(&hook).len(), 1);
    assert!(
        lines.received().is_empty(),
        "the announce-only target got no alert"
    );
}
