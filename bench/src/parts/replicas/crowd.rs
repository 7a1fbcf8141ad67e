//! One hub (SQLite, the release binary) and 100,000 WebSocket subscribers (`/ws/announce` with
//! the relay token) on this machine: how many connect, the hub's memory per subscriber (RSS
//! with the crowd minus RSS idle, divided), and one line's last arrival over several spaced
//! announces, against the bare floor with the same crowd of the same client.
//!
//! Floor and hub alternate in blocks (floor, hub, floor, hub), each a fresh process with a
//! fresh crowd. The crowd is spread over
//! source addresses 127.0.0.2, … (10,000 each: one address has ~28,000 ports toward one server
//! port), and each client reads with a 1 KiB buffer, so the bench's own 100,000 sockets stay
//! small. The open-file limit is raised inside the bench (the hard limit too, given
//! CAP_SYS_RESOURCE), and hub and floor inherit it; the part stops, saying so, if a limit is
//! too low for the crowd: where the hard limit is fixed, `--subscribers` sizes the crowd to fit.
//!
//! The hub's own caps do not apply to this crowd: an authenticated WebSocket counts neither
//! against the 256 connections per address nor against `max_connections` (20,000 by default),
//! which bound only connections still in their handshake, and the bench keeps 200 of those in
//! flight. The default config therefore serves 100,000.

use std::time::Duration;

use anyhow::{Result, bail};

use crate::dial::Dial;
use crate::parts::{Ctx, Rounds, progress};
use crate::procs::{Proc, own_rss, raise_fd_limit_to};
use crate::report::{Row, kb, mb};
use crate::servers::{HubSetup, Server, start_floor};
use crate::subscribers::{Dialled, Round};

const PER_SOURCE: usize = 10_000;
const READ_BUFFER: usize = 1024;
/// Room for what the processes hold besides the crowd (listeners, the store, logs, the
/// handshakes in flight).
const FD_MARGIN: u64 = 1_000;
const CONNECT_LIMIT: Duration = Duration::from_secs(600);
/// A line reaches 100,000 sockets in seconds on one core; this bounds a round that hangs.
const ROUND_LIMIT: Duration = Duration::from_secs(60);
/// Between announces, so each starts from idle (pings and status frames aside).
const SPACING: Duration = Duration::from_secs(1);
const MEMORY_GOAL: f64 = 8_000.0;
const RATIO_GOAL: f64 = 1.1;

/// What one server did with one crowd (one block).
struct Outcome {
    connected: usize,
    failed: usize,
    first_error: Option<String>,
    idle: u64,
    loaded: u64,
    /// The bench's own RSS growth per connected client.
    client_bytes: f64,
    rounds: Vec<Round>,
    /// The server's CPU time (user + system) over the measured rounds.
    cpu: Duration,
}

impl Outcome {
    fn per_subscriber(&self) -> f64 {
        (self.loaded as f64 - self.idle as f64) / self.connected.max(1) as f64
    }

    /// The server's CPU time per delivery over the rounds, in µs: steadier than wall time on a
    /// shared machine.
    fn cpu_per_delivery(&self) -> f64 {
        let deliveries = self.rounds.iter().map(|r| r.latencies.len()).sum::<usize>();
        self.cpu.as_secs_f64() * 1e6 / deliveries.max(1) as f64
    }
}

pub fn run(ctx: &Ctx, subscribers: usize) -> Result<Vec<Row>> {
    let n = ctx.size(subscribers, 5_000);
    let (blocks, rounds) = ctx.size((2, 8), (1, 5));
    let want = n as u64 + FD_MARGIN;
    let fds = raise_fd_limit_to(want);
    if fds < want {
        bail!(
            "the open-file limit is {fds} and could not be raised (that takes CAP_SYS_RESOURCE); \
             {n} subscribers need {want}: raise the hard limit before starting the bench, or \
             pass --subscribers {} or fewer",
            fds.saturating_sub(FD_MARGIN)
        );
    }
    // Floor and hub alternate in blocks (floor, hub, floor, hub), each with a fresh crowd, so
    // a busy phase of the shared machine does not land on one of them only.
    let (mut floor, mut hub) = (Vec::new(), Vec::new());
    for block in 1..=blocks {
        progress(&format!(
            "replicas: the bare floor with {n} subscribers, block {block}/{blocks}: {rounds} announces"
        ));
        let (proc, addr) = start_floor(ctx.cpus.server, ctx.scratch.path())?;
        floor.push(with_crowd(ctx, Server::floor(proc, addr)?, n, rounds)?);
        progress(&format!(
            "replicas: one hub with {n} subscribers, block {block}/{blocks}: {rounds} announces"
        ));
        let setup = HubSetup::new(&ctx.rt, 0)?;
        let server = Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?;
        hub.push(with_crowd(ctx, server, n, rounds)?);
    }
    Ok(rows(ctx, n, &floor, &hub, fds))
}

/// Idle RSS, the crowd, RSS with it, a warm-up, `rounds` measured announces; then stops.
fn with_crowd(ctx: &Ctx, mut server: Server, n: usize, rounds: usize) -> Result<Outcome> {
    check_fd_limit(&server.proc, n)?;
    std::thread::sleep(Duration::from_secs(1));
    let idle = server.proc.rss()?;
    let client_before = own_rss()?;
    let dial = Dial {
        limit: CONNECT_LIMIT,
        read_buffer: READ_BUFFER,
        ..Dial::spread(n, PER_SOURCE)
    };
    let started = std::time::Instant::now();
    let Dialled {
        fleet,
        failed,
        first_error,
    } = server.crowd(&ctx.rt, n, &dial)?;
    let connected = fleet.len();
    progress(&format!(
        "replicas: {} connected {connected} of {n} in {:.0} s from {} source addresses",
        server.label(),
        started.elapsed().as_secs_f64(),
        dial.sources.len()
    ));
    if connected == 0 {
        bail!("no subscriber connected to the {}", server.label());
    }
    // Let the joins settle (the hub's coalesced status frame, the allocator) before reading.
    std::thread::sleep(Duration::from_secs(2));
    let loaded = server.proc.rss()?;
    let client_bytes = own_rss()?.saturating_sub(client_before) as f64 / connected as f64;
    let (rounds, cpu) = announce_rounds(&mut server, &fleet, rounds)?;
    drop(fleet);
    server.proc.stop();
    Ok(Outcome {
        connected,
        failed,
        first_error: first_error.map(|e| format!("{e:#}")),
        idle,
        loaded,
        client_bytes,
        rounds,
        cpu,
    })
}

/// A server that inherited too low an open-file limit would refuse part of the crowd and the
/// figures would read as the server's fault.
fn check_fd_limit(proc: &Proc, n: usize) -> Result<()> {
    let limit = proc.open_file_limit()?;
    if limit < n as u64 {
        bail!(
            "{} may open only {limit} files, {n} subscribers need more",
            proc.name
        );
    }
    Ok(())
}

/// Two warm-up lines (the second one measured and thrown away: with this many sockets the first
/// may still be going out), then `rounds` measured ones, spaced; also the server's CPU time
/// over them.
fn announce_rounds(
    server: &mut Server,
    fleet: &crate::subscribers::Fleet,
    rounds: usize,
) -> Result<(Vec<Round>, Duration)> {
    server.warm_up(fleet, "bench warm-up")?;
    server.announce(fleet, "bench warm-up, second", ROUND_LIMIT)?;
    std::thread::sleep(SPACING);
    let cpu_before = server.proc.cpu_time()?;
    let mut done = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let text = format!(
            "Now Playing: Song #{i}: Bench track by Bench Artist - https://soundcloud.com/bench/track-{i:05}"
        );
        done.push(server.announce(fleet, &text, ROUND_LIMIT)?);
        std::thread::sleep(SPACING);
    }
    let cpu = server.proc.cpu_time()?.saturating_sub(cpu_before);
    Ok((done, cpu))
}

/// The blocks of one server, summed up for the table.
struct Series<'a> {
    blocks: &'a [Outcome],
    rounds: Rounds,
}

impl Series<'_> {
    fn of(blocks: &[Outcome]) -> Series<'_> {
        let all: Vec<Round> = blocks
            .iter()
            .flat_map(|b| b.rounds.iter().cloned())
            .collect();
        Series {
            blocks,
            rounds: Rounds::of(&all),
        }
    }

    /// The fewest connected in any block.
    fn connected(&self) -> usize {
        self.blocks.iter().map(|b| b.connected).min().unwrap_or(0)
    }

    /// The largest memory per subscriber of any block.
    fn per_subscriber(&self) -> f64 {
        self.blocks
            .iter()
            .map(Outcome::per_subscriber)
            .fold(0.0, f64::max)
    }

    /// Each block's figure, "a / b".
    fn each(&self, figure: impl Fn(&Outcome) -> String) -> String {
        let all: Vec<String> = self.blocks.iter().map(figure).collect();
        all.join(" / ")
    }

    fn cpu_per_delivery(&self) -> f64 {
        let sum: f64 = self.blocks.iter().map(Outcome::cpu_per_delivery).sum();
        sum / self.blocks.len().max(1) as f64
    }
}

fn rows(ctx: &Ctx, n: usize, floor: &[Outcome], hub: &[Outcome], fds: u64) -> Vec<Row> {
    let (floor, hub) = (Series::of(floor), Series::of(hub));
    let what = |s: &str| format!("replicas: one hub, {n} subscribers: {s}");
    let ratio = hub.rounds.last.p50.as_secs_f64() / floor.rounds.last.p50.as_secs_f64().max(1e-9);
    let per = hub.per_subscriber();
    // At the smoke size the hub's fixed costs weigh most: figures only, no verdict.
    let judged = |measured: String, target: &str, ok: bool, name: &str| {
        if ctx.quick {
            Row::info(
                what(name),
                measured,
                "(smoke size; the goal is for 100,000)",
            )
        } else {
            Row::new(what(name), measured, target, ok)
        }
    };
    vec![
        judged(
            connected(&hub, &floor),
            &format!("all {n} (each block)"),
            hub.connected() == n,
            "connected",
        ),
        judged(
            format!(
                "{} (per block: {}; idle → with the crowd: {})",
                kb(per),
                hub.each(|b| kb(b.per_subscriber())),
                hub.each(|b| format!("{} → {}", mb(b.idle), mb(b.loaded)))
            ),
            "≤ 8 KB per subscriber (goal stated for 100,000)",
            per <= MEMORY_GOAL,
            "hub RSS per subscriber",
        ),
        Row::info(
            what("bare floor fan-out"),
            floor.rounds.describe(),
            "(the reference)",
        ),
        judged(
            format!("{}; = {ratio:.2} × floor", hub.rounds.describe()),
            "last arrival ≤ 1.1 × floor (p50 of rounds; goal stated for 100,000)",
            ratio <= RATIO_GOAL && hub.rounds.missing == 0,
            "hub fan-out",
        ),
        Row::info(
            what("context"),
            context(&floor, &hub, fds, ctx),
            "(context)",
        ),
    ]
}

/// Figures that explain the verdicts: the server's CPU per delivery, the floor's memory, the
/// client's, the limits and the pinning.
fn context(floor: &Series, hub: &Series, fds: u64, ctx: &Ctx) -> String {
    let (hub_cpu, floor_cpu) = (hub.cpu_per_delivery(), floor.cpu_per_delivery());
    format!(
        "server CPU per delivery hub {hub_cpu:.1} µs, floor {floor_cpu:.1} µs (= {:.2} ×); \
         floor RSS per subscriber {}; bench RSS per client socket {} (the first crowd: later \
         ones reuse what it freed); open-file limit {fds}; {}",
        hub_cpu / floor_cpu.max(1e-9),
        floor.each(|b| kb(b.per_subscriber())),
        floor
            .blocks
            .first()
            .map_or_else(|| "-".to_owned(), |b| kb(b.client_bytes)),
        ctx.cpus.describe()
    )
}

/// "N (floor: N)", with the first error if some did not connect.
fn connected(hub: &Series, floor: &Series) -> String {
    let mut s = format!("{} (floor: {})", hub.connected(), floor.connected());
    for (name, series) in [("hub", hub), ("floor", floor)] {
        let failed: usize = series.blocks.iter().map(|b| b.failed).sum();
        if let Some(e) = series.blocks.iter().find_map(|b| b.first_error.as_ref()) {
            s.push_str(&format!("; {failed} failed on the {name}, first: {e}"));
        }
    }
    s
}
