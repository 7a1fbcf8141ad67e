//! `GET /metrics` and the middleware that counts every response by status: the HTTP side of
//! the engine's [`Metrics`](crate::metrics::Metrics) registry.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::prometheus_text;

use crate::http::state::AppState;

/// Middleware counting every response by status code.
pub async fn count_statuses(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    state.metrics.response(response.status());
    response
}

/// The hub's metrics in Prometheus' text format.
#[utoipa::path(get, path = "/metrics", tag = crate::http::tags::OPS, operation_id = "metrics", responses(
    (status = 200, description = "Prometheus text format 0.0.4",
        content_type = "text/plain; version=0.0.4", body = String),
    (status = 500, description = "The metrics could not be encoded (logged)"),
))]
pub async fn render(State(state): State<AppState>) -> Response {
    let body = state.metrics.encode().and_then(|mut body| {
        state.targets.encode_metrics(&mut body)?;
        Ok(body)
    });
    match body {
        Ok(body) => (
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
