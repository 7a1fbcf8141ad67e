//! The measured parts, one module each; every part starts the processes it needs, measures,
//! stops them, and returns its rows of the table.

pub mod announce;
pub mod chaos;
pub mod events;
pub mod fanout;
pub mod irc;
pub mod memory;
pub mod playlist;
pub mod poll;
pub mod replicas;
pub mod soak;
pub mod stalled;
pub mod station;
pub mod targets;

use std::time::Duration;

use anyhow::Result;
use tokio::runtime::Runtime;

use crate::procs::Cpus;
use crate::report::{Row, Summary};
use crate::subscribers::Round;

/// What every part gets: the client runtime, the CPU layout, the size, a scratch folder.
pub struct Ctx {
    pub rt: Runtime,
    pub cpus: Cpus,
    pub quick: bool,
    pub scratch: tempfile::TempDir,
    /// Whether the coordinator thread (which times the HTTP requests) runs real-time.
    pub realtime: bool,
}

impl Ctx {
    pub fn new(quick: bool, pin: bool) -> Result<Ctx> {
        let cpus = Cpus::choose(pin);
        let rt = crate::subscribers::runtime(cpus.client)?;
        Ok(Ctx {
            rt,
            cpus,
            quick,
            scratch: tempfile::tempdir()?,
            realtime: crate::procs::realtime_current_thread(),
        })
    }

    /// `full` normally, `quick` with `--quick`.
    pub fn size<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// Progress on stderr (the table alone goes to stdout).
pub fn progress(msg: &str) {
    eprintln!("ntr-bench: {msg}");
}

/// What a series of fan-out rounds gave.
pub struct Rounds {
    pub rounds: usize,
    /// Last arrival of each round.
    pub last: Summary,
    /// Every subscriber of every round.
    pub per_subscriber: Summary,
    pub missing: usize,
    /// How long the trigger (the announce POST) took to answer.
    pub response: Summary,
}

impl Rounds {
    pub fn of(rounds: &[Round]) -> Rounds {
        Rounds {
            rounds: rounds.len(),
            last: Summary::of(rounds.iter().map(Round::last).collect()),
            per_subscriber: Summary::of(
                rounds
                    .iter()
                    .flat_map(|r| r.latencies.iter().copied())
                    .collect(),
            ),
            missing: rounds.iter().map(|r| r.missing).sum(),
            response: Summary::of(rounds.iter().map(|r| r.response).collect()),
        }
    }

    /// "last p50 … (max …); per subscriber p50 … p99 …", the way the table shows a series.
    pub fn describe(&self) -> String {
        use crate::report::ms;
        let mut s = format!(
            "last arrival p50 {} (max {}); per subscriber p50 {}, p99 {}; POST answered p50 {}; {} rounds",
            ms(self.last.p50),
            ms(self.last.max),
            ms(self.per_subscriber.p50),
            ms(self.per_subscriber.p99),
            ms(self.response.p50),
            self.rounds
        );
        if self.missing > 0 {
            s.push_str(&format!("; {} deliveries MISSING", self.missing));
        }
        s
    }
}

/// The pause between rounds, so each one starts from idle.
pub const GAP: Duration = Duration::from_millis(50);

/// The figures the targets give for the seed's design, for context (not measured here).
pub fn seed_rows() -> Vec<Row> {
    let t = "(seed design; not measured)";
    vec![
        Row::info("seed: fan-out to 10,000, last arrival", "~230 ms", t),
        Row::info(
            "seed: POST announce answered",
            "~230 ms (after the whole broadcast)",
            t,
        ),
        Row::info("seed: memory per subscriber", "~32 KB", t),
        Row::info("seed: GET /playlist", "~1,200 req/s", t),
        Row::info(
            "seed: one stalled subscriber",
            "blocks every other one forever",
            t,
        ),
        Row::info(
            "floor (targets): fan-out to 10,000",
            "~160 ms (one core each)",
            t,
        ),
    ]
}
