//! What both listener pages draw (a show's page and the station page): now playing, the next
//! show with its countdown, tracklists, and a week's title.

use jiff::Timestamp;

use crate::clock::Clock;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::nowplaying::{NowPlaying, PlayingTrack};
use crate::station::ShowDef;
use crate::tracklist::Tracklist;
use crate::web_url::WebUrl;
use crate::week::Week;

pub(super) struct NowView {
    pub(super) title: String,
    pub(super) artist: String,
    pub(super) url: Option<WebUrl>,
    pub(super) at: String,
}

pub(super) struct NextShow {
    /// RFC 3339, for the script's countdown.
    pub(super) start: String,
    /// When the live window of the show on air now ends (RFC 3339), if one is.
    pub(super) live_until: Option<String>,
    pub(super) live_minutes: i64,
    /// "Wed Mar 18, 22:00 New York".
    pub(super) label: String,
    /// "in 2 days 3 hours", as drawn by the server.
    pub(super) countdown: String,
}

pub(super) struct TracklistView {
    pub(super) show_id: i64,
    pub(super) title: String,
    pub(super) lines: Vec<LineView>,
}

pub(super) struct LineView {
    pub(super) time: String,
    pub(super) label: String,
    pub(super) url: Option<WebUrl>,
}

pub(super) fn countdown(from: Timestamp, to: Timestamp) -> String {
    let minutes = to.duration_since(from).as_mins().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let plural = |n: i64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (days, hours) {
        (0, 0) => format!("in {}", plural(mins.max(1), "minute")),
        (0, h) => format!("in {} {}", plural(h, "hour"), plural(mins, "minute")),
        (d, h) => format!("in {} {}", plural(d, "day"), plural(h, "hour")),
    }
}

pub(super) fn now_view(clock: &Clock, track: PlayingTrack) -> NowView {
    NowView {
        url: WebUrl::link(&track.url),
        title: track.title,
        artist: track.artist,
        at: format!(
            "{} {}",
            clock.format(track.announced_at, "%H:%M"),
            clock.label()
        ),
    }
}

pub(super) fn tracklist_view(list: Tracklist) -> TracklistView {
    TracklistView {
        show_id: list.show_id,
        lines: list
            .entries
            .iter()
            .map(|e| LineView {
                time: e.clock(),
                label: e.label(),
                url: WebUrl::link(&e.url),
            })
            .collect(),
        title: list.title,
    }
}

/// What is playing now on `def`'s lines: the show's own newest track of the last 30 minutes
/// (the store reads it per show, so another show's announce since does not hide it).
pub(super) async fn playing(
    state: &AppState,
    def: &ShowDef,
) -> Result<(NowPlaying, Option<PlayingTrack>), ApiError> {
    let mut playing = NowPlaying::read(&state.store, def).await?;
    let track = playing.now_playing.take();
    Ok((playing, track))
}

/// "Show of 2026-03-11": the local date, in the show's zone, that a week airs (its end).
pub(super) fn week_title(def: &ShowDef, week: Week) -> String {
    let date = week.end.to_zoned(def.schedule.time_zone().clone());
    format!("Show of {}", date.strftime("%Y-%m-%d"))
}
