//! `GET /admin/shows/{id}/log`: everything announced for a show, corrected announces included
//! and marked, with where each landed — what the DJ's console lists as the show's log.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use ntr_protocol::Seq;
use serde::Serialize;

use super::error::ApiError;
use super::extract::ApiPath;
use crate::auth::extract::Admin;
use crate::state::AppState;
use crate::store::Ack;

#[derive(Serialize)]
pub struct LogEntry {
    pub seq: Seq,
    pub message: String,
    pub announced_at: Timestamp,
    /// Null for a free text.
    pub position: Option<u32>,
    pub corrects: Option<Seq>,
    /// Set when a later announce corrected this one: its track counts as not announced.
    pub corrected_by: Option<Seq>,
    pub acks: Vec<Ack>,
}

pub async fn show_log(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<LogEntry>>, ApiError> {
    let show = state.store.show(id).await?;
    // The show airs when its week ends; free texts of that live window belong to it.
    let live = (
        show.week.end,
        show.week.end + state.config.schedule.live_window(),
    );
    let log = state.store.show_log(id, live).await?;
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
