//! Read-only endpoints anyone may call: health, the current playlist, and past shows.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use ntr_protocol::{Show, ShowSummary, Track};
use serde::Deserialize;
use utoipa::IntoParams;

use super::views::{HealthView, show_view, summary_view};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::responses::StorageFailed;
use crate::http::show_query::ShowQuery;
use crate::http::state::{AppState, CachedPlaylist};

/// The tag of the public read endpoints in the OpenAPI document.
use crate::http::tags::PUBLIC as TAG;

/// The hub's status, version, subscriber count and last SoundCloud poll.
///
/// Always 200 while the hub serves: a failed poll shows in `last_poll.ok`.
#[utoipa::path(get, path = "/health", tag = TAG, responses(
    (status = 200, description = "The hub is serving", body = HealthView),
))]
pub async fn health(State(state): State<AppState>) -> Json<HealthView> {
    Json(HealthView {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        replica: state.replica.to_string(),
        subscribers: state.broadcaster.local_subscribers(),
        last_poll: state.pollers.last_status().into(),
    })
}

/// The current show with its tracks.
///
/// The current show is the on-air show during the live window, and the show of the week in
/// progress at any other time. A week without likes is a show with no tracks.
#[utoipa::path(get, path = "/playlist", tag = TAG, params(ShowQuery), responses(
    (status = 200, description = "The current show", body = Show),
    (status = 404, description = "No show with that slug", body = ErrorBody),
    StorageFailed,
))]
pub async fn playlist(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ShowQuery>,
) -> Result<Response, ApiError> {
    let now = jiff::Timestamp::now();
    let def = query.or_now(&state.config.station, now)?;
    let schedule = &def.schedule;
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
        .and_then(|c| c.get(def.slug.as_str()).cloned().filter(fresh));
    let body = if let Some(c) = cached {
        c.body
    } else {
        let show = state.store.show_for_week(&def.slug, week).await?;
        let body = bytes::Bytes::from(
            serde_json::to_vec(&show_view(&state, &show))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        if let Ok(mut cache) = state.playlist_cache.lock() {
            let entry = CachedPlaylist {
                week_start: week.start,
                shows_version: version,
                on_air,
                body: body.clone(),
            };
            cache.insert(def.slug.to_string(), entry);
        }
        body
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// One track of the current show.
#[utoipa::path(get, path = "/playlist/{position}", tag = TAG,
    params(("position" = i64, Path, minimum = 1, maximum = 4294967295_u32, description = "1 is the first track"), ShowQuery),
    responses(
        (status = 200, description = "The track at that position", body = Track),
        (status = 400, description = "The position is not a number from 1 to 4294967295", body = ErrorBody),
        (status = 404, description = "The current show has no track there, or no show has that slug",
            body = ErrorBody),
        StorageFailed,
    ),
)]
pub async fn playlist_track(
    State(state): State<AppState>,
    ApiPath(position): ApiPath<u32>,
    ApiQuery(query): ApiQuery<ShowQuery>,
) -> Result<Response, ApiError> {
    if position == 0 {
        return Err(ApiError::BadRequest("positions start at 1".into()));
    }
    let now = jiff::Timestamp::now();
    let def = query.or_now(&state.config.station, now)?;
    let show = state.store.current_show(def, now).await?;
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShowsQuery {
    /// How many shows, newest first.
    #[param(minimum = 1, maximum = 100, default = 10)]
    limit: Option<i64>,
    /// One show's weeks only (its slug); without it, every show's.
    show: Option<String>,
}

/// Shows newest first (by `week_start`), without their tracks.
///
/// Each show's current week is listed: this request creates it if no poll has yet.
#[utoipa::path(get, path = "/shows", tag = TAG, params(ShowsQuery), responses(
    (status = 200, description = "Show summaries, newest first", body = Vec<ShowSummary>),
    (status = 400, description = "`limit` outside 1 to 100, or not a number", body = ErrorBody),
    (status = 404, description = "No show with that slug", body = ErrorBody),
    StorageFailed,
))]
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
    let station = &state.config.station;
    let named = ShowQuery {
        show: query.show.clone(),
    }
    .named(station)?;
    // Make sure each show's current week exists, so the list always has it.
    let now = jiff::Timestamp::now();
    for def in named.map_or(station.shows(), std::slice::from_ref) {
        state.store.current_show(def, now).await?;
    }
    let slug = named.map(|def| &def.slug);
    let shows = state.store.shows(limit as u32, slug).await?;
    let views: Vec<ShowSummary> = shows.iter().map(|s| summary_view(&state, s)).collect();
    Ok(Json(views).into_response())
}

/// One show with its tracks.
#[utoipa::path(get, path = "/shows/{id}", tag = TAG,
    params(("id" = i64, Path, description = "The show's id")),
    responses(
        (status = 200, description = "The show", body = Show),
        (status = 400, description = "The id is not a 64-bit number", body = ErrorBody),
        (status = 404, description = "No show with that id", body = ErrorBody),
        StorageFailed,
    ),
)]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let show = state.store.show(id).await?;
    Ok(Json(show_view(&state, &show)).into_response())
}
