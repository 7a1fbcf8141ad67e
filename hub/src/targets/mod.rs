//! Targets beyond WebSocket subscribers: the hub itself delivers every announce to each
//! configured `[[targets]]` entry — a Discord webhook, a signed generic webhook, a Matrix room,
//! an Icecast stream title, a Mastodon or Bluesky post, a Telegram chat, an ntfy topic — through a persistent ledger, so each line reaches each target
//! once, survives restarts (kill -9 included), and the DJ sees where it landed.
//!
//! Reading order: `config` (what every target has: name, `enabled`, `delay_seconds`, the walk
//! over the blocks) → `kind` (what a kind provides, and the list of kinds) → one module per kind
//! (`discord`, `webhook`, `matrix`, `icecast`, `mastodon`, `bluesky`, `telegram`, `ntfy`: its
//! keys, its redaction, its payload, its send; `cut` fits a line into a kind's limit) →
//! `worker` (the delivery loop, one task per target) → `attempt` (how an answer becomes sent /
//! retry / failed) → `readback` (after a delivery, reading the receiver to check it shows the
//! text sent: Icecast's stream title). The HTTP side (`/admin/deliveries`, `/admin/targets`, the dashboard's panel)
//! is `http::api::targets`; the ledger itself is `store::deliveries`; a sent line is recorded through `crate::acks`.
//!
//! A kind is a type implementing [`kind::Kind`], registered by one line in `kinds::KINDS`,
//! rather than a variant of an enum matched in every method: nothing outside a kind's module
//! ever asks which kind a target is, it only parses, shows and sends it. So a new kind is one
//! new file plus that line (and its keys in [`block::RawTarget`], the TOML shape serde checks),
//! and the list of kinds in error texts comes from the same table.

pub mod attempt;
pub mod block;
pub mod bluesky;
pub mod config;
pub mod cut;
pub mod discord;
pub mod icecast;
pub mod kind;
pub mod kinds;
pub mod mastodon;
pub mod matrix;
pub mod ntfy;
pub mod readback;
pub mod telegram;
pub mod webhook;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, LabelValueEncoder, prometheus_text,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::acks::Acks;
use crate::leadership::Leadership;
use crate::station::Station;
use crate::store::{AlertKind, NewEventRow, Recipient, Store, StoreError};
pub use config::TargetConfig;
use jiff::{SignedDuration, Timestamp};
use ntr_common::shutdown::Shutdown;

/// One line about the configured targets, secrets left out: `discord (discord,
/// https://discord.com/…/webhooks/ID/***); stream (icecast, …, shows b, disabled)`. Which
/// shows each gets is said on a station of several shows, or when a target names some.
pub fn summary(targets: &[TargetConfig], station: &Station) -> String {
    let several = station.shows().len() > 1;
    targets
        .iter()
        .map(|t| {
            let mut line = format!("{} ({}, {}", t.name, t.kind.name(), t.kind.endpoint());
            if several || t.shows.slugs().is_some() {
                line.push_str(&format!(", {}", t.shows.describe()));
            }
            if t.events != config::Events::default() {
                line.push_str(&format!(", events {}", t.events.describe()));
            }
            if t.delay_seconds > 0 {
                line.push_str(&format!(", {} s delay", t.delay_seconds));
            }
            if !t.enabled {
                line.push_str(", disabled");
            }
            line.push(')');
            line
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// How deliveries are timed. Not configuration: tests shorten these through the start-up
/// options.
#[derive(Debug, Clone)]
pub struct Timings {
    /// A line not sent this long after it was due (announce + `delay_seconds`) fails.
    pub give_up_after: Duration,
    /// One request's whole budget; a hung target counts as a failed attempt after it.
    pub request_timeout: Duration,
    /// The first retry's step; doubled each retry up to `retry_max`, the wait a random point in
    /// the upper half of the step.
    pub retry_base: Duration,
    pub retry_max: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            give_up_after: Duration::from_secs(300),
            request_timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
        }
    }
}

impl Timings {
    /// The wait before retry number `retry` (0 for the first): the shared exponential
    /// backoff with jitter.
    pub fn retry_delay(&self, retry: u32) -> Duration {
        ntr_common::backoff::delay(self.retry_base, self.retry_max, retry)
    }
}

/// What `/metrics` counts per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Sent,
    Failed,
    Retried,
}

impl Outcome {
    const ALL: [Outcome; 3] = [Outcome::Sent, Outcome::Failed, Outcome::Retried];

    fn label(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Failed => "failed",
            Outcome::Retried => "retried",
        }
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        std::fmt::Write::write_str(encoder, self.label())
    }
}

/// The labels of `announce_deliveries_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DeliveryLabels {
    target: String,
    outcome: Outcome,
}

/// `announce_deliveries_total{target,outcome}`: what each worker counts. Cheap to clone.
#[derive(Clone)]
pub struct DeliveryCounters(Family<DeliveryLabels, Counter>);

impl DeliveryCounters {
    /// Every series exists from the start, so a dashboard sees 0 rather than nothing.
    fn new(configs: &[TargetConfig]) -> DeliveryCounters {
        let family = Family::<DeliveryLabels, Counter>::default();
        for t in configs {
            for outcome in Outcome::ALL {
                let _ = family.get_or_create(&DeliveryLabels {
                    target: t.name.clone(),
                    outcome,
                });
            }
        }
        DeliveryCounters(family)
    }

    pub fn count(&self, target: &str, outcome: Outcome) {
        let labels = DeliveryLabels {
            target: target.to_owned(),
            outcome,
        };
        self.0.get_or_create(&labels).inc();
    }
}

/// The running delivery workers, for a graceful stop.
pub struct Workers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// A send in flight ends within the request timeout; a little more for the ledger.
    bound: Duration,
}

impl Workers {
    /// After shutdown fired: waits until every worker has recorded its send in flight (at most
    /// one request timeout), so a line the target accepted is not sent again after a restart.
    pub async fn finish(self) {
        let all = futures_util::future::join_all(self.tasks);
        if tokio::time::timeout(self.bound, all).await.is_err() {
            tracing::warn!(
                "a target's send was still open at shutdown: it is retried after the restart"
            );
        }
    }
}

/// The configured targets and what the rest of the hub needs of them: a poke when an announce
/// was logged, counters for `/metrics`. Cheap to clone.
#[derive(Clone)]
pub struct Targets {
    inner: Arc<Inner>,
}

struct Inner {
    configs: Vec<TargetConfig>,
    timings: Timings,
    http: reqwest::Client,
    /// Bumped after every announce; each worker watches it.
    wake: watch::Sender<u64>,
    /// `announce_deliveries_total`, in a registry of its own: the name has no `ntr_` prefix.
    registry: Registry,
    deliveries: DeliveryCounters,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot create the targets' HTTP client: {0}")]
pub struct ClientError(String);

impl Targets {
    pub fn new(configs: Vec<TargetConfig>, timings: Timings) -> Result<Targets, ClientError> {
        let deliveries = DeliveryCounters::new(&configs);
        let mut registry = Registry::default();
        registry.register(
            "announce_deliveries",
            "Delivery attempts to targets by outcome",
            deliveries.0.clone(),
        );
        let timeout = timings.request_timeout;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirect is a misconfigured URL: following one would turn a POST into a GET
            // or carry credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ntr-hub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError(e.to_string()))?;
        Ok(Targets {
            inner: Arc::new(Inner {
                configs,
                timings,
                http,
                wake: watch::channel(0).0,
                registry,
                deliveries,
            }),
        })
    }

    pub fn configs(&self) -> &[TargetConfig] {
        &self.inner.configs
    }

    /// The targets that deliver announces (enabled ones), with the shows each gets.
    pub fn recipients(&self) -> Vec<Recipient> {
        self.inner
            .configs
            .iter()
            .filter(|t| t.enabled && t.events.announce)
            .map(|t| Recipient {
                target: t.name.clone(),
                shows: t
                    .shows
                    .slugs()
                    .map(|s| s.iter().map(ToString::to_string).collect()),
            })
            .collect()
    }

    /// Sets up the ledger of targets new to this database (see
    /// [`crate::store::Store::init_delivery_cursor`]); run before the hub serves.
    pub async fn init(&self, store: &Store) -> Result<(), StoreError> {
        for target in self.inner.configs.iter().filter(|t| t.enabled) {
            store.init_delivery_cursor(target.name.clone()).await?;
        }
        Ok(())
    }

    /// The ledger rows of a `kind` alert of `show` fired `at`, one per enabled target that
    /// gets it: due at once (a stream delay is for lines about the music), given up after the
    /// usual time or at `deadline` (a reminder's show start), whichever comes first; with
    /// `failed`, recorded as failed already.
    pub fn alert_rows(
        &self,
        kind: AlertKind,
        show: &str,
        at: Timestamp,
        deadline: Option<Timestamp>,
        failed: Option<&str>,
    ) -> Vec<NewEventRow> {
        let give_up = SignedDuration::try_from(self.inner.timings.give_up_after)
            .unwrap_or(SignedDuration::MAX);
        let give_up_at = at.checked_add(give_up).unwrap_or(Timestamp::MAX);
        let give_up_at = deadline.map_or(give_up_at, |d| d.min(give_up_at));
        self.alert_targets(kind, show)
            .map(|t| NewEventRow {
                target: t.name.clone(),
                due_at: at,
                give_up_at,
                failed: failed.map(String::from),
            })
            .collect()
    }

    /// Whether some enabled target takes `kind` alerts of `show`.
    pub fn sends(&self, kind: AlertKind, show: &str) -> bool {
        self.alert_targets(kind, show).next().is_some()
    }

    /// The enabled targets that take `kind` alerts of `show`.
    fn alert_targets<'a>(
        &'a self,
        kind: AlertKind,
        show: &'a str,
    ) -> impl Iterator<Item = &'a TargetConfig> {
        self.inner
            .configs
            .iter()
            .filter(move |t| t.enabled && t.events.gets(kind) && t.shows.passes(Some(show)))
    }

    /// Called once an announce is in the log or an alert fired: wakes every worker. Never
    /// waits.
    pub fn announced(&self) {
        self.inner.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Starts one worker task per enabled target, each with the ledger (`store`) and the ack
    /// path (`acks`); they stop at `shutdown`, once a send in flight is finished and recorded.
    /// The answer waits for that (see [`Workers::finish`]).
    pub fn spawn(
        &self,
        store: &Store,
        acks: &Acks,
        leadership: &Leadership,
        shutdown: &Shutdown,
    ) -> Workers {
        let mut tasks = Vec::new();
        for target in &self.inner.configs {
            if !target.enabled {
                tracing::info!(target_name = %target.name, "target disabled: nothing is sent to it");
                continue;
            }
            let worker = worker::Worker {
                target: target.clone(),
                store: store.clone(),
                acks: acks.clone(),
                counters: self.inner.deliveries.clone(),
                http: self.inner.http.clone(),
                timings: self.inner.timings.clone(),
                wake: self.inner.wake.subscribe(),
                leadership: leadership.clone(),
                shutdown: shutdown.clone(),
                pause_until: None,
                check: None,
            };
            tasks.push(tokio::spawn(worker.run()));
        }
        Workers {
            tasks,
            bound: self.inner.timings.request_timeout + Duration::from_secs(1),
        }
    }

    /// Appends `announce_deliveries_total{target,outcome}` in Prometheus' text format.
    pub fn encode_metrics(&self, out: &mut String) -> std::fmt::Result {
        prometheus_text::encode(out, &self.inner.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_are_capped() {
        let t = Timings {
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_secs(1),
            ..Timings::default()
        };
        let first = t.retry_delay(0);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let third = t.retry_delay(2);
        assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
        assert!(t.retry_delay(30) <= Duration::from_secs(1));
    }
}
