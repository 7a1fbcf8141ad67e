//! `ntr-bench`: measures the product's performance targets against the release binaries (`hub`,
//! `irc-relay`, found next to this executable), each started as its own process, over
//! 127.0.0.1, and prints one table: what | measured | target | result.
//!
//! `ntr-bench` runs every part; `ntr-bench PART` one of them; `--quick` a small smoke version.
//! `ntr-bench floor-server --port P` is the bare floor the fan-out is compared with.

mod dial;
mod floor;
mod http;
mod loadgen;
mod observer;
mod parts;
mod procs;
mod report;
mod servers;
mod subscribers;

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::parts::{Ctx, progress};
use crate::report::Row;

#[derive(Parser)]
#[command(
    name = "ntr-bench",
    about = "Measures the announce hub's performance targets"
)]
struct Cli {
    /// A small smoke version (200 subscribers, 50 announces, short windows): under 30 s.
    #[arg(long, global = true)]
    quick: bool,
    /// Do not pin the server to CPU 0 and the load generator to CPU 1.
    #[arg(long, global = true)]
    no_pin: bool,
    #[command(subcommand)]
    part: Option<Part>,
}

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Every part below, in this order (the default).
    All,
    /// 1. POST /admin/announce latency with 10,000 subscribers.
    Announce,
    /// 2. Fan-out to 1,000 and 10,000 subscribers, hub against the bare floor.
    Fanout,
    /// 3. One stalled subscriber among 1,000.
    Stalled,
    /// 4. Hub RSS idle and per subscriber.
    Memory,
    /// 5. GET /playlist throughput and p99 at 64 connections.
    Playlist,
    /// 6. POST announce → IRC line, through the relay and ngircd.
    Irc,
    /// 7. SoundCloud requests of an unchanged poll.
    Poll,
    /// 8. /events (Server-Sent Events) fan-out against the WebSocket's, memory per listener.
    Events,
    /// 11. Eight targets of mixed kinds (one hung) vs none: POST answer, fan-out, delivery latency.
    Targets,
    /// 12. A station of 12 shows against one: POST answer, fan-out, a week's SoundCloud requests.
    Station,
    /// 2,000 subscribers joining and leaving while announcing once a second; RSS and open
    /// files at start and end (not part of `all`: it runs for minutes).
    Soak {
        /// How long; with --quick, 15 s whatever this says.
        #[arg(long, default_value_t = 10)]
        minutes: u32,
    },
    /// Replicas on PostgreSQL: announce on A → arrival at B against one SQLite hub; 2 replicas
    /// × 10,000 subscribers against 1 hub × 10,000; one hub with 100,000 WebSocket subscribers
    /// (connected, memory per subscriber, fan-out against the floor). Not part of `all`: it
    /// runs for minutes.
    Replicas {
        /// The crowd's size; with --quick, 5,000 whatever this says. Each of the hub, the
        /// floor and the bench needs an open-file limit above it.
        #[arg(long, default_value_t = 100_000)]
        subscribers: usize,
        /// Run only this measurement.
        #[arg(long, value_enum)]
        only: Option<parts::replicas::Measurement>,
    },
    /// A simulated show under faults: kill -9 of hub and relay (≥ 10 each), proxies that cut
    /// and slow the targets' and the IRC server's connections, old-plugin clients coming and
    /// going; then every announce must have reached IRC and every target once, in order.
    /// Not part of `all`.
    Chaos {
        /// How long the show runs (the drain after it comes on top).
        #[arg(long, default_value_t = 10)]
        minutes: u32,
        /// Seeds every moment and pause, so a failing run can be repeated.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Serve the bare floor (used by the fan-out part; runs until SIGTERM).
    FloorServer {
        #[arg(long)]
        port: u16,
    },
}

type PartFn = fn(&Ctx) -> anyhow::Result<Vec<Row>>;

const PARTS: [(Part, PartFn); 10] = [
    (Part::Announce, parts::announce::run),
    (Part::Fanout, parts::fanout::run),
    (Part::Stalled, parts::stalled::run),
    (Part::Memory, parts::memory::run),
    (Part::Playlist, parts::playlist::run),
    (Part::Irc, parts::irc::run),
    (Part::Poll, parts::poll::run),
    (Part::Events, parts::events::run),
    (Part::Targets, parts::targets::run),
    (Part::Station, parts::station::run),
];

fn main() -> ExitCode {
    let cli = Cli::parse();
    let part = cli.part.unwrap_or(Part::All);
    if let Part::FloorServer { port } = part {
        return match floor::run(port) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("floor-server: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Part::Chaos { minutes, seed } = part {
        return finish(chaos(minutes, seed));
    }
    if let Part::Soak { minutes } = part {
        return finish(soak(minutes, cli.quick, !cli.no_pin));
    }
    if let Part::Replicas { subscribers, only } = part {
        return finish(replicas(subscribers, only, cli.quick, !cli.no_pin));
    }
    finish(run(part, cli.quick, !cli.no_pin))
}

/// Exit code 0 when every target was met, 1 when one was missed, 2 when the bench failed.
fn finish(result: anyhow::Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("ntr-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The soak on its own: it takes minutes, so `all` leaves it out.
fn soak(minutes: u32, quick: bool, pin: bool) -> anyhow::Result<bool> {
    procs::raise_fd_limit();
    let ctx = Ctx::new(quick, pin)?;
    let rows = parts::soak::run(&ctx, minutes)?;
    print!("{}", report::table(&rows));
    Ok(rows.iter().all(|r| r.verdict != report::Verdict::Fail))
}

/// The replicas part on its own: it takes minutes, so `all` leaves it out. It raises the
/// open-file limit further itself, to what its crowd needs.
fn replicas(
    subscribers: usize,
    only: Option<parts::replicas::Measurement>,
    quick: bool,
    pin: bool,
) -> anyhow::Result<bool> {
    procs::raise_fd_limit();
    let ctx = Ctx::new(quick, pin)?;
    progress(&format!("replicas: {}", ctx.cpus.describe()));
    let started = Instant::now();
    let rows = parts::replicas::run(&ctx, subscribers, only);
    print!("{}", report::table(&rows));
    progress(&format!("done in {:.1} s", started.elapsed().as_secs_f64()));
    Ok(rows.iter().all(|r| r.verdict != report::Verdict::Fail))
}

/// The chaos run on its own, unpinned: its processes come and go.
fn chaos(minutes: u32, seed: u64) -> anyhow::Result<bool> {
    procs::raise_fd_limit();
    let ctx = Ctx::new(false, false)?;
    let rows = parts::chaos::run(&ctx, minutes, seed)?;
    print!("{}", report::table(&rows));
    Ok(rows.iter().all(|r| r.verdict != report::Verdict::Fail))
}

/// Runs the chosen parts and prints the table; true when every target was met.
fn run(part: Part, quick: bool, pin: bool) -> anyhow::Result<bool> {
    let fds = procs::raise_fd_limit();
    let ctx = Ctx::new(quick, pin)?;
    progress(&format!(
        "{} CPUs, {}; timing thread {}; open-file limit {fds}{}",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        ctx.cpus.describe(),
        if ctx.realtime {
            "SCHED_FIFO"
        } else {
            "not real-time (no permission)"
        },
        if quick { "; --quick" } else { "" }
    ));
    let started = Instant::now();
    let mut rows = Vec::new();
    for (which, run_part) in PARTS {
        if part != Part::All && part != which {
            continue;
        }
        match run_part(&ctx) {
            Ok(r) => rows.extend(r),
            Err(e) => {
                progress(&format!("part failed: {e:#}"));
                rows.push(Row::new(
                    format!("{} (part failed)", part_name(which)),
                    format!("error: {e:#}").replace('\n', " "),
                    "-",
                    false,
                ));
            }
        }
    }
    if part == Part::All {
        rows.extend(parts::seed_rows());
    }
    print!("{}", report::table(&rows));
    progress(&format!("done in {:.1} s", started.elapsed().as_secs_f64()));
    Ok(rows.iter().all(|r| r.verdict != report::Verdict::Fail))
}

fn part_name(part: Part) -> &'static str {
    match part {
        Part::All => "all",
        Part::Announce => "1. announce",
        Part::Fanout => "2. fan-out",
        Part::Stalled => "3. stalled",
        Part::Memory => "4. memory",
        Part::Playlist => "5. playlist",
        Part::Irc => "6. irc",
        Part::Poll => "7. poll",
        Part::Events => "8. events",
        Part::Targets => "11. targets",
        Part::Station => "12. station",
        Part::Soak { .. } => "soak",
        Part::Replicas { .. } => "replicas",
        Part::Chaos { .. } => "chaos",
        Part::FloorServer { .. } => "floor-server",
    }
}
