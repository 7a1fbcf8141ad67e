//! Part 6: `POST /admin/announce` → the line read by an IRC client, through the relay process
//! and a real ngircd, all on loopback. Announces are sequential (the next one is sent once the
//! previous line has been read); the relay's flood control is raised for the run.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use e2e::hub::{ADMIN_TOKEN, RELAY_TOKEN};
use e2e::ircd::Ircd;

use super::{Ctx, progress};
use crate::http::Http;
use crate::observer::{Observer, command};
use crate::procs::{Proc, binary};
use crate::report::{Row, Summary, ms};
use crate::servers::{HubSetup, hub_subscribers};

const CHANNEL: &str = "#bench";
const NICK: &str = "benchbot";

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let count = ctx.size(1_000, 50);
    progress(&format!(
        "irc: hub + relay + ngircd, {count} sequential announces"
    ));
    let Some(ircd) = ctx.rt.block_on(Ircd::start()) else {
        return Ok(vec![Row::new(
            "6. announce → IRC line",
            "not measured: ngircd is not installed",
            "p50 ≤ 5 ms, p99 ≤ 20 ms",
            false,
        )]);
    };
    let setup = HubSetup::new(&ctx.rt, 0)?;
    let hub = setup.start(None)?;
    let mut observer = Observer::join(ircd.port(), "observer", CHANNEL)?;
    let relay_config = setup.dir().join("relay.toml");
    std::fs::write(
        &relay_config,
        format!(
            "[relay]\nhub_url = \"http://{}\"\ntoken = \"{RELAY_TOKEN}\"\n\n\
             [irc]\nserver = \"127.0.0.1\"\nport = {}\ntls = false\nnickname = \"{NICK}\"\n\
             channels = [\"{CHANNEL}\"]\nflood_burst = 100000\nflood_lines_per_second = 100000\n",
            setup.addr(),
            ircd.port()
        ),
    )?;
    let relay = Proc::spawn(
        "irc-relay",
        &binary("irc-relay")?,
        &["--config", &relay_config.to_string_lossy()],
        setup.dir().join("relay.log"),
        None,
    )?;
    let mut http = Http::new(setup.addr());
    observer
        .wait_line(Duration::from_secs(20), |l| {
            command(l) == "JOIN" && l.starts_with(&format!(":{NICK}!"))
        })
        .with_context(|| format!("the relay did not join {CHANNEL}:\n{}", relay.log_tail()))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while hub_subscribers(&mut http)? < 1 {
        if std::time::Instant::now() > deadline {
            bail!(
                "the relay did not subscribe to the hub:\n{}",
                relay.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut latencies = Vec::with_capacity(count);
    for i in 0..count + 5 {
        let text = format!("Now Playing: bench line {i:05}");
        let body = serde_json::json!({ "text": text }).to_string();
        let t0 = std::time::Instant::now();
        let r = http.post("/admin/announce", Some(ADMIN_TOKEN), body.as_bytes())?;
        if r.status != 200 {
            bail!("announce answered {}", r.status);
        }
        let (_, at) = observer
            .wait_line(Duration::from_secs(10), |l| {
                command(l) == "PRIVMSG" && l.ends_with(&text)
            })
            .with_context(|| format!("line {i} never reached IRC:\n{}", relay.log_tail()))?;
        // The first five warm the path up and are not counted.
        if i >= 5 {
            latencies.push(at - t0);
        }
    }
    relay.stop();
    hub.stop();
    drop(ircd);
    let s = Summary::of(latencies);
    Ok(vec![
        Row::new(
            "6. POST announce → IRC line read (relay + ngircd), p50",
            format!("{} (n={})", ms(s.p50), s.n),
            "p50 ≤ 5 ms",
            s.p50 <= Duration::from_millis(5),
        ),
        Row::new(
            "6. POST announce → IRC line read, p99 / max",
            format!("p99 {}, max {}", ms(s.p99), ms(s.max)),
            "p99 ≤ 20 ms",
            s.p99 <= Duration::from_millis(20),
        ),
    ])
}
