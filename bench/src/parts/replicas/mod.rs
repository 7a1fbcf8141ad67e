//! `ntr-bench replicas`: what replicas are for, measured. Not part of `ntr-bench` (all): its
//! crowd of 100,000 sockets takes minutes to connect and tear down.
//!
//! Each measurement is one module with a `run` returning its rows; this list runs them in turn.
//! Measured now:
//!
//! - [`crowd`]: one hub (SQLite) with 100,000 WebSocket subscribers: how many connect, the
//!   hub's memory per subscriber, one line's last arrival against the bare floor.
//!
//! - [`arrival`]: an announce on replica A → its arrival at a subscriber of replica B (p50,
//!   p99), against A's own subscribers and against one SQLite hub's own.
//! - [`split`]: one line's last arrival with 2 replicas × 10,000 subscribers against 1 hub ×
//!   10,000.
//!
//! The last two share [`pair`]: two replicas on a throwaway PostgreSQL, and the SQLite hub.
//! A measurement that fails becomes a FAIL row; the others still run.

pub mod arrival;
pub mod crowd;
pub mod pair;
pub mod split;

use super::{Ctx, progress};
use crate::report::Row;

/// One measurement of the part, to run alone with `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Measurement {
    /// One hub with a crowd (`--subscribers`) against the floor.
    Crowd,
    /// Announce on replica A → arrival at a subscriber of replica B.
    Arrival,
    /// 2 replicas × 10,000 subscribers against 1 hub × 10,000.
    Split,
}

/// `subscribers` is the crowd's size (100,000 unless told otherwise); `only` picks one
/// measurement, `None` runs them all.
pub fn run(ctx: &Ctx, subscribers: usize, only: Option<Measurement>) -> Vec<Row> {
    let all = [Measurement::Arrival, Measurement::Split, Measurement::Crowd];
    let mut rows = Vec::new();
    for which in all.into_iter().filter(|m| only.is_none_or(|o| o == *m)) {
        let result = match which {
            Measurement::Crowd => crowd::run(ctx, subscribers),
            Measurement::Arrival => arrival::run(ctx),
            Measurement::Split => split::run(ctx),
        };
        match result {
            Ok(r) => rows.extend(r),
            Err(e) => {
                progress(&format!("replicas: {which:?} failed: {e:#}"));
                rows.push(Row::new(
                    format!("replicas: {which:?} (failed)"),
                    format!("error: {e:#}").replace('\n', " "),
                    "-",
                    false,
                ));
            }
        }
    }
    rows
}
