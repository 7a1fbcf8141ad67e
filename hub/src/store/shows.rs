//! Shows and their tracks: merging a poll's likes into the weeks it covers, the DJ's manual
//! edits (add, remove, move), reading a show back in position order, and which show is the
//! current one.
//!
//! The merge never touches what the DJ decided: a removed track stays removed, a manually added
//! one stays, and a moved one keeps its place, because a poll only adds new likes and drops
//! likes that have gone.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Backend, Store, StoreError};
use crate::station::{ShowDef, ShowSlug};
use crate::web_url::WebUrl;
use crate::week::{OutOfCalendar, Week};

/// A track as the store knows it, independent of any show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInfo {
    /// SoundCloud's track id; `None` for a record that is not on SoundCloud.
    pub soundcloud_id: Option<i64>,
    pub title: String,
    pub artist: String,
    /// The track's page; `None` for a record without one (stored as an empty string).
    pub permalink_url: Option<WebUrl>,
    pub artwork_url: Option<String>,
    pub duration_ms: Option<i64>,
    pub license: Option<String>,
}

/// One SoundCloud like, as the poller saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Like {
    pub liked_at: Timestamp,
    pub track: TrackInfo,
}

/// Every like a complete poll found in one week, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekLikes {
    pub week: Week,
    pub likes: Vec<Like>,
}

/// A track at its position in a show: the wire shape clients read.
pub use ntr_protocol::Track;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Show {
    pub id: i64,
    /// The slug of the show this is a week of (one that may no longer be configured).
    pub slug: String,
    pub week: Week,
    pub tracks: Vec<Track>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowSummary {
    pub id: i64,
    pub slug: String,
    pub week: Week,
    pub track_count: u32,
}

/// The track a client means when it names a position, as its page showed it. A poll between
/// the page's render and the DJ's tap can shift the positions; naming the track turns that
/// into a refusal instead of an edit of another track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedTrack {
    /// Whatever track is at the position (a client that names none).
    Any,
    /// The track with this SoundCloud id; `None` for a record that is not on SoundCloud.
    Id(Option<i64>),
}

impl ExpectedTrack {
    /// `Ok` when the track now at `position` (SoundCloud id `id`, `title` by `artist`) is the
    /// one meant; otherwise [`StoreError::TrackChanged`] naming the track that is there now.
    pub fn check(
        self,
        position: u32,
        id: Option<i64>,
        title: &str,
        artist: &str,
    ) -> Result<(), StoreError> {
        match self {
            ExpectedTrack::Id(expected) if expected != id => Err(StoreError::TrackChanged {
                position,
                now: format!("\"{title}\" by {artist}"),
            }),
            _ => Ok(()),
        }
    }
}

/// Why the current or previous show cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Calendar(#[from] OutOfCalendar),
}

impl Store {
    /// `show`'s week `week`, created (empty) if this is the first time anyone asked.
    pub async fn show_for_week(&self, show: &ShowSlug, week: Week) -> Result<Show, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.show_for_week(show.to_string(), week).await,
            Backend::Postgres(db) => db.show_for_week(show.to_string(), week).await,
        }
    }

    /// Gives the weeks and announces of a v2 database, which name no show, to `show`; returns
    /// how many weeks it took. Run at start-up, before anything reads them.
    pub async fn adopt_unnamed(&self, show: &ShowSlug) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.adopt_unnamed(show.to_string()).await,
            Backend::Postgres(db) => db.adopt_unnamed(show.to_string()).await,
        }
    }

    /// The show with id `id`; `NoShow` if there is none.
    pub async fn show(&self, id: i64) -> Result<Show, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.show(id).await,
            Backend::Postgres(db) => db.show(id).await,
        }
    }

    /// The current show at `now`: the on-air one during the live window, else this week's.
    pub async fn current_show(&self, show: &ShowDef, now: Timestamp) -> Result<Show, ShowError> {
        let week = show.schedule.current_show_week(now)?;
        Ok(self.show_for_week(&show.slug, week).await?)
    }

    /// The show before the current one at `now`.
    pub async fn previous_show(&self, show: &ShowDef, now: Timestamp) -> Result<Show, ShowError> {
        let schedule = &show.schedule;
        let week = schedule.previous(schedule.current_show_week(now)?)?;
        Ok(self.show_for_week(&show.slug, week).await?)
    }

    /// Weeks newest first, with their track counts: every show's, or one show's.
    pub async fn shows(
        &self,
        limit: u32,
        show: Option<&ShowSlug>,
    ) -> Result<Vec<ShowSummary>, StoreError> {
        let show = show.map(ToString::to_string);
        match &self.backend {
            Backend::Sqlite(db) => db.shows(limit, show).await,
            Backend::Postgres(db) => db.shows(limit, show).await,
        }
    }

    /// Replaces the likes of each given week of `show` with the ones a complete poll found,
    /// all or nothing. Returns whether any week changed.
    pub async fn apply_likes(
        &self,
        show: &ShowSlug,
        weeks: Vec<WeekLikes>,
    ) -> Result<bool, StoreError> {
        let changed = match &self.backend {
            Backend::Sqlite(db) => db.apply_likes(show.to_string(), weeks).await?,
            Backend::Postgres(db) => db.apply_likes(show.to_string(), weeks).await?,
        };
        // Even an "unchanged" poll may have refreshed a title or artwork: readers rebuild.
        self.shows_changed();
        for id in &changed {
            self.show_changed(*id);
        }
        Ok(!changed.is_empty())
    }

    /// Adds a track by hand, appended or inserted before `position`. A track the show already
    /// has (a like, or one the DJ removed) becomes a manual entry at the new place: the DJ chose
    /// it, so it stays when its like later disappears from SoundCloud.
    pub async fn add_track(
        &self,
        show_id: i64,
        track: TrackInfo,
        position: Option<u32>,
    ) -> Result<Show, StoreError> {
        let show = match &self.backend {
            Backend::Sqlite(db) => db.add_track(show_id, track, position).await?,
            Backend::Postgres(db) => db.add_track(show_id, track, position).await?,
        };
        self.show_changed(show_id);
        Ok(show)
    }

    /// Removes the track at `position`; it stays out after later polls. When the track there
    /// is not `expected`, nothing changes ([`StoreError::TrackChanged`]): the check and the
    /// edit are one transaction, so a poll cannot slip between them.
    pub async fn remove_track(
        &self,
        show_id: i64,
        position: u32,
        expected: ExpectedTrack,
    ) -> Result<Show, StoreError> {
        let show = match &self.backend {
            Backend::Sqlite(db) => db.remove_track(show_id, position, expected).await?,
            Backend::Postgres(db) => db.remove_track(show_id, position, expected).await?,
        };
        self.show_changed(show_id);
        Ok(show)
    }

    /// Moves the track at `from` to position `to`; the order stays after later polls. Checks
    /// `expected` like [`Store::remove_track`].
    pub async fn move_track(
        &self,
        show_id: i64,
        from: u32,
        to: u32,
        expected: ExpectedTrack,
    ) -> Result<Show, StoreError> {
        let show = match &self.backend {
            Backend::Sqlite(db) => db.move_track(show_id, from, to, expected).await?,
            Backend::Postgres(db) => db.move_track(show_id, from, to, expected).await?,
        };
        self.show_changed(show_id);
        Ok(show)
    }
}
