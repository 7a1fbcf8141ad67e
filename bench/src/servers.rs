//! The two servers a fan-out is measured against, started as their own processes: the hub
//! (release binary, with a config from `e2e::hub::TestHub` pointing at an in-bench fake
//! SoundCloud) and the bare floor (`ntr-bench floor-server`). Both take an announce over HTTP
//! and push it to `/ws…` subscribers; [`Server::announce`] runs one measured round on either.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use e2e::binaries::try_binary;
use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{ADMIN_TOKEN, TestHub, TestSchedule, plus_hours};
use e2e::net::try_free_port;
use ntr_protocol::{Announce, Announced, Seq, ServerMessage};
use tokio::runtime::Runtime;

use crate::dial::Dial;
use crate::http::Http;
use crate::procs::Proc;
use crate::subscribers::{Dialled, Fleet, Round};

const START_LIMIT: Duration = Duration::from_secs(20);

/// A hub's config and data directory, with the fake SoundCloud it polls (served by the bench's
/// runtime). The in-process hub `TestHub` starts to prepare them is stopped again at once.
pub struct HubSetup {
    pub test_hub: TestHub,
    pub config: PathBuf,
}

impl HubSetup {
    /// A fresh data directory whose current week has `tracks` liked tracks on the fake SoundCloud.
    pub fn new(rt: &Runtime, tracks: i64) -> Result<HubSetup> {
        HubSetup::with_toml(rt, tracks, "")
    }

    /// Like [`HubSetup::new`], with `extra_toml` appended to the config (e.g. `[[targets]]`).
    pub fn with_toml(rt: &Runtime, tracks: i64, extra_toml: &str) -> Result<HubSetup> {
        HubSetup::scheduled(rt, TestSchedule::default(), tracks, extra_toml)
    }

    /// Like [`HubSetup::with_toml`], with the show's schedule chosen (e.g. on air now).
    pub fn scheduled(
        rt: &Runtime,
        schedule: TestSchedule,
        tracks: i64,
        extra_toml: &str,
    ) -> Result<HubSetup> {
        rt.block_on(async {
            let mut test_hub = TestHub::start_with(schedule, extra_toml).await;
            let (current, _) = test_hub.weeks();
            let likes = (0..tracks)
                .map(|i| FakeLike {
                    created_at: plus_hours(current.start, 1 + i),
                    track: Some(track(
                        1000 + i,
                        &format!("Bench track {i} with a title of a usual length"),
                        "Bench Artist",
                    )),
                })
                .collect();
            test_hub.soundcloud.set_likes(likes);
            test_hub.stop().await;
            let config = test_hub.write_config();
            Ok(HubSetup { test_hub, config })
        })
    }

    /// A hub of `shows` shows (`[[shows]]` blocks in place of the one `[show]`), each polling
    /// the fake SoundCloud's likes, none on air.
    pub fn station(rt: &Runtime, shows: usize) -> Result<HubSetup> {
        let setup = HubSetup::new(rt, 0)?;
        let text = std::fs::read_to_string(&setup.config)?;
        let (Some(show), Some(soundcloud)) = (text.find("[show]\n"), text.find("[soundcloud]\n"))
        else {
            bail!("no [show] and [soundcloud] in {}", setup.config.display());
        };
        let mut station: String = text[..show].to_owned();
        for (i, (day, hour)) in station_slots(shows).into_iter().enumerate() {
            station.push_str(&format!(
                "[[shows]]\nslug = \"show-{i}\"\ntimezone = \"UTC\"\nday = \"{day}\"\nhour = {hour}\n\
                 duration_minutes = 60\nsoundcloud_user = \"{}\"\n",
                e2e::fake_soundcloud::USER
            ));
        }
        // `[soundcloud] user` belongs to a `[show]`; each block names its own.
        for line in text[soundcloud..].lines() {
            if !line.starts_with("user = ") {
                station.push_str(line);
                station.push('\n');
            }
        }
        std::fs::write(&setup.config, station)?;
        Ok(setup)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.test_hub.port))
    }

    /// Lists 127.0.0.1 in `trusted_proxies`, which exempts it from the per-address connection
    /// cap: the bench's thousands of plain HTTP clients (event streams) all come from it.
    pub fn trust_loopback(&self) -> Result<()> {
        let text = std::fs::read_to_string(&self.config)?;
        let patched = text.replacen("[hub]\n", "[hub]\ntrusted_proxies = [\"127.0.0.1\"]\n", 1);
        if patched == text {
            bail!("no [hub] section in {}", self.config.display());
        }
        std::fs::write(&self.config, patched)?;
        Ok(())
    }

    pub fn dir(&self) -> PathBuf {
        self.test_hub.data_dir().to_path_buf()
    }

    /// A replica named `name` of the station in the PostgreSQL database at `url`, with a data
    /// directory and port of its own.
    pub fn replica(rt: &Runtime, url: &str, name: &str) -> Result<HubSetup> {
        HubSetup::with_toml(
            rt,
            0,
            &format!("[store]\nurl = \"{url}\"\nreplica = \"{name}\"\n"),
        )
    }

    /// Starts the hub binary on this setup and waits until `/health` answers and the first
    /// SoundCloud poll is done.
    pub fn start(&self, cpu: Option<usize>) -> Result<Proc> {
        let hub = self.start_answering(cpu)?;
        wait_first_poll(self.addr())?;
        Ok(hub)
    }

    /// Starts the hub binary and waits until `/health` answers only: a replica that is not
    /// the station's poller never polls.
    pub fn start_answering(&self, cpu: Option<usize>) -> Result<Proc> {
        let config = self.config.to_string_lossy().into_owned();
        let mut hub = Proc::spawn(
            "hub",
            &try_binary("hub")?,
            &["--config", &config],
            self.dir().join("hub.log"),
            cpu,
        )?;
        hub.wait_http(self.addr(), "/health", START_LIMIT)?;
        Ok(hub)
    }
}

/// The hub polls SoundCloud once at start; measurements begin after that poll.
fn wait_first_poll(addr: SocketAddr) -> Result<()> {
    let mut http = Http::new(addr)?;
    let deadline = std::time::Instant::now() + START_LIMIT;
    while std::time::Instant::now() < deadline {
        let health: serde_json::Value = http.get("/health")?.json()?;
        if !health["last_poll"]["at"].is_null() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("the hub's first poll did not finish within {START_LIMIT:?}")
}

/// The subscriber count `/health` reports.
pub fn hub_subscribers(http: &mut Http) -> Result<u64> {
    let health: serde_json::Value = http.get("/health")?.json()?;
    health["subscribers"]
        .as_u64()
        .context("/health has no subscribers count")
}

/// Starts `ntr-bench floor-server` and waits until it answers.
pub fn start_floor(cpu: Option<usize>, log_dir: &std::path::Path) -> Result<(Proc, SocketAddr)> {
    let port = try_free_port()?;
    let own = std::env::current_exe().context("own executable")?;
    let mut floor = Proc::spawn(
        "floor-server",
        &own,
        &["floor-server", "--port", &port.to_string()],
        log_dir.join("floor.log"),
        cpu,
    )?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    floor.wait_http(addr, "/count", START_LIMIT)?;
    Ok((floor, addr))
}

/// Either server, ready to take announces.
pub struct Server {
    pub proc: Proc,
    pub addr: SocketAddr,
    kind: Kind,
    http: Http,
    next_seq: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hub,
    Floor,
}

impl Server {
    pub fn hub(proc: Proc, addr: SocketAddr) -> Result<Server> {
        Server::new(proc, addr, Kind::Hub)
    }

    pub fn floor(proc: Proc, addr: SocketAddr) -> Result<Server> {
        Server::new(proc, addr, Kind::Floor)
    }

    fn new(proc: Proc, addr: SocketAddr, kind: Kind) -> Result<Server> {
        Ok(Server {
            proc,
            addr,
            kind,
            http: Http::new(addr)?,
            next_seq: 1,
        })
    }

    pub fn label(&self) -> &'static str {
        match self.kind {
            Kind::Hub => "hub",
            Kind::Floor => "floor",
        }
    }

    pub fn ws_url(&self) -> String {
        match self.kind {
            Kind::Hub => format!("ws://{}/ws/announce", self.addr),
            Kind::Floor => format!("ws://{}/ws", self.addr),
        }
    }

    pub fn token(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Hub => Some(e2e::hub::RELAY_TOKEN),
            Kind::Floor => None,
        }
    }

    /// Connects `n` subscribers and waits (bounded) until the server counts them all, then
    /// lets the hub's coalesced status message (at most one a second) go out.
    pub fn subscribe(&mut self, rt: &Runtime, n: usize) -> Result<Fleet> {
        let fleet = Fleet::connect(rt, &self.ws_url(), self.token(), n)?;
        self.settle(n)?;
        Ok(fleet)
    }

    /// Like [`Server::subscribe`], dialling as `dial` says; those that fail to connect are
    /// counted, not fatal.
    pub fn crowd(&mut self, rt: &Runtime, n: usize, dial: &Dial) -> Result<Dialled> {
        let dialled = Fleet::dial(rt, &self.ws_url(), self.token(), n, dial)?;
        self.settle(dialled.fleet.len())?;
        Ok(dialled)
    }

    fn settle(&mut self, connected: usize) -> Result<()> {
        self.wait_count(connected as u64)?;
        if self.kind == Kind::Hub {
            std::thread::sleep(Duration::from_millis(1500));
        }
        Ok(())
    }

    /// Waits until the server counts at least `n` subscribers.
    pub fn wait_count(&mut self, n: u64) -> Result<()> {
        self.wait_count_until(|count| count >= n, &format!("at least {n}"))
    }

    /// Waits until the server counts at most `n` subscribers (the others have left).
    pub fn wait_count_at_most(&mut self, n: u64) -> Result<()> {
        self.wait_count_until(|count| count <= n, &format!("at most {n}"))
    }

    fn wait_count_until(&mut self, done: impl Fn(u64) -> bool, expected: &str) -> Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut last = 0;
        while std::time::Instant::now() < deadline {
            last = self.count()?;
            if done(last) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "{} counts {last} subscribers, expected {expected}",
            self.label()
        )
    }

    fn count(&mut self) -> Result<u64> {
        match self.kind {
            Kind::Hub => hub_subscribers(&mut self.http),
            Kind::Floor => {
                let r = self.http.get("/count")?;
                String::from_utf8_lossy(&r.body)
                    .trim()
                    .parse()
                    .context("floor /count")
            }
        }
    }

    /// An announce nobody measures; for the hub it also learns the next seq.
    pub fn warm_up(&mut self, fleet: &Fleet, text: &str) -> Result<()> {
        if self.kind == Kind::Hub {
            self.announce_text(text)?;
            // Let this one reach everybody before measuring.
            std::thread::sleep(Duration::from_millis(300));
            return Ok(());
        }
        self.announce(fleet, text, Duration::from_secs(10))
            .map(|_| ())
    }

    /// An announce of `text` that nobody times (the hub only); the next seq follows it.
    pub fn announce_text(&mut self, text: &str) -> Result<Announced> {
        let r = self.http.post(
            "/admin/announce",
            Some(ADMIN_TOKEN),
            serde_json::json!({ "text": text }).to_string().as_bytes(),
        )?;
        if r.status != 200 {
            bail!(
                "announce answered {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        let announced: Announced = r.json()?;
        self.next_seq = announced.seq.get() + 1;
        Ok(announced)
    }

    /// One measured announce of `text` to `fleet`.
    pub fn announce(&mut self, fleet: &Fleet, text: &str, limit: Duration) -> Result<Round> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let (path, token, body) = match self.kind {
            Kind::Hub => (
                "/admin/announce",
                Some(ADMIN_TOKEN),
                serde_json::json!({ "text": text }).to_string(),
            ),
            Kind::Floor => ("/trigger", None, floor_frame(seq, text)),
        };
        let http = &mut self.http;
        let mut response = None;
        let round = fleet.round(seq, limit, || {
            response = Some(http.post(path, token, body.as_bytes())?);
            Ok(())
        })?;
        let response = response.context("no response")?;
        if response.status != 200 {
            bail!(
                "{} answered {}: {}",
                path,
                response.status,
                String::from_utf8_lossy(&response.body)
            );
        }
        if self.kind == Kind::Hub {
            let got = response.json::<Announced>()?.seq.get();
            if got != seq {
                bail!("the hub gave seq {got}, expected {seq}: is something else announcing?");
            }
        }
        Ok(round)
    }
}

/// The floor's frame: the hub's announce frame for a free text, built from the same protocol
/// type, so both servers move and clients parse the same bytes.
pub fn floor_frame(seq: u64, text: &str) -> String {
    ServerMessage::Announce(Box::new(Announce {
        seq: Seq::new(seq),
        message: text.to_string(),
        show_id: None,
        position: None,
        track: None,
        announced_at: jiff::Timestamp::constant(1_767_225_600, 123_000_000),
        corrects: None,
        show: None,
    }))
    .to_json()
}

/// The station the bench configures: a show a day at 20:00 UTC from Monday, then at 23:00,
/// one hour each, so every live window is apart: (day, hour) of each.
pub fn station_slots(shows: usize) -> Vec<(&'static str, i64)> {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    (0..shows)
        .map(|i| (DAYS[i % DAYS.len()], if i < DAYS.len() { 20 } else { 23 }))
        .collect()
}
