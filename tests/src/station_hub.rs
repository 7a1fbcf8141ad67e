//! A hub serving a station of two manual shows, `ntr` and `jazz`, with two DJs, a station
//! admin and a scoped token, in-process on a free 127.0.0.1 port: for tests of who may act on
//! which show. Neither show is on air (their windows are days away), so every request names
//! its show. `restart_with` keeps the port and the data, like editing the config and
//! restarting the service.

use figment::Figment;
use figment::providers::{Format, Toml};
use hub::shutdown::{self, Trigger};
use hub::{Application, Config, Options};
use jiff::{Timestamp, ToSpan};
use serde_json::Value;
use tempfile::TempDir;

use crate::hub::ADMIN_TOKEN;
use crate::net::free_port;

/// Runs `ntr` only.
pub const NICK: (&str, &str) = ("nick", "nick's password");
/// Runs `jazz` only.
pub const JO: (&str, &str) = ("jo", "jo's password");
/// The station admin.
pub const BOSS: (&str, &str) = ("boss", "boss's password");
/// A bearer token for `jazz` only.
pub const JAZZ_TOKEN: &str = "jazz-deck-token-0123456789abcdef";

pub struct StationHub {
    pub http: reqwest::Client,
    pub port: u16,
    dir: TempDir,
    running: Option<(Trigger, tokio::task::JoinHandle<()>)>,
}

/// The weekday `days` from now, as the config spells it.
fn weekday_in(days: i64) -> String {
    let day = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(days.days())
        .expect("in range")
        .weekday();
    format!("{day:?}").to_lowercase()
}

impl StationHub {
    pub async fn start() -> StationHub {
        let mut hub = StationHub {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .expect("http client"),
            port: free_port(),
            dir: tempfile::tempdir().expect("temp dir"),
            running: None,
        };
        hub.launch(NICK.1).await;
        hub
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The configuration, with `nick_password` as nick's.
    fn config_toml(&self, nick_password: &str) -> String {
        let user = |name: &str, password: &str, shows: &str| {
            format!(
                "[[dashboard.users]]\nname = \"{name}\"\npassword = \"{password}\"\nshows = {shows}\n"
            )
        };
        format!(
            "[hub]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             data_dir = {dir:?}\nadmin_token = \"{ADMIN_TOKEN}\"\n\
             [[hub.tokens]]\nname = \"jazz-deck\"\ntoken = \"{JAZZ_TOKEN}\"\nshows = [\"jazz\"]\n\
             [dashboard]\nsecret_key = \"{key}\"\n{nick}{jo}{boss}\
             [[shows]]\nslug = \"ntr\"\nsource = \"manual\"\ntimezone = \"UTC\"\n\
             day = \"{ntr_day}\"\nhour = 0\nduration_minutes = 60\n\
             [[shows]]\nslug = \"jazz\"\nsource = \"manual\"\ntimezone = \"Europe/Berlin\"\n\
             day = \"{jazz_day}\"\nhour = 12\nduration_minutes = 60\n",
            port = self.port,
            dir = self.dir.path().display().to_string(),
            key = crate::hub::SECRET_KEY,
            nick = user(NICK.0, nick_password, "[\"ntr\"]"),
            jo = user(JO.0, JO.1, "[\"jazz\"]"),
            boss = user(BOSS.0, BOSS.1, "[\"*\"]"),
            ntr_day = weekday_in(2),
            jazz_day = weekday_in(4),
        )
    }

    async fn launch(&mut self, nick_password: &str) {
        let toml = self.config_toml(nick_password);
        let config = Config::from_figment(Figment::new().merge(Toml::string(&toml)))
            .expect("station config is valid");
        let options = Options {
            no_scheduled_polls: true,
            ..Options::default()
        };
        let app = Application::build(config, options)
            .await
            .expect("hub builds");
        let (trigger, shutdown) = shutdown::channel();
        let task = tokio::spawn(async move {
            app.run(shutdown).await.expect("hub serves");
        });
        self.running = Some((trigger, task));
    }

    /// Stops the hub and starts it again on the same port and data, with nick's password
    /// now `nick_password`.
    pub async fn restart_with(&mut self, nick_password: &str) {
        if let Some((trigger, task)) = self.running.take() {
            trigger.fire();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
        }
        self.launch(nick_password).await;
    }

    /// Logs `user` in through the form; the `ntr_session=…` pair.
    pub async fn login(&self, (name, password): (&str, &str)) -> String {
        let resp = self
            .http
            .post(format!("{}/login", self.url()))
            .form(&[("username", name), ("password", password)])
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status(), 303, "{name} logs in");
        let set_cookie = resp.headers()["set-cookie"].to_str().expect("cookie");
        set_cookie.split(';').next().expect("pair").to_owned()
    }

    /// The id of `slug`'s current week.
    pub async fn week_id(&self, slug: &str) -> i64 {
        let body: Value = self
            .http
            .get(format!("{}/playlist?show={slug}", self.url()))
            .send()
            .await
            .expect("playlist")
            .json()
            .await
            .expect("json");
        body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id: {body}"))
    }
}

impl Drop for StationHub {
    fn drop(&mut self) {
        if let Some((trigger, task)) = self.running.take() {
            trigger.fire();
            task.abort();
        }
    }
}
