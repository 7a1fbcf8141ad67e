//! `GET /admin/relays`: every configured relay, connected or not (admin token or session).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use ntr_protocol::RelayInfo;

use crate::auth::extract::Admin;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/relays", get(list))
}

async fn list(State(state): State<AppState>, _admin: Admin) -> Json<Vec<RelayInfo>> {
    Json(state.relays.infos())
}
