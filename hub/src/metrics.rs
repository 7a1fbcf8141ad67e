//! The hub's metrics, in Prometheus' text format (0.0.4), encoded by `prometheus-client`;
//! served by `GET /metrics`.
//!
//! The hub's own counters (announces, acks, HTTP responses by status) live in the registry and
//! are bumped through the small methods of [`Metrics`]. Values that other parts already keep
//! (open subscribers, polls, SoundCloud requests, the last poll) are read by a collector at
//! scrape time, so they cannot drift from their source.

use std::fmt;
use std::sync::Arc;

use axum::http::StatusCode;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use crate::broadcast::Broadcaster;
use crate::poller::Pollers;

/// Every metric name starts with this (`ntr_announces_total`, …).
const PREFIX: &str = "ntr";

/// The label set of `ntr_http_responses_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    code: u16,
}

/// The hub's metrics registry and handles to the counters it bumps.
pub struct Metrics {
    registry: Registry,
    announces: Counter,
    acks: Counter,
    acks_dropped: Counter,
    responses: Family<StatusLabel, Counter>,
}

impl Metrics {
    /// A registry with the hub's counters, plus a collector that reads `poller` and
    /// `broadcaster` on every scrape.
    pub fn new(poller: Arc<Pollers>, broadcaster: Broadcaster) -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let announces = Counter::default();
        registry.register("announces", "Announcements broadcast", announces.clone());
        let acks = Counter::default();
        registry.register("acks", "Deliveries acknowledged by relays", acks.clone());
        let acks_dropped = Counter::default();
        registry.register(
            "acks_dropped",
            "Relay acks dropped: a relay acked too many targets for one line",
            acks_dropped.clone(),
        );
        let responses = Family::<StatusLabel, Counter>::default();
        registry.register(
            "http_responses",
            "HTTP responses by status",
            responses.clone(),
        );
        registry.register_collector(Box::new(Live {
            poller,
            broadcaster,
        }));
        Metrics {
            registry,
            announces,
            acks,
            acks_dropped,
            responses,
        }
    }

    /// Adds values another part keeps, read at scrape time (the relays' state, for one).
    pub fn add_collector(&mut self, collector: Box<dyn Collector>) {
        self.registry.register_collector(collector);
    }

    pub fn announce(&self) {
        self.announces.inc();
    }

    pub fn ack(&self) {
        self.acks.inc();
    }

    pub fn ack_dropped(&self) {
        self.acks_dropped.inc();
    }

    /// Counts one HTTP response.
    pub fn response(&self, status: StatusCode) {
        let label = StatusLabel {
            code: status.as_u16(),
        };
        self.responses.get_or_create(&label).inc();
    }

    /// The exposition text of every metric.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// The values the poller and the broadcaster keep, read at scrape time.
struct Live {
    poller: Arc<Pollers>,
    broadcaster: Broadcaster,
}

impl fmt::Debug for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let mut put = |name: &str, help: &str, unit: Option<Unit>, metric: &dyn EncodeMetric| {
            let descriptor =
                encoder.encode_descriptor(name, help, unit.as_ref(), metric.metric_type())?;
            metric.encode(descriptor)
        };
        let subscribers = ConstGauge::new(self.broadcaster.local_subscribers());
        put(
            "subscribers",
            "Connected /ws/announce subscribers.",
            None,
            &subscribers,
        )?;
        let requests = ConstCounter::new(self.poller.client().requests());
        put(
            "soundcloud_requests",
            "Requests sent to SoundCloud.",
            None,
            &requests,
        )?;
        let (polls, failed) = self.poller.polls();
        put(
            "polls",
            "Polls run since start.",
            None,
            &ConstCounter::new(polls),
        )?;
        put(
            "polls_failed",
            "Polls that failed since start.",
            None,
            &ConstCounter::new(failed),
        )?;
        let last = self.poller.last_status();
        let last = last.as_ref();
        let ok = ConstGauge::new(i64::from(last.is_some_and(|p| p.ok)));
        put(
            "last_poll_ok",
            "1 if the last SoundCloud poll succeeded.",
            None,
            &ok,
        )?;
        let at = ConstGauge::new(last.map_or(0, |p| p.at.as_second()));
        put(
            "last_poll_timestamp",
            "When the last poll ran (Unix time).",
            Some(Unit::Seconds),
            &at,
        )?;
        let took = ConstGauge::new(last.map_or(0.0, |p| p.duration_ms as f64 / 1000.0));
        put(
            "last_poll_duration",
            "How long the last poll took.",
            Some(Unit::Seconds),
            &took,
        )?;
        let tracks = ConstGauge::new(last.map_or(0, |p| p.tracks));
        put(
            "last_poll_tracks",
            "Likes seen by the last poll.",
            None,
            &tracks,
        )
    }
}
