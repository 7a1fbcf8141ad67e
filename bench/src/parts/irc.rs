//! Part 6: `POST /admin/announce` → the line read by an IRC client, through the relay process
//! and a real ngircd, all on loopback. Announces are sequential (the next one is sent once the
//! previous line has been read); the relay's flood control is raised for the run.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use e2e::binaries::try_binary;
use e2e::hub::{ADMIN_TOKEN, RELAY_TOKEN};
use e2e::ircd::Ircd;
use irc_proto::Command;

use super::{Ctx, progress};
use crate::http::Http;
use crate::observer::Observer;
use crate::procs::Proc;
use crate::report::{Row, Summary, ms};
use crate::servers::{HubSetup, hub_subscribers};
use crate::subscribers::Fleet;

const CHANNEL: &str = "#bench";
const NICK: &str = "benchbot";
const PAUSE: Duration = Duration::from_millis(60);

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let count = ctx.size(1_000, 50);
    let paced = ctx.size(200, 10);
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
            "[relay]\nhub_url = \"http://{}\"\ntoken = \"{RELAY_TOKEN}\"\nstate_dir = \"{}\"\n\n\
             [irc]\nserver = \"127.0.0.1\"\nport = {}\ntls = false\nnickname = \"{NICK}\"\n\
             channels = [\"{CHANNEL}\"]\nflood_burst = 100000\nflood_lines_per_second = 100000\n",
            setup.addr(),
            setup.dir().join("relay-state").display(),
            ircd.port()
        ),
    )?;
    let relay = Proc::spawn(
        "irc-relay",
        &try_binary("irc-relay")?,
        &["--config", &relay_config.to_string_lossy()],
        setup.dir().join("relay.log"),
        None,
    )?;
    let mut http = Http::new(setup.addr())?;
    observer
        .wait_message(Duration::from_secs(20), |m| {
            matches!(m.command, Command::JOIN(..)) && m.source_nickname() == Some(NICK)
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

    // A plain WebSocket subscriber next to the relay splits the path: POST → hub frame.
    let fleet = Fleet::connect(
        &ctx.rt,
        &format!("ws://{}/ws/announce", setup.addr()),
        Some(RELAY_TOKEN),
        1,
    )?;
    let mut path = Path {
        http: &mut http,
        observer: &mut observer,
        fleet: &fleet,
        relay: &relay,
        next_seq: None,
        sent: 0,
    };
    let (irc, ws) = path.series(count, Duration::ZERO)?;
    progress(&format!(
        "irc: {paced} more announces, {PAUSE:?} apart (longer than Linux's 40 ms delayed ACK)"
    ));
    let (paced_irc, _) = path.series(paced, PAUSE)?;
    drop(fleet);
    relay.stop();
    hub.stop();
    drop(ircd);
    let s = Summary::of(irc);
    let w = Summary::of(ws);
    let p = Summary::of(paced_irc);
    let describe = |s: &Summary| {
        format!(
            "p50 {}, p99 {}, max {} (n={})",
            ms(s.p50),
            ms(s.p99),
            ms(s.max),
            s.n
        )
    };
    Ok(vec![
        Row::new(
            "6. POST announce → IRC line read (relay + ngircd), back to back: p50",
            format!("{} (n={})", ms(s.p50), s.n),
            "p50 ≤ 5 ms",
            s.p50 <= Duration::from_millis(5),
        ),
        Row::new(
            "6. POST announce → IRC line read, back to back: p99 / max",
            format!("p99 {}, max {}", ms(s.p99), ms(s.max)),
            "p99 ≤ 20 ms",
            s.p99 <= Duration::from_millis(20),
        ),
        Row::info(
            "6. the same announces, POST → a WebSocket subscriber of the hub",
            describe(&w),
            "(this subscriber sends nothing back, so no delayed ACK)",
        ),
        Row::info(
            format!(
                "6. POST announce → IRC line read, {} ms apart",
                PAUSE.as_millis()
            ),
            describe(&p),
            "(diagnostic: no TCP ACK pending between lines)",
        ),
    ])
}

/// The announce → IRC path under test.
struct Path<'a> {
    http: &'a mut Http,
    observer: &'a mut Observer,
    fleet: &'a Fleet,
    relay: &'a Proc,
    next_seq: Option<u64>,
    sent: usize,
}

impl Path<'_> {
    /// `count` measured announces (after five unmeasured ones), each sent once the previous
    /// line was read plus `pause`; returns the IRC and the WebSocket latencies.
    fn series(&mut self, count: usize, pause: Duration) -> Result<(Vec<Duration>, Vec<Duration>)> {
        let (mut irc, mut ws) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for i in 0..count + 5 {
            let (line, frame) = self.one()?;
            if i >= 5 {
                irc.push(line);
                ws.extend(frame);
            }
            std::thread::sleep(pause);
        }
        Ok((irc, ws))
    }

    /// One announce: how long until the IRC line was read, and until the WebSocket frame was.
    fn one(&mut self) -> Result<(Duration, Option<Duration>)> {
        let i = self.sent;
        self.sent += 1;
        let text = format!("Now Playing: bench line {i:05}");
        let body = serde_json::json!({ "text": text }).to_string();
        let (http, observer, relay) = (&mut *self.http, &mut *self.observer, self.relay);
        let mut line_after = None;
        let mut learned = None;
        let mut send = || -> Result<()> {
            let t0 = Instant::now();
            let r = http.post("/admin/announce", Some(ADMIN_TOKEN), body.as_bytes())?;
            if r.status != 200 {
                bail!("announce answered {}", r.status);
            }
            let seq = r.json::<ntr_protocol::Announced>()?.seq.get();
            let (_, at) = observer
                .wait_message(
                    Duration::from_secs(10),
                    |m| matches!(&m.command, Command::PRIVMSG(_, said) if *said == text),
                )
                .with_context(|| format!("line {i} never reached IRC:\n{}", relay.log_tail()))?;
            line_after = Some(at - t0);
            learned = Some(seq + 1);
            Ok(())
        };
        // The first announce teaches the seq; from then on the WebSocket frame is timed too.
        let frame = match self.next_seq {
            None => {
                send()?;
                None
            }
            Some(seq) => self
                .fleet
                .round(seq, Duration::from_secs(10), send)?
                .latencies
                .first()
                .copied(),
        };
        self.next_seq = learned;
        Ok((line_after.context("no IRC timing")?, frame))
    }
}
