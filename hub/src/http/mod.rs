//! Everything that speaks HTTP: the accept loop and its limits (`server`), the state handlers
//! receive (`state`), the guards that authenticate a request (`guards`), the JSON API (`api`),
//! the server-rendered pages (`pages`), the WebSocket (`ws`, and what a DJ's socket is sent:
//! `ws_scope`), `/metrics`, static files and the
//! OpenAPI document that lists every route (`openapi`). Handlers parse, call the engine and map
//! its result; errors become statuses in one place (`error`).
//!
//! Nothing below this module knows about [`AppState`]: the engine's parts take what they use.

pub mod api;
pub mod assets;
pub mod error;
pub mod extract;
pub mod guards;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod responses;
pub mod server;
pub mod show_query;
pub mod state;
pub mod tags;
pub mod ws;
pub mod ws_scope;

use std::sync::Arc;

use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_cookies::CookieManagerLayer;

use error::ApiError;
use ntr_common::shutdown::Shutdown;
use state::AppState;
use ws::WsShutdown;

/// Request bodies over this get 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The one router: API, pages, WebSocket, static assets, metrics, all from
/// [`openapi::routes`], and the document that describes them at `/openapi.json`.
pub fn router(state: AppState, shutdown: Shutdown, body_deadline: Duration) -> Router {
    let https = state.config.hub.public_url.scheme() == "https";
    let (routes, document) = openapi::routes().split_for_parts();
    let router = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::Extension(openapi::Served(Arc::new(document))))
        .layer(axum::Extension(WsShutdown(shutdown)))
        .layer(CookieManagerLayer::new())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            body_deadline,
            read_body_in_time,
        ))
        .layer(middleware::from_fn(reject_large_bodies))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count_statuses,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .with_state(state);
    server::headers::apply(router, https)
}

async fn method_not_allowed() -> Response {
    let mut r = ApiError::BadRequest("method not allowed on this path".into()).into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

/// Refuses a declared body over the limit before reading any of it. (Bodies without a length
/// are cut off by `DefaultBodyLimit` as they stream in.)
async fn reject_large_bodies(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(req).await
}

/// Reads the whole body (at most [`BODY_LIMIT`]) before the handler runs, within `deadline` of
/// the head: a client that sends a head and then trickles its body, or stops, gets 408 and the
/// connection closes, instead of holding a task and a connection slot for as long as it likes.
async fn read_body_in_time(State(deadline): State<Duration>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(e)) if is_over_limit(&e) => ApiError::PayloadTooLarge.into_response(),
        Ok(Err(e)) => ApiError::BadRequest(format!("cannot read the body: {e}")).into_response(),
        Err(_) => {
            let mut r = ApiError::RequestTimeout.into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

fn is_over_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // Logged by `ApiError`'s response, like any other internal error.
    ApiError::Internal("a handler panicked".into()).into_response()
}
