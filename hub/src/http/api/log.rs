//! `GET /admin/shows/{id}/log`: everything announced for a show, corrected announces included
//! and marked, with where each landed — what the DJ's console lists as the show's log.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use ntr_protocol::Seq;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiPath;
use crate::http::guards::{Caller, require_stored};
use crate::http::responses::{AdminAuthErrors, StorageFailed};
use crate::http::state::AppState;
use crate::store::Ack;

/// One announce of a show's log.
#[derive(Serialize, ToSchema)]
pub struct LogEntry {
    pub seq: Seq,
    pub message: String,
    #[schema(value_type = String, format = DateTime)]
    pub announced_at: Timestamp,
    /// Null for a free text.
    pub position: Option<u32>,
    pub corrects: Option<Seq>,
    /// Set when a later announce corrected this one: its track counts as not announced.
    pub corrected_by: Option<Seq>,
    pub acks: Vec<Ack>,
}

/// Everything announced for a show, oldest first: its track announces and the free texts sent
/// from the end of the previous show's live window to the end of its own, corrected ones
/// included, each with where it landed.
#[utoipa::path(get, path = "/admin/shows/{id}/log", tag = crate::http::tags::ADMIN,
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "The show's id")),
    responses(
        (status = 200, description = "The show's announces, oldest first", body = Vec<LogEntry>),
        (status = 400, description = "The id is not a 64-bit number", body = ErrorBody),
        (status = 404, description = "No show with that id", body = ErrorBody),
        AdminAuthErrors, StorageFailed,
    ),
)]
pub async fn show_log(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<LogEntry>>, ApiError> {
    let show = state.store.show(id).await?;
    require_stored(&caller.rights, &show.slug)?;
    // A show no longer configured has no live window left: its week alone bounds its texts.
    let window = state
        .config
        .station
        .get(&show.slug)
        .map_or((show.week.start, show.week.end), |def| {
            def.schedule.log_window(show.week)
        });
    let log = state.store.show_log(id, window).await?;
    Ok(Json(
        log.into_iter()
            .map(|(a, acks)| LogEntry {
                seq: a.seq,
                message: a.message.as_str().to_owned(),
                announced_at: a.announced_at,
                position: a.position,
                corrects: a.corrects,
                corrected_by: a.corrected_by,
                acks,
            })
            .collect(),
    ))
}
