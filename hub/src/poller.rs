//! Keeps the last two weeks' shows in step with the DJ's SoundCloud likes: polls every
//! `poll_interval_seconds` (every `live_poll_interval_seconds` during the live window), and on
//! demand through `POST /admin/refresh`.
//!
//! A poll fetches every like since the previous week's start and replaces those two weeks'
//! likes in one transaction. A failed or malformed fetch changes nothing: the last good
//! playlist stays, and the outcome (kept for `/health` and the dashboard) says what went wrong.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::soundcloud::{Learnt, SoundcloudClient, SoundcloudError};
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
    pub normal: Duration,
    /// During the live window.
    pub live: Duration,
}

const META_STATUS: &str = "last_poll";
const META_CLIENT_ID: &str = "soundcloud_client_id";
const META_USER_ID: &str = "soundcloud_user_id";

pub struct Poller {
    client: SoundcloudClient,
    store: Store,
    /// The show whose weeks this poller fills.
    show: ShowSlug,
    schedule: Schedule,
    last: RwLock<Option<PollStatus>>,
    /// Polls never overlap: a refresh during a scheduled poll waits for it, then polls again.
    running: tokio::sync::Mutex<()>,
    intervals: PollIntervals,
    polls: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
}

impl Poller {
    pub async fn new(
        client: SoundcloudClient,
        store: Store,
        show: &ShowDef,
        intervals: PollIntervals,
    ) -> Poller {
        // Remembered facts save a scrape and a resolve on every restart; a read error only
        // costs those requests, so it is not fatal.
        let client_id = store.meta(META_CLIENT_ID).await.ok().flatten();
        // Stored as "user:id", so changing `soundcloud.user` resolves the new profile.
        let user_prefix = format!("{}:", client.user());
        let user_id = store
            .meta(META_USER_ID)
            .await
            .ok()
            .flatten()
            .and_then(|s| s.strip_prefix(&user_prefix)?.parse().ok());
        client.remember(Learnt { client_id, user_id });
        let last = store
            .meta(META_STATUS)
            .await
            .ok()
            .flatten()
            .and_then(|s| serde_json::from_str(&s).ok());
        Poller {
            client,
            store,
            show: show.slug.clone(),
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

    pub fn client(&self) -> &SoundcloudClient {
        &self.client
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
                tracks = status.tracks,
                requests = status.requests,
                "poll ok"
            ),
            Some(e) => tracing::warn!(error = %e, "poll failed; keeping the last good playlist"),
        }
        self.remember(&status).await;
        status
    }

    /// Fetches the likes of the previous and the current week and saves them; returns how many
    /// there were. `requests` gets the SoundCloud requests this fetch sent, and only those.
    async fn fetch_and_save(&self, now: Timestamp, requests: &mut u32) -> Result<u32, PollError> {
        let current = self.schedule.week_containing(now)?;
        let previous = self.schedule.previous(current)?;
        let fetch = self.client.likes_since(previous.start).await;
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
        let learnt = self.client.learnt();
        let status_json = serde_json::to_string(status)
            .inspect_err(|e| tracing::warn!(error = %e, "cannot serialise the poll outcome"))
            .ok();
        let user = self.client.user();
        let writes = [
            (META_STATUS, status_json),
            (META_CLIENT_ID, learnt.client_id),
            (
                META_USER_ID,
                learnt.user_id.map(|id| format!("{user}:{id}")),
            ),
        ];
        for (key, value) in writes {
            if let Some(value) = value
                && let Err(e) = self.store.set_meta(key, value).await
            {
                tracing::warn!(error = %e, key, "cannot save poll state");
            }
        }
    }

    /// Polls on the schedule until shutdown.
    pub async fn run(self: Arc<Self>, mut shutdown: Shutdown) {
        loop {
            self.poll_now().await;
            let wait = self.next_wait(Timestamp::now());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait() => return,
            }
        }
    }

    /// The normal or live interval, but never past the next week start, so the faster live
    /// polling begins with the show rather than up to an hour into it.
    fn next_wait(&self, now: Timestamp) -> Duration {
        let PollIntervals { normal, live } = self.intervals;
        // Off the calendar there is no week to wait for; every poll reports that error.
        let Ok(week) = self.schedule.week_containing(now) else {
            return normal;
        };
        let interval = if self.schedule.is_live_in(week, now) {
            live
        } else {
            normal
        };
        let until_start = week
            .end
            .duration_since(now)
            .unsigned_abs()
            .saturating_add(Duration::from_secs(1));
        interval.min(until_start)
    }
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
