//! Part 2: one announce to 1,000 and to 10,000 WebSocket subscribers, hub against the bare
//! floor measured in the same run with the same client: time from sending the POST until the
//! last subscriber has the line, and per-subscriber p50/p99, over several rounds.

use std::time::Duration;

use anyhow::Result;

use super::{Ctx, GAP, Rounds, progress};
use crate::report::Row;
use crate::servers::{HubSetup, Server, start_floor};
use crate::subscribers::Round;

pub const MAX_RATIO: f64 = 1.15;

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let sizes = ctx.size(vec![1_000, 10_000], vec![200]);
    let rounds = ctx.size(20, 10);
    let mut rows = Vec::new();
    for n in sizes {
        progress(&format!("fan-out: floor, {n} subscribers, {rounds} rounds"));
        let (proc, addr) = start_floor(ctx.cpus.server, ctx.scratch.path())?;
        let floor = measure(ctx, Server::floor(proc, addr), n, rounds, "")?;
        progress(&format!("fan-out: hub, {n} subscribers, {rounds} rounds"));
        let setup = HubSetup::new(&ctx.rt, 0)?;
        let hub = measure(
            ctx,
            Server::hub(setup.start(ctx.cpus.server)?, setup.addr()),
            n,
            rounds,
            "",
        )?;
        rows.extend(compare(n, &floor, &hub));
    }
    Ok(rows)
}

/// Connects `n` subscribers to `server`, warms up, runs `rounds` announces, stops the server.
/// `pad` lengthens each line (the stalled part uses long lines).
pub fn measure(
    ctx: &Ctx,
    mut server: Server,
    n: usize,
    rounds: usize,
    pad: &str,
) -> Result<Rounds> {
    let fleet = server.subscribe(&ctx.rt, n)?;
    server.warm_up(&fleet, &format!("bench warm-up {pad}"))?;
    let mut done: Vec<Round> = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let text = format!(
            "Now Playing: Song #{i}: Bench track by Bench Artist - https://soundcloud.com/bench/track-{i:05} {pad}"
        );
        done.push(server.announce(&fleet, &text, Duration::from_secs(10))?);
        std::thread::sleep(GAP);
    }
    drop(fleet);
    server.proc.stop();
    Ok(Rounds::of(&done))
}

fn compare(n: usize, floor: &Rounds, hub: &Rounds) -> Vec<Row> {
    let ratio = hub.last.p50.as_secs_f64() / floor.last.p50.as_secs_f64().max(1e-9);
    vec![
        Row::info(
            format!("2. fan-out to {n}: bare floor"),
            floor.describe(),
            "(the reference)",
        ),
        Row::new(
            format!("2. fan-out to {n}: hub"),
            format!("{}; = {ratio:.2} × floor", hub.describe()),
            "last arrival ≤ 1.15 × floor (p50 of rounds)",
            ratio <= MAX_RATIO && hub.missing == 0,
        ),
    ]
}
