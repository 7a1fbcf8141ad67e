//! The pages' static files, compiled into the binary: a hub copied to a server needs no
//! `static/` folder beside it, and nothing is ever fetched from a CDN.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// (path under `/static/`, content type, body).
const FILES: &[(&str, &str, &str)] = &[
    (
        "pico.min.css",
        CSS,
        include_str!("../../../static/pico.min.css"),
    ),
    ("app.css", CSS, include_str!("../../../static/app.css")),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../../static/favicon.svg"),
    ),
    (
        "dashboard/ui.js",
        JS,
        include_str!("../../../static/dashboard/ui.js"),
    ),
    (
        "dashboard/live.js",
        JS,
        include_str!("../../../static/dashboard/live.js"),
    ),
    (
        "dashboard/announce.js",
        JS,
        include_str!("../../../static/dashboard/announce.js"),
    ),
    (
        "dashboard/held.js",
        JS,
        include_str!("../../../static/dashboard/held.js"),
    ),
    (
        "dashboard/golive.js",
        JS,
        include_str!("../../../static/dashboard/golive.js"),
    ),
    (
        "dashboard/queue.js",
        JS,
        include_str!("../../../static/dashboard/queue.js"),
    ),
    (
        "dashboard/search.js",
        JS,
        include_str!("../../../static/dashboard/search.js"),
    ),
    (
        "dashboard/edit.js",
        JS,
        include_str!("../../../static/dashboard/edit.js"),
    ),
    (
        "dashboard/correct.js",
        JS,
        include_str!("../../../static/dashboard/correct.js"),
    ),
    (
        "public.css",
        "text/css; charset=utf-8",
        include_str!("../../../static/public.css"),
    ),
    (
        "public.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../static/public.js"),
    ),
    (
        "targets.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../static/targets.js"),
    ),
    (
        "relays.css",
        "text/css; charset=utf-8",
        include_str!("../../../static/relays.css"),
    ),
    (
        "relays.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../static/relays.js"),
    ),
];

/// The pages' style sheets, scripts and icon, compiled into the binary.
///
/// The file's name may hold `/` (`dashboard/live.js`).
#[utoipa::path(get, path = "/static/{*file}", tag = crate::http::tags::PAGES,
    operation_id = "static_file",
    params(("file" = String, Path, example = "dashboard/live.js", description = "`pico.min.css`, `app.css`, `favicon.svg`, \
        `dashboard/ui.js`, `dashboard/live.js`, `dashboard/announce.js`, `dashboard/held.js`, `dashboard/golive.js`, \
        `dashboard/queue.js`, `dashboard/search.js`, `dashboard/edit.js`, \
        `dashboard/correct.js`, `public.css`, `public.js`, `targets.js`, `relays.css` or \
        `relays.js`")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/css; charset=utf-8"),
            (String = "text/javascript; charset=utf-8"),
            (String = "image/svg+xml"),
        )),
        (status = 404, description = "No such file", content_type = "text/plain", body = String),
    ),
)]
pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::FILES;

    /// The file list is written out in the OpenAPI document; a new file must join it.
    #[test]
    fn the_document_names_every_file() {
        let doc =
            serde_json::to_value(crate::http::openapi::routes().into_openapi()).expect("json");
        let described = doc["paths"]["/static/{file}"]["get"]["parameters"][0]["description"]
            .as_str()
            .expect("a description");
        for (name, _, _) in FILES {
            assert!(
                described.contains(&format!("`{name}`")),
                "{name}: {described}"
            );
        }
    }
}
