//! An announce on replica A → its arrival at a subscriber of replica B: the path through the
//! database (commit, NOTIFY, B's fan-out), against the same announce's arrival at A's own
//! subscribers and against one SQLite hub's announce → arrival at its own subscribers.
//!
//! A handful of subscribers on each (`/ws/announce` with the relay token), announces one at a
//! time, each waited for until every subscriber has it, then a short pause. The pair and the
//! single hub take turns in blocks (single, pair, single, pair, …), so a busy phase of the
//! shared machine does not land on one of them only; all three hubs run throughout.

use std::time::Duration;

use anyhow::Result;

use super::pair::{Pair, Single, not_measured};
use crate::parts::{Ctx, GAP, Rounds, progress};
use crate::report::{Row, ms};
use crate::subscribers::Round;

const SUBSCRIBERS: usize = 5;
/// A line to a handful of sockets takes milliseconds; this bounds a round that hangs.
const ROUND_LIMIT: Duration = Duration::from_secs(10);
const P50_GOAL: Duration = Duration::from_millis(5);
const P99_GOAL: Duration = Duration::from_millis(20);

const WHAT: &str = "replicas: announce on A → subscriber of B";

/// The rounds of each path, over every block.
#[derive(Default)]
struct Paths {
    to_b: Vec<Round>,
    to_a: Vec<Round>,
    single: Vec<Round>,
}

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let (blocks, per_block) = ctx.size((4, 50), (2, 10));
    let Some(mut pair) = Pair::start(ctx)? else {
        return Ok(vec![not_measured(WHAT)]);
    };
    let mut single = Single::start(ctx)?;
    let on_a = pair.a.subscribe(&ctx.rt, SUBSCRIBERS)?;
    let on_b = pair.b.subscribe(&ctx.rt, SUBSCRIBERS)?;
    let on_single = single.hub.subscribe(&ctx.rt, SUBSCRIBERS)?;
    pair.warm_up(Duration::from_millis(300))?;
    single.hub.warm_up(&on_single, "bench warm-up")?;
    let mut paths = Paths::default();
    for block in 1..=blocks {
        progress(&format!(
            "replicas: announce → arrival, block {block}/{blocks}: {per_block} announces on \
             the SQLite hub, then {per_block} on replica A"
        ));
        for i in 0..per_block {
            paths.single.push(
                single
                    .hub
                    .announce(&on_single, &line(block, i), ROUND_LIMIT)?,
            );
            std::thread::sleep(GAP);
        }
        for i in 0..per_block {
            let mut rounds = pair.announce(&[&on_b, &on_a], &line(block, i), ROUND_LIMIT)?;
            paths.to_a.extend(rounds.pop());
            paths.to_b.extend(rounds.pop());
            std::thread::sleep(GAP);
        }
    }
    drop((on_a, on_b, on_single));
    pair.stop();
    single.stop();
    Ok(rows(ctx, &paths))
}

fn line(block: usize, i: usize) -> String {
    format!(
        "Now Playing: Song #{block}-{i}: Bench track by Bench Artist - https://soundcloud.com/bench/track-{i:05}"
    )
}

fn rows(ctx: &Ctx, paths: &Paths) -> Vec<Row> {
    let (to_b, to_a, single) = (
        Rounds::of(&paths.to_b),
        Rounds::of(&paths.to_a),
        Rounds::of(&paths.single),
    );
    let b = to_b.per_subscriber;
    let verdict = |measured: String| {
        let target = "p50 ≤ 5 ms, p99 ≤ 20 ms (loopback)";
        if ctx.quick {
            Row::info(
                WHAT,
                measured,
                "(smoke size; the goal is for 200 announces)",
            )
        } else {
            let ok = b.p50 <= P50_GOAL && b.p99 <= P99_GOAL && to_b.missing == 0;
            Row::new(WHAT, measured, target, ok)
        }
    };
    let describe = |r: &Rounds| {
        let mut s = format!(
            "p50 {}, p99 {}, max {} ({} arrivals of {} announces; POST answered p50 {}, p99 {})",
            ms(r.per_subscriber.p50),
            ms(r.per_subscriber.p99),
            ms(r.per_subscriber.max),
            r.per_subscriber.n,
            r.rounds,
            ms(r.response.p50),
            ms(r.response.p99)
        );
        if r.missing > 0 {
            s.push_str(&format!("; {} arrivals MISSING", r.missing));
        }
        s
    };
    vec![
        verdict(describe(&to_b)),
        Row::info(
            "replicas: announce on A → subscriber of A (same announces)",
            describe(&to_a),
            "(to compare)",
        ),
        Row::info(
            "replicas: one SQLite hub, announce → its own subscriber",
            describe(&single),
            "(the reference)",
        ),
        Row::info(
            "replicas: arrival context",
            format!(
                "{SUBSCRIBERS} subscribers on each hub; from writing the POST until the frame \
                 is read; {}",
                Pair::layout(ctx)
            ),
            "(context)",
        ),
    ]
}
