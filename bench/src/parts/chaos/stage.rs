//! Everything a chaos run stands on: ngircd, the fake targets, a proxy in front of each target
//! and of ngircd, the hub's config and data (a show on air, two targets through their proxies),
//! the relay's config (IRC through its proxy), the observer in the channel; and how to start a
//! hub or a relay incarnation and read the hub's log.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use e2e::binaries::try_binary;
use e2e::hub::{ADMIN_TOKEN, RELAY_TOKEN, TestSchedule};
use e2e::ircd::Ircd;

use super::channel::Channel;
use super::lifecycle::Starter;
use super::proxy::Proxy;
use super::sinks::{DISCORD_PATH, Sinks, WEBHOOK_PATH};
use super::verdict::Logged;
use crate::http::Http;
use crate::parts::Ctx;
use crate::procs::Proc;
use crate::servers::{HubSetup, hub_subscribers};

pub const CHANNEL: &str = "#chaos";
const NICK: &str = "chaosbot";
const START_LIMIT: Duration = Duration::from_secs(30);

pub struct Stage {
    pub ircd: Ircd,
    pub sinks: Sinks,
    pub webhook_proxy: Arc<Proxy>,
    pub discord_proxy: Arc<Proxy>,
    pub irc_proxy: Arc<Proxy>,
    pub setup: HubSetup,
    pub relay_config: PathBuf,
    pub channel: Channel,
}

impl Stage {
    /// Sets the stage for a run of `minutes` (the show stays on air well past its end).
    pub fn build(ctx: &Ctx, ircd: Ircd, minutes: u32) -> Result<Stage> {
        let sinks = ctx.rt.block_on(Sinks::start())?;
        let proxy = |upstream| ctx.rt.block_on(Proxy::start(upstream)).map(Arc::new);
        let webhook_proxy = proxy(sinks.addr)?;
        let discord_proxy = proxy(sinks.addr)?;
        let irc_proxy = proxy(SocketAddr::from(([127, 0, 0, 1], ircd.port())))?;
        let targets = format!(
            "[[targets]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}{WEBHOOK_PATH}\"\n\
             secret = \"chaos-secret\"\n\n[[targets]]\nname = \"discord\"\nkind = \"discord\"\n\
             url = \"http://{}{DISCORD_PATH}\"\n",
            webhook_proxy.addr, discord_proxy.addr
        );
        let on_air = TestSchedule {
            ago: jiff::SignedDuration::from_mins(10),
            live_minutes: i64::from(minutes) + 60,
            ..TestSchedule::default()
        };
        let setup = HubSetup::scheduled(&ctx.rt, on_air, 0, &targets)?;
        let relay_config = setup.dir().join("relay.toml");
        std::fs::write(
            &relay_config,
            format!(
                "[relay]\nhub_url = \"http://{}\"\ntoken = \"{RELAY_TOKEN}\"\nstate_dir = \"{}\"\n\n\
                 [irc]\nserver = \"127.0.0.1\"\nport = {}\ntls = false\nnickname = \"{NICK}\"\n\
                 channels = [\"{CHANNEL}\"]\n",
                setup.addr(),
                setup.dir().join("relay-state").display(),
                irc_proxy.addr.port()
            ),
        )?;
        let channel = Channel::record(ircd.port(), "chaosobs", CHANNEL)?;
        Ok(Stage {
            ircd,
            sinks,
            webhook_proxy,
            discord_proxy,
            irc_proxy,
            setup,
            relay_config,
            channel,
        })
    }

    /// Starts hub incarnation N (its own log file) and waits until it answers.
    pub fn hub_starter(&self) -> Result<Starter> {
        let binary = try_binary("hub")?;
        let config = self.setup.config.to_string_lossy().into_owned();
        let (addr, dir) = (self.setup.addr(), self.setup.dir());
        Ok(Box::new(move |n| {
            let log = dir.join(format!("hub-{n}.log"));
            let mut hub = Proc::spawn("hub", &binary, &["--config", &config], log, None)?;
            hub.wait_http(addr, "/health", START_LIMIT)?;
            Ok(hub)
        }))
    }

    /// Starts relay incarnation N (its own log file).
    pub fn relay_starter(&self) -> Result<Starter> {
        let binary = try_binary("irc-relay")?;
        let config = self.relay_config.to_string_lossy().into_owned();
        let dir = self.setup.dir();
        Ok(Box::new(move |n| {
            let log = dir.join(format!("relay-{n}.log"));
            Proc::spawn("irc-relay", &binary, &["--config", &config], log, None)
        }))
    }

    pub fn hub_url(&self) -> String {
        format!("http://{}", self.setup.addr())
    }

    /// Once the relay has subscribed, announces `text` and waits until the channel has it (the
    /// relay is in and posting).
    pub fn warm_up(&self, text: &str, relay: &Proc) -> Result<()> {
        let mut http = Http::new(self.setup.addr())?;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while hub_subscribers(&mut http)? < 1 {
            if std::time::Instant::now() > deadline {
                bail!("the relay did not subscribe:\n{}", relay.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let body = serde_json::json!({ "text": text }).to_string();
        let r = http.post("/admin/announce", Some(ADMIN_TOKEN), body.as_bytes())?;
        if r.status != 200 {
            bail!("the warm-up announce answered {}", r.status);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !self.channel.lines().iter().any(|l| l == text) {
            if std::time::Instant::now() > deadline {
                bail!("the warm-up line never reached IRC:\n{}", relay.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The truth: every announce in the on-air show's log, by seq.
    pub fn hub_log(&self) -> Result<Vec<Logged>> {
        let mut http = Http::new(self.setup.addr())?;
        let shows: serde_json::Value = http.get("/shows?limit=5")?.json()?;
        let id = shows
            .as_array()
            .and_then(|a| a.iter().find(|s| s["on_air"] == true))
            .and_then(|s| s["id"].as_i64())
            .context("no show on air in /shows")?;
        let r = http.get_auth(&format!("/admin/shows/{id}/log"), ADMIN_TOKEN)?;
        if r.status != 200 {
            bail!("/admin/shows/{id}/log answered {}", r.status);
        }
        let entries: Vec<serde_json::Value> = r.json()?;
        let mut log: Vec<Logged> = entries
            .iter()
            .filter_map(|e| {
                Some(Logged {
                    seq: e["seq"].as_u64()?,
                    message: e["message"].as_str()?.to_string(),
                })
            })
            .collect();
        log.sort_by_key(|l| l.seq);
        Ok(log)
    }

    /// Waits (bounded) until the hub answers again.
    pub fn wait_hub(&self) -> Result<()> {
        let mut http = Http::new(self.setup.addr())?;
        let deadline = std::time::Instant::now() + START_LIMIT;
        loop {
            if let Ok(r) = http.get("/health")
                && r.status == 200
            {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!("the hub does not answer /health after the show");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Copies every process's log (each incarnation's, and ngircd's) out of the data directory,
    /// which goes away with the run, into a folder of its own; returns that folder.
    pub fn keep_logs(&self, seed: u64) -> Result<PathBuf> {
        let keep =
            std::env::temp_dir().join(format!("ntr-chaos-seed{seed}-{}", std::process::id()));
        std::fs::create_dir_all(&keep)?;
        for entry in std::fs::read_dir(self.setup.dir())? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "log")
                && let Some(name) = path.file_name()
            {
                std::fs::copy(&path, keep.join(name))?;
            }
        }
        std::fs::write(keep.join("ngircd.log"), self.ircd.log())?;
        Ok(keep)
    }

    pub fn stop(self) {
        for proxy in [&self.webhook_proxy, &self.discord_proxy, &self.irc_proxy] {
            proxy.stop();
        }
        self.sinks.stop();
        let _ = self.channel.stop();
        drop(self.ircd);
    }
}
