//! A show's tracklist in the format the DJ's upload needs, and the "recording started" mark
//! its times count from.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::guards::{Caller, require_week};
use crate::http::responses::{AdminAuthErrors, StorageFailed, TooLarge};
use crate::http::state::AppState;
use crate::tracklist::{Format, Row, Tracklist, TracklistError};
use crate::week::Week;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TracklistQuery {
    /// `text` (the default), `cue`, `csv`, `md` or `json`.
    #[param(pattern = "^(text|cue|csv|md|json)$")]
    format: Option<String>,
}

/// A show's tracklist for an upload: the tracks announced, in announce order, with their
/// times from the show's mark (or its first announce).
///
/// Each format has its own content type; a show without announces has an empty tracklist.
#[utoipa::path(get, path = "/shows/{id}/tracklist", tag = crate::http::tags::PUBLIC,
    params(("id" = i64, Path, description = "The show's id"), TracklistQuery),
    responses(
        (status = 200, description = "The tracklist in the format asked for", content(
            (String = "text/plain; charset=utf-8"),
            (String = "application/x-cue; charset=utf-8"),
            (String = "text/csv; charset=utf-8; header=present"),
            (String = "text/markdown; charset=utf-8"),
            (Vec<Row> = "application/json"),
        )),
        (status = 400, description = "An unknown format, or the id is not a 64-bit number",
            body = ErrorBody),
        (status = 404, description = "No show with that id", body = ErrorBody),
        (status = 422, description = "A CUE sheet of more than 99 tracks", body = ErrorBody),
        StorageFailed,
    ),
)]
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
    let date = week
        .end
        .to_zoned(state.config.station.primary().schedule.time_zone().clone());
    format!("Show of {}", date.strftime("%Y-%m-%d"))
}

/// When the recording started.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkBody {
    /// RFC 3339 with any offset; now when left out.
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<Timestamp>,
}

/// The answer of `POST /admin/shows/{id}/mark`: the mark as stored (to the millisecond).
#[derive(Serialize, ToSchema)]
pub struct MarkView {
    pub show_id: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub mark: Option<Timestamp>,
}

/// "The recording started now" (or at `at`): tracklist times count from this mark.
///
/// Marking again moves the mark.
#[utoipa::path(post, path = "/admin/shows/{id}/mark", tag = crate::http::tags::ADMIN,
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "The show's id")),
    request_body = MarkBody,
    responses(
        (status = 200, description = "The stored mark", body = MarkView),
        (status = 400, description = "The id is not a 64-bit number, the body is not JSON, or no \
            `Content-Type: application/json`", body = ErrorBody),
        (status = 404, description = "No show with that id", body = ErrorBody),
        (status = 422, description = "`at` is not an RFC 3339 time, or an unknown field",
            body = ErrorBody),
        AdminAuthErrors, TooLarge, StorageFailed,
    ),
)]
pub async fn mark(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<MarkBody>,
) -> Result<Json<MarkView>, ApiError> {
    require_week(&state, &caller.rights, id).await?;
    let at = body.at.unwrap_or_else(Timestamp::now);
    state.store.set_mark(id, at).await?;
    // Read back: the store keeps milliseconds, and the answer should be what tracklists use.
    let mark = state.store.mark(id).await?;
    Ok(Json(MarkView { show_id: id, mark }))
}
