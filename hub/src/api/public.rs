//! Read-only endpoints anyone may call: health, the current playlist, and past shows.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use super::views::{HealthView, show_view, summary_view};
use crate::state::{AppState, CachedPlaylist};

pub async fn health(State(state): State<AppState>) -> Json<HealthView> {
    Json(HealthView {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        subscribers: state.broadcaster.subscribers(),
        last_poll: match state.poller.last_status() {
            Some(p) => serde_json::to_value(p).unwrap_or_default(),
            None => {
                serde_json::json!({"at": null, "ok": false, "error": "not polled yet", "tracks": 0})
            }
        },
    })
}

pub async fn playlist(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = jiff::Timestamp::now();
    let schedule = &state.config.schedule;
    let week = schedule.current_show_week(now)?;
    let on_air = schedule.is_on_air(week, now);
    // Read the version before the show: a change made meanwhile makes this copy stale at once.
    let version = state.store.shows_version();
    let fresh = |c: &CachedPlaylist| {
        c.week_start == week.start && c.shows_version == version && c.on_air == on_air
    };
    let cached = state
        .playlist_cache
        .lock()
        .ok()
        .and_then(|c| c.clone().filter(fresh));
    let body = match cached {
        Some(c) => c.body,
        None => {
            let show = state.store.show_for_week(week).await?;
            let body = bytes::Bytes::from(
                serde_json::to_vec(&show_view(&state, &show))
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            );
            if let Ok(mut slot) = state.playlist_cache.lock() {
                *slot = Some(CachedPlaylist {
                    week_start: week.start,
                    shows_version: version,
                    on_air,
                    body: body.clone(),
                });
            }
            body
        }
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

pub async fn playlist_track(
    State(state): State<AppState>,
    ApiPath(position): ApiPath<u32>,
) -> Result<Response, ApiError> {
    if position == 0 {
        return Err(ApiError::BadRequest("positions start at 1".into()));
    }
    let show = state.current_show().await?;
    let track = show
        .tracks
        .iter()
        .find(|t| t.position == position)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no track at position {position}; the current show has {} tracks",
                show.tracks.len()
            ))
        })?;
    Ok(Json(track).into_response())
}

#[derive(Deserialize)]
pub struct ShowsQuery {
    limit: Option<i64>,
}

pub async fn shows(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ShowsQuery>,
) -> Result<Response, ApiError> {
    let limit = query.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and 100 (got {limit})"
        )));
    }
    // Make sure this week's show exists, so the list always starts with it.
    state.current_show().await?;
    let shows = state.store.shows(limit as u32).await?;
    let views: Vec<ntr_protocol::ShowSummary> =
        shows.iter().map(|s| summary_view(&state, s)).collect();
    Ok(Json(views).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let show = state.store.show(id).await?;
    Ok(Json(show_view(&state, &show)).into_response())
}
