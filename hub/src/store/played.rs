//! What was played: the track announces of the log that still stand (not corrected), read for
//! tracklists, the RSS feed and now-playing. Free-text announces are not tracks and are left out.

use jiff::Timestamp;
use ntr_protocol::Seq;

use super::{Backend, Store, StoreError, Track};
use crate::station::ShowSlug;
use crate::week::Week;

/// One track announce that was not corrected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Played {
    pub seq: Seq,
    pub show_id: i64,
    /// The track's position when it was announced.
    pub position: u32,
    /// The track as announced (a snapshot: later edits of the show do not change it).
    pub track: Track,
    pub announced_at: Timestamp,
}

/// A show with what was played in it, for feeds that list many shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowPlayed {
    pub id: i64,
    /// The slug of the show this is a week of.
    pub slug: String,
    pub week: Week,
    pub mark: Option<Timestamp>,
    pub played: Vec<Played>,
}

impl Store {
    /// The standing track announces of one show, in announce order.
    pub async fn played(&self, show_id: i64) -> Result<Vec<Played>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.played(show_id).await,
            Backend::Postgres(db) => db.played(show_id).await,
        }
    }

    /// The newest `limit` shows that have standing track announces, newest first, each with
    /// its announces in announce order and its mark.
    pub async fn played_by_show(&self, limit: u32) -> Result<Vec<ShowPlayed>, StoreError> {
        self.played_by_show_of(limit, None).await
    }

    /// As [`Store::played_by_show`], of one show's weeks only when `show` is given.
    pub async fn played_by_show_of(
        &self,
        limit: u32,
        show: Option<&ShowSlug>,
    ) -> Result<Vec<ShowPlayed>, StoreError> {
        let show = show.map(ToString::to_string);
        match &self.backend {
            Backend::Sqlite(db) => db.played_by_show(limit, show).await,
            Backend::Postgres(db) => db.played_by_show(limit, show).await,
        }
    }

    /// The newest standing track announce of `show` made at or after `not_before`.
    pub async fn last_played(
        &self,
        show: &ShowSlug,
        not_before: Timestamp,
    ) -> Result<Option<Played>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.last_played(show.to_string(), not_before).await,
            Backend::Postgres(db) => db.last_played(show.to_string(), not_before).await,
        }
    }
}
