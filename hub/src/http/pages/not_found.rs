//! The page for a show that does not exist (`/s/{slug}` with an unknown slug): a 404 that
//! lists the station's shows, so a mistyped link still gets the listener somewhere.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::station::Station;

#[derive(Template, WebTemplate)]
#[template(path = "unknown_show.html")]
pub struct UnknownShow {
    slug: String,
    /// (slug, title) of every show.
    shows: Vec<(String, String)>,
}

impl UnknownShow {
    pub fn response(station: &Station, slug: &str) -> Response {
        let page = UnknownShow {
            slug: slug.to_owned(),
            shows: station
                .shows()
                .iter()
                .map(|s| (s.slug.to_string(), s.title.clone()))
                .collect(),
        };
        (StatusCode::NOT_FOUND, page).into_response()
    }
}
