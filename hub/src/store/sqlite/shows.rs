//! Shows and their tracks in SQL. A show's order is `show_tracks.sort_key`: a like starts at
//! its `liked_at` in ms times `KEY_SPACING`, and moves and positional adds bisect between
//! neighbours. A removed track keeps its row as a tombstone (`removed = 1`) and a manual add is
//! `source = 'manual'`, so a poll, which only inserts new like rows and deletes like rows whose
//! like has gone, never undoes the DJ's edits.

use std::collections::HashSet;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Sqlite, optional_time, time, to_ms};
use crate::store::{
    ExpectedTrack, Like, Show, ShowSummary, StoreError, Track, TrackInfo, WeekLikes,
};
use crate::web_url::WebUrl;
use crate::week::Week;

/// Gap between neighbouring sort keys: liked_at in ms times this leaves room to bisect.
const KEY_SPACING: i64 = 1024;

impl Sqlite {
    /// The show of `week`, created (empty) if this is the first time anyone asked.
    pub async fn show_for_week(&self, slug: String, week: Week) -> Result<Show, StoreError> {
        self.call(move |c| {
            let id = match show_id(c, &slug, week)? {
                Some(id) => id,
                None => ensure_show(c, &slug, week)?,
            };
            load_show(c, id)
        })
        .await
    }

    pub async fn adopt_unnamed(&self, slug: String) -> Result<u64, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let weeks = tx.execute("UPDATE shows SET slug = ?1 WHERE slug = ''", [&slug])?;
            tx.execute(
                "UPDATE announcements SET show = ?1 WHERE show = ''",
                [&slug],
            )?;
            tx.commit()?;
            Ok(weeks as u64)
        })
        .await
    }

    pub async fn show(&self, id: i64) -> Result<Show, StoreError> {
        self.call(move |c| load_show(c, id)).await
    }

    /// Shows newest first, with their track counts.
    pub async fn shows(
        &self,
        limit: u32,
        slug: Option<String>,
    ) -> Result<Vec<ShowSummary>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT s.id, s.slug, s.week_start, s.week_end,
                        (SELECT COUNT(*) FROM show_tracks t WHERE t.show_id = s.id AND t.removed = 0)
                 FROM shows s WHERE ?2 IS NULL OR s.slug = ?2
                 ORDER BY s.week_start DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![limit, slug], |r| {
                Ok(ShowSummary {
                    id: r.get(0)?,
                    slug: r.get(1)?,
                    week: Week {
                        start: time(r, 2)?,
                        end: time(r, 3)?,
                    },
                    track_count: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Merges each week's likes in one transaction; returns the ids of the shows that changed.
    pub async fn apply_likes(
        &self,
        slug: String,
        weeks: Vec<WeekLikes>,
    ) -> Result<Vec<i64>, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let mut changed = Vec::new();
            for w in &weeks {
                if let Some(id) = merge_week(&tx, &slug, w.week, &w.likes)? {
                    changed.push(id);
                }
            }
            tx.commit()?;
            Ok(changed)
        })
        .await
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
        self.edit_show(show_id, move |tx| {
            let order = ordered_entries(tx, show_id)?;
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
            let track_id = upsert_track(tx, &track)?;
            let mut others: Vec<Entry> = order.into_iter().filter(|e| e.track_id != track_id).collect();
            let index = index.min(others.len());
            let key = key_at(tx, show_id, &mut others, index)?;
            tx.execute(
                "INSERT INTO show_tracks (show_id, track_id, source, liked_at, added_at, sort_key, removed)
                 VALUES (?1, ?2, 'manual', NULL, ?3, ?4, 0)
                 ON CONFLICT(show_id, track_id) DO UPDATE SET
                     source = 'manual', liked_at = NULL, added_at = excluded.added_at,
                     removed = 0, sort_key = excluded.sort_key",
                params![show_id, track_id, to_ms(Timestamp::now()), key],
            )?;
            Ok(())
        })
        .await
    }

    /// Removes the track at `position` if it is `expected`; it stays out after later polls.
    pub async fn remove_track(
        &self,
        show_id: i64,
        position: u32,
        expected: ExpectedTrack,
    ) -> Result<Show, StoreError> {
        self.edit_show(show_id, move |tx| {
            let entry = entry_at(tx, show_id, position)?;
            check_expected(tx, entry, position, expected)?;
            tx.execute(
                "UPDATE show_tracks SET removed = 1 WHERE show_id = ?1 AND track_id = ?2",
                params![show_id, entry.track_id],
            )?;
            Ok(())
        })
        .await
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
        self.edit_show(show_id, move |tx| {
            let mut order = ordered_entries(tx, show_id)?;
            let len = order.len() as u32;
            let from_index = position_index(show_id, from, len)?;
            check_expected(tx, order[from_index], from, expected)?;
            if !(1..=len).contains(&to) {
                return Err(StoreError::BeyondShow(format!(
                    "`to` must be between 1 and {len} for show {show_id}"
                )));
            }
            let moved = order.remove(from_index);
            let key = key_at(tx, show_id, &mut order, (to - 1) as usize)?;
            tx.execute(
                "UPDATE show_tracks SET sort_key = ?3 WHERE show_id = ?1 AND track_id = ?2",
                params![show_id, moved.track_id, key],
            )?;
            Ok(())
        })
        .await
    }

    /// Runs one manual edit of a show as a transaction and answers the show as it now is.
    async fn edit_show<F>(&self, show_id: i64, edit: F) -> Result<Show, StoreError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<(), StoreError> + Send + 'static,
    {
        self.call(move |c| {
            let tx = c.transaction()?;
            edit(&tx)?;
            tx.commit()?;
            load_show(c, show_id)
        })
        .await
    }
}

fn show_id(c: &Connection, slug: &str, week: Week) -> Result<Option<i64>, StoreError> {
    Ok(
        c.prepare_cached("SELECT id FROM shows WHERE slug = ?1 AND week_start = ?2")?
            .query_row(params![slug, to_ms(week.start)], |r| r.get(0))
            .optional()?,
    )
}

/// The row id of `slug`'s `week`, inserting it if needed.
fn ensure_show(c: &Connection, slug: &str, week: Week) -> Result<i64, StoreError> {
    c.execute(
        "INSERT INTO shows (slug, week_start, week_end) VALUES (?1, ?2, ?3)
         ON CONFLICT(slug, week_start) DO NOTHING",
        params![slug, to_ms(week.start), to_ms(week.end)],
    )?;
    Ok(c.query_row(
        "SELECT id FROM shows WHERE slug = ?1 AND week_start = ?2",
        params![slug, to_ms(week.start)],
        |r| r.get(0),
    )?)
}

fn load_show(c: &Connection, id: i64) -> Result<Show, StoreError> {
    let (slug, week) = c
        .query_row(
            "SELECT slug, week_start, week_end FROM shows WHERE id = ?1",
            [id],
            |r| {
                let week = Week {
                    start: time(r, 1)?,
                    end: time(r, 2)?,
                };
                Ok((r.get(0)?, week))
            },
        )
        .optional()?
        .ok_or(StoreError::NoShow(id))?;
    let mut stmt = c.prepare_cached(
        "SELECT t.soundcloud_id, t.title, t.artist, t.permalink_url, t.artwork_url,
                t.duration_ms, t.license, st.liked_at
         FROM show_tracks st JOIN tracks t ON t.id = st.track_id
         WHERE st.show_id = ?1 AND st.removed = 0
         ORDER BY st.sort_key, st.track_id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(Track {
            position: 0,
            id: r.get(0)?,
            title: r.get(1)?,
            artist: r.get(2)?,
            // Rows written before links were checked may hold any scheme.
            permalink_url: WebUrl::link(&r.get::<_, String>(3)?)
                .map(|u| u.to_string())
                .unwrap_or_default(),
            artwork_url: r.get(4)?,
            duration_ms: r.get(5)?,
            license: r.get(6)?,
            liked_at: optional_time(r, 7)?,
        })
    })?;
    let mut tracks = rows.collect::<Result<Vec<_>, _>>()?;
    for (i, t) in tracks.iter_mut().enumerate() {
        t.position = i as u32 + 1;
    }
    Ok(Show {
        id,
        slug,
        week,
        tracks,
    })
}

/// Inserts or refreshes a track; SoundCloud tracks are one row per SoundCloud id.
fn upsert_track(c: &Connection, t: &TrackInfo) -> Result<i64, StoreError> {
    let sql = if t.soundcloud_id.is_some() {
        "INSERT INTO tracks (soundcloud_id, title, artist, permalink_url, artwork_url, duration_ms, license)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(soundcloud_id) DO UPDATE SET
             title = excluded.title, artist = excluded.artist, permalink_url = excluded.permalink_url,
             artwork_url = excluded.artwork_url, duration_ms = excluded.duration_ms, license = excluded.license
         RETURNING id"
    } else {
        "INSERT INTO tracks (soundcloud_id, title, artist, permalink_url, artwork_url, duration_ms, license)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id"
    };
    Ok(c.query_row(
        sql,
        params![
            t.soundcloud_id,
            t.title,
            t.artist,
            t.permalink_url.as_ref().map_or("", WebUrl::as_str),
            t.artwork_url,
            t.duration_ms,
            t.license
        ],
        |r| r.get(0),
    )?)
}

/// Merges a week's likes into its show; returns the show's id if its tracks changed.
fn merge_week(
    tx: &Transaction<'_>,
    slug: &str,
    week: Week,
    likes: &[Like],
) -> Result<Option<i64>, StoreError> {
    let show_id = ensure_show(tx, slug, week)?;
    let mut seen = HashSet::new();
    let mut changed = false;
    for like in likes {
        let track_id = upsert_track(tx, &like.track)?;
        if !seen.insert(track_id) {
            continue; // SoundCloud listed the same like twice; the newest one came first.
        }
        let liked_at = to_ms(like.liked_at);
        changed |= tx.execute(
            "INSERT INTO show_tracks (show_id, track_id, source, liked_at, added_at, sort_key, removed)
             VALUES (?1, ?2, 'like', ?3, ?4, ?5, 0)
             ON CONFLICT(show_id, track_id) DO UPDATE SET liked_at = excluded.liked_at
             WHERE show_tracks.source = 'like' AND show_tracks.liked_at IS NOT excluded.liked_at",
            params![show_id, track_id, liked_at, to_ms(Timestamp::now()), liked_at * KEY_SPACING],
        )? > 0;
    }
    // Likes that are gone from SoundCloud leave the show; the DJ's tombstones and manual adds stay.
    let mut stmt = tx.prepare_cached(
        "SELECT track_id FROM show_tracks WHERE show_id = ?1 AND source = 'like' AND removed = 0",
    )?;
    let stale: Vec<i64> = stmt
        .query_map([show_id], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?
        .into_iter()
        .filter(|id| !seen.contains(id))
        .collect();
    for track_id in stale {
        tx.execute(
            "DELETE FROM show_tracks WHERE show_id = ?1 AND track_id = ?2",
            params![show_id, track_id],
        )?;
        changed = true;
    }
    Ok(changed.then_some(show_id))
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    track_id: i64,
    sort_key: i64,
}

fn ordered_entries(c: &Connection, show_id: i64) -> Result<Vec<Entry>, StoreError> {
    let exists: Option<i64> = c
        .query_row("SELECT id FROM shows WHERE id = ?1", [show_id], |r| {
            r.get(0)
        })
        .optional()?;
    if exists.is_none() {
        return Err(StoreError::NoShow(show_id));
    }
    let mut stmt = c.prepare_cached(
        "SELECT track_id, sort_key FROM show_tracks
         WHERE show_id = ?1 AND removed = 0 ORDER BY sort_key, track_id",
    )?;
    let rows = stmt.query_map([show_id], |r| {
        Ok(Entry {
            track_id: r.get(0)?,
            sort_key: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn position_index(show_id: i64, position: u32, len: u32) -> Result<usize, StoreError> {
    if (1..=len).contains(&position) {
        Ok((position - 1) as usize)
    } else {
        Err(StoreError::NoPosition { show_id, position })
    }
}

fn entry_at(c: &Connection, show_id: i64, position: u32) -> Result<Entry, StoreError> {
    let order = ordered_entries(c, show_id)?;
    let index = position_index(show_id, position, order.len() as u32)?;
    Ok(order[index])
}

/// Refuses the edit when `entry`, the track at `position`, is not the one the client meant.
/// It runs inside the edit's transaction, so no poll can move the tracks between check and edit.
fn check_expected(
    c: &Connection,
    entry: Entry,
    position: u32,
    expected: ExpectedTrack,
) -> Result<(), StoreError> {
    if expected == ExpectedTrack::Any {
        return Ok(());
    }
    let (id, title, artist): (Option<i64>, String, String) = c
        .prepare_cached("SELECT soundcloud_id, title, artist FROM tracks WHERE id = ?1")?
        .query_row([entry.track_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    expected.check(position, id, &title, &artist)
}

/// A sort key that places a track at `index` of `order` (which does not contain it). When two
/// neighbours have no room between them, the show's keys are re-spaced `KEY_SPACING` apart from
/// the first one; that keeps them below the keys of likes made a second or more after the show's
/// first like (unless a show had over a thousand tracks), so new likes still sort last.
fn key_at(
    tx: &Connection,
    show_id: i64,
    order: &mut [Entry],
    index: usize,
) -> Result<i64, StoreError> {
    let before = index
        .checked_sub(1)
        .and_then(|i| order.get(i))
        .map(|e| e.sort_key);
    let after = order.get(index).map(|e| e.sort_key);
    match (before, after) {
        (None, None) => Ok(to_ms(Timestamp::now()) * KEY_SPACING),
        (Some(a), None) => Ok(a + KEY_SPACING),
        (None, Some(b)) => Ok(b - KEY_SPACING),
        (Some(a), Some(b)) if b - a >= 2 => Ok(a + (b - a) / 2),
        (Some(_), Some(_)) => {
            let base = order[0].sort_key;
            for (i, e) in order.iter_mut().enumerate() {
                e.sort_key = base + i as i64 * KEY_SPACING;
                tx.execute(
                    "UPDATE show_tracks SET sort_key = ?3 WHERE show_id = ?1 AND track_id = ?2",
                    params![show_id, e.track_id, e.sort_key],
                )?;
            }
            key_at(tx, show_id, order, index)
        }
    }
}
