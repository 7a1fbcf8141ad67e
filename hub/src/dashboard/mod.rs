//! Server-rendered pages (askama): the public playlist at `/`, the login form, and the DJ's
//! dashboard. The playlist is in the HTML itself; `static/app.js` only adds the live parts
//! (buttons, connection status, toasts).

mod login;
mod public;

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::ApiError;
use crate::api::responses::StorageFailed;
use crate::auth::extract::DjSession;
use crate::openapi::HTML;
use crate::relays::panel::RelaysPanel;
use crate::state::AppState;
use crate::store::{Ack, Announcement, Show};
use crate::web_url::WebUrl;

/// The tag of the HTML pages in the OpenAPI document.
pub const TAG: &str = "pages";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public::page))
        .routes(routes!(dashboard))
        .routes(routes!(login::form, login::submit))
        .routes(routes!(login::logout))
}

/// A show as the templates show it: times in the show's own time zone, durations as m:ss.
pub struct ShowRows {
    pub id: i64,
    pub heading: String,
    pub range: String,
    pub on_air: bool,
    pub tracks: Vec<TrackRow>,
}

pub struct TrackRow {
    pub position: u32,
    pub title: String,
    pub artist: String,
    /// Only an http(s) link is ever rendered as one.
    pub url: Option<WebUrl>,
    pub duration: String,
    pub seq: Option<u64>,
    pub announced_at: Option<String>,
    pub targets: Vec<String>,
}

impl ShowRows {
    fn new(
        state: &AppState,
        show: &Show,
        heading: &str,
        announced: &HashMap<u32, (Announcement, Vec<Ack>)>,
    ) -> ShowRows {
        let tz = state.config.schedule.time_zone();
        let tracks = show
            .tracks
            .iter()
            .map(|t| {
                let last = announced.get(&t.position);
                TrackRow {
                    position: t.position,
                    title: t.title.clone(),
                    artist: t.artist.clone(),
                    url: WebUrl::link(&t.permalink_url),
                    duration: t.duration_ms.map(format_duration).unwrap_or_default(),
                    seq: last.map(|(a, _)| a.seq.get()),
                    announced_at: last.map(|(a, _)| local_time(a.announced_at, tz, "%H:%M:%S")),
                    targets: last
                        .map(|(_, acks)| acks.iter().map(|a| a.target.clone()).collect())
                        .unwrap_or_default(),
                }
            })
            .collect();
        ShowRows {
            id: show.id,
            heading: heading.into(),
            range: format!(
                "{} – {}",
                local_time(show.week.start, tz, "%a %b %-d, %H:%M"),
                local_time(show.week.end, tz, "%a %b %-d, %H:%M")
            ),
            on_air: state.is_on_air(show.week),
            tracks,
        }
    }
}

fn local_time(t: Timestamp, tz: &TimeZone, fmt: &str) -> String {
    t.to_zoned(tz.clone()).strftime(fmt).to_string()
}

fn format_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

/// The two shows a page lists: the current one (on air during the live window) and the one
/// before it.
async fn two_shows(state: &AppState, with_announcements: bool) -> Result<Vec<ShowRows>, ApiError> {
    let current = state.current_show().await?;
    let previous = state.previous_show().await?;
    let mut out = Vec::new();
    for (show, heading) in [(&current, "This week's show"), (&previous, "Previous show")] {
        let heading = if state.is_on_air(show.week) {
            "On air now"
        } else {
            heading
        };
        let announced = if with_announcements {
            state.store.show_announcements(show.id).await?
        } else {
            HashMap::new()
        };
        out.push(ShowRows::new(state, show, heading, &announced));
    }
    Ok(out)
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shows: Vec<ShowRows>,
    poll_ok: bool,
    poll_text: String,
    targets: Vec<crate::targets::api::TargetView>,
    relays: RelaysPanel,
}

/// The DJ's page: both shows with an Announce button per track (HTML).
#[utoipa::path(get, path = "/dashboard", tag = TAG,
    security(("cookie" = [])),
    responses(
        (status = 200, description = "The page", content_type = HTML, body = String),
        (status = 303, description = "No valid session: to `/login`",
            headers(("Location" = String))),
        StorageFailed,
    ),
)]
async fn dashboard(State(state): State<AppState>, _dj: DjSession) -> Result<Response, ApiError> {
    let tz = state.config.schedule.time_zone();
    let (poll_ok, poll_text) = match state.poller.last_status() {
        None => (false, "Not polled yet".to_string()),
        Some(p) => {
            let at = local_time(p.at, tz, "%H:%M:%S");
            match p.error {
                None => (true, format!("Last poll {at}: ok, {} tracks", p.tracks)),
                Some(e) => (false, format!("Last poll {at} failed: {e}")),
            }
        }
    };
    let now = Timestamp::now();
    let live = state.config.schedule.live_window_around(now)?;
    let relays = RelaysPanel::new(&state.relays.infos(), now, live, tz);
    Ok(DashboardPage {
        shows: two_shows(&state, true).await?,
        poll_ok,
        poll_text,
        targets: crate::targets::api::views(&state).await?,
        relays,
    }
    .into_response())
}
