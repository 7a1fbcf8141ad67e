//! The report of a chaos run: one table row per figure (announces, kills, proxy faults, plugin
//! sessions, each sink's lines against the hub's log, RSS and open files per incarnation), each
//! judged where the run has a rule for it.

use std::time::Duration;

use super::Arrived;
use super::announcer::Sent;
use super::lifecycle::{Life, SAMPLE_AGE};
use super::plan::{Plan, count_faults};
use super::plugins::Tally;
use super::verdict::{Logged, SinkTally, by_text, reconcile};
use crate::report::{Row, mb};

/// RSS may differ between the first and the last incarnation at the same age by this much.
const RSS_SLACK: u64 = 4_000_000;
const FD_SLACK: u64 = 16;

/// What the report is made of.
pub struct Run<'a> {
    pub plan: &'a Plan,
    pub log: &'a [Logged],
    pub sent: &'a [Sent],
    pub arrived: &'a Arrived,
    pub hub: &'a Life,
    pub relay: &'a Life,
    pub plugins: &'a Tally,
    /// Connections each proxy passed or cut: webhook, Discord, ngircd.
    pub connections: [u64; 3],
    pub took: Duration,
}

/// The three sinks against the log; `budgets` = the resends each may have (irc, webhook,
/// discord).
pub fn tallies(
    log: &[Logged],
    arrived: &Arrived,
    budgets: (usize, usize, usize),
) -> [SinkTally; 3] {
    let webhook: Vec<Option<u64>> = arrived
        .webhook
        .iter()
        .map(|a| {
            let seq = a.seq?;
            let right_key = a.key.as_deref() == Some(format!("announce-{seq}").as_str());
            let right_text = log.iter().any(|l| l.seq == seq && l.message == a.text);
            (right_key && right_text).then_some(seq)
        })
        .collect();
    let irc = by_text(log, arrived.irc.iter().map(String::as_str));
    let discord = by_text(log, arrived.discord.iter().map(|a| a.text.as_str()));
    [
        SinkTally::of("IRC channel (relay + ngircd)", &irc, log, budgets.0),
        SinkTally::of("webhook target", &webhook, log, budgets.1),
        SinkTally::of("Discord target", &discord, log, budgets.2),
    ]
}

pub fn rows(run: &Run) -> Vec<Row> {
    let plan = run.plan;
    let cuts = |f| count_faults(f).0;
    // IRC has no idempotency key and the relay promises at most once: no repeat is allowed
    // there. A target's line may come once more after each crash of the hub or cut of its
    // proxy mid-send (the webhook's with the same Idempotency-Key).
    let budgets = (
        0,
        run.hub.kills + cuts(&plan.webhook_faults),
        run.hub.kills + cuts(&plan.discord_faults),
    );
    let mut rows = vec![
        announces(run),
        kills(run),
        faults(plan, run.connections),
        plugins(run.plugins),
    ];
    rows.extend(tallies(run.log, run.arrived, budgets).iter().map(sink_row));
    rows.push(growth("hub", run.hub));
    rows.push(growth("irc-relay", run.relay));
    rows.push(Row::info(
        "chaos: whole run (warm-up, show, drain)",
        format!("{:.0} s, seed {}", run.took.as_secs_f64(), plan.seed),
        "(context)",
    ));
    rows
}

fn announces(run: &Run) -> Row {
    let r = reconcile(run.sent, run.log);
    let mut measured = format!(
        "{} announces: {} answered, {} answers lost ({} of those announced per the hub's log); \
         {} attempts refused while the hub was down; {} seqs in the hub's log",
        run.sent.len(),
        r.answered,
        r.unknown,
        r.unknown_announced,
        r.retries,
        run.log.len()
    );
    if !r.answered_missing.is_empty() {
        measured.push_str(&format!(
            "; answered but NOT in the log: {:?}",
            r.answered_missing
        ));
    }
    Row::new(
        "chaos: announces against the hub's log",
        measured,
        "every answered seq in the log; only the warm-up unexplained",
        r.passed(1),
    )
}

fn kills(run: &Run) -> Row {
    Row::new(
        "chaos: kill -9 (SIGKILL), each restarted after a seeded pause",
        format!(
            "hub {} ({} incarnations), irc-relay {} ({} incarnations)",
            run.hub.kills, run.hub.incarnations, run.relay.kills, run.relay.incarnations
        ),
        "≥ 10 of each",
        run.hub.kills >= 10 && run.relay.kills >= 10,
    )
}

fn faults(plan: &Plan, [webhook, discord, irc]: [u64; 3]) -> Row {
    let describe = |f, connections| {
        let (c, d) = count_faults(f);
        format!("{c} cuts, {d} delays ({connections} connections)")
    };
    Row::info(
        "chaos: proxy faults",
        format!(
            "webhook: {}; Discord: {}; ngircd: {}",
            describe(&plan.webhook_faults, webhook),
            describe(&plan.discord_faults, discord),
            describe(&plan.irc_faults, irc)
        ),
        "(context)",
    )
}

fn plugins(t: &Tally) -> Row {
    Row::new(
        "chaos: old-plugin clients (first-message subscribe on the relay's token)",
        format!(
            "{} sessions ({} attempts refused while the hub was down), {} lines, {} out of order",
            t.sessions, t.refused, t.lines, t.out_of_order
        ),
        "every session in seq order",
        t.out_of_order == 0 && t.sessions > 0,
    )
}

fn sink_row(t: &SinkTally) -> Row {
    let mut measured = format!(
        "{} of {} seqs ({} lines); lost {}, resends {} (≤ {} allowed), out of order {}, unmatched {}",
        t.delivered,
        t.delivered + t.lost.len(),
        t.arrivals,
        t.lost.len(),
        t.resends,
        t.resend_budget,
        t.out_of_order.len(),
        t.strangers
    );
    if !t.lost.is_empty() {
        measured.push_str(&format!("; LOST seqs {:?}", t.lost));
    }
    if !t.repeated.is_empty() {
        measured.push_str(&format!("; seqs that came 3+ times: {:?}", t.repeated));
    }
    if !t.out_of_order.is_empty() {
        measured.push_str(&format!("; out of order: {:?}", t.out_of_order));
    }
    Row::new(
        format!("chaos: {}: every seq once, in order", t.name),
        measured,
        "none lost, in order, resends ≤ faults",
        t.passed(),
    )
}

/// First against last incarnation at the same age; the end-of-run figure for context.
fn growth(name: &str, life: &Life) -> Row {
    let age = SAMPLE_AGE.as_secs();
    let (Some(first), Some(last)) = (life.at_age.first(), life.at_age.last()) else {
        return Row::new(
            format!("chaos: {name} RSS / open files"),
            "no incarnation lived long enough to be sampled",
            "flat",
            false,
        );
    };
    let max_rss = life.at_age.iter().map(|s| s.rss).max().unwrap_or(0);
    let mut measured = format!(
        "at {age} s old: incarnation {} RSS {}, {} files → incarnation {} RSS {}, {} files \
         (max RSS {} over {} samples)",
        first.incarnation,
        mb(first.rss),
        first.fds,
        last.incarnation,
        mb(last.rss),
        last.fds,
        mb(max_rss),
        life.at_age.len()
    );
    if let Some(end) = life.end {
        measured.push_str(&format!(
            "; after the drain ({} s old): RSS {}, {} files",
            end.age.as_secs(),
            mb(end.rss),
            end.fds
        ));
    }
    Row::new(
        format!("chaos: {name} RSS / open files, first vs last incarnation"),
        measured,
        "flat (≤ +10 % + 4 MB, ≤ +16 files)",
        last.rss <= first.rss + first.rss / 10 + RSS_SLACK && last.fds <= first.fds + FD_SLACK,
    )
}
