//! Go-live alerts: "we're live" when a show's first track is announced in its live window (or
//! the DJ presses "We're live"), and a reminder `remind_minutes` before each start, sent to
//! the targets whose `events` name them, through the same delivery ledger as announces.
//!
//! Each alert fires at most once per show week: the store refuses a second one of the same
//! kind for the same week, so a restart, two presses at once or a press after the first
//! announce never send it twice. A reminder is only worth sending before its show starts: a
//! hub that was down at reminder time sends it late while the show has not started, and
//! otherwise records it as failed, `expired`, so the panel says why nobody was reminded.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ntr_common::shutdown::Shutdown;

use crate::line_template::AlertFields;
use crate::station::{ShowDef, Station};
use crate::store::{AlertKind, Announcement, Fired, NewEvent, Show, ShowEvent, Store, StoreError};
use crate::targets::Targets;
use crate::week::OutOfCalendar;

/// The longest the reminder task sleeps: it looks again after a clock change or a long
/// suspend rather than trusting one long timer.
const MAX_SLEEP: Duration = Duration::from_secs(3600);
/// After a database error, wait this long before looking again.
const RETRY: Duration = Duration::from_secs(5);

/// Why "We're live" did not fire.
#[derive(Debug, thiserror::Error)]
pub enum GoLiveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Calendar(#[from] OutOfCalendar),
    #[error("show {show_id} is not on air: its live window is {start} to {end}")]
    NotOnAir {
        show_id: i64,
        start: Timestamp,
        end: Timestamp,
    },
    #[error("this week's live alert of `{show}` was sent already (at {at})")]
    AlreadyFired { show: String, at: Timestamp },
    #[error("show `{0}` is no longer configured")]
    NotConfigured(String),
}

/// The alerts and what firing one uses. Cheap to clone.
#[derive(Clone)]
pub struct Alerts {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    station: Arc<Station>,
    targets: Targets,
    /// Each show's public page by slug: the alerts' `{url}`.
    pages: HashMap<String, String>,
    /// Show weeks whose alert of a kind is known to be fired: spares the store a look on every
    /// announce and every reminder pass.
    known: Mutex<HashSet<(i64, AlertKind)>>,
}

impl Alerts {
    pub fn new(
        store: Store,
        station: Arc<Station>,
        targets: Targets,
        pages: HashMap<String, String>,
    ) -> Alerts {
        Alerts {
            inner: Arc::new(Inner {
                store,
                station,
                targets,
                pages,
                known: Mutex::default(),
            }),
        }
    }

    /// After an announce went out: the first track announce of a show week in its live window
    /// fires that week's live alert. A failure is only logged: the announce itself is done.
    pub async fn announced(&self, a: &Announcement) {
        let (Some(show_id), Some(_), None, false) = (a.show_id, a.position, a.corrects, a.log_only)
        else {
            return;
        };
        if self.is_known(show_id, AlertKind::Live) || !self.on_air_now(a.show.as_deref()) {
            return;
        }
        let result = async {
            let show = self.inner.store.show(show_id).await?;
            match self.go_live(&show).await {
                Ok(_) | Err(GoLiveError::AlreadyFired { .. } | GoLiveError::NotOnAir { .. }) => {
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(show_id, error = %e, "cannot fire the live alert");
        }
    }

    /// "We're live" for `show`: fires its live alert when the show is in its live window and
    /// has not fired one this week.
    pub async fn go_live(&self, show: &Show) -> Result<ShowEvent, GoLiveError> {
        let def = self
            .inner
            .station
            .get(&show.slug)
            .ok_or_else(|| GoLiveError::NotConfigured(show.slug.clone()))?;
        let now = Timestamp::now();
        if !def.schedule.is_on_air(show.week, now) {
            return Err(GoLiveError::NotOnAir {
                show_id: show.id,
                start: show.week.end,
                end: show.week.end + def.schedule.live_window(),
            });
        }
        let rows =
            self.inner
                .targets
                .alert_rows(AlertKind::Live, def.slug.as_str(), now, None, None);
        let message = def.alerts.live_template.render(&self.fields(def, 0));
        match self
            .fire(show.id, AlertKind::Live, message, now, rows)
            .await?
        {
            Fired::Now(event) => Ok(event),
            Fired::Before(event) => Err(GoLiveError::AlreadyFired {
                show: event.show,
                at: event.at,
            }),
        }
    }

    /// Fires the reminders that are due at `now` (late ones too, while their show has not
    /// started; one whose show started without it is recorded `expired`), and answers when
    /// the next one falls due.
    pub async fn remind(&self, now: Timestamp) -> Result<Timestamp, GoLiveError> {
        let mut next = now + SignedDuration::try_from(MAX_SLEEP).unwrap_or(SignedDuration::ZERO);
        for def in self.inner.station.shows() {
            if !self
                .inner
                .targets
                .sends(AlertKind::Reminder, def.slug.as_str())
            {
                continue;
            }
            let current = def.schedule.week_containing(now)?;
            let start = current.end;
            let remind_at = start - def.alerts.remind_before;
            if now >= remind_at {
                self.remind_of(def, start, now, false).await?;
            } else {
                next = next.min(remind_at);
            }
            if def.schedule.is_live_in(current, now) {
                self.remind_of(def, current.start, now, true).await?;
            }
        }
        Ok(next)
    }

    /// The reminder of the show starting at `start`, unless it was fired or no target gets it;
    /// `expired`: recorded as failed rather than sent.
    async fn remind_of(
        &self,
        def: &ShowDef,
        start: Timestamp,
        now: Timestamp,
        expired: bool,
    ) -> Result<(), GoLiveError> {
        let failed = expired.then_some("expired");
        let targets = &self.inner.targets;
        let rows = targets.alert_rows(
            AlertKind::Reminder,
            def.slug.as_str(),
            now,
            Some(start),
            failed,
        );
        if rows.is_empty() {
            return Ok(());
        }
        // The show airing at `start` is the week that ends there.
        let week = def
            .schedule
            .week_containing(start - SignedDuration::from_millis(1))?;
        let show = self.inner.store.show_for_week(&def.slug, week).await?;
        if self.is_known(show.id, AlertKind::Reminder) {
            return Ok(());
        }
        // Minutes left, rounded up: a late reminder says how long it really is.
        let left = start.duration_since(now).as_secs().max(1);
        let minutes = (left + 59) / 60;
        let message = def
            .alerts
            .reminder_template
            .render(&self.fields(def, minutes));
        self.fire(show.id, AlertKind::Reminder, message, now, rows)
            .await?;
        Ok(())
    }

    /// Records the alert (unless this week's was) and wakes the delivery workers.
    async fn fire(
        &self,
        show_id: i64,
        kind: AlertKind,
        message: crate::line::AnnounceLine,
        at: Timestamp,
        rows: Vec<crate::store::NewEventRow>,
    ) -> Result<Fired, StoreError> {
        let new = NewEvent {
            show_id,
            kind,
            message,
            at,
            rows,
        };
        let fired = self.inner.store.fire_event(new).await?;
        self.remember(show_id, kind);
        if let Fired::Now(event) = &fired {
            tracing::info!(show = %event.show, show_id, kind = kind.as_str(), message = event.message.as_str(), "alert fired");
            self.inner.targets.announced();
        }
        Ok(fired)
    }

    fn fields<'a>(&'a self, def: &'a ShowDef, minutes: i64) -> AlertFields<'a> {
        AlertFields {
            show: &def.alerts.name,
            url: self
                .inner
                .pages
                .get(def.slug.as_str())
                .map_or("", String::as_str),
            minutes,
        }
    }

    /// Whether `show` is the show on air now: checked from the schedule alone, so an
    /// announce outside any live window (most of the week's) costs no database read here.
    fn on_air_now(&self, show: Option<&str>) -> bool {
        let on_air = self.inner.station.on_air(Timestamp::now());
        matches!((on_air, show), (Ok(Some(def)), Some(slug)) if def.slug.as_str() == slug)
    }

    fn is_known(&self, show_id: i64, kind: AlertKind) -> bool {
        self.inner
            .known
            .lock()
            .is_ok_and(|k| k.contains(&(show_id, kind)))
    }

    fn remember(&self, show_id: i64, kind: AlertKind) {
        if let Ok(mut known) = self.inner.known.lock() {
            known.insert((show_id, kind));
        }
    }
}

/// Fires reminders when they fall due, until `shutdown`.
pub async fn run_reminders(alerts: Alerts, mut shutdown: Shutdown) {
    loop {
        let now = Timestamp::now();
        let wait = match alerts.remind(now).await {
            Ok(next) => Duration::try_from(next.duration_since(now))
                .unwrap_or(Duration::ZERO)
                .min(MAX_SLEEP),
            Err(e) => {
                tracing::warn!(error = %e, "cannot fire reminders; trying again");
                RETRY
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait() => return,
        }
    }
}
