//! One line's last arrival with the listeners split over two replicas (N subscribers on each,
//! the line announced on A), against one SQLite hub with N: does a second replica serve twice
//! the listeners in about the time one serves N?
//!
//! N is 10,000 where the open-file limit allows. The bench holds every client socket in one
//! process, so it needs 2 × N + 1,000 descriptors; where the hard limit is fixed (no
//! CAP_SYS_RESOURCE) N shrinks to fit, and the table says which N ran.
//!
//! The single hub and the pair take turns in blocks (single, pair, …), each block with a fresh
//! crowd (dialled from 127.0.0.2, closed with a reset so the next crowd finds the ports free);
//! the three hubs run throughout. Per block: two warm-up lines, then a few lines 1 s apart, each
//! waited for until every subscriber has it.

use std::time::Duration;

use anyhow::{Result, bail};

use super::pair::{Pair, Single, not_measured};
use crate::dial::Dial;
use crate::parts::{Ctx, progress};
use crate::procs::{own_cpu_time, raise_fd_limit_to};
use crate::report::{Row, Summary, ms};
use crate::servers::Server;
use crate::subscribers::{Dialled, Fleet, Round};

const WANTED: usize = 10_000;
/// Room for what the bench holds besides the crowd (listeners, the HTTP client, logs).
const FD_MARGIN: u64 = 1_000;
const READ_BUFFER: usize = 1024;
const CONNECT_LIMIT: Duration = Duration::from_secs(300);
/// A line reaches 20,000 sockets in well under a second; this bounds a round that hangs.
const ROUND_LIMIT: Duration = Duration::from_secs(30);
/// Between lines, so each starts from idle.
const SPACING: Duration = Duration::from_secs(1);
const RATIO_GOAL: f64 = 1.2;

/// What one block gave.
struct Block {
    /// Per line: the last arrival among every subscriber of the block.
    last: Vec<Duration>,
    /// Per fleet (A's crowd, B's crowd; the single hub has one), per line: its last arrival.
    by_fleet: Vec<Vec<Duration>>,
    missing: usize,
    /// The hubs' CPU time (user + system) over the measured lines, and the deliveries made.
    cpu: Duration,
    deliveries: usize,
    /// The bench's own CPU time over the same lines: mostly its clients reading the frames.
    client_cpu: Duration,
}

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let (blocks, lines) = ctx.size((2, 6), (1, 3));
    let wanted = ctx.size(WANTED, 500);
    let fds = raise_fd_limit_to(2 * wanted as u64 + FD_MARGIN);
    let n = crowd_size(wanted, fds);
    if n < 100 {
        bail!("the open-file limit is {fds}: too low for two crowds");
    }
    let Some(mut pair) = Pair::start(ctx)? else {
        return Ok(vec![not_measured(&what(n))]);
    };
    let mut single = Single::start(ctx)?;
    let (mut alone, mut split) = (Vec::new(), Vec::new());
    for block in 1..=blocks {
        progress(&format!(
            "replicas: one SQLite hub with {n} subscribers, block {block}/{blocks}: {lines} lines"
        ));
        alone.push(single_block(ctx, &mut single.hub, n, lines)?);
        progress(&format!(
            "replicas: two replicas with {n} subscribers each, block {block}/{blocks}: {lines} lines"
        ));
        split.push(pair_block(ctx, &mut pair, n, lines)?);
    }
    pair.stop();
    single.stop();
    Ok(rows(ctx, n, fds, &alone, &split))
}

/// N: as `wanted` says, or as many as the bench can hold twice within `fds` descriptors.
fn crowd_size(wanted: usize, fds: u64) -> usize {
    wanted.min((fds.saturating_sub(FD_MARGIN) / 2) as usize)
}

/// N subscribers from 127.0.0.2 (a fresh crowd each block); every one must connect.
fn crowd(ctx: &Ctx, server: &mut Server, n: usize) -> Result<Fleet> {
    let dial = Dial {
        limit: CONNECT_LIMIT,
        read_buffer: READ_BUFFER,
        ..Dial::spread(n, WANTED)
    };
    let Dialled {
        fleet,
        failed,
        first_error,
    } = server.crowd(&ctx.rt, n, &dial)?;
    if let Some(e) = first_error {
        bail!("{failed} of {n} subscribers did not connect to a hub: {e:#}");
    }
    Ok(fleet)
}

fn single_block(ctx: &Ctx, hub: &mut Server, n: usize, lines: usize) -> Result<Block> {
    let fleet = crowd(ctx, hub, n)?;
    hub.warm_up(&fleet, "bench warm-up")?;
    hub.announce(&fleet, "bench warm-up, second", ROUND_LIMIT)?;
    std::thread::sleep(SPACING);
    let (cpu_before, client_before) = (hub.proc.cpu_time()?, own_cpu_time()?);
    let mut rounds = Vec::with_capacity(lines);
    for i in 0..lines {
        rounds.push(vec![hub.announce(&fleet, &line(i), ROUND_LIMIT)?]);
        std::thread::sleep(SPACING);
    }
    let cpu = hub.proc.cpu_time()?.saturating_sub(cpu_before);
    let client_cpu = own_cpu_time()?.saturating_sub(client_before);
    drop(fleet);
    hub.wait_count_at_most(0)?;
    Ok(Block::of(&rounds, cpu, client_cpu))
}

fn pair_block(ctx: &Ctx, pair: &mut Pair, n: usize, lines: usize) -> Result<Block> {
    let on_a = crowd(ctx, &mut pair.a, n)?;
    let on_b = crowd(ctx, &mut pair.b, n)?;
    let fleets = [&on_a, &on_b];
    pair.warm_up(SPACING)?;
    pair.announce(&fleets, "bench warm-up, second", ROUND_LIMIT)?;
    std::thread::sleep(SPACING);
    let cpu_before = pair.a.proc.cpu_time()? + pair.b.proc.cpu_time()?;
    let client_before = own_cpu_time()?;
    let mut rounds = Vec::with_capacity(lines);
    for i in 0..lines {
        rounds.push(pair.announce(&fleets, &line(i), ROUND_LIMIT)?);
        std::thread::sleep(SPACING);
    }
    let cpu = (pair.a.proc.cpu_time()? + pair.b.proc.cpu_time()?).saturating_sub(cpu_before);
    let client_cpu = own_cpu_time()?.saturating_sub(client_before);
    drop((on_a, on_b));
    // Each replica's count is the station's: at most 0 means both crowds have gone.
    pair.a.wait_count_at_most(0)?;
    Ok(Block::of(&rounds, cpu, client_cpu))
}

fn line(i: usize) -> String {
    format!(
        "Now Playing: Song #{i}: Bench track by Bench Artist - https://soundcloud.com/bench/track-{i:05}"
    )
}

impl Block {
    /// From each line's rounds (one per fleet that waited for it).
    fn of(lines: &[Vec<Round>], cpu: Duration, client_cpu: Duration) -> Block {
        Block {
            last: lines
                .iter()
                .map(|fleets| fleets.iter().map(Round::last).max().unwrap_or_default())
                .collect(),
            by_fleet: (0..lines.first().map_or(0, Vec::len))
                .map(|f| {
                    lines
                        .iter()
                        .filter_map(|fleets| fleets.get(f).map(Round::last))
                        .collect()
                })
                .collect(),
            missing: lines.iter().flatten().map(|r| r.missing).sum(),
            cpu,
            deliveries: lines.iter().flatten().map(|r| r.latencies.len()).sum(),
            client_cpu,
        }
    }
}

/// Every block's lines together.
struct Summed {
    last: Summary,
    missing: usize,
    /// The hubs' CPU per delivery, and the bench's per frame received, in µs.
    hub_cpu: f64,
    client_cpu: f64,
}

impl Summed {
    fn of(blocks: &[Block]) -> Summed {
        let deliveries = blocks.iter().map(|b| b.deliveries).sum::<usize>().max(1) as f64;
        let per = |cpu: fn(&Block) -> Duration| {
            blocks.iter().map(|b| cpu(b).as_secs_f64()).sum::<f64>() * 1e6 / deliveries
        };
        Summed {
            last: Summary::of(blocks.iter().flat_map(|b| b.last.iter().copied()).collect()),
            missing: blocks.iter().map(|b| b.missing).sum(),
            hub_cpu: per(|b| b.cpu),
            client_cpu: per(|b| b.client_cpu),
        }
    }
}

fn what(n: usize) -> String {
    format!("replicas: 2 replicas × {n} against 1 hub × {n}")
}

fn rows(ctx: &Ctx, n: usize, fds: u64, alone: &[Block], split: &[Block]) -> Vec<Row> {
    let (one, two) = (Summed::of(alone), Summed::of(split));
    let ratio = two.last.p50.as_secs_f64() / one.last.p50.as_secs_f64().max(1e-9);
    let measured = format!("{}; = {ratio:.2} × one hub", describe(&two));
    let verdict = if ctx.quick {
        Row::info(
            what(n),
            measured,
            "(smoke size; the goal is for 10,000 each)",
        )
    } else {
        Row::new(
            what(n),
            measured,
            "last arrival ≤ 1.2 × one hub (p50 of lines)",
            ratio <= RATIO_GOAL && two.missing == 0,
        )
    };
    let size = if n < ctx.size(WANTED, n) {
        format!(
            "N = {n}, not {WANTED}: the open-file limit is {fds} and the bench holds all 2 × N \
             client sockets in one process"
        )
    } else {
        format!("N = {n}")
    };
    vec![
        Row::info(
            format!("replicas: 1 SQLite hub × {n}"),
            describe(&one),
            "(the reference)",
        ),
        verdict,
        Row::info(
            "replicas: split context",
            format!(
                "{size}; last arrival p50 on A's crowd alone {}, on B's alone {}; hub CPU per \
                 delivery: one hub {:.1} µs, both replicas together {:.1} µs; the bench's CPU \
                 per frame received {:.1} µs (one hub) and {:.1} µs (the pair); {}",
                fleet_p50(split, 0),
                fleet_p50(split, 1),
                one.hub_cpu,
                two.hub_cpu,
                one.client_cpu,
                two.client_cpu,
                Pair::layout(ctx)
            ),
            "(context)",
        ),
    ]
}

fn describe(summed: &Summed) -> String {
    let last = &summed.last;
    let mut text = format!(
        "last arrival p50 {} (max {}; {} lines)",
        ms(last.p50),
        ms(last.max),
        last.n
    );
    if summed.missing > 0 {
        text.push_str(&format!("; {} deliveries MISSING", summed.missing));
    }
    text
}

/// The p50 over every line of one fleet's last arrival (0: A's crowd, 1: B's).
fn fleet_p50(blocks: &[Block], fleet: usize) -> String {
    let each = blocks
        .iter()
        .flat_map(|b| b.by_fleet.get(fleet).into_iter().flatten());
    ms(Summary::of(each.copied().collect()).p50)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crowd_shrinks_to_what_the_open_file_limit_holds_twice() {
        assert_eq!(crowd_size(10_000, 20_000), 9_500);
        assert_eq!(crowd_size(10_000, 65_536), 10_000);
        assert_eq!(crowd_size(500, 20_000), 500);
        assert_eq!(crowd_size(10_000, 500), 0);
    }

    #[test]
    fn a_line_lasts_until_its_last_arrival_on_either_replica() {
        let round = |ms: &[u64], missing| Round {
            response: Duration::ZERO,
            latencies: ms.iter().copied().map(Duration::from_millis).collect(),
            missing,
        };
        let lines = vec![
            vec![round(&[3, 9], 0), round(&[12, 4], 0)],
            vec![round(&[20], 1), round(&[5, 6], 0)],
        ];
        let block = Block::of(&lines, Duration::from_millis(7), Duration::ZERO);
        let ms = |v: &[u64]| {
            v.iter()
                .copied()
                .map(Duration::from_millis)
                .collect::<Vec<_>>()
        };
        assert_eq!(block.last, ms(&[12, 20]));
        assert_eq!(block.by_fleet, vec![ms(&[9, 20]), ms(&[12, 6])]);
        assert_eq!((block.missing, block.deliveries), (1, 7));
        let summed = Summed::of(&[block]);
        assert!(
            (summed.hub_cpu - 1_000.0).abs() < 1e-6,
            "{}",
            summed.hub_cpu
        );
    }
}
