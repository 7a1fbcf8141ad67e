//! `ntr-bench chaos --minutes N --seed S`: a simulated show under faults. A free-text announce
//! every few seconds for N minutes while, at seeded moments, the hub and the irc-relay are
//! killed with SIGKILL (at least 10 times each) and restarted after a short pause, proxies in
//! front of the two delivery targets (a webhook, a Discord webhook) and of ngircd cut and slow
//! their connections, and old-plugin clients come and go on the relay's token. After a drain
//! with no faults, the verdict compares the hub's log with what the IRC channel, the webhook and
//! the Discord webhook got (every seq once, in order, none lost; resends after a crash counted
//! apart), and the RSS and open files of each incarnation at the same age, first against last.
//!
//! Not part of `ntr-bench` (all) nor of any test run: it takes minutes and kills processes.

mod announcer;
mod channel;
mod lifecycle;
mod plan;
mod plugins;
mod proxy;
mod sinks;
mod stage;
mod summary;
mod verdict;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use e2e::hub::RELAY_TOKEN;
use e2e::ircd::Ircd;
use tokio::task::JoinHandle;

use self::lifecycle::{Flags, Life};
use self::plan::{Actor, Fault, Plan};
use self::plugins::{Plugins, Tally};
use self::sinks::Arrival;
use self::stage::Stage;
use self::verdict::Logged;
use super::{Ctx, progress};
use crate::report::{Row, Verdict};

/// Old-plugin clients connected at a time (at most).
const PLUGIN_LANES: usize = 3;
/// How long the sinks may take to catch up once the faults are over.
const DRAIN_LIMIT: Duration = Duration::from_secs(240);
/// After the sinks are complete, how long to keep listening for late repeats.
const SETTLE: Duration = Duration::from_secs(5);

pub fn run(ctx: &Ctx, minutes: u32, seed: u64) -> Result<Vec<Row>> {
    let length = Duration::from_secs(u64::from(minutes.max(1)) * 60);
    let plan = Plan::draw(seed, length);
    let Some(ircd) = ctx.rt.block_on(Ircd::start()) else {
        bail!("ngircd is not installed: the chaos run needs it");
    };
    let stage = Stage::build(ctx, ircd, minutes)?;
    progress(&format!(
        "chaos: seed {seed}, {} s: {} hub kills, {} relay kills, {} + {} + {} proxy faults; data in {}",
        length.as_secs(),
        plan.hub_kills.len(),
        plan.relay_kills.len(),
        plan.webhook_faults.len(),
        plan.discord_faults.len(),
        plan.irc_faults.len(),
        stage.setup.dir().display()
    ));
    let started = Instant::now();
    let flags = Arc::new(Flags::default());
    let show = show(ctx, &stage, &plan, &flags);
    let drained = show.and_then(|show| {
        progress("chaos: faults over; draining");
        stage.wait_hub()?;
        Ok((show, drain(&stage)?))
    });
    // Whatever happened, the chaos threads stop their processes now.
    flags.show_over.store(true, Ordering::Relaxed);
    flags.finish.store(true, Ordering::Relaxed);
    let (show, (log, arrived)) = drained?;
    let (hub, relay) = (join(show.hub, "hub")?, join(show.relay, "relay")?);
    let rows = summary::rows(&summary::Run {
        plan: &plan,
        log: &log,
        sent: &show.sent,
        arrived: &arrived,
        hub: &hub,
        relay: &relay,
        plugins: &show.plugins,
        connections: [
            stage.webhook_proxy.connections(),
            stage.discord_proxy.connections(),
            stage.irc_proxy.connections(),
        ],
        took: started.elapsed(),
    });
    if rows.iter().any(|r| r.verdict == Verdict::Fail) {
        let kept = stage.keep_logs(plan.seed)?;
        progress(&format!(
            "chaos: FAILED; the logs are kept in {}",
            kept.display()
        ));
    }
    stage.stop();
    Ok(rows)
}

/// What the faulty part of the run leaves.
struct Show {
    sent: Vec<announcer::Sent>,
    hub: std::thread::JoinHandle<Result<Life>>,
    relay: std::thread::JoinHandle<Result<Life>>,
    plugins: Tally,
}

/// The show itself: warm-up, then announces, kills, faults and plugins until the plan's end.
fn show(ctx: &Ctx, stage: &Stage, plan: &Plan, flags: &Arc<Flags>) -> Result<Show> {
    let (start_hub, start_relay) = (stage.hub_starter()?, stage.relay_starter()?);
    let hub0 = (start_hub(0)?, Instant::now());
    let relay0 = (start_relay(0)?, Instant::now());
    stage.warm_up(&warm_up_text(plan.seed), &relay0.0)?;
    // Let the relay's first ack land, so the hub knows it as a relay that acks before any
    // listener shares its token.
    std::thread::sleep(Duration::from_secs(1));
    progress("chaos: warmed up; the show starts");
    let t0 = Instant::now();
    let hub = lifecycle::spawn(
        hub0,
        start_hub,
        plan.hub_kills.clone(),
        (t0, Arc::clone(flags)),
    );
    let relay = lifecycle::spawn(
        relay0,
        start_relay,
        plan.relay_kills.clone(),
        (t0, Arc::clone(flags)),
    );
    let faults = schedule_faults(ctx, stage, plan, t0);
    let plugins = {
        let _runtime = ctx.rt.enter();
        let lanes = plan::lanes(plan.seed, Actor::Plugins, PLUGIN_LANES);
        let url = format!("ws://{}/ws/announce", stage.setup.addr());
        Plugins::start(&url, RELAY_TOKEN, PLUGIN_LANES, lanes)
    };
    let until = tokio::time::Instant::from_std(t0 + plan.length);
    let rng = plan::rng(plan.seed, Actor::Announcer);
    let sent = ctx
        .rt
        .block_on(announcer::run(stage.hub_url(), plan.seed, rng, until));
    for f in faults {
        let _ = ctx.rt.block_on(f);
    }
    flags.show_over.store(true, Ordering::Relaxed);
    let plugins = ctx.rt.block_on(plugins.stop());
    Ok(Show {
        sent,
        hub,
        relay,
        plugins,
    })
}

pub fn warm_up_text(seed: u64) -> String {
    format!("Chaos warm-up of seed {seed}")
}

fn join(life: std::thread::JoinHandle<Result<Life>>, what: &str) -> Result<Life> {
    match life.join() {
        Ok(life) => life.with_context(|| format!("the {what}'s chaos thread")),
        Err(_) => bail!("the {what}'s chaos thread panicked"),
    }
}

/// One task per proxy that applies its faults at their moments.
fn schedule_faults(ctx: &Ctx, stage: &Stage, plan: &Plan, t0: Instant) -> Vec<JoinHandle<()>> {
    let t0 = tokio::time::Instant::from_std(t0);
    [
        (&stage.webhook_proxy, &plan.webhook_faults),
        (&stage.discord_proxy, &plan.discord_faults),
        (&stage.irc_proxy, &plan.irc_faults),
    ]
    .into_iter()
    .map(|(proxy, faults): (&Arc<proxy::Proxy>, &Vec<Fault>)| {
        let (proxy, faults) = (Arc::clone(proxy), faults.clone());
        ctx.rt.spawn(async move {
            for fault in faults {
                tokio::time::sleep_until(t0 + fault.at).await;
                proxy.apply(fault.kind);
            }
        })
    })
    .collect()
}

/// What every sink got.
pub struct Arrived {
    pub irc: Vec<String>,
    pub webhook: Vec<Arrival>,
    pub discord: Vec<Arrival>,
}

impl Arrived {
    fn now(stage: &Stage) -> Arrived {
        let (webhook, discord) = stage.sinks.snapshot();
        Arrived {
            irc: stage.channel.lines(),
            webhook,
            discord,
        }
    }

    fn complete(&self, log: &[Logged]) -> bool {
        let tallies = summary::tallies(log, self, (0, 0, 0));
        tallies.iter().all(|t| t.lost.is_empty())
    }
}

/// Reads the hub's log, then waits (bounded) until every sink has every logged seq, and a
/// little longer for late repeats.
fn drain(stage: &Stage) -> Result<(Vec<Logged>, Arrived)> {
    let log = stage.hub_log()?;
    let started = Instant::now();
    while !Arrived::now(stage).complete(&log) && started.elapsed() < DRAIN_LIMIT {
        std::thread::sleep(Duration::from_secs(1));
    }
    progress(&format!(
        "chaos: drained in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    std::thread::sleep(SETTLE);
    Ok((log, Arrived::now(stage)))
}
