//! An ack: a line reached a target. Relays ack over their WebSocket, the hub's own
//! `[[targets]]` ack when a delivery succeeds; both go through [`Acks`], so an ack is stored,
//! counted and shown to dashboards the same way whoever made it. A relay's acks are capped per
//! line ([`crate::store::ACK_TARGETS_PER_RELAY`]): what is over the cap is only counted.

use std::sync::Arc;

use ntr_protocol::Seq;

use crate::broadcast::Broadcaster;
use crate::metrics::Metrics;
use crate::store::{RelayAck, Store, StoreError};

/// What recording an ack touches. Cheap to clone.
#[derive(Clone)]
pub struct Acks {
    store: Store,
    metrics: Arc<Metrics>,
    broadcaster: Broadcaster,
}

impl Acks {
    pub fn new(store: Store, metrics: Arc<Metrics>, broadcaster: Broadcaster) -> Acks {
        Acks {
            store,
            metrics,
            broadcaster,
        }
    }

    /// Records that line `seq` reached `target`. The first ack of a line for a target is counted
    /// in `/metrics` and sent to the dashboards, and then `true` is returned; a repeat (a relay
    /// that resent, a delivery redone after a restart) changes nothing. A database error is
    /// logged: the line was delivered all the same, only "where it landed" misses it.
    pub async fn record(&self, seq: Seq, target: &str) -> bool {
        let stored = self.store.record_ack(seq, target.to_owned()).await;
        let outcome = stored.map(|new| {
            if new {
                RelayAck::Recorded
            } else {
                RelayAck::Known
            }
        });
        self.recorded(seq, target, outcome)
    }

    /// As [`Acks::record`], for an ack of the named relay: one over its cap for the line is
    /// dropped and counted in `/metrics`.
    pub async fn record_for_relay(&self, relay: &str, seq: Seq, target: &str) -> bool {
        let stored = self
            .store
            .record_relay_ack(seq, target.to_owned(), relay.to_owned())
            .await;
        self.recorded(seq, target, stored)
    }

    /// Counts and shows what the store answered.
    fn recorded(&self, seq: Seq, target: &str, stored: Result<RelayAck, StoreError>) -> bool {
        match stored {
            Ok(RelayAck::Recorded) => {
                self.metrics.ack();
                self.broadcaster.ack(seq, target);
                true
            }
            Ok(RelayAck::OverCap) => {
                self.metrics.ack_dropped();
                false
            }
            Ok(RelayAck::Known) => false,
            Err(e) => {
                tracing::warn!(%seq, target, error = %e, "cannot record an ack");
                false
            }
        }
    }
}
