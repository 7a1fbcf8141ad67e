//! The station's page for listeners, at `/` when the hub serves several shows: the show on air
//! now (or the one up next) with what is playing, live through `/events`; this week's schedule
//! of every show, each start in the show's own zone and in UTC, so no listener has to do time
//! zone sums; and the recent tracklists of all shows, each linking to its show's page.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ntr_protocol::Seq;

use super::listener::{
    NextShow, NowView, TracklistView, countdown, now_view, playing, tracklist_view, week_title,
};
use crate::clock::Clock;
use crate::http::api::tracklist::show_tracklist;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::station::ShowDef;
use crate::tracklist::Tracklist;
use crate::week::OutOfCalendar;

/// Past weeks listed with their tracklists, across all shows, besides the one on air or next.
const RECENT_TRACKLISTS: u32 = 6;

#[derive(Template, WebTemplate)]
#[template(path = "station.html")]
struct StationPage {
    /// The show on air now, else the one that airs next.
    lead: ScheduleRow,
    now: Option<NowView>,
    on_air: bool,
    next: NextShow,
    /// The newest seq when the page was drawn: the script's live stream resumes after it.
    last_seq: Seq,
    /// The lead show's IANA zone and how it is labelled, for times the script draws.
    tz: String,
    zone: String,
    /// Every show, by its next start.
    schedule: Vec<ScheduleRow>,
    tracklists: Vec<ShowTracklist>,
}

/// One show in the week's schedule.
#[derive(Clone)]
struct ScheduleRow {
    slug: String,
    title: String,
    on_air: bool,
    /// RFC 3339 of its next start (or of the start of its live window while on air).
    iso: String,
    /// "Thu Mar 19, 12:00 Berlin".
    local: String,
    /// "Thu Mar 19, 11:00 UTC".
    utc: String,
    start: Timestamp,
}

/// A tracklist with the show it belongs to.
struct ShowTracklist {
    slug: String,
    show_title: String,
    list: TracklistView,
}

fn schedule_row(def: &ShowDef, now: Timestamp) -> Result<ScheduleRow, OutOfCalendar> {
    let (start, _) = def.schedule.live_window_around(now)?;
    let clock = Clock::new(def.schedule.time_zone());
    let utc = Clock::new(&jiff::tz::TimeZone::UTC);
    Ok(ScheduleRow {
        slug: def.slug.to_string(),
        title: def.title.clone(),
        on_air: start <= now,
        iso: start.to_string(),
        local: format!("{} {}", clock.day_time(start), clock.label()),
        utc: format!("{} {}", utc.day_time(start), utc.label()),
        start,
    })
}

/// The station's next show start after `now` (a show on air counts with its next week).
fn next_start(station: &[ShowDef], now: Timestamp) -> Result<(Timestamp, &ShowDef), ApiError> {
    let mut best: Option<(Timestamp, &ShowDef)> = None;
    for def in station {
        let starts = def.schedule.upcoming_starts(now, 2)?;
        if let Some(start) = starts.into_iter().find(|s| *s > now)
            && best.is_none_or(|(earliest, _)| start < earliest)
        {
            best = Some((start, def));
        }
    }
    best.ok_or_else(|| ApiError::Internal("a station without shows".into()))
}

fn next_show(state: &AppState, lead: &ShowDef, now: Timestamp) -> Result<NextShow, ApiError> {
    let (start, def) = next_start(state.config.station.shows(), now)?;
    let live = lead.schedule.on_air_week(now)?.is_some();
    let (_, lead_end) = lead.schedule.live_window_around(now)?;
    let clock = Clock::new(def.schedule.time_zone());
    Ok(NextShow {
        start: start.to_string(),
        live_until: live.then(|| lead_end.to_string()),
        live_minutes: def.schedule.live_window().as_mins(),
        label: format!("{}, {} {}", def.title, clock.day_time(start), clock.label()),
        countdown: countdown(now, start),
    })
}

/// The lead show's current week (even while empty, so the script can fill it), then the
/// recent weeks of every show that have tracks.
async fn tracklists(state: &AppState, lead: &ShowDef) -> Result<Vec<ShowTracklist>, ApiError> {
    let station = &state.config.station;
    let current = state.store.current_show(lead, Timestamp::now()).await?;
    let mut out = vec![ShowTracklist {
        slug: lead.slug.to_string(),
        show_title: lead.title.clone(),
        list: tracklist_view(show_tracklist(state, current.id).await?),
    }];
    for week in state.store.played_by_show(RECENT_TRACKLISTS + 1).await? {
        if week.id == current.id || out.len() > RECENT_TRACKLISTS as usize {
            continue;
        }
        // A week of a show no longer configured is still listed, under its slug.
        let (title, list_title) = match station.get(&week.slug) {
            Some(def) => (def.title.clone(), week_title(def, week.week)),
            None => (week.slug.clone(), format!("Week of {}", week.week.start)),
        };
        out.push(ShowTracklist {
            slug: week.slug.clone(),
            show_title: title,
            list: tracklist_view(Tracklist::build(
                week.id,
                list_title,
                &week.played,
                week.mark,
            )),
        });
    }
    Ok(out)
}

/// The station page (several shows).
pub async fn render(state: &AppState) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let station = &state.config.station;
    let lead = station.on_air_or_next(now)?;
    let (playing, track) = playing(state, lead).await?;
    let clock = Clock::new(lead.schedule.time_zone());
    let mut schedule = station
        .shows()
        .iter()
        .map(|def| schedule_row(def, now))
        .collect::<Result<Vec<_>, _>>()?;
    schedule.sort_by_key(|row| row.start);
    Ok(StationPage {
        lead: schedule_row(lead, now)?,
        now: track.map(|t| now_view(&clock, t)),
        on_air: playing.on_air,
        next: next_show(state, lead, now)?,
        last_seq: state.store.last_seq().await?,
        tz: clock.iana().to_owned(),
        zone: clock.label().to_owned(),
        schedule,
        tracklists: tracklists(state, lead).await?,
    }
    .into_response())
}
