//! One delivery worker per enabled target: it makes the target's ledger rows from the
//! announcement log, then sends them one at a time, oldest first, until shutdown.
//!
//! A worker waits only on its own target: the announce path merely pokes it (a `watch`
//! channel) after the line is logged and queued for the WebSocket fan-out, and each worker has
//! its own task, so a hung or failing target delays neither the POST answer, nor the fan-out,
//! nor another target. Lines of one target go out in order; a line being retried holds back
//! the later ones of that target only.
//!
//! A worker holds only what it uses — the ledger, the ack path, its counters, its timings, the
//! wake channel and the shutdown signal — not the web layer's state. A line sent to a kind that
//! reads its receiver back gets a read-back task of its own (`readback`), so the next line is
//! never held up by it.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::attempt::Attempt;
use super::config::TargetConfig;
use super::readback::Checker;
use super::{DeliveryCounters, Outcome, Timings};
use crate::acks::Acks;
use crate::store::{DeliveryOutcome, Enqueue, PendingDelivery, Store, StoreError};
use ntr_common::shutdown::Shutdown;

/// A final attempt scheduled at the give-up time may start this late and still run; a row found
/// later than this (the hub was down) fails without one.
const LATE_SLACK: SignedDuration = SignedDuration::from_secs(5);
/// After a database error, wait this long before reading the ledger again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// One target's delivery loop and exactly what it uses: the ledger, the ack path, its counters.
pub struct Worker {
    pub target: TargetConfig,
    /// The ledger (`store::deliveries`).
    pub store: Store,
    /// Where a sent line becomes an ack, like a relay's.
    pub acks: Acks,
    /// `announce_deliveries_total`.
    pub counters: DeliveryCounters,
    pub http: reqwest::Client,
    pub timings: Timings,
    pub wake: watch::Receiver<u64>,
    pub shutdown: Shutdown,
    /// The target's rate limit asked for quiet until then.
    pub pause_until: Option<Instant>,
    /// The read-back of the last line sent, while it runs (kinds that have one).
    pub check: Option<AbortHandle>,
}

/// What the loop does next.
enum Step {
    Deliver(Box<PendingDelivery>),
    Wait(Option<Duration>),
}

impl Worker {
    pub async fn run(mut self) {
        tracing::info!(
            target_name = %self.target.name,
            kind = self.target.kind.name(),
            endpoint = %self.target.kind.endpoint(),
            delay_seconds = self.target.delay_seconds,
            "delivering announces to target"
        );
        loop {
            let step = match self.next_step().await {
                Ok(step) => step,
                Err(e) => {
                    tracing::warn!(target_name = %self.target.name, error = %e, "cannot read the delivery ledger");
                    Step::Wait(Some(STORE_RETRY))
                }
            };
            let keep_going = match step {
                Step::Deliver(d) => self.deliver(*d).await,
                Step::Wait(wait) => self.wait(wait).await,
            };
            if !keep_going {
                return;
            }
        }
    }

    /// Makes rows for new announces, then finds the next due one.
    async fn next_step(&mut self) -> Result<Step, StoreError> {
        let store = &self.store;
        let name = self.target.name.clone();
        let delay = SignedDuration::from_secs(self.target.delay_seconds as i64);
        let give_up =
            SignedDuration::try_from(self.timings.give_up_after).unwrap_or(SignedDuration::MAX);
        store
            .enqueue_deliveries(
                name.clone(),
                Enqueue {
                    not_before: Timestamp::now() - delay - give_up,
                    delay_ms: delay.as_millis() as i64,
                    give_up_ms: give_up.as_millis() as i64,
                    shows: self
                        .target
                        .shows
                        .slugs()
                        .map(|s| s.iter().map(ToString::to_string).collect()),
                },
            )
            .await?;
        let Some(next) = store.next_delivery(name).await? else {
            return Ok(Step::Wait(None));
        };
        let until_due = Duration::try_from(next.due_at.duration_since(Timestamp::now()))
            .unwrap_or(Duration::ZERO);
        let paused = self.pause_until.map_or(Duration::ZERO, |p| {
            p.saturating_duration_since(Instant::now())
        });
        let wait = until_due.max(paused);
        Ok(if wait.is_zero() {
            Step::Deliver(Box::new(next))
        } else {
            Step::Wait(Some(wait))
        })
    }

    /// Waits for a new announce, the time given, or shutdown (false).
    async fn wait(&mut self, wait: Option<Duration>) -> bool {
        let sleep = async {
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = self.wake.changed() => {
                if changed.is_err() {
                    // The announce side is gone: only shutdown is left to wait for.
                    self.shutdown.wait().await;
                    return false;
                }
                true
            }
            _ = sleep => true,
            _ = self.shutdown.wait() => false,
        }
    }

    /// One attempt at `d`, recorded in the ledger. False when shutdown interrupted it (the row
    /// stays pending and is resumed after the restart).
    async fn deliver(&mut self, d: PendingDelivery) -> bool {
        let seq = d.announce.seq;
        let now = Timestamp::now();
        if now > d.give_up_at + LATE_SLACK {
            let error = self.gave_up(d.last_error.as_deref().unwrap_or("the hub was not running"));
            self.finish(&d, DeliveryOutcome::Failed { error }).await;
            return true;
        }
        let attempts = match self
            .store
            .begin_attempt(seq, self.target.name.clone())
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(target_name = %self.target.name, error = %e, "cannot record an attempt");
                return self.wait(Some(STORE_RETRY)).await;
            }
        };
        // A read-back of the previous line would read this one's text as a mismatch.
        if let Some(check) = self.check.take() {
            check.abort();
        }
        let result = tokio::select! {
            result = self.target.kind.send(&self.http, &d.announce, self.timings.request_timeout) => result,
            _ = self.shutdown.wait() => return false,
        };
        let outcome = match self.scrub(result) {
            Attempt::Sent { pause } => {
                self.pause_until = pause.map(|p| Instant::now() + p);
                let latency = Timestamp::now().duration_since(d.announce.announced_at);
                DeliveryOutcome::Sent {
                    latency_ms: latency.as_millis().max(0) as i64,
                }
            }
            Attempt::Retry { error, after } => self.retry_or_give_up(&d, attempts, error, after),
            Attempt::Failed { error } => DeliveryOutcome::Failed { error },
        };
        let sent = matches!(outcome, DeliveryOutcome::Sent { .. });
        self.finish(&d, outcome).await;
        if sent {
            self.check = self.read_back(&d);
        }
        true
    }

    /// Starts reading the receiver back after `d` was sent, for kinds that can be.
    fn read_back(&self, d: &PendingDelivery) -> Option<AbortHandle> {
        let read_back = self.target.kind.read_back(&d.announce)?;
        let checker = Checker {
            seq: d.announce.seq,
            target: self.target.name.clone(),
            store: self.store.clone(),
            http: self.http.clone(),
            timeout: self.timings.request_timeout,
            shutdown: self.shutdown.clone(),
        };
        Some(checker.spawn(read_back))
    }

    /// Schedules the next attempt, or gives up when it would come after the give-up time.
    fn retry_or_give_up(
        &self,
        d: &PendingDelivery,
        attempts: u32,
        error: String,
        after: Option<Duration>,
    ) -> DeliveryOutcome {
        let now = Timestamp::now();
        let wait = after.unwrap_or_else(|| self.timings.retry_delay(attempts.saturating_sub(1)));
        let due = now + SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX);
        if due <= d.give_up_at {
            DeliveryOutcome::Retry { error, due_at: due }
        } else if after.is_none() && now < d.give_up_at {
            // One last try at the give-up time rather than giving up early.
            DeliveryOutcome::Retry {
                error,
                due_at: d.give_up_at,
            }
        } else {
            DeliveryOutcome::Failed {
                error: self.gave_up(&error),
            }
        }
    }

    fn gave_up(&self, last_error: &str) -> String {
        format!(
            "gave up {} s after the line was due: {last_error}",
            self.timings.give_up_after.as_secs()
        )
    }

    /// Writes the outcome to the ledger, counts it, logs it, and acks a sent line.
    async fn finish(&self, d: &PendingDelivery, outcome: DeliveryOutcome) {
        let name = &self.target.name;
        let seq = d.announce.seq;
        if let Err(e) = self
            .store
            .finish_delivery(seq, name.clone(), outcome.clone())
            .await
        {
            tracing::warn!(target_name = %name, seq = seq.get(), error = %e, "cannot record a delivery");
            return;
        }
        let counters = &self.counters;
        match outcome {
            DeliveryOutcome::Sent { latency_ms } => {
                counters.count(name, Outcome::Sent);
                tracing::info!(target_name = %name, seq = seq.get(), latency_ms, "delivered to target");
                // A sent line is an ack with the target's name, exactly like a relay's.
                self.acks.record(seq, name).await;
            }
            DeliveryOutcome::Retry { error, due_at } => {
                counters.count(name, Outcome::Retried);
                tracing::warn!(target_name = %name, seq = seq.get(), %error, retry_at = %due_at, "delivery failed; will retry");
            }
            DeliveryOutcome::Failed { error } => {
                counters.count(name, Outcome::Failed);
                tracing::warn!(target_name = %name, seq = seq.get(), %error, "delivery failed for good");
            }
        }
    }

    /// Removes every secret of the target from an error text, whatever produced it.
    fn scrub(&self, attempt: Attempt) -> Attempt {
        let clean = |mut text: String| {
            for secret in self.target.kind.secrets() {
                text = text.replace(secret, "***");
            }
            text
        };
        match attempt {
            Attempt::Retry { error, after } => Attempt::Retry {
                error: clean(error),
                after,
            },
            Attempt::Failed { error } => Attempt::Failed {
                error: clean(error),
            },
            sent => sent,
        }
    }
}
