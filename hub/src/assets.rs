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
        include_str!("../../static/pico.min.css"),
    ),
    ("app.css", CSS, include_str!("../../static/app.css")),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../static/favicon.svg"),
    ),
    (
        "dashboard/ui.js",
        JS,
        include_str!("../../static/dashboard/ui.js"),
    ),
    (
        "dashboard/live.js",
        JS,
        include_str!("../../static/dashboard/live.js"),
    ),
    (
        "dashboard/announce.js",
        JS,
        include_str!("../../static/dashboard/announce.js"),
    ),
    (
        "dashboard/edit.js",
        JS,
        include_str!("../../static/dashboard/edit.js"),
    ),
    (
        "dashboard/correct.js",
        JS,
        include_str!("../../static/dashboard/correct.js"),
    ),
    (
        "public.css",
        "text/css; charset=utf-8",
        include_str!("../../static/public.css"),
    ),
    (
        "public.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/public.js"),
    ),
    (
        "targets.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/targets.js"),
    ),
    (
        "relays.css",
        "text/css; charset=utf-8",
        include_str!("../../static/relays.css"),
    ),
    (
        "relays.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/relays.js"),
    ),
];

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
