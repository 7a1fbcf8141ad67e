//! The OpenAPI 3.1 document of everything the hub serves, built from the handlers'
//! `#[utoipa::path]` attributes and their request and response types, and served at
//! `GET /openapi.json`.
//!
//! [`routes`] is the one list of routes: each is added with `routes!`, which takes its method
//! and path from the handler's attribute, so a route cannot be served without being in the
//! document, nor documented at another path. The HTML pages, `/metrics`, `/static/{file}` and
//! the `/ws/announce` upgrade are in it too, with their content types, so that the document
//! lists every path a client can reach.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::session::COOKIE_NAME;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::state::AppState;
use crate::http::tags::{BEARER, COOKIE, OPS};
use crate::http::{api, assets, metrics, pages, ws};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Announce hub",
        description = "The hub's HTTP API. Every error from a JSON endpoint is \
            `{\"error\": \"…\"}` (`ErrorBody`). Besides the statuses each operation lists, any \
            request can get 404 `{\"error\": \"no such endpoint\"}` on an unknown path, 405 on a \
            known path with another method, 413 when it declares a body over 64 KiB, and 408 \
            (then the connection closes) when its body has not arrived within 10 s of its head. \
            Numbers are JSON Schema integers (`3.0` is 3); a request this document allows is \
            never refused as malformed (400 or 422).",
    ),
    modifiers(&SecuritySchemes),
    components(schemas(ErrorBody)),
    tags(
        (name = "public", description = "Read-only JSON, no authentication"),
        (name = "admin", description = "Changes: the admin bearer token, or a session cookie on a \
            same-origin request"),
        (name = "pages", description = "HTML pages and their static files"),
        (name = "streams", description = "Long-lived connections"),
        (name = "operations", description = "Metrics and this document"),
    ),
)]
struct ApiDoc;

/// Adds the two ways to authenticate; the derive has no syntax for them.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token; a relay token may only subscribe to /ws/announce",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                COOKIE_NAME,
                "The session from POST /login; state-changing requests must also be same-origin \
                 (Origin, or Referer, naming the hub)",
            ))),
        );
    }
}

/// Every route the hub serves, with its documentation; state and layers come in `startup`.
pub fn routes() -> OpenApiRouter<AppState> {
    let mut routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::router())
        .merge(pages::router())
        .routes(routes!(ws::announce_socket))
        .routes(routes!(metrics::render))
        .routes(routes!(assets::serve))
        .routes(routes!(document));
    name_catch_alls(routes.get_openapi_mut());
    routes
}

/// axum writes a parameter that spans segments as `{*file}`, which is no OpenAPI path syntax:
/// the document names it `{file}` (the operation says its value may hold `/`).
fn name_catch_alls(doc: &mut Document) {
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
}

/// The document `/openapi.json` serves, shared by every request.
#[derive(Clone)]
pub struct Served(pub Arc<Document>);

/// This document: OpenAPI 3.1, JSON.
///
/// Generate a client from it with any OpenAPI 3.1 generator.
#[utoipa::path(get, path = "/openapi.json", tag = OPS, operation_id = "openapi", responses(
    (status = 200, description = "The OpenAPI document", body = Object),
))]
async fn document(Extension(Served(doc)): Extension<Served>) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(&*doc).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
