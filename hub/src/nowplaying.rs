//! What is playing now, for stream overlays and station web sites: the newest track announce
//! of the last 30 minutes that was not corrected, with the current show and whether it is live.
//! A station answers for one show at a time: the one asked for, else the one on air, else the
//! one that airs next; its last played track is that show's own.

use jiff::{SignedDuration, Timestamp};
use ntr_protocol::Seq;
use serde::Serialize;

use crate::line::AnnounceLine;
use crate::station::ShowDef;
use crate::store::{Played, ShowError, Store};

/// An announce older than this no longer says what is playing (the show may be over).
pub const RECENT: SignedDuration = SignedDuration::from_mins(30);

/// The answer of `GET /nowplaying.json`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NowPlaying {
    /// Inside a live window.
    pub on_air: bool,
    /// Null when no track was announced in the last 30 minutes.
    pub now_playing: Option<PlayingTrack>,
    pub show: ShowRef,
}

/// The newest track announce of the last 30 minutes that was not corrected.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlayingTrack {
    pub seq: Seq,
    pub title: String,
    pub artist: String,
    pub url: String,
    pub position: u32,
    pub show_id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub announced_at: Timestamp,
}

/// The current show (the on-air one during the live window).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShowRef {
    pub id: i64,
    /// The show's slug.
    pub show: String,
    #[schema(value_type = String, format = DateTime)]
    pub week_start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub week_end: Timestamp,
}

impl From<Played> for PlayingTrack {
    fn from(p: Played) -> Self {
        PlayingTrack {
            seq: p.seq,
            title: p.track.title,
            artist: p.track.artist,
            url: p.track.permalink_url,
            position: p.position,
            show_id: p.show_id,
            announced_at: p.announced_at,
        }
    }
}

impl NowPlaying {
    pub async fn read(store: &Store, def: &ShowDef) -> Result<NowPlaying, ShowError> {
        let now = Timestamp::now();
        let schedule = &def.schedule;
        let show = store.current_show(def, now).await?;
        let last = store.last_played(&def.slug, now - RECENT).await?;
        Ok(NowPlaying {
            on_air: schedule.on_air_week(now)?.is_some(),
            now_playing: last.map(PlayingTrack::from),
            show: ShowRef {
                id: show.id,
                show: def.slug.to_string(),
                week_start: show.week.start,
                week_end: show.week.end,
            },
        })
    }

    /// `Artist - Title` on one line, or nothing when nothing is playing.
    pub fn text(&self) -> String {
        match &self.now_playing {
            None => String::new(),
            Some(t) => {
                let (artist, title) = (
                    AnnounceLine::sanitize(&t.artist),
                    AnnounceLine::sanitize(&t.title),
                );
                if artist.is_empty() {
                    title.as_str().to_owned()
                } else {
                    format!("{} - {}", artist.as_str(), title.as_str())
                }
            }
        }
    }
}
