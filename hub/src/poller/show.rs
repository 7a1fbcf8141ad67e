//! One show's poller: keeps the show's last two weeks in step with its DJ's SoundCloud likes,
//! on the station's cadence (see [`next_wait`]) and on demand through `POST /admin/refresh`.
//!
//! A poll fetches every like since the previous week's start and replaces those two weeks'
//! likes in one transaction. A failed or malformed fetch changes nothing: the last good
//! playlist stays, and the outcome (kept for `/health` and the dashboard) says what went wrong.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::leadership::Leadership;
use crate::soundcloud::{SoundcloudClient, SoundcloudError};
use crate::station::{ShowDef, ShowSlug};
use crate::store::{Like, Store, StoreError, WeekLikes};
use crate::week::{OutOfCalendar, Schedule, Week};
use ntr_common::shutdown::Shutdown;

/// The outcome of a poll, as `/health` and `POST /admin/refresh` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PollStatus {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub ok: bool,
    pub error: Option<String>,
    /// Likes seen in the weeks the poll covered.
    pub tracks: u32,
    /// SoundCloud requests the poll took.
    pub requests: u32,
    /// How long the poll took, in milliseconds.
    pub duration_ms: u64,
}

/// Why a poll failed; its text is the `error` of the outcome.
#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Calendar(#[from] OutOfCalendar),
    #[error(transparent)]
    Fetch(#[from] SoundcloudError),
    #[error("cannot save the playlist: {0}")]
    Save(#[from] StoreError),
}

/// How long to wait between scheduled polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollIntervals {
    /// Within a day of the show.
    pub normal: Duration,
    /// During the live window.
    pub live: Duration,
}

/// A show that does not air within this long is polled at most every [`QUIET_INTERVAL`]: its
/// DJ is collecting likes, and nobody reads its playlist to the minute yet.
const QUIET_BEFORE: Duration = Duration::from_secs(24 * 3600);
const QUIET_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// Meta keys, each followed by `:` and the show's slug.
const META_STATUS: &str = "last_poll";
const META_USER_ID: &str = "soundcloud_user_id";
/// Shared by every show: one client, one client_id.
pub(super) const META_CLIENT_ID: &str = "soundcloud_client_id";

pub struct Poller {
    client: Arc<SoundcloudClient>,
    store: Store,
    /// The show whose weeks this poller fills, and the profile whose likes fill them.
    show: ShowSlug,
    user: String,
    schedule: Schedule,
    last: RwLock<Option<PollStatus>>,
    /// Polls never overlap: a refresh during a scheduled poll waits for it, then polls again.
    running: tokio::sync::Mutex<()>,
    intervals: PollIntervals,
    polls: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
}

impl Poller {
    /// The poller of `show`, whose likes are `user`'s.
    pub async fn new(
        client: Arc<SoundcloudClient>,
        store: Store,
        show: &ShowDef,
        user: String,
        intervals: PollIntervals,
    ) -> Poller {
        // Remembered facts save a resolve on every restart; a read error only costs that
        // request, so it is not fatal. Stored as "user:id", so changing the profile resolves
        // the new one.
        let meta = |key: &str| format!("{key}:{}", show.slug);
        let user_prefix = format!("{user}:");
        let user_id = store
            .meta(&meta(META_USER_ID))
            .await
            .ok()
            .flatten()
            .and_then(|s| s.strip_prefix(&user_prefix)?.parse().ok());
        if let Some(id) = user_id {
            client.remember_user_id(&user, id);
        }
        let last = store
            .meta(&meta(META_STATUS))
            .await
            .ok()
            .flatten()
            .and_then(|s| serde_json::from_str(&s).ok());
        Poller {
            client,
            store,
            show: show.slug.clone(),
            user,
            schedule: show.schedule.clone(),
            last: RwLock::new(last),
            running: tokio::sync::Mutex::new(()),
            intervals,
            polls: Default::default(),
            failed: Default::default(),
        }
    }

    pub fn last_status(&self) -> Option<PollStatus> {
        self.last.read().map_or(None, |s| s.clone())
    }

    /// Polls run and polls failed since start.
    pub fn polls(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.polls.load(Relaxed), self.failed.load(Relaxed))
    }

    pub fn show(&self) -> &ShowSlug {
        &self.show
    }

    /// Polls now and returns the outcome.
    pub async fn poll_now(&self) -> PollStatus {
        let _running = self.running.lock().await;
        let started = std::time::Instant::now();
        let now = Timestamp::now();
        let mut requests = 0;
        let result = self.fetch_and_save(now, &mut requests).await;
        let status = PollStatus {
            at: now,
            ok: result.is_ok(),
            tracks: *result.as_ref().unwrap_or(&0),
            error: result.err().map(|e| e.to_string()),
            requests,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        self.polls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !status.ok {
            self.failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        match &status.error {
            None => tracing::info!(
                show = %self.show,
                tracks = status.tracks,
                requests = status.requests,
                "poll ok"
            ),
            Some(e) => tracing::warn!(
                show = %self.show,
                error = %e,
                "poll failed; keeping the last good playlist"
            ),
        }
        self.remember(&status).await;
        status
    }

    /// Fetches the likes of the previous and the current week and saves them; returns how many
    /// there were. `requests` gets the SoundCloud requests this fetch sent, and only those.
    async fn fetch_and_save(&self, now: Timestamp, requests: &mut u32) -> Result<u32, PollError> {
        let current = self.schedule.week_containing(now)?;
        let previous = self.schedule.previous(current)?;
        let fetch = self.client.likes_since(&self.user, previous.start).await;
        *requests = fetch.requests;
        let weeks = bucket([previous, current], fetch.likes?);
        let tracks = weeks.iter().map(|w| w.likes.len() as u32).sum();
        let changed = self.store.apply_likes(&self.show, weeks).await?;
        tracing::debug!(changed, "playlist saved");
        Ok(tracks)
    }

    async fn remember(&self, status: &PollStatus) {
        if let Ok(mut last) = self.last.write() {
            *last = Some(status.clone());
        }
        let status_json = serde_json::to_string(status)
            .inspect_err(|e| tracing::warn!(error = %e, "cannot serialise the poll outcome"))
            .ok();
        let user = &self.user;
        let user_id = self.client.user_id(user).map(|id| format!("{user}:{id}"));
        let writes = [
            (format!("{META_STATUS}:{}", self.show), status_json),
            (META_CLIENT_ID.to_owned(), self.client.known_client_id()),
            (format!("{META_USER_ID}:{}", self.show), user_id),
        ];
        for (key, value) in writes {
            if let Some(value) = value
                && let Err(e) = self.store.set_meta(&key, value).await
            {
                tracing::warn!(error = %e, key, "cannot save poll state");
            }
        }
    }

    /// Polls on the schedule until shutdown.
    pub async fn run(self: Arc<Self>, mut leadership: Leadership, mut shutdown: Shutdown) {
        loop {
            // One replica of a station polls; the others wait to take over.
            tokio::select! {
                _ = leadership.leading() => {}
                _ = shutdown.wait() => return,
            }
            self.poll_now().await;
            let wait = self.next_wait(Timestamp::now());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait() => return,
            }
        }
    }

    fn next_wait(&self, now: Timestamp) -> Duration {
        next_wait(&self.schedule, self.intervals, now)
    }
}

/// The live interval during the live window; the normal one within a day of the show; else
/// the quiet one (at least 6 h). A wait never runs past the moment the next, faster cadence
/// begins (a day before the show, the show's start), so it starts on time.
pub fn next_wait(schedule: &Schedule, intervals: PollIntervals, now: Timestamp) -> Duration {
    let PollIntervals { normal, live } = intervals;
    // Off the calendar there is no week to wait for; every poll reports that error.
    let Ok(week) = schedule.week_containing(now) else {
        return normal;
    };
    if schedule.is_live_in(week, now) {
        return live.min(until(now, week.start + schedule.live_window()));
    }
    let to_start = until(now, week.end);
    if to_start <= QUIET_BEFORE {
        return normal.min(to_start);
    }
    normal
        .max(QUIET_INTERVAL)
        .min(to_start.saturating_sub(QUIET_BEFORE))
}

/// How long from `now` until a second past `then`.
fn until(now: Timestamp, then: Timestamp) -> Duration {
    then.duration_since(now)
        .unsigned_abs()
        .saturating_add(Duration::from_secs(1))
}

/// Groups likes (newest first) into the given weeks, oldest like first within each week —
/// position 1 is the week's first like. Likes outside those weeks are dropped.
fn bucket(weeks: [Week; 2], likes: Vec<Like>) -> Vec<WeekLikes> {
    let mut out: Vec<WeekLikes> = weeks
        .iter()
        .map(|w| WeekLikes {
            week: *w,
            likes: Vec::new(),
        })
        .collect();
    for like in likes.into_iter().rev() {
        if let Some(w) = out.iter_mut().find(|w| w.week.contains(like.liked_at)) {
            w.likes.push(like);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVALS: PollIntervals = PollIntervals {
        normal: Duration::from_secs(3600),
        live: Duration::from_secs(60),
    };

    /// Wednesdays 22:00 UTC, live for 5 hours.
    fn schedule() -> Schedule {
        Schedule::from_config("UTC", "wednesday", 22, 300).expect("schedule")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn a_quiet_show_is_polled_every_six_hours_until_a_day_before() {
        // Sunday noon: the show is three and a half days away.
        assert_eq!(
            next_wait(&schedule(), INTERVALS, at("2026-03-01T12:00:00Z")),
            QUIET_INTERVAL
        );
        // Tuesday 20:00: two hours before the last day starts, so wait only until then.
        assert_eq!(
            next_wait(&schedule(), INTERVALS, at("2026-03-03T20:00:00Z")),
            Duration::from_secs(2 * 3600 + 1)
        );
        // A normal interval longer than 6 h is kept.
        let slow = PollIntervals {
            normal: Duration::from_secs(12 * 3600),
            ..INTERVALS
        };
        assert_eq!(
            next_wait(&schedule(), slow, at("2026-03-01T00:00:00Z")),
            Duration::from_secs(12 * 3600)
        );
    }

    #[test]
    fn within_a_day_the_normal_interval_and_live_the_live_one() {
        // Wednesday 12:00: ten hours before the show.
        assert_eq!(
            next_wait(&schedule(), INTERVALS, at("2026-03-04T12:00:00Z")),
            INTERVALS.normal
        );
        // 21:30: the wait ends a second after the show starts.
        assert_eq!(
            next_wait(&schedule(), INTERVALS, at("2026-03-04T21:30:00Z")),
            Duration::from_secs(30 * 60 + 1)
        );
        assert_eq!(
            next_wait(&schedule(), INTERVALS, at("2026-03-04T23:00:00Z")),
            INTERVALS.live
        );
        // The last minute of the live window: the live interval, cut at its end.
        assert_eq!(
            next_wait(&schedule(), INTERVALS, at("2026-03-05T02:59:30Z")),
            Duration::from_secs(31)
        );
    }
}
