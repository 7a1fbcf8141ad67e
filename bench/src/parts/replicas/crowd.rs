//! One hub (SQLite, the release binary) and 100,000 WebSocket subscribers (`/ws/announce` with
//! the relay token) on this machine: how many connect, the hub's memory per subscriber (RSS
//! with the crowd minus RSS idle, divided), and one line's last arrival over several spaced
//! announces, against the bare floor with the same crowd of the same client.
//!
//! The floor goes first, then the hub; each gets a fresh crowd. The crowd is spread over
//! source addresses 127.0.0.2, … (20,000 each: one address has ~28,000 ports toward one server
//! port), and each client reads with a 1 KiB buffer, so the bench's own 100,000 sockets stay
//! small. The open-file limit is raised inside the bench (hard limit too, as root), and hub and
//! floor inherit it; the part stops if the server's limit is still too low.
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

const PER_SOURCE: usize = 20_000;
const READ_BUFFER: usize = 1024;
/// Room for what the processes hold besides the crowd (listeners, the store, logs).
const FD_MARGIN: u64 = 10_000;
const CONNECT_LIMIT: Duration = Duration::from_secs(600);
/// A line reaches 100,000 sockets in seconds on one core; this bounds a round that hangs.
const ROUND_LIMIT: Duration = Duration::from_secs(60);
/// Between announces, so each starts from idle (pings and status frames aside).
const SPACING: Duration = Duration::from_secs(1);
const MEMORY_GOAL: f64 = 8_000.0;
const RATIO_GOAL: f64 = 1.1;

/// What one server did with the crowd.
struct Outcome {
    connected: usize,
    failed: usize,
    first_error: Option<String>,
    idle: u64,
    loaded: u64,
    /// The bench's own RSS growth per connected client.
    client_bytes: f64,
    rounds: Rounds,
}

impl Outcome {
    fn per_subscriber(&self) -> f64 {
        (self.loaded as f64 - self.idle as f64) / self.connected.max(1) as f64
    }
}

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let n = ctx.size(100_000, 5_000);
    let rounds = ctx.size(8, 5);
    let want = n as u64 + FD_MARGIN;
    let fds = raise_fd_limit_to(want);
    if fds < want {
        bail!("the open-file limit is {fds}, {n} subscribers need {want}: run as root");
    }
    progress(&format!(
        "replicas: the bare floor with {n} subscribers, {rounds} announces"
    ));
    let (proc, addr) = start_floor(ctx.cpus.server, ctx.scratch.path())?;
    let floor = with_crowd(ctx, Server::floor(proc, addr)?, n, rounds)?;
    progress(&format!(
        "replicas: one hub with {n} subscribers, {rounds} announces"
    ));
    let setup = HubSetup::new(&ctx.rt, 0)?;
    let hub = with_crowd(
        ctx,
        Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?,
        n,
        rounds,
    )?;
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
    let done = announce_rounds(&mut server, &fleet, rounds)?;
    drop(fleet);
    server.proc.stop();
    Ok(Outcome {
        connected,
        failed,
        first_error: first_error.map(|e| format!("{e:#}")),
        idle,
        loaded,
        client_bytes,
        rounds: Rounds::of(&done),
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
/// may still be going out), then `rounds` measured ones, spaced.
fn announce_rounds(
    server: &mut Server,
    fleet: &crate::subscribers::Fleet,
    rounds: usize,
) -> Result<Vec<Round>> {
    server.warm_up(fleet, "bench warm-up")?;
    server.announce(fleet, "bench warm-up, second", ROUND_LIMIT)?;
    std::thread::sleep(SPACING);
    let mut done = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let text = format!(
            "Now Playing: Song #{i}: Bench track by Bench Artist - https://soundcloud.com/bench/track-{i:05}"
        );
        done.push(server.announce(fleet, &text, ROUND_LIMIT)?);
        std::thread::sleep(SPACING);
    }
    Ok(done)
}

fn rows(ctx: &Ctx, n: usize, floor: &Outcome, hub: &Outcome, fds: u64) -> Vec<Row> {
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
            connected(hub, floor),
            &format!("all {n}"),
            hub.connected == n,
            "connected",
        ),
        judged(
            format!(
                "{} ({} idle, {} with the crowd)",
                kb(per),
                mb(hub.idle),
                mb(hub.loaded)
            ),
            "≤ 8 KB per subscriber",
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
            "last arrival ≤ 1.1 × floor (p50 of rounds)",
            ratio <= RATIO_GOAL && hub.rounds.missing == 0,
            "hub fan-out",
        ),
        Row::info(
            what("context"),
            format!(
                "floor RSS per subscriber {}; bench RSS per client socket {} (the floor's crowd, the first: the hub's reuses what it freed); open-file limit {fds}; {}",
                kb(floor.per_subscriber()),
                kb(floor.client_bytes),
                ctx.cpus.describe()
            ),
            "(context)",
        ),
    ]
}

/// "N of N (floor: N)", with the first error if some did not connect.
fn connected(hub: &Outcome, floor: &Outcome) -> String {
    let mut s = format!("{} (floor: {})", hub.connected, floor.connected);
    for (name, o) in [("hub", hub), ("floor", floor)] {
        if let Some(e) = &o.first_error {
            s.push_str(&format!("; {} failed on the {name}, first: {e}", o.failed));
        }
    }
    s
}
