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
    // (subscribers, rounds per block); floor and hub alternate in blocks (floor, hub, floor,
    // hub), so a slow phase of the machine does not land on one of them only.
    let sizes = ctx.size(vec![(1_000, 60), (10_000, 15)], vec![(200, 5)]);
    let blocks = ctx.size(3, 1);
    let mut rows = Vec::new();
    for (n, rounds) in sizes {
        let (mut floor, mut hub) = (Vec::new(), Vec::new());
        let (mut floor_cpu, mut hub_cpu) = (Duration::ZERO, Duration::ZERO);
        for block in 1..=blocks {
            progress(&format!(
                "fan-out: floor, {n} subscribers, block {block}/{blocks}: {rounds} rounds"
            ));
            let (proc, addr) = start_floor(ctx.cpus.server, ctx.scratch.path())?;
            let (done, cpu) = measure(ctx, Server::floor(proc, addr)?, n, rounds, "")?;
            floor.extend(done);
            floor_cpu += cpu;
            progress(&format!(
                "fan-out: hub, {n} subscribers, block {block}/{blocks}: {rounds} rounds"
            ));
            let setup = HubSetup::new(&ctx.rt, 0)?;
            let server = Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?;
            let (done, cpu) = measure(ctx, server, n, rounds, "")?;
            hub.extend(done);
            hub_cpu += cpu;
        }
        let deliveries = (n * floor.len()) as f64;
        let floor_per = floor_cpu.as_secs_f64() * 1e6 / deliveries;
        let hub_per = hub_cpu.as_secs_f64() * 1e6 / (n * hub.len()) as f64;
        rows.extend(compare(n, &Rounds::of(&floor), &Rounds::of(&hub)));
        rows.push(Row::info(
            format!("2. fan-out to {n}: server CPU per delivery"),
            format!(
                "hub {hub_per:.1} µs, floor {floor_per:.1} µs (= {:.2} ×; user + system time over the rounds)",
                hub_per / floor_per.max(1e-9)
            ),
            "(diagnostic: less noisy than wall time)",
        ));
    }
    Ok(rows)
}

/// Connects `n` subscribers to `server`, warms up, runs `rounds` announces, stops the server;
/// also returns the CPU time the server used during the rounds. `pad` lengthens each line.
pub fn measure(
    ctx: &Ctx,
    mut server: Server,
    n: usize,
    rounds: usize,
    pad: &str,
) -> Result<(Vec<Round>, Duration)> {
    let fleet = server.subscribe(&ctx.rt, n)?;
    server.warm_up(&fleet, &format!("bench warm-up {pad}"))?;
    let cpu_before = server.proc.cpu_time()?;
    let mut done: Vec<Round> = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let text = format!(
            "Now Playing: Song #{i}: Bench track by Bench Artist - https://soundcloud.com/bench/track-{i:05} {pad}"
        );
        done.push(server.announce(&fleet, &text, Duration::from_secs(10))?);
        std::thread::sleep(GAP);
    }
    let cpu = server.proc.cpu_time()?.saturating_sub(cpu_before);
    drop(fleet);
    server.proc.stop();
    Ok((done, cpu))
}

fn compare(n: usize, floor: &Rounds, hub: &Rounds) -> Vec<Row> {
    let ratio = hub.last.p50.as_secs_f64() / floor.last.p50.as_secs_f64().max(1e-9);
    vec![
        Row::info(
            format!("2. fan-out to {n}: bare floor"),
            floor.describe(),
            "(the reference)",
        ),
        {
            let what = format!("2. fan-out to {n}: hub");
            let measured = format!("{}; = {ratio:.2} × floor", hub.describe());
            let ok = ratio <= MAX_RATIO && hub.missing == 0;
            match n {
                10_000 => Row::new(
                    what,
                    measured,
                    "last arrival ≤ 1.15 × floor (p50 of rounds)",
                    ok,
                ),
                1_000.. => Row::new(what, measured, "≤ 1.15 × floor (stated for 10,000)", ok),
                // A smoke size: the hub's fixed cost per announce (the SQLite write) weighs most.
                _ => Row::info(what, measured, "(smoke size; the target is for 10,000)"),
            }
        },
    ]
}
