//! `GET /admin/relays`: every configured relay, connected or not (admin token or session).

use axum::Json;
use axum::extract::State;
use ntr_protocol::RelayInfo;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::admin::TAG;
use crate::api::responses::{AdminAuthErrors, StorageFailed};
use crate::auth::extract::Admin;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Every configured relay, connected or not, with what it last reported about its IRC side.
#[utoipa::path(get, path = "/admin/relays", tag = TAG, operation_id = "relays",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The relays, in configuration order", body = Vec<RelayInfo>),
        AdminAuthErrors, StorageFailed,
    ),
)]
async fn list(State(state): State<AppState>, _admin: Admin) -> Json<Vec<RelayInfo>> {
    Json(state.relays.infos())
}
