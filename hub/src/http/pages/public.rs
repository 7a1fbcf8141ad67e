//! A show's public page for listeners, at `/s/{slug}` (and at `/` when the station has one
//! show): what is playing now (live through `/events`), whether the show is on air, a countdown
//! to its next show in its own time zone, the tracklists of its current and past weeks, and its
//! playlists. Everything is in the HTML; the script (`static/public.js`) only keeps it up to
//! date.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ntr_protocol::Seq;

use super::listener::{
    NextShow, NowView, TracklistView, countdown, now_view, playing, tracklist_view, week_title,
};
use super::not_found::UnknownShow;
use super::{ShowRows, station, two_shows};
use crate::clock::Clock;
use crate::http::api::tracklist::show_tracklist;
use crate::http::error::ApiError;
use crate::http::responses::StorageFailed;
use crate::http::state::AppState;
use crate::http::tags::{HTML, PAGES as TAG};
use crate::station::ShowDef;
use crate::tracklist::Tracklist;
use crate::week::OutOfCalendar;

/// Past shows listed with their tracklists, besides the current one.
const PAST_TRACKLISTS: u32 = 5;

#[derive(Template, WebTemplate)]
#[template(path = "public.html")]
struct PublicPage {
    /// The show's slug and title when the station has several shows (`/s/{slug}`): the page
    /// then names the show and follows only its lines. `None` on a one-show station's `/`.
    show: Option<(String, String)>,
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

fn next_show(def: &ShowDef, now: Timestamp) -> Result<NextShow, OutOfCalendar> {
    let schedule = &def.schedule;
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

/// The show's current week's tracklist (even while empty, so the script can fill it), then
/// its past ones; with `every_slug` (a one-show station's `/`) also past weeks of shows no
/// longer configured, as before the station had slugs.
async fn tracklists(
    state: &AppState,
    def: &ShowDef,
    every_slug: bool,
) -> Result<Vec<TracklistView>, ApiError> {
    let current = state.store.current_show(def, Timestamp::now()).await?;
    let mut out = vec![tracklist_view(show_tracklist(state, current.id).await?)];
    // A named show's weeks only; a one-show station's `/` also lists weeks of shows no longer
    // configured.
    let only = (!every_slug).then_some(&def.slug);
    for show in state
        .store
        .played_by_show_of(PAST_TRACKLISTS + 1, only)
        .await?
    {
        if show.id != current.id && out.len() <= PAST_TRACKLISTS as usize {
            let title = week_title(def, show.week);
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

/// One show's page, as `/s/{slug}` and a one-show station's `/` draw it.
async fn render(state: &AppState, def: &ShowDef, named: bool) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let (playing, track) = playing(state, def).await?;
    let clock = Clock::new(def.schedule.time_zone());
    Ok(PublicPage {
        show: named.then(|| (def.slug.to_string(), def.title.clone())),
        now: track.map(|t| now_view(&clock, t)),
        on_air: playing.on_air,
        next: next_show(def, now)?,
        last_seq: state.store.last_seq().await?,
        tz: clock.iana().to_owned(),
        zone: clock.label().to_owned(),
        tracklists: tracklists(state, def, !named).await?,
        shows: two_shows(state, def, false).await?,
    }
    .into_response())
}

/// The station's page for listeners: with several shows, what is on air, the week's schedule
/// and recent tracklists of all shows; with one show, that show's page (HTML).
#[utoipa::path(get, path = "/", tag = TAG, operation_id = "public_page", responses(
    (status = 200, description = "The page", content_type = HTML, body = String),
    StorageFailed,
))]
pub async fn page(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.config.station.shows() {
        [only] => render(&state, only, false).await,
        _ => station::render(&state).await,
    }
}

/// One show's page for listeners: now playing (live), its next show, tracklists and
/// playlists (HTML); an unknown slug is a 404 page listing the shows.
#[utoipa::path(get, path = "/s/{slug}", tag = TAG, operation_id = "show_page",
    params(("slug" = String, Path, description = "The show's slug")),
    responses(
        (status = 200, description = "The page", content_type = HTML, body = String),
        (status = 404, description = "No show with that slug: a page listing the shows",
            content_type = HTML, body = String),
        StorageFailed,
    ),
)]
pub async fn show_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    match state.config.station.get(&slug) {
        Some(def) => render(&state, def, true).await,
        None => Ok(UnknownShow::response(&state.config.station, &slug)),
    }
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
