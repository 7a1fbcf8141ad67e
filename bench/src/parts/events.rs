//! Part 8: `/events` (Server-Sent Events) fan-out against the WebSocket fan-out of the same hub
//! in the same run: one announce to N listeners, last arrival, over several rounds; and the
//! hub's memory per event-stream listener.

use std::time::Duration;

use anyhow::Result;

use super::{Ctx, GAP, Rounds, progress};
use crate::report::{Row, kb, ms};
use crate::servers::{HubSetup, Server};
use crate::subscribers::{Fleet, Round};

/// SSE's last arrival may be at most this many times the WebSocket's.
pub const MAX_RATIO: f64 = 1.2;

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    // (clients, rounds per block); WebSocket and SSE alternate in blocks on one hub, so a slow
    // phase of the machine does not land on one of them only.
    let sizes = ctx.size(vec![(1_000, 15), (10_000, 10)], vec![(200, 5)]);
    let blocks = ctx.size(2, 1);
    let mut rows = Vec::new();
    for (n, rounds) in sizes {
        let setup = HubSetup::new(&ctx.rt, 0)?;
        setup.trust_loopback()?;
        let mut hub = Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?;
        let (mut ws, mut sse, mut per) = (Vec::new(), Vec::new(), 0.0);
        let (mut ws_cpu, mut sse_cpu) = (Duration::ZERO, Duration::ZERO);
        for block in 1..=blocks {
            progress(&format!(
                "events: {n} WebSocket subscribers, then {n} SSE listeners, block {block}/{blocks}: {rounds} rounds each"
            ));
            let fleet = hub.subscribe(&ctx.rt, n)?;
            let (done, cpu) = measure(&mut hub, &fleet, rounds)?;
            ws.extend(done);
            ws_cpu += cpu;
            drop(fleet);
            std::thread::sleep(Duration::from_secs(1));
            let before = hub.proc.rss()?;
            let listeners = Fleet::listen(&ctx.rt, hub.addr, n)?;
            std::thread::sleep(Duration::from_secs(1));
            if block == 1 {
                // Later blocks reuse memory the WebSocket fleet left in the allocator.
                per = (hub.proc.rss()? as f64 - before as f64) / n as f64;
            }
            let (done, cpu) = measure(&mut hub, &listeners, rounds)?;
            sse.extend(done);
            sse_cpu += cpu;
            drop(listeners);
            std::thread::sleep(Duration::from_secs(1));
        }
        hub.proc.stop();
        let deliveries = (n * rounds * blocks) as u32;
        let cpu = (ws_cpu / deliveries, sse_cpu / deliveries);
        rows.extend(compare(n, &Rounds::of(&ws), &Rounds::of(&sse), per, cpu));
    }
    Ok(rows)
}

/// The rounds, and the hub's CPU time (user + system) over them.
fn measure(hub: &mut Server, fleet: &Fleet, rounds: usize) -> Result<(Vec<Round>, Duration)> {
    hub.warm_up(fleet, "bench warm-up")?;
    let cpu_before = hub.proc.cpu_time()?;
    let mut done = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let text = format!(
            "Now Playing: Song #{i}: Bench track by Bench Artist - https://soundcloud.com/bench/track-{i:05}"
        );
        done.push(hub.announce(fleet, &text, Duration::from_secs(10))?);
        std::thread::sleep(GAP);
    }
    Ok((done, hub.proc.cpu_time()?.saturating_sub(cpu_before)))
}

/// The ratio goal is stated for 10,000 listeners; at 1,000 a few milliseconds of this shared
/// machine's noise swing the ratio by 0.4 either way, so there only lost lines fail.
const JUDGED_FROM: usize = 10_000;

/// `cpu`: the hub's CPU time per delivery, (WebSocket, SSE).
fn compare(n: usize, ws: &Rounds, sse: &Rounds, per: f64, cpu: (Duration, Duration)) -> Vec<Row> {
    let ratio = sse.last.p50.as_secs_f64() / ws.last.p50.as_secs_f64().max(1e-9);
    let (target, met) = if n >= JUDGED_FROM {
        (
            format!("≤ {MAX_RATIO} × the WebSocket fan-out"),
            ratio <= MAX_RATIO,
        )
    } else {
        (
            "every line (ratio: context, judged at 10,000)".to_string(),
            true,
        )
    };
    vec![
        Row::new(
            format!("8. /events to {n} listeners vs WebSocket, last arrival p50"),
            format!(
                "SSE {} vs WS {} (= {ratio:.2} ×)",
                ms(sse.last.p50),
                ms(ws.last.p50)
            ),
            &target,
            met && sse.missing == 0,
        ),
        Row::info(
            format!("8. /events to {n}: detail"),
            sse.describe(),
            &format!("(WebSocket: {})", ws.describe()),
        ),
        Row::info(
            format!("8. hub CPU per delivery ({n}), SSE vs WebSocket"),
            format!(
                "{:.1} vs {:.1} µs (= {:.2} ×; user + system time over the rounds)",
                cpu.1.as_secs_f64() * 1e6,
                cpu.0.as_secs_f64() * 1e6,
                cpu.1.as_secs_f64() / cpu.0.as_secs_f64().max(1e-12)
            ),
            "(context)",
        ),
        Row::info(
            format!("8. hub RSS per SSE listener ({n} open)"),
            kb(per),
            "(context)",
        ),
    ]
}
