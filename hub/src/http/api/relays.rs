//! `GET /admin/relays`: every configured relay, connected or not (admin token or session).

use axum::Json;
use axum::extract::State;
use ntr_protocol::RelayInfo;

use crate::http::guards::Admin;
use crate::http::responses::{AdminAuthErrors, StorageFailed};
use crate::http::state::AppState;
use crate::http::tags::ADMIN as TAG;

/// Every configured relay, connected or not, with what it last reported about its IRC side.
#[utoipa::path(get, path = "/admin/relays", tag = TAG, operation_id = "relays",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The relays, in configuration order", body = Vec<RelayInfo>),
        AdminAuthErrors, StorageFailed,
    ),
)]
pub async fn list(State(state): State<AppState>, _admin: Admin) -> Json<Vec<RelayInfo>> {
    Json(state.relays.infos())
}
