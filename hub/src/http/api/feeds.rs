//! Public feeds for listeners and their tools: now playing (JSON for station web sites, text
//! for OBS text sources), the shows as RSS and the coming shows as iCalendar.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use crate::feeds::{ics, rss};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiQuery;
use crate::http::responses::StorageFailed;
use crate::http::show_query::ShowQuery;
use crate::http::state::AppState;
use crate::http::tags::PUBLIC as TAG;
use crate::nowplaying::NowPlaying;
use crate::station::ShowDef;
use crate::tracklist::Tracklist;

/// Overlays poll these: never serve a stale track. Any site may read them (public data, no
/// credentials), so a station page on another origin can show the track too.
fn live_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// What is playing now, for stream overlays and station web sites: the newest track announce
/// of the last 30 minutes that was not corrected.
///
/// `Cache-Control: no-cache` and `Access-Control-Allow-Origin: *`.
#[utoipa::path(get, path = "/nowplaying.json", tag = TAG, params(ShowQuery), responses(
    (status = 200, description = "Now playing, the current show, and whether it is on air",
        body = NowPlaying),
    (status = 404, description = "No show has that slug", body = ErrorBody),
    StorageFailed,
))]
pub async fn nowplaying_json(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ShowQuery>,
) -> Result<Response, ApiError> {
    let show = query.or_now(&state.config.station, Timestamp::now())?;
    let now = NowPlaying::read(&state.store, show).await?;
    Ok(live_headers(Json(now).into_response()))
}

/// What is playing now as one line, `Artist - Title`, for an OBS text source; empty when
/// nothing is.
#[utoipa::path(get, path = "/nowplaying.txt", tag = TAG, params(ShowQuery), responses(
    (status = 200, description = "One line, no newline at the end; empty when nothing plays",
        content_type = "text/plain; charset=utf-8", body = String),
    (status = 404, description = "No show has that slug", body = ErrorBody),
    StorageFailed,
))]
pub async fn nowplaying_txt(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ShowQuery>,
) -> Result<Response, ApiError> {
    let show = query.or_now(&state.config.station, Timestamp::now())?;
    let now = NowPlaying::read(&state.store, show).await?;
    Ok(live_headers(
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            now.text(),
        )
            .into_response(),
    ))
}

/// RSS 2.0: one item per show with announced tracks, newest first, at most 50, each with its
/// tracklist; every show of the station, or with `?show=` one show's.
#[utoipa::path(get, path = "/shows.rss", tag = TAG, params(ShowQuery), responses(
    (status = 200, description = "The feed", content_type = "application/rss+xml; charset=utf-8",
        body = String),
    (status = 404, description = "No show has that slug", body = ErrorBody),
    StorageFailed,
))]
pub async fn shows_rss(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ShowQuery>,
) -> Result<Response, ApiError> {
    let named = query.named(&state.config.station)?.map(|s| &s.slug);
    let shows = state.store.played_by_show_of(rss::MAX_ITEMS, named).await?;
    let lists: Vec<Tracklist> = shows
        .iter()
        .map(|s| {
            let mut title = super::tracklist::show_title(&state, s.week);
            // A station's items say whose show each one was.
            let station = &state.config.station;
            if station.shows().len() > 1
                && let Some(def) = station.get(&s.slug)
            {
                title = format!("{}: {title}", def.title);
            }
            Tracklist::build(s.id, title, &s.played, s.mark)
        })
        .collect();
    let body = rss::feed(&state.config, &lists).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        body,
    )
        .into_response())
}

/// iCalendar: each show's next 8 starts as events (the one on air now included); `?show=`:
/// one show's.
#[utoipa::path(get, path = "/schedule.ics", tag = TAG, params(ShowQuery), responses(
    (status = 200, description = "The calendar", content_type = "text/calendar; charset=utf-8",
        body = String),
    (status = 404, description = "No show has that slug", body = ErrorBody),
    StorageFailed,
))]
pub async fn schedule_ics(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ShowQuery>,
) -> Result<Response, ApiError> {
    let station = &state.config.station;
    let shows: Vec<&ShowDef> = match query.named(station)? {
        Some(show) => vec![show],
        None => station.shows().iter().collect(),
    };
    let body = ics::calendar_of(&state.config, &shows, Timestamp::now())?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"schedule.ics\"",
            ),
        ],
        body,
    )
        .into_response())
}
