//! Go-live alerts over HTTP: `POST /admin/shows/{id}/live` (the console's "We're live") and
//! `GET /admin/events` (the alerts of the last 8 weeks with where each was delivered).

use axum::Json;
use axum::extract::State;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiPath;
use crate::http::guards::{Caller, require_week};
use crate::http::responses::{AdminAuthErrors, StorageFailed};
use crate::http::state::AppState;
use crate::http::tags::ADMIN as TAG;
use crate::store::{DeliveryRow, EventDeliveries};

/// How far back `GET /admin/events` lists.
const LISTED: SignedDuration = SignedDuration::from_hours(8 * 7 * 24);

/// A go-live alert and where it went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    /// The show's slug.
    pub show: String,
    /// The show week's id.
    pub show_id: i64,
    /// `live` or `reminder`.
    #[serde(rename = "type")]
    #[schema(example = "live")]
    pub kind: &'static str,
    /// What was sent.
    pub message: String,
    /// When it fired.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// One row per target that gets it, by name; a reminder the hub could not send before
    /// the show started is `failed` with `last_error` `expired`.
    pub deliveries: Vec<DeliveryRow>,
}

impl From<EventDeliveries> for EventView {
    fn from(e: EventDeliveries) -> EventView {
        EventView {
            show: e.event.show,
            show_id: e.event.show_id,
            kind: e.event.kind.as_str(),
            message: e.event.message.as_str().to_owned(),
            at: e.event.at,
            deliveries: e.deliveries,
        }
    }
}

/// "We're live": sends the show's live alert to every target whose `events` has `live`.
///
/// Fires once per show week, in the show's live window; the first track announce in the
/// window fires it too.
#[utoipa::path(post, path = "/admin/shows/{id}/live", tag = TAG,
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "The show week's id")),
    responses(
        (status = 200, description = "Fired now", body = EventView),
        (status = 400, description = "The id is not a 64-bit number", body = ErrorBody),
        (status = 404, description = "No show with that id", body = ErrorBody),
        (status = 409, description = "This week's live alert was sent already, or the show is \
            not in its live window", body = ErrorBody),
        AdminAuthErrors, StorageFailed,
    ),
)]
pub async fn go_live(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EventView>, ApiError> {
    require_week(&state, &caller.rights, id).await?;
    let show = state.store.show(id).await?;
    let event = state.announcer.alerts.go_live(&show).await?;
    let listed = state.store.events_since(event.at).await?;
    let view = listed
        .into_iter()
        .find(|e| e.event.id == event.id)
        .map(EventView::from)
        .ok_or_else(|| ApiError::Internal("the fired alert is not in the store".into()))?;
    Ok(Json(view))
}

/// The go-live alerts of the last 8 weeks, newest first, each with its deliveries (a DJ
/// sees their own shows').
#[utoipa::path(get, path = "/admin/events", tag = TAG, operation_id = "alert_events",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Alerts, newest first", body = Vec<EventView>),
        AdminAuthErrors, StorageFailed,
    ),
)]
pub async fn events(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let listed = state.store.events_since(Timestamp::now() - LISTED).await?;
    Ok(Json(
        listed
            .into_iter()
            .filter(|e| caller.rights.may_slug(&e.event.show))
            .map(EventView::from)
            .collect(),
    ))
}
