//! An ack: a line reached a target. Relays ack over their WebSocket, the hub's own
//! `[[targets]]` ack when a delivery succeeds; both go through [`Acks::record`], so an ack is
//! stored, counted and shown to dashboards the same way whoever made it.

use std::sync::Arc;

use ntr_protocol::Seq;

use crate::broadcast::Broadcaster;
use crate::metrics::Metrics;
use crate::store::Store;

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
        match self.store.record_ack(seq, target.to_owned()).await {
            Ok(true) => {
                self.metrics.ack();
                self.broadcaster.ack(seq, target);
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(%seq, target, error = %e, "cannot record an ack");
                false
            }
        }
    }
}
