//! Shows and their tracks in SQL. A show's order is `show_tracks.sort_key`: a like starts at
//! its `liked_at` in ms times `KEY_SPACING`, and moves and positional adds bisect between
//! neighbours. A removed track keeps its row as a tombstone (`removed`) and a manual add is
//! `source = 'manual'`, so a poll, which only inserts new like rows and deletes like rows whose
//! like has gone, never undoes the DJ's edits.
//!
//! Every edit and every poll of a week locks that week's `shows` row first, so the two never
//! interleave on one show even when several connections (or hubs) run them at once: what
//! SQLite's single writer gives by itself.

use std::collections::HashSet;

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use super::{Postgres, col, optional_time, time, to_ms, uint};
use crate::store::{
    ExpectedTrack, Like, Show, ShowSummary, StoreError, Track, TrackInfo, WeekLikes,
};
use crate::web_url::WebUrl;
use crate::week::Week;

/// Gap between neighbouring sort keys: liked_at in ms times this leaves room to bisect.
const KEY_SPACING: i64 = 1024;

impl Postgres {
    /// The show of `week`, created (empty) if this is the first time anyone asked.
    pub async fn show_for_week(&self, slug: String, week: Week) -> Result<Show, StoreError> {
        let c = self.client().await?;
        let id = match show_id(&c, &slug, week).await? {
            Some(id) => id,
            None => ensure_show(&c, &slug, week).await?,
        };
        load_show(&c, id).await
    }

    pub async fn adopt_unnamed(&self, slug: String) -> Result<u64, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let weeks = tx
            .execute("UPDATE shows SET slug = $1 WHERE slug = ''", &[&slug])
            .await?;
        tx.execute(
            "UPDATE announcements SET show = $1 WHERE show = ''",
            &[&slug],
        )
        .await?;
        tx.commit().await?;
        Ok(weeks)
    }

    pub async fn show(&self, id: i64) -> Result<Show, StoreError> {
        let c = self.client().await?;
        load_show(&c, id).await
    }

    /// Shows newest first, with their track counts.
    pub async fn shows(
        &self,
        limit: u32,
        slug: Option<String>,
    ) -> Result<Vec<ShowSummary>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT s.id, s.slug, s.week_start, s.week_end,
                        (SELECT COUNT(*) FROM show_tracks t WHERE t.show_id = s.id AND NOT t.removed)
                 FROM shows s WHERE $2::text IS NULL OR s.slug = $2
                 ORDER BY s.week_start DESC LIMIT $1",
                &[&i64::from(limit), &slug],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ShowSummary {
                    id: col(r, 0)?,
                    slug: col(r, 1)?,
                    week: Week {
                        start: time(r, 2)?,
                        end: time(r, 3)?,
                    },
                    track_count: uint(r, 4)?,
                })
            })
            .collect()
    }

    /// Merges each week's likes in one transaction; returns the ids of the shows that changed.
    pub async fn apply_likes(
        &self,
        slug: String,
        weeks: Vec<WeekLikes>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mut changed = Vec::new();
        for w in &weeks {
            if let Some(id) = merge_week(&tx, &slug, w.week, &w.likes).await? {
                changed.push(id);
            }
        }
        tx.commit().await?;
        Ok(changed)
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
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let order = ordered_entries(&tx, show_id).await?;
        let len = order.len() as u32;
        let index = match position {
            None => order.len(),
            Some(p) if (1..=len + 1).contains(&p) => (p - 1) as usize,
            Some(p) => {
                return Err(StoreError::BeyondShow(format!(
                    "position {p} is outside 1..={} for show {show_id}",
                    len + 1
                )));
            }
        };
        let track_id = upsert_track(&tx, &track).await?;
        let mut others: Vec<Entry> = order
            .into_iter()
            .filter(|e| e.track_id != track_id)
            .collect();
        let index = index.min(others.len());
        let key = key_at(&tx, show_id, &mut others, index).await?;
        tx.execute(
            "INSERT INTO show_tracks (show_id, track_id, source, liked_at, added_at, sort_key, removed)
             VALUES ($1, $2, 'manual', NULL, $3, $4, false)
             ON CONFLICT(show_id, track_id) DO UPDATE SET
                 source = 'manual', liked_at = NULL, added_at = excluded.added_at,
                 removed = false, sort_key = excluded.sort_key",
            &[&show_id, &track_id, &to_ms(Timestamp::now()), &key],
        )
        .await?;
        tx.commit().await?;
        load_show(&c, show_id).await
    }

    /// Removes the track at `position` if it is `expected`; it stays out after later polls.
    pub async fn remove_track(
        &self,
        show_id: i64,
        position: u32,
        expected: ExpectedTrack,
    ) -> Result<Show, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let order = ordered_entries(&tx, show_id).await?;
        let entry = order[position_index(show_id, position, order.len() as u32)?];
        check_expected(&tx, entry, position, expected).await?;
        tx.execute(
            "UPDATE show_tracks SET removed = true WHERE show_id = $1 AND track_id = $2",
            &[&show_id, &entry.track_id],
        )
        .await?;
        tx.commit().await?;
        load_show(&c, show_id).await
    }

    /// Moves the track at `from` (if it is `expected`) to position `to`; the order stays after
    /// later polls.
    pub async fn move_track(
        &self,
        show_id: i64,
        from: u32,
        to: u32,
        expected: ExpectedTrack,
    ) -> Result<Show, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mut order = ordered_entries(&tx, show_id).await?;
        let len = order.len() as u32;
        let from_index = position_index(show_id, from, len)?;
        check_expected(&tx, order[from_index], from, expected).await?;
        if !(1..=len).contains(&to) {
            return Err(StoreError::BeyondShow(format!(
                "`to` must be between 1 and {len} for show {show_id}"
            )));
        }
        let moved = order.remove(from_index);
        let key = key_at(&tx, show_id, &mut order, (to - 1) as usize).await?;
        tx.execute(
            "UPDATE show_tracks SET sort_key = $3 WHERE show_id = $1 AND track_id = $2",
            &[&show_id, &moved.track_id, &key],
        )
        .await?;
        tx.commit().await?;
        load_show(&c, show_id).await
    }
}

async fn show_id<C: GenericClient>(
    c: &C,
    slug: &str,
    week: Week,
) -> Result<Option<i64>, StoreError> {
    let row = c
        .query_opt(
            "SELECT id FROM shows WHERE slug = $1 AND week_start = $2",
            &[&slug, &to_ms(week.start)],
        )
        .await?;
    row.map(|r| col(&r, 0)).transpose()
}

/// The row id of `slug`'s `week`, inserting it if needed.
async fn ensure_show<C: GenericClient>(c: &C, slug: &str, week: Week) -> Result<i64, StoreError> {
    c.execute(
        "INSERT INTO shows (slug, week_start, week_end) VALUES ($1, $2, $3)
         ON CONFLICT(slug, week_start) DO NOTHING",
        &[&slug, &to_ms(week.start), &to_ms(week.end)],
    )
    .await?;
    let row = c
        .query_one(
            "SELECT id FROM shows WHERE slug = $1 AND week_start = $2",
            &[&slug, &to_ms(week.start)],
        )
        .await?;
    col(&row, 0)
}

async fn load_show<C: GenericClient>(c: &C, id: i64) -> Result<Show, StoreError> {
    let row = c
        .query_opt(
            "SELECT slug, week_start, week_end FROM shows WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or(StoreError::NoShow(id))?;
    let slug = col(&row, 0)?;
    let week = Week {
        start: time(&row, 1)?,
        end: time(&row, 2)?,
    };
    let rows = c
        .query(
            "SELECT t.soundcloud_id, t.title, t.artist, t.permalink_url, t.artwork_url,
                    t.duration_ms, t.license, st.liked_at
             FROM show_tracks st JOIN tracks t ON t.id = st.track_id
             WHERE st.show_id = $1 AND NOT st.removed
             ORDER BY st.sort_key, st.track_id",
            &[&id],
        )
        .await?;
    let mut tracks = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        tracks.push(Track {
            position: i as u32 + 1,
            id: col(r, 0)?,
            title: col(r, 1)?,
            artist: col(r, 2)?,
            // Rows written before links were checked may hold any scheme.
            permalink_url: WebUrl::link(&col::<String>(r, 3)?)
                .map(|u| u.to_string())
                .unwrap_or_default(),
            artwork_url: col(r, 4)?,
            duration_ms: col(r, 5)?,
            license: col(r, 6)?,
            liked_at: optional_time(r, 7)?,
        });
    }
    Ok(Show {
        id,
        slug,
        week,
        tracks,
    })
}

/// Inserts or refreshes a track; SoundCloud tracks are one row per SoundCloud id.
async fn upsert_track(tx: &Transaction<'_>, t: &TrackInfo) -> Result<i64, StoreError> {
    let sql = if t.soundcloud_id.is_some() {
        "INSERT INTO tracks (soundcloud_id, title, artist, permalink_url, artwork_url, duration_ms, license)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT(soundcloud_id) DO UPDATE SET
             title = excluded.title, artist = excluded.artist, permalink_url = excluded.permalink_url,
             artwork_url = excluded.artwork_url, duration_ms = excluded.duration_ms, license = excluded.license
         RETURNING id"
    } else {
        "INSERT INTO tracks (soundcloud_id, title, artist, permalink_url, artwork_url, duration_ms, license)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
    };
    let row = tx
        .query_one(
            sql,
            &[
                &t.soundcloud_id,
                &t.title,
                &t.artist,
                &t.permalink_url.as_ref().map_or("", WebUrl::as_str),
                &t.artwork_url,
                &t.duration_ms,
                &t.license,
            ],
        )
        .await?;
    col(&row, 0)
}

/// Merges a week's likes into its show; returns the show's id if its tracks changed.
async fn merge_week(
    tx: &Transaction<'_>,
    slug: &str,
    week: Week,
    likes: &[Like],
) -> Result<Option<i64>, StoreError> {
    let show_id = ensure_show(tx, slug, week).await?;
    lock_show(tx, show_id).await?;
    let mut seen = HashSet::new();
    let mut changed = false;
    for like in likes {
        let track_id = upsert_track(tx, &like.track).await?;
        if !seen.insert(track_id) {
            continue; // SoundCloud listed the same like twice; the newest one came first.
        }
        let liked_at = to_ms(like.liked_at);
        changed |= tx
            .execute(
                "INSERT INTO show_tracks (show_id, track_id, source, liked_at, added_at, sort_key, removed)
                 VALUES ($1, $2, 'like', $3, $4, $5, false)
                 ON CONFLICT(show_id, track_id) DO UPDATE SET liked_at = excluded.liked_at
                 WHERE show_tracks.source = 'like'
                   AND show_tracks.liked_at IS DISTINCT FROM excluded.liked_at",
                &[&show_id, &track_id, &liked_at, &to_ms(Timestamp::now()), &(liked_at * KEY_SPACING)],
            )
            .await?
            > 0;
    }
    // Likes that are gone from SoundCloud leave the show; the DJ's tombstones and manual adds stay.
    let rows = tx
        .query(
            "SELECT track_id FROM show_tracks WHERE show_id = $1 AND source = 'like' AND NOT removed",
            &[&show_id],
        )
        .await?;
    for r in &rows {
        let track_id: i64 = col(r, 0)?;
        if seen.contains(&track_id) {
            continue;
        }
        tx.execute(
            "DELETE FROM show_tracks WHERE show_id = $1 AND track_id = $2",
            &[&show_id, &track_id],
        )
        .await?;
        changed = true;
    }
    Ok(changed.then_some(show_id))
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    track_id: i64,
    sort_key: i64,
}

/// Locks show `show_id`'s row until the transaction ends; `NoShow` if there is none.
async fn lock_show(tx: &Transaction<'_>, show_id: i64) -> Result<(), StoreError> {
    let exists = tx
        .query_opt("SELECT id FROM shows WHERE id = $1 FOR UPDATE", &[&show_id])
        .await?;
    match exists {
        Some(_) => Ok(()),
        None => Err(StoreError::NoShow(show_id)),
    }
}

/// The show's tracks in order, with the show locked for the edit that reads them.
async fn ordered_entries(tx: &Transaction<'_>, show_id: i64) -> Result<Vec<Entry>, StoreError> {
    lock_show(tx, show_id).await?;
    let rows = tx
        .query(
            "SELECT track_id, sort_key FROM show_tracks
             WHERE show_id = $1 AND NOT removed ORDER BY sort_key, track_id",
            &[&show_id],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                track_id: col(r, 0)?,
                sort_key: col(r, 1)?,
            })
        })
        .collect()
}

fn position_index(show_id: i64, position: u32, len: u32) -> Result<usize, StoreError> {
    if (1..=len).contains(&position) {
        Ok((position - 1) as usize)
    } else {
        Err(StoreError::NoPosition { show_id, position })
    }
}

/// Refuses the edit when `entry`, the track at `position`, is not the one the client meant.
/// It runs inside the edit's transaction with the show locked, so no poll can move the tracks
/// between check and edit.
async fn check_expected(
    tx: &Transaction<'_>,
    entry: Entry,
    position: u32,
    expected: ExpectedTrack,
) -> Result<(), StoreError> {
    if expected == ExpectedTrack::Any {
        return Ok(());
    }
    let row = tx
        .query_one(
            "SELECT soundcloud_id, title, artist FROM tracks WHERE id = $1",
            &[&entry.track_id],
        )
        .await?;
    let title: String = col(&row, 1)?;
    let artist: String = col(&row, 2)?;
    expected.check(position, col(&row, 0)?, &title, &artist)
}

/// A sort key that places a track at `index` of `order` (which does not contain it). When two
/// neighbours have no room between them, the show's keys are re-spaced `KEY_SPACING` apart from
/// the first one (see the SQLite backend's twin for why that keeps new likes last).
async fn key_at(
    tx: &Transaction<'_>,
    show_id: i64,
    order: &mut [Entry],
    index: usize,
) -> Result<i64, StoreError> {
    if let Some(key) = free_key(order, index) {
        return Ok(key);
    }
    let base = order[0].sort_key;
    for (i, e) in order.iter_mut().enumerate() {
        e.sort_key = base + i as i64 * KEY_SPACING;
        tx.execute(
            "UPDATE show_tracks SET sort_key = $3 WHERE show_id = $1 AND track_id = $2",
            &[&show_id, &e.track_id, &e.sort_key],
        )
        .await?;
    }
    free_key(order, index).ok_or_else(|| {
        StoreError::OutOfRange(format!("no room for a track at {index} of show {show_id}"))
    })
}

/// The key between the neighbours of `index`, if they leave room for one.
fn free_key(order: &[Entry], index: usize) -> Option<i64> {
    let before = index
        .checked_sub(1)
        .and_then(|i| order.get(i))
        .map(|e| e.sort_key);
    let after = order.get(index).map(|e| e.sort_key);
    match (before, after) {
        (None, None) => Some(to_ms(Timestamp::now()) * KEY_SPACING),
        (Some(a), None) => Some(a + KEY_SPACING),
        (None, Some(b)) => Some(b - KEY_SPACING),
        (Some(a), Some(b)) if b - a >= 2 => Some(a + (b - a) / 2),
        (Some(_), Some(_)) => None,
    }
}
