//! A real hub for tests: the library's own `Application`, in-process, on a free 127.0.0.1 port
//! with a fresh data directory and a [`FakeSoundcloud`]. `restart()` keeps the port and the
//! data, like restarting the service; `config_toml()` gives the same settings to a hub process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use figment::Figment;
use figment::providers::{Format, Toml};
use hub::AppState;
use hub::Config;
use hub::RetryPolicy;
use hub::Timeouts;
use hub::Timings;
use hub::shutdown::{self, Trigger};
use hub::{Application, Options};
use jiff::{SignedDuration, Timestamp, ToSpan};
use ntr_protocol::Seq;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::binaries::binary;
use crate::fake_soundcloud::{self, FakeSoundcloud};
use crate::net::free_port;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";
pub const RELAY_TOKEN: &str = "test-relay-token-0123456789abcdef";
pub const USERNAME: &str = "dj";
pub const PASSWORD: &str = "correct horse battery";
pub const SECRET_KEY: &str = "test-secret-key-that-is-at-least-32-bytes";

/// The argon2 hash of [`PASSWORD`], computed once per test binary.
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hub::password::hash(PASSWORD).expect("hash the test password"))
}

/// A weekly schedule in `timezone` whose current week started `ago` before now (to the hour);
/// the live window is `live_minutes` long. Tests pick `ago` to be inside or outside the live
/// window on purpose.
#[derive(Debug, Clone, Copy)]
pub struct TestSchedule {
    pub ago: SignedDuration,
    pub live_minutes: i64,
    /// An IANA zone name.
    pub timezone: &'static str,
    /// More keys of the show's table (`hold_seconds = 5\n`, …).
    pub show_keys: &'static str,
}

impl Default for TestSchedule {
    /// Three days into the week, far from the live window.
    fn default() -> Self {
        TestSchedule {
            ago: SignedDuration::from_hours(72),
            live_minutes: 60,
            timezone: "UTC",
            show_keys: "",
        }
    }
}

impl TestSchedule {
    /// The `[show]` table of a one-show hub.
    fn toml(&self) -> String {
        format!("[show]\n{}", self.keys())
    }

    /// `timezone`, `day`, `hour` and `duration_minutes` for this schedule.
    fn keys(&self) -> String {
        let start = Timestamp::now() - self.ago;
        let tz = jiff::tz::TimeZoneDatabase::bundled()
            .get(self.timezone)
            .expect("a time zone of the bundled database");
        let z = start.to_zoned(tz);
        // Shows start on the hour, so the week really started up to 59 minutes before `start`:
        // the live window grows by as much, and ends `live_minutes` after `start` whatever the
        // minute of the clock (else a test meant to be on air failed in the first minutes of
        // each hour). Zones the tests use are whole hours from UTC.
        let into_hour =
            i64::from(z.minute()) + i64::from(z.second() > 0 || z.subsec_nanosecond() > 0);
        format!(
            "timezone = \"{}\"\nday = \"{}\"\nhour = {}\nduration_minutes = {}\n{}",
            self.timezone,
            format!("{:?}", z.weekday()).to_lowercase(),
            z.hour(),
            self.live_minutes + into_hour,
            self.show_keys
        )
    }
}

/// One `[[shows]]` block of a test station: a `manual` show (nothing polled; tests add
/// records) on `schedule`. The shows of one station must not overlap: give them schedules
/// whose live windows are days apart.
#[derive(Debug, Clone, Copy)]
pub struct TestShow {
    pub slug: &'static str,
    pub title: &'static str,
    pub schedule: TestSchedule,
}

impl TestShow {
    fn toml(&self) -> String {
        format!(
            "[[shows]]\nslug = \"{}\"\ntitle = \"{}\"\nsource = \"manual\"\n{}",
            self.slug,
            self.title,
            self.schedule.keys()
        )
    }
}

/// Two shows in different time zones, neither on air (so a free text without a show is
/// station-wide): `a` ("Show A", Berlin) went live two days ago, `b` ("Show B", New York)
/// three days ago, each for an hour. A test that needs one on air changes its `schedule.ago`.
pub fn two_shows() -> Vec<TestShow> {
    vec![
        TestShow {
            slug: "a",
            title: "Show A",
            schedule: TestSchedule {
                ago: SignedDuration::from_hours(48),
                timezone: "Europe/Berlin",
                ..TestSchedule::default()
            },
        },
        TestShow {
            slug: "b",
            title: "Show B",
            schedule: TestSchedule {
                timezone: "America/New_York",
                ..TestSchedule::default()
            },
        },
    ]
}

pub struct TestHub {
    pub soundcloud: FakeSoundcloud,
    pub http: reqwest::Client,
    pub port: u16,
    dir: TempDir,
    schedule: TestSchedule,
    /// `[[shows]]` blocks; empty: the one `[show]` of `schedule`.
    shows: Vec<TestShow>,
    extra_toml: String,
    /// More keys of the `[hub]` table (`trusted_proxies = […]\n`, …).
    hub_keys: String,
    timeouts: Timeouts,
    target_timings: Timings,
    running: Option<(Trigger, tokio::task::JoinHandle<()>, AppState)>,
}

/// Delivery timings for `[[targets]]` in tests: quick retries, a short request timeout and a
/// give-up time a test can wait out.
pub fn test_target_timings() -> Timings {
    Timings {
        give_up_after: std::time::Duration::from_secs(30),
        request_timeout: std::time::Duration::from_secs(2),
        retry_base: std::time::Duration::from_millis(100),
        retry_max: std::time::Duration::from_millis(500),
    }
}

impl TestHub {
    pub async fn start() -> TestHub {
        Self::start_with(TestSchedule::default(), "").await
    }

    /// `extra_toml` is appended to the generated config (later keys win in sections it adds).
    pub async fn start_with(schedule: TestSchedule, extra_toml: &str) -> TestHub {
        Self::start_tuned(schedule, extra_toml, Timeouts::default()).await
    }

    /// Like [`TestHub::start_with`], with request head and idle limits of the test's choosing.
    pub async fn start_tuned(
        schedule: TestSchedule,
        extra_toml: &str,
        timeouts: Timeouts,
    ) -> TestHub {
        Self::start_full(schedule, extra_toml, timeouts, test_target_timings()).await
    }

    /// A station of `shows` (`[[shows]]` blocks instead of `[show]`), with `extra_toml`.
    pub async fn start_station(shows: Vec<TestShow>, extra_toml: &str) -> TestHub {
        let mut hub = Self::unstarted(
            TestSchedule::default(),
            extra_toml,
            Timeouts::default(),
            test_target_timings(),
        )
        .await;
        hub.shows = shows;
        hub.launch().await;
        hub
    }

    /// The default hub with more keys in its `[hub]` table (`hub_keys`, each line ended by
    /// `\n`), such as `trusted_proxies` for a hub behind a proxy.
    pub async fn start_with_hub_keys(hub_keys: &str) -> TestHub {
        let mut hub = Self::unstarted(
            TestSchedule::default(),
            "",
            Timeouts::default(),
            test_target_timings(),
        )
        .await;
        hub.hub_keys = hub_keys.into();
        hub.launch().await;
        hub
    }

    /// Like [`TestHub::start_with`], with the targets' delivery timings chosen by the test.
    pub async fn start_with_timings(
        schedule: TestSchedule,
        extra_toml: &str,
        target_timings: Timings,
    ) -> TestHub {
        Self::start_full(schedule, extra_toml, Timeouts::default(), target_timings).await
    }

    async fn start_full(
        schedule: TestSchedule,
        extra_toml: &str,
        timeouts: Timeouts,
        target_timings: Timings,
    ) -> TestHub {
        let mut hub = Self::unstarted(schedule, extra_toml, timeouts, target_timings).await;
        hub.launch().await;
        hub
    }

    async fn unstarted(
        schedule: TestSchedule,
        extra_toml: &str,
        timeouts: Timeouts,
        target_timings: Timings,
    ) -> TestHub {
        let soundcloud = FakeSoundcloud::start().await;
        TestHub {
            soundcloud,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .expect("http client"),
            port: free_port(),
            dir: tempfile::tempdir().expect("temp dir"),
            schedule,
            shows: Vec::new(),
            extra_toml: extra_toml.into(),
            hub_keys: String::new(),
            timeouts,
            target_timings,
            running: None,
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn relay_token(&self) -> String {
        RELAY_TOKEN.into()
    }

    /// The whole configuration, as a file a hub process could read.
    pub fn config_toml(&self) -> String {
        // A station's shows say their own source: `[soundcloud] user` would be a second one.
        let (schedule, user) = if self.shows.is_empty() {
            let user = format!("user = \"{}\"\n", fake_soundcloud::USER);
            (self.schedule.toml(), user)
        } else {
            let blocks: Vec<String> = self.shows.iter().map(TestShow::toml).collect();
            (blocks.join("\n"), String::new())
        };
        format!(
            "[hub]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             data_dir = {dir:?}\nadmin_token = \"{ADMIN_TOKEN}\"\nrelay_tokens = [\"{RELAY_TOKEN}\"]\n{hub_keys}\
             [dashboard]\nusername = \"{USERNAME}\"\npassword_hash = \"{hash}\"\nsecret_key = \"{SECRET_KEY}\"\n\
             {schedule}\n\
             [soundcloud]\n{user}api_base = \"{sc}\"\nweb_base = \"{sc}\"\n\n{extra}",
            port = self.port,
            dir = self.dir.path().display().to_string(),
            hash = password_hash(),
            sc = self.soundcloud.base_url(),
            extra = self.extra_toml,
            hub_keys = self.hub_keys,
        )
    }

    pub fn write_config(&self) -> PathBuf {
        let path = self.dir.path().join("config.toml");
        std::fs::write(&path, self.config_toml()).expect("write config");
        path
    }

    async fn launch(&mut self) {
        let config = Config::from_figment(Figment::new().merge(Toml::string(&self.config_toml())))
            .expect("test config is valid");
        let options = Options {
            retry: RetryPolicy {
                attempts: 3,
                base: std::time::Duration::from_millis(20),
                max: std::time::Duration::from_millis(200),
                timeout: std::time::Duration::from_secs(2),
            },
            no_scheduled_polls: true,
            timeouts: self.timeouts,
            targets: self.target_timings.clone(),
        };
        let app = Application::build(config, options)
            .await
            .expect("hub builds");
        let state = app.state().clone();
        let (trigger, shutdown) = shutdown::channel();
        let task = tokio::spawn(async move {
            app.run(shutdown).await.expect("hub serves");
        });
        self.running = Some((trigger, task, state));
    }

    /// The running hub's state, for assertions that reach behind the HTTP API.
    pub fn state(&self) -> &AppState {
        &self.running.as_ref().expect("hub is running").2
    }

    /// Stops the hub gracefully (WebSockets get 1001) and waits until it has.
    pub async fn stop(&mut self) {
        if let Some((trigger, mut task, _)) = self.running.take() {
            trigger.fire();
            let limit = std::time::Duration::from_secs(10);
            if tokio::time::timeout(limit, &mut task).await.is_err() {
                // Dropping the hub releases its data directory's lock for the next start.
                task.abort();
                let _ = task.await;
            }
        }
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }

    pub fn admin(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.bearer_auth(ADMIN_TOKEN)
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url()))
            .send()
            .await
            .expect("GET");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.url()))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// `GET path` with the admin token.
    pub async fn get_json_admin(&self, path: &str) -> (u16, Value) {
        let resp = self
            .admin(self.http.get(format!("{}{path}", self.url())))
            .send()
            .await
            .expect("GET");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_admin(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .admin(self.http.post(format!("{}{path}", self.url())))
            .json(&body)
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Polls the fake SoundCloud now and returns the outcome.
    pub async fn refresh(&self) -> Value {
        let (status, body) = self.post_admin("/admin/refresh", json!({})).await;
        assert_eq!(status, 200, "refresh: {body}");
        body
    }

    /// `POST /admin/announce` with `body`, which must succeed; returns the answer.
    pub async fn announce(&self, body: Value) -> Value {
        let (status, answer) = self.post_admin("/admin/announce", body).await;
        assert_eq!(status, 200, "announce: {answer}");
        answer
    }

    pub async fn announce_text(&self, text: &str) -> u64 {
        let answer = self.announce(json!({ "text": text })).await;
        answer["seq"].as_u64().expect("seq")
    }

    /// Adds a record (not on SoundCloud) to show `id`; returns its position (the last).
    pub async fn add_record(&self, id: i64, title: &str, artist: &str, url: &str) -> u64 {
        let (status, show) = self
            .post_admin(
                &format!("/admin/shows/{id}/tracks"),
                json!({"title": title, "artist": artist, "url": url}),
            )
            .await;
        assert_eq!(status, 200, "add: {show}");
        show["tracks"].as_array().expect("tracks").len() as u64
    }

    /// Adds a record to the current show and announces it.
    pub async fn announce_track(&self, title: &str, artist: &str, url: &str) -> u64 {
        let (_, show) = self.get_json("/playlist").await;
        let id = show["id"].as_i64().expect("show id");
        let position = self.add_record(id, title, artist, url).await;
        let answer = self
            .announce(json!({"show_id": id, "position": position}))
            .await;
        answer["seq"].as_u64().expect("seq")
    }

    /// Every (seq, target) ack recorded so far.
    pub async fn acks(&self) -> Vec<(u64, String)> {
        let last = self.state().store.last_seq().await.expect("last seq");
        let mut out = Vec::new();
        for seq in 1..=last.get() {
            let acks = self.state().store.acks(Seq::new(seq)).await.expect("acks");
            for ack in acks {
                out.push((seq, ack.target));
            }
        }
        out
    }

    /// The start of the current week and of the one before, as the hub computes them.
    pub fn weeks(&self) -> (hub::Week, hub::Week) {
        let schedule = &self.state().config.station.primary().schedule;
        let current = schedule
            .week_containing(Timestamp::now())
            .expect("now is in the calendar");
        (
            current,
            schedule.previous(current).expect("so is last week"),
        )
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some((trigger, task, _)) = self.running.take() {
            trigger.fire();
            task.abort();
        }
    }
}

/// Logs in through the form at `url` (with an `http` client that does not follow redirects) and
/// returns the `ntr_session=…` pair and the whole `Set-Cookie` header.
pub async fn login(http: &reqwest::Client, url: &str) -> (String, String) {
    let resp = http
        .post(format!("{url}/login"))
        .form(&[("username", USERNAME), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 303, "login redirects");
    assert_eq!(resp.headers()["location"], "/dashboard");
    let set_cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    let pair = set_cookie.split(';').next().expect("pair").to_owned();
    (pair, set_cookie)
}

/// Announces `text` on a hub process at `url` with the admin token; returns its seq.
pub async fn announce_text_at(http: &reqwest::Client, url: &str, text: &str) -> u64 {
    let body: Value = http
        .post(format!("{url}/admin/announce"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "text": text }))
        .send()
        .await
        .expect("announce")
        .json()
        .await
        .expect("json");
    body["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq: {body}"))
}

/// Starts the hub binary with a config file, its output discarded.
pub fn spawn_hub(config: &Path) -> std::process::Child {
    std::process::Command::new(binary("hub"))
        .arg("--config")
        .arg(config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn hub")
}

/// `t` plus `hours` — shorthand for placing likes inside a week.
pub fn plus_hours(t: Timestamp, hours: i64) -> Timestamp {
    t.checked_add(hours.hours()).expect("timestamp in range")
}
