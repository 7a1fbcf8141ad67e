//! Part 4: hub memory. VmRSS of the hub process 1 s after it answers, then with 10,000
//! subscribers connected (after the joins have settled): (RSS_10k − RSS_idle) / 10,000 per
//! subscriber. The floor is measured the same way, for context.

use std::time::Duration;

use anyhow::Result;

use super::{Ctx, progress};
use crate::report::{Row, kb, mb};
use crate::servers::{HubSetup, Server, start_floor};

const IDLE_LIMIT: u64 = 20_000_000;
const PER_SUBSCRIBER_LIMIT: f64 = 16_000.0;

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let n = ctx.size(10_000, 200);
    progress(&format!("memory: hub idle, then with {n} subscribers"));
    let setup = HubSetup::new(&ctx.rt, 20)?;
    let mut hub = Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?;
    std::thread::sleep(Duration::from_secs(1));
    let idle = hub.proc.rss()?;
    let (loaded, per) = with_subscribers(ctx, &mut hub, n, idle)?;
    hub.proc.stop();

    progress(&format!("memory: floor idle, then with {n} subscribers"));
    let (proc, addr) = start_floor(ctx.cpus.server, ctx.scratch.path())?;
    let mut floor = Server::floor(proc, addr)?;
    std::thread::sleep(Duration::from_secs(1));
    let floor_idle = floor.proc.rss()?;
    let (floor_loaded, floor_per) = with_subscribers(ctx, &mut floor, n, floor_idle)?;
    floor.proc.stop();

    Ok(vec![
        Row::new("4. hub RSS idle", mb(idle), "≤ 20 MB", idle <= IDLE_LIMIT),
        Row::new(
            format!("4. hub RSS per subscriber ({n} connected)"),
            format!("{} ({} with {n})", kb(per), mb(loaded)),
            "≤ 16 KB per extra subscriber",
            per <= PER_SUBSCRIBER_LIMIT,
        ),
        Row::info(
            "4. bare floor RSS idle / per subscriber",
            format!(
                "{} / {} ({} with {n})",
                mb(floor_idle),
                kb(floor_per),
                mb(floor_loaded)
            ),
            "(context)",
        ),
    ])
}

/// RSS with `n` subscribers, and the growth per subscriber over `idle`.
fn with_subscribers(ctx: &Ctx, server: &mut Server, n: usize, idle: u64) -> Result<(u64, f64)> {
    let fleet = server.subscribe(&ctx.rt, n)?;
    std::thread::sleep(Duration::from_secs(1));
    let loaded = server.proc.rss()?;
    drop(fleet);
    Ok((loaded, (loaded as f64 - idle as f64) / n as f64))
}
