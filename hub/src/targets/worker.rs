//! One delivery worker per enabled target: it makes the target's ledger rows from the
//! announcement log, then sends them — and the go-live alerts' rows, made when an alert fires —
//! one at a time, until shutdown.
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
use crate::leadership::Leadership;
use crate::store::{DeliveryOutcome, Enqueue, Outgoing, PendingDelivery, Store, StoreError};
use ntr_common::shutdown::Shutdown;

/// A final attempt scheduled at the give-up time may start this late and still run; a row found
/// later than this (the hub was down) fails without one.
const LATE_SLACK: SignedDuration = SignedDuration::from_secs(5);
/// After a database error, wait this long before reading the ledger again.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// How long an idle worker sleeps on a shared database, where the announces and alerts of
/// other replicas do not wake it (the replica's notices wake it for announces sooner).
const SHARED_IDLE: Duration = Duration::from_secs(1);

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
    /// Only the leading replica delivers (each line once per target, in order).
    pub leadership: Leadership,
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
        // Checked before each step: after shutdown no new send starts (the one in flight
        // finished and was recorded).
        while !self.shutdown.is_shutdown() {
            tokio::select! {
                _ = self.leadership.leading() => {}
                _ = self.shutdown.wait() => return,
            }
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
        if self.target.events.announce {
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
        }
        let Some(next) = store.next_delivery(name).await? else {
            // Another replica's announce or alert wakes nobody here: look again soon.
            let idle = store.is_shared().then_some(SHARED_IDLE);
            return Ok(Step::Wait(idle));
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

    /// One attempt at `d`, recorded in the ledger. False when shutdown came while the ledger
    /// could not be written (the row stays pending and is resumed after the restart).
    async fn deliver(&mut self, d: PendingDelivery) -> bool {
        let key = d.item.key();
        let now = Timestamp::now();
        // A reminder is due by its show's start, not a moment later.
        let slack = if d.item.expires() {
            SignedDuration::ZERO
        } else {
            LATE_SLACK
        };
        if now > d.give_up_at + slack {
            let error = self.gave_up(
                &d,
                d.last_error.as_deref().unwrap_or("the hub was not running"),
            );
            self.finish(&d, DeliveryOutcome::Failed { error }).await;
            return true;
        }
        let attempts = match self
            .store
            .begin_attempt(key, self.target.name.clone())
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
        // Not cut short by shutdown: a send the target may have accepted is finished and
        // recorded (the request timeout bounds the wait), so a graceful stop — an upgrade, a
        // restart — never sends a line twice. Only a crash can.
        let result = self
            .target
            .kind
            .send(&self.http, &d.item, self.timings.request_timeout)
            .await;
        let outcome = match self.scrub(result) {
            Attempt::Sent { pause } => {
                self.pause_until = pause.map(|p| Instant::now() + p);
                let latency = Timestamp::now().duration_since(d.item.at());
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

    /// Starts reading the receiver back after `d` was sent, for kinds that can be. Only an
    /// announce is read back: its ledger row, by seq, is where the reads are recorded.
    fn read_back(&self, d: &PendingDelivery) -> Option<AbortHandle> {
        let Outgoing::Announce(announce) = &d.item else {
            return None;
        };
        let read_back = self.target.kind.read_back(&d.item)?;
        let checker = Checker {
            seq: announce.seq,
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
                error: self.gave_up(d, &error),
            }
        }
    }

    /// The error a row fails with at its give-up time: a reminder past its show's start is
    /// `expired` (the one word the Targets panel and `/admin/events` show for it).
    fn gave_up(&self, d: &PendingDelivery, last_error: &str) -> String {
        if d.item.expires() {
            return "expired".into();
        }
        format!(
            "gave up {} s after the line was due: {last_error}",
            self.timings.give_up_after.as_secs()
        )
    }

    /// Writes the outcome to the ledger, counts it, logs it, and acks a sent line.
    async fn finish(&self, d: &PendingDelivery, outcome: DeliveryOutcome) {
        let name = &self.target.name;
        let what = d.item.idempotency_key();
        if let Err(e) = self
            .store
            .finish_delivery(d.item.key(), name.clone(), outcome.clone())
            .await
        {
            tracing::warn!(target_name = %name, line = %what, error = %e, "cannot record a delivery");
            return;
        }
        let counters = &self.counters;
        match outcome {
            DeliveryOutcome::Sent { latency_ms } => {
                counters.count(name, Outcome::Sent);
                tracing::info!(target_name = %name, line = %what, latency_ms, "delivered to target");
                // A sent line is an ack with the target's name, exactly like a relay's; an
                // alert is no line of the log, so nothing acks it.
                if let Outgoing::Announce(a) = &d.item {
                    self.acks.record(a.seq, name).await;
                }
            }
            DeliveryOutcome::Retry { error, due_at } => {
                counters.count(name, Outcome::Retried);
                tracing::warn!(target_name = %name, line = %what, %error, retry_at = %due_at, "delivery failed; will retry");
            }
            DeliveryOutcome::Failed { error } => {
                counters.count(name, Outcome::Failed);
                tracing::warn!(target_name = %name, line = %what, %error, "delivery failed for good");
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
