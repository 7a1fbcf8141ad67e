//! `ntr-bench replicas`: what replicas are for, measured. Not part of `ntr-bench` (all): its
//! crowd of 100,000 sockets takes minutes to connect and tear down.
//!
//! Each measurement is one module with a `run` returning its rows; this list runs them in turn.
//! Measured now:
//!
//! - [`crowd`]: one hub (SQLite) with 100,000 WebSocket subscribers: how many connect, the
//!   hub's memory per subscriber, one line's last arrival against the bare floor.
//!
//! Two more join the list, each as a module of its own, once a hub runs as replicas sharing
//! PostgreSQL: an announce on replica A → its arrival at a subscriber of replica B (p50, p99;
//! against the same path on one SQLite hub), and one line's last arrival with 2 replicas ×
//! 10,000 subscribers against 1 hub × 10,000.

pub mod crowd;

use anyhow::Result;

use super::Ctx;
use crate::report::Row;

/// `subscribers` is the crowd's size (100,000 unless told otherwise).
pub fn run(ctx: &Ctx, subscribers: usize) -> Result<Vec<Row>> {
    crowd::run(ctx, subscribers)
}
