//! The JSON API: public reads, admin writes, and the router that ties them to their paths.

pub mod admin;
pub mod error;
pub mod events;
pub mod extract;
pub mod feeds;
pub mod log;
pub mod public;
pub mod tracklist;
pub mod views;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(public::health))
        .route("/playlist", get(public::playlist))
        .route("/playlist/{position}", get(public::playlist_track))
        .route("/shows", get(public::shows))
        .route("/shows/{id}", get(public::show))
        .route("/shows/{id}/tracklist", get(tracklist::tracklist))
        .route("/events", get(events::events))
        .route("/shows.rss", get(feeds::shows_rss))
        .route("/schedule.ics", get(feeds::schedule_ics))
        .route("/nowplaying.json", get(feeds::nowplaying_json))
        .route("/nowplaying.txt", get(feeds::nowplaying_txt))
        .route("/admin/shows/{id}/mark", post(tracklist::mark))
        .route("/admin/shows/{id}/log", get(log::show_log))
        .route("/admin/announce", post(admin::announce_handler))
        .route("/admin/refresh", post(admin::refresh))
        .route("/admin/deliveries", get(crate::targets::api::deliveries))
        .route("/admin/targets", get(crate::targets::api::targets))
        .route("/admin/shows/{id}/tracks", post(admin::add_track))
        .route(
            "/admin/shows/{id}/tracks/{position}",
            delete(admin::remove_track),
        )
        .route(
            "/admin/shows/{id}/tracks/{position}/move",
            post(admin::move_track),
        )
}
