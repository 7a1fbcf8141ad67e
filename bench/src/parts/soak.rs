//! `ntr-bench soak --minutes N`: 2,000 subscribers connecting and leaving continuously while
//! the hub announces once a second, to show that nothing grows with time. The subscribers are
//! ten groups of 200; every second the oldest group leaves and a fresh one joins, so the whole
//! crowd is replaced every ten seconds. RSS and open file descriptors of the hub are read
//! after a minute of this (the warm-up), and again at the end with 2,000 in; then once more
//! after everybody has left.
//!
//! Not part of `ntr-bench` (all): it runs for minutes. The verdict allows what a warm-up
//! leaves behind (allocator arenas, SQLite's page cache): RSS may grow by 10 % + 2 MB, file
//! descriptors by 16.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{Ctx, progress};
use crate::procs::Proc;
use crate::report::{Row, mb};
use crate::servers::{HubSetup, Server};
use crate::subscribers::Fleet;

const GROUPS: usize = 10;
const GROUP_SIZE: usize = 200;
const FD_SLACK: u64 = 16;
const WARM_UP: Duration = Duration::from_secs(60);

/// What the hub held at one moment.
#[derive(Clone, Copy)]
struct Sample {
    rss: u64,
    fds: u64,
}

impl Sample {
    fn of(proc: &Proc) -> Result<Sample> {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", proc.pid()))
            .context("reading the hub's open files")?
            .count() as u64;
        Ok(Sample {
            rss: proc.rss()?,
            fds,
        })
    }
}

pub fn run(ctx: &Ctx, minutes: u32) -> Result<Vec<Row>> {
    let length = ctx.size(
        Duration::from_secs(u64::from(minutes) * 60),
        Duration::from_secs(15),
    );
    let (groups, size) = ctx.size((GROUPS, GROUP_SIZE), (GROUPS, 20));
    progress(&format!(
        "soak: {} subscribers ({groups} groups of {size}, one replaced a second), one announce a second, {} s",
        groups * size,
        length.as_secs()
    ));
    let setup = HubSetup::new(&ctx.rt, 20)?;
    let mut hub = Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?;
    let mut crowd = VecDeque::with_capacity(groups);
    for _ in 0..groups {
        crowd.push_back(Fleet::connect(&ctx.rt, &hub.ws_url(), hub.token(), size)?);
    }
    hub.wait_count((groups * size) as u64)?;
    std::thread::sleep(Duration::from_secs(2));
    let cold = Sample::of(&hub.proc)?;
    // One minute of churn first: the allocator's high-water mark for a crowd being replaced
    // is reached in the first rounds (measured: +7 MB in the first minute, then flat within
    // ±0.5 MB); growth after that is what would be a leak.
    churn(
        ctx,
        &mut hub,
        &mut crowd,
        ctx.size(WARM_UP, Duration::from_secs(5)),
    )?;
    let start = Sample::of(&hub.proc)?;
    progress(&format!(
        "soak: warmed up: RSS {} → {}, open files {} → {}",
        mb(cold.rss),
        mb(start.rss),
        cold.fds,
        start.fds
    ));
    let (announces, joins) = churn(ctx, &mut hub, &mut crowd, length)?;
    std::thread::sleep(Duration::from_secs(2));
    let end = Sample::of(&hub.proc)?;
    drop(crowd);
    hub.wait_count_at_most(0)?;
    std::thread::sleep(Duration::from_secs(2));
    let empty = Sample::of(&hub.proc)?;
    hub.proc.stop();
    Ok(rows(
        (start, end, empty),
        (announces, joins),
        groups * size,
        length,
    ))
}

/// Replaces one group a second and announces once a second until `minutes` have passed.
/// Returns the announces made and the subscribers that joined along the way.
fn churn(
    ctx: &Ctx,
    hub: &mut Server,
    crowd: &mut VecDeque<Fleet>,
    length: Duration,
) -> Result<(u64, u64)> {
    let until = Instant::now() + length;
    let (mut announces, mut joins) = (0u64, 0u64);
    while Instant::now() < until {
        let tick = Instant::now();
        let size = crowd.front().map_or(0, Fleet::len);
        drop(crowd.pop_front());
        crowd.push_back(Fleet::connect(&ctx.rt, &hub.ws_url(), hub.token(), size)?);
        joins += size as u64;
        hub.announce_text(&format!("soak {announces}"))?;
        announces += 1;
        if let Some(rest) = Duration::from_secs(1).checked_sub(tick.elapsed()) {
            std::thread::sleep(rest);
        }
        if announces % 60 == 0 {
            // The trend matters more than two end points: growth that levels off is the
            // allocator warming up, growth that keeps its pace is a leak.
            let now = Sample::of(&hub.proc)?;
            progress(&format!(
                "soak: {announces} announces, {joins} joins, RSS {}, {} open files",
                mb(now.rss),
                now.fds
            ));
        }
    }
    if announces == 0 {
        bail!("the soak ran no round");
    }
    Ok((announces, joins))
}

/// The table rows from the samples at start, end and after everybody left.
fn rows(
    (start, end, empty): (Sample, Sample, Sample),
    (announces, joins): (u64, u64),
    subscribers: usize,
    length: Duration,
) -> Vec<Row> {
    let rss_limit = start.rss + start.rss / 10 + 2_000_000;
    vec![
        Row::new(
            format!(
                "soak RSS, {subscribers} subscribers, warmed-up start → end of {} s",
                length.as_secs()
            ),
            format!(
                "{} → {} ({announces} announces, {joins} joins)",
                mb(start.rss),
                mb(end.rss)
            ),
            "no growth beyond noise (≤ +10 % + 2 MB)",
            end.rss <= rss_limit,
        ),
        Row::new(
            "soak open file descriptors, start → end",
            format!("{} → {}", start.fds, end.fds),
            "no growth (≤ +16)",
            end.fds <= start.fds + FD_SLACK,
        ),
        Row::info(
            "soak after everybody left: RSS / file descriptors",
            format!("{} / {}", mb(empty.rss), empty.fds),
            "(context)",
        ),
    ]
}
