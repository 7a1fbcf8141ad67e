//! The public page `/` for listeners: what is playing now (live through `/events`), whether
//! the show is on air, a countdown to the next show in the show's own time zone, the tracklists
//! of the current and past shows, and the playlists. Everything is in the HTML; the script
//! (`static/public.js`) only keeps it up to date.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ntr_protocol::Seq;

use super::{ShowRows, two_shows};
use crate::clock::Clock;
use crate::http::api::tracklist::{show_title, show_tracklist};
use crate::http::error::ApiError;
use crate::http::responses::StorageFailed;
use crate::http::state::AppState;
use crate::nowplaying::{NowPlaying, PlayingTrack};
use crate::tracklist::Tracklist;
use crate::web_url::WebUrl;
use crate::week::OutOfCalendar;

/// Past shows listed with their tracklists, besides the current one.
const PAST_TRACKLISTS: u32 = 5;

#[derive(Template, WebTemplate)]
#[template(path = "public.html")]
struct PublicPage {
    now: Option<NowView>,
    on_air: bool,
    next: NextShow,
    /// The newest seq when the page was drawn: the script's live stream resumes after it.
    last_seq: Seq,
    /// The show's IANA zone and how it is labelled, for times the script draws.
    tz: String,
    zone: String,
    tracklists: Vec<TracklistView>,
    shows: Vec<ShowRows>,
}

struct NowView {
    title: String,
    artist: String,
    url: Option<WebUrl>,
    at: String,
}

struct NextShow {
    /// RFC 3339, for the script's countdown.
    start: String,
    /// When the live window of the show on air now ends (RFC 3339), if one is.
    live_until: Option<String>,
    live_minutes: i64,
    /// "Wed Mar 18, 22:00 New York".
    label: String,
    /// "in 2 days 3 hours", as drawn by the server.
    countdown: String,
}

struct TracklistView {
    show_id: i64,
    title: String,
    lines: Vec<LineView>,
}

struct LineView {
    time: String,
    label: String,
    url: Option<WebUrl>,
}

fn countdown(from: Timestamp, to: Timestamp) -> String {
    let minutes = to.duration_since(from).as_mins().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let plural = |n: i64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (days, hours) {
        (0, 0) => format!("in {}", plural(mins.max(1), "minute")),
        (0, h) => format!("in {} {}", plural(h, "hour"), plural(mins, "minute")),
        (d, h) => format!("in {} {}", plural(d, "day"), plural(h, "hour")),
    }
}

fn next_show(state: &AppState, now: Timestamp) -> Result<NextShow, OutOfCalendar> {
    let schedule = &state.config.station.primary().schedule;
    let clock = Clock::new(schedule.time_zone());
    let live = schedule.on_air_week(now)?.is_some();
    let starts = schedule.upcoming_starts(now, 2)?;
    let live_until = live
        .then(|| {
            starts
                .first()
                .map(|s| (*s + schedule.live_window()).to_string())
        })
        .flatten();
    let next = starts.into_iter().find(|s| *s > now).unwrap_or(now);
    Ok(NextShow {
        start: next.to_string(),
        live_until,
        live_minutes: schedule.live_window().as_mins(),
        label: format!("{} {}", clock.day_time(next), clock.label()),
        countdown: countdown(now, next),
    })
}

fn now_view(state: &AppState, track: PlayingTrack) -> NowView {
    let clock = Clock::new(state.config.station.primary().schedule.time_zone());
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

fn tracklist_view(list: Tracklist) -> TracklistView {
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

/// The current show's tracklist (even while empty, so the script can fill it), then past ones.
async fn tracklists(state: &AppState) -> Result<Vec<TracklistView>, ApiError> {
    let current = state.current_show().await?;
    let mut out = vec![tracklist_view(show_tracklist(state, current.id).await?)];
    for show in state.store.played_by_show(PAST_TRACKLISTS + 1).await? {
        if show.id != current.id && out.len() <= PAST_TRACKLISTS as usize {
            let title = show_title(state, show.week);
            out.push(tracklist_view(Tracklist::build(
                show.id,
                title,
                &show.played,
                show.mark,
            )));
        }
    }
    Ok(out)
}

/// The public page for listeners: now playing (live), the next show, tracklists and
/// playlists (HTML).
#[utoipa::path(get, path = "/", tag = crate::http::tags::PAGES, operation_id = "public_page", responses(
    (status = 200, description = "The page", content_type = crate::http::tags::HTML, body = String),
    StorageFailed,
))]
pub async fn page(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let playing = NowPlaying::read(&state.store, state.config.station.primary()).await?;
    let tz = state.config.station.primary().schedule.time_zone();
    Ok(PublicPage {
        now: playing.now_playing.map(|t| now_view(&state, t)),
        on_air: playing.on_air,
        next: next_show(&state, now)?,
        last_seq: state.store.last_seq().await?,
        tz: tz.iana_name().unwrap_or("UTC").to_owned(),
        zone: Clock::new(tz).label().to_owned(),
        tracklists: tracklists(&state).await?,
        shows: two_shows(&state, false).await?,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_and_the_zone_label() {
        let db = jiff::tz::TimeZoneDatabase::bundled();
        let ny = db.get("America/New_York").expect("zone");
        assert_eq!(Clock::new(&ny).label(), "New York");
        assert_eq!(Clock::new(&jiff::tz::TimeZone::UTC).label(), "UTC");
        let t: Timestamp = "2026-03-11T00:00:00Z".parse().expect("time");
        let later = |mins: i64| t + jiff::SignedDuration::from_mins(mins);
        assert_eq!(countdown(t, later(0)), "in 1 minute");
        assert_eq!(countdown(t, later(61)), "in 1 hour 1 minute");
        assert_eq!(countdown(t, later(2 * 1440 + 180)), "in 2 days 3 hours");
    }
}
