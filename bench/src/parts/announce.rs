//! Part 1: how long `POST /admin/announce` takes to answer with 10,000 subscribers connected.
//! Announces are sequential; each round waits until the fan-out reached everybody (or 10 s)
//! before the next, so every POST is timed while the hub fans out its own line.

use std::time::Duration;

use anyhow::Result;

use super::{Ctx, GAP, progress};
use crate::report::{Row, Summary, ms};
use crate::servers::{HubSetup, Server};

const LIMIT: Duration = Duration::from_millis(5);

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let subscribers = ctx.size(10_000, 200);
    let announces = ctx.size(120, 50);
    progress(&format!(
        "announce: hub with {subscribers} subscribers, {announces} announces"
    ));
    let setup = HubSetup::new(&ctx.rt, 0)?;
    let proc = setup.start(ctx.cpus.server)?;
    let mut hub = Server::hub(proc, setup.addr())?;
    let fleet = hub.subscribe(&ctx.rt, subscribers)?;
    hub.warm_up(&fleet, "bench warm-up")?;
    let mut posts = Vec::with_capacity(announces);
    let mut missing = 0;
    for i in 0..announces {
        let round = hub.announce(
            &fleet,
            &format!("bench announce latency {i:05}"),
            Duration::from_secs(10),
        )?;
        posts.push(round.response);
        missing += round.missing;
        std::thread::sleep(GAP);
    }
    drop(fleet);
    hub.proc.stop();
    let s = Summary::of(posts);
    let mut measured = format!(
        "p50 {}, p99 {}, max {} (n={})",
        ms(s.p50),
        ms(s.p99),
        ms(s.max),
        s.n
    );
    if missing > 0 {
        measured.push_str(&format!("; {missing} deliveries missing"));
    }
    Ok(vec![Row::new(
        format!("1. POST /admin/announce answered, {subscribers} subscribers"),
        measured,
        "≤ 5 ms with 10,000 subscribers (judged on p99)",
        s.p99 <= LIMIT && missing == 0,
    )])
}
