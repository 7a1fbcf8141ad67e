//! Part 11: delivery targets must not slow the POST answer or the WebSocket fan-out. With N
//! subscribers, the same hub config with eight `[[targets]]` of mixed kinds (Discord, Matrix,
//! Icecast, Mastodon, Bluesky, Telegram and ntfy answering at once, and a `webhook` that accepts
//! and never answers) against none, hub processes alternating in blocks: POST answer time,
//! fan-out last arrival, and the time from sending the announce until each receiver had it.

mod receivers;

use std::time::{Duration, Instant};

use anyhow::Result;

use super::{Ctx, GAP, Rounds, progress};
use crate::report::{Row, Summary, ms};
use crate::servers::{HubSetup, Server};
use crate::subscribers::Round;
use receivers::{ANSWERING, Kind, Latencies, Receivers, TARGETS};

/// The POST's p99 with targets may exceed the one without by this factor or by [`SLACK`],
/// whichever is larger, and never [`LIMIT`].
const MAX_FACTOR: f64 = 1.5;
const SLACK: Duration = Duration::from_millis(2);
const LIMIT: Duration = Duration::from_millis(5);
const MAX_FANOUT_RATIO: f64 = 1.15;
/// How long a block waits after its last round for the deliveries still on their way.
const DELIVERY_WAIT: Duration = Duration::from_secs(5);

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let n = ctx.size(10_000, 1_000);
    // 200 POSTs per configuration: with fewer, p99 is the slowest one or two and says more
    // about this machine than about the targets.
    let rounds = ctx.size(50, 10);
    let blocks = ctx.size(4, 1);
    let receivers = Receivers::start(&ctx.rt)?;
    let toml = receivers.targets_toml();
    let (mut none, mut with) = (Vec::new(), Vec::new());
    let mut deliveries = Deliveries::default();
    for block in 1..=blocks {
        progress(&format!(
            "targets: no targets, {n} subscribers, block {block}/{blocks}: {rounds} rounds"
        ));
        let setup = HubSetup::new(&ctx.rt, 0)?;
        none.extend(measure(ctx, &setup, (n, rounds), None)?.0);
        progress(&format!(
            "targets: {TARGETS} targets of mixed kinds (1 hung), {n} subscribers, block {block}/{blocks}: {rounds} rounds"
        ));
        let setup = HubSetup::with_toml(&ctx.rt, 0, &toml)?;
        receivers.clear();
        let (done, got) = measure(ctx, &setup, (n, rounds), Some(&receivers))?;
        with.extend(done);
        if let Some(got) = got {
            deliveries.add(got);
        }
    }
    receivers.stop();
    Ok(rows(n, &Rounds::of(&none), &Rounds::of(&with), &deliveries))
}

/// Starts a hub on `setup`, connects `n` subscribers, runs `rounds` announces; with
/// `receivers`, waits for their deliveries before the hub stops and returns their latencies.
fn measure(
    ctx: &Ctx,
    setup: &HubSetup,
    (n, rounds): (usize, usize),
    receivers: Option<&Receivers>,
) -> Result<(Vec<Round>, Option<Latencies>)> {
    let mut hub = Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?;
    let fleet = hub.subscribe(&ctx.rt, n)?;
    hub.warm_up(&fleet, "bench warm-up")?;
    let mut done = Vec::with_capacity(rounds);
    let mut sent = Vec::with_capacity(rounds);
    for round in 0..rounds {
        sent.push(Instant::now());
        done.push(hub.announce(&fleet, &receivers::line(round), Duration::from_secs(10))?);
        std::thread::sleep(GAP);
    }
    let latencies = receivers.map(|r| r.latencies(&sent, DELIVERY_WAIT));
    drop(fleet);
    hub.proc.stop();
    Ok((done, latencies))
}

/// Every block's delivery latencies, per answering kind, and how many never came.
#[derive(Default)]
struct Deliveries {
    per_kind: Vec<(Kind, Vec<Duration>)>,
    missing: usize,
}

impl Deliveries {
    fn add(&mut self, got: Latencies) {
        for (kind, latencies) in got.per_kind {
            match self.per_kind.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, all)) => all.extend(latencies),
                None => self.per_kind.push((kind, latencies)),
            }
        }
        self.missing += got.missing;
    }

    /// One context row per kind: "p50 …, p99 …, max … (n=…)".
    fn rows(&self, rounds: usize) -> Vec<Row> {
        self.per_kind
            .iter()
            .map(|(kind, latencies)| {
                let s = Summary::of(latencies.clone());
                let mut text = format!(
                    "p50 {}, p99 {}, max {} (n={} of {rounds})",
                    ms(s.p50),
                    ms(s.p99),
                    ms(s.max),
                    s.n
                );
                if s.n < rounds {
                    text.push_str(&format!(" MISSING after {DELIVERY_WAIT:?}"));
                }
                Row::info(
                    format!("11. announce → {} received: p50/p99", kind.name()),
                    text,
                    "(context)",
                )
            })
            .collect()
    }
}

fn rows(n: usize, none: &Rounds, with: &Rounds, deliveries: &Deliveries) -> Vec<Row> {
    let (t, z) = (&with.response, &none.response);
    let bound = z.p99.mul_f64(MAX_FACTOR).max(z.p99 + SLACK);
    let post_ok = t.p99 <= bound && t.p99 <= LIMIT;
    let ratio = with.last.p50.as_secs_f64() / none.last.p50.as_secs_f64().max(1e-9);
    let mut out = vec![
        Row::new(
            format!("11. POST announce with {TARGETS} targets (1 hung) vs none: p50/p99"),
            format!(
                "targets p50 {} p99 {} vs none p50 {} p99 {} ({n} subscribers, {} rounds each)",
                ms(t.p50),
                ms(t.p99),
                ms(z.p50),
                ms(z.p99),
                with.rounds
            ),
            "p99 ≤ max(1.5 × none, none + 2 ms) and ≤ 5 ms",
            post_ok,
        ),
        Row::new(
            "11. fan-out last arrival with targets vs none",
            format!(
                "p50 {} vs {} (= {ratio:.2} ×); with targets: {}",
                ms(with.last.p50),
                ms(none.last.p50),
                with.describe()
            ),
            "≤ 1.15 × none",
            ratio <= MAX_FANOUT_RATIO && with.missing == 0 && none.missing == 0,
        ),
    ];
    out.extend(deliveries.rows(with.rounds));
    if deliveries.missing > 0 || deliveries.per_kind.len() < ANSWERING.len() {
        out.push(Row::info(
            "11. deliveries missing",
            format!(
                "{} of {} × {}",
                deliveries.missing,
                ANSWERING.len(),
                with.rounds
            ),
            "(context)",
        ));
    }
    out
}
