//! A station of two shows for tests: the library's own `Application`, in-process on a free
//! 127.0.0.1 port with a fresh data directory, configured with two `[[shows]]` in different
//! time zones whose playlists are built by hand (no SoundCloud). The first is on air now, the
//! second airs in two days. The dashboard login is [`crate::hub`]'s test user.

use figment::Figment;
use figment::providers::{Format, Toml};
use hub::shutdown::{self, Trigger};
use hub::{AppState, Application, Config, Options, RetryPolicy, Timeouts};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::hub::{ADMIN_TOKEN, RELAY_TOKEN, SECRET_KEY, USERNAME, password_hash};
use crate::net::free_port;

/// One show of the test station: its slug, title, zone, and when its week starts relative to
/// now (positive: that long ago; negative: that far ahead).
#[derive(Debug, Clone, Copy)]
pub struct StationShow {
    pub slug: &'static str,
    pub title: &'static str,
    pub timezone: &'static str,
    pub ago: SignedDuration,
    pub live_minutes: i64,
}

/// On air now in New York: started on the hour of ten minutes ago, two hours long.
pub const ON_AIR: StationShow = StationShow {
    slug: "ntr",
    title: "Nick the Rat",
    timezone: "America/New_York",
    ago: SignedDuration::from_mins(10),
    live_minutes: 120,
};

/// Two days ahead in Tokyo, an hour long.
pub const LATER: StationShow = StationShow {
    slug: "jazz",
    title: "Tokyo Jazz Hour",
    timezone: "Asia/Tokyo",
    ago: SignedDuration::from_hours(-48),
    live_minutes: 60,
};

impl StationShow {
    /// Its `[[shows]]` block: the weekday and hour its start falls on in its zone, with the
    /// live window stretched by the minutes past that hour (as `TestSchedule` does).
    fn toml(&self) -> String {
        let tz = jiff::tz::TimeZoneDatabase::bundled()
            .get(self.timezone)
            .expect("a time zone of the bundled database");
        let z = (Timestamp::now() - self.ago).to_zoned(tz);
        let into_hour =
            i64::from(z.minute()) + i64::from(z.second() > 0 || z.subsec_nanosecond() > 0);
        format!(
            "[[shows]]\nslug = \"{}\"\ntitle = \"{}\"\nsource = \"manual\"\ntimezone = \"{}\"\n\
             day = \"{}\"\nhour = {}\nduration_minutes = {}\n",
            self.slug,
            self.title,
            self.timezone,
            format!("{:?}", z.weekday()).to_lowercase(),
            z.hour(),
            self.live_minutes + into_hour
        )
    }
}

pub struct TestStation {
    pub http: reqwest::Client,
    pub port: u16,
    _dir: TempDir,
    running: Option<(Trigger, tokio::task::JoinHandle<()>, AppState)>,
}

impl TestStation {
    /// A hub serving [`ON_AIR`] and [`LATER`].
    pub async fn start() -> TestStation {
        Self::start_with(&[ON_AIR, LATER]).await
    }

    pub async fn start_with(shows: &[StationShow]) -> TestStation {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let blocks: String = shows.iter().map(StationShow::toml).collect();
        let toml = format!(
            "[hub]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             data_dir = {dir:?}\nadmin_token = \"{ADMIN_TOKEN}\"\nrelay_tokens = [\"{RELAY_TOKEN}\"]\n\
             [dashboard]\nusername = \"{USERNAME}\"\npassword_hash = \"{hash}\"\nsecret_key = \"{SECRET_KEY}\"\n\
             {blocks}",
            dir = dir.path().display().to_string(),
            hash = password_hash(),
        );
        let config = Config::from_figment(Figment::new().merge(Toml::string(&toml)))
            .unwrap_or_else(|e| panic!("the station config is valid: {e}\n{toml}"));
        let options = Options {
            retry: RetryPolicy {
                attempts: 3,
                base: std::time::Duration::from_millis(20),
                max: std::time::Duration::from_millis(200),
                timeout: std::time::Duration::from_secs(2),
            },
            no_scheduled_polls: true,
            timeouts: Timeouts::default(),
            targets: crate::hub::test_target_timings(),
        };
        let app = Application::build(config, options)
            .await
            .expect("the station builds");
        let state = app.state().clone();
        let (trigger, shutdown) = shutdown::channel();
        let task = tokio::spawn(async move {
            app.run(shutdown).await.expect("the station serves");
        });
        TestStation {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .expect("http client"),
            port,
            _dir: dir,
            running: Some((trigger, task, state)),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET path`: the status and the body as text.
    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url()))
            .send()
            .await
            .expect("GET");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("a body"))
    }

    pub async fn post_admin(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.url()))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// The id of `slug`'s current week (`/playlist?show=`).
    pub async fn week_id(&self, slug: &str) -> i64 {
        let (status, body) = self.get_text(&format!("/playlist?show={slug}")).await;
        assert_eq!(status, 200, "{body}");
        let show: Value = serde_json::from_str(&body).expect("json");
        show["id"].as_i64().expect("a show id")
    }

    /// Adds a record to week `id`; returns its position (the last).
    pub async fn add_record(&self, id: i64, title: &str, artist: &str) -> u64 {
        let (status, show) = self
            .post_admin(
                &format!("/admin/shows/{id}/tracks"),
                json!({"title": title, "artist": artist, "url": ""}),
            )
            .await;
        assert_eq!(status, 200, "add: {show}");
        show["tracks"].as_array().expect("tracks").len() as u64
    }

    /// `POST /admin/announce` with `body`, which must succeed; returns the answer.
    pub async fn announce(&self, body: Value) -> Value {
        let (status, answer) = self.post_admin("/admin/announce", body).await;
        assert_eq!(status, 200, "announce: {answer}");
        answer
    }
}

impl Drop for TestStation {
    fn drop(&mut self) {
        if let Some((trigger, task, _)) = self.running.take() {
            trigger.fire();
            task.abort();
        }
    }
}
