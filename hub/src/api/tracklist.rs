//! A show's tracklist in the format the DJ's upload needs, and the "recording started" mark
//! its times count from.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::extract::Admin;
use crate::state::AppState;
use crate::tracklist::{Format, Tracklist, TracklistError};
use crate::week::Week;

#[derive(Deserialize)]
pub struct TracklistQuery {
    format: Option<String>,
}

pub async fn tracklist(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<TracklistQuery>,
) -> Result<Response, ApiError> {
    let format: Format = query
        .format
        .as_deref()
        .unwrap_or("text")
        .parse()
        .map_err(ApiError::BadRequest)?;
    let list = show_tracklist(&state, id).await?;
    let body = list.render(format).map_err(|e| match e {
        TracklistError::TooManyForCue(_) => ApiError::Unprocessable(e.to_string()),
        other => ApiError::Internal(other.to_string()),
    })?;
    let disposition = format!(
        "inline; filename=\"show-{id}-tracklist.{}\"",
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// The tracklist of show `id` as it stands now; `NoShow` (404) if there is no such show.
pub async fn show_tracklist(state: &AppState, id: i64) -> Result<Tracklist, ApiError> {
    let show = state.store.show(id).await?;
    let played = state.store.played(id).await?;
    let mark = state.store.mark(id).await?;
    Ok(Tracklist::build(
        id,
        show_title(state, show.week),
        &played,
        mark,
    ))
}

/// "Show of 2026-03-11": the local date the show airs (its week's end).
pub fn show_title(state: &AppState, week: Week) -> String {
    let date = week.end.to_zoned(state.config.schedule.time_zone().clone());
    format!("Show of {}", date.strftime("%Y-%m-%d"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkBody {
    /// RFC 3339; now when left out.
    at: Option<Timestamp>,
}

/// `POST /admin/shows/{id}/mark`: "the recording started now" (or `at`).
pub async fn mark(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<MarkBody>,
) -> Result<Json<Value>, ApiError> {
    let at = body.at.unwrap_or_else(Timestamp::now);
    state.store.set_mark(id, at).await?;
    // Read back: the store keeps milliseconds, and the answer should be what tracklists use.
    let stored = state.store.mark(id).await?;
    Ok(Json(json!({"show_id": id, "mark": stored})))
}
