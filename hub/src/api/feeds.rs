//! Public feeds for listeners and their tools: now playing (JSON for station web sites, text
//! for OBS text sources), the shows as RSS and the coming shows as iCalendar.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use super::error::ApiError;
use crate::feeds::{ics, rss};
use crate::nowplaying::NowPlaying;
use crate::state::AppState;
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

pub async fn nowplaying_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = NowPlaying::read(&state).await?;
    Ok(live_headers(Json(now).into_response()))
}

pub async fn nowplaying_txt(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = NowPlaying::read(&state).await?;
    Ok(live_headers(
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            now.text(),
        )
            .into_response(),
    ))
}

pub async fn shows_rss(State(state): State<AppState>) -> Result<Response, ApiError> {
    let shows = state.store.played_by_show(rss::MAX_ITEMS).await?;
    let lists: Vec<Tracklist> = shows
        .iter()
        .map(|s| {
            let title = super::tracklist::show_title(&state, s.week);
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

pub async fn schedule_ics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = ics::calendar(&state.config, Timestamp::now())?;
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
