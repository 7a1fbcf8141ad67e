//! The JSON API: public reads, admin writes (shows, relays, targets), and the router that ties
//! them to their paths.
//!
//! Every route is added with `routes!`, which takes the method and path from the handler's
//! `#[utoipa::path]`: what is served and what the OpenAPI document says cannot differ.

pub mod admin;
mod alerts;
mod announce;
pub mod events;
pub mod feeds;
mod forms;
mod integer;
pub mod log;
pub mod public;
pub mod relays;
mod scope;
pub mod targets;
pub mod tracklist;
pub mod views;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public::health))
        .routes(routes!(public::playlist))
        .routes(routes!(public::playlist_track))
        .routes(routes!(public::shows))
        .routes(routes!(public::show))
        .routes(routes!(tracklist::tracklist))
        .routes(routes!(events::events))
        .routes(routes!(feeds::shows_rss))
        .routes(routes!(feeds::schedule_ics))
        .routes(routes!(feeds::nowplaying_json))
        .routes(routes!(feeds::nowplaying_txt))
        .routes(routes!(tracklist::mark))
        .routes(routes!(log::show_log))
        .routes(routes!(announce::announce_handler))
        .routes(routes!(announce::announce_next))
        .routes(routes!(announce::undo_held))
        .routes(routes!(admin::refresh))
        .routes(routes!(targets::deliveries))
        .routes(routes!(targets::targets))
        .routes(routes!(admin::add_track))
        .routes(routes!(admin::remove_track))
        .routes(routes!(admin::move_track))
        .routes(routes!(relays::list))
        .routes(routes!(alerts::go_live))
        .routes(routes!(alerts::events))
}
