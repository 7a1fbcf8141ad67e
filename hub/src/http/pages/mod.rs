//! Server-rendered pages (askama): the public playlist at `/`, the login form, and the DJ's
//! dashboard with the fragment its script re-reads when a show changes. Everything is in the
//! HTML; the scripts in `static/dashboard/` only add the live parts.

mod login;
mod public;
pub mod relays;
mod rows;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use rows::{ShowRows, Slot};

use crate::clock::Clock;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiPath;
use crate::http::guards::DjSession;
use crate::http::pages::relays::RelaysPanel;
use crate::http::responses::StorageFailed;
use crate::http::state::AppState;
use crate::http::tags::HTML;
use crate::store::{Ack, Announcement, Show};
use rows::ShowContext;

/// The tag of the HTML pages in the OpenAPI document.
use crate::http::tags::PAGES as TAG;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public::page))
        .routes(routes!(dashboard))
        .routes(routes!(show_fragment))
        .routes(routes!(login::form, login::submit))
        .routes(routes!(login::logout))
}

/// A show drawn for a page; `with_log` reads its announces and mark (the dashboard's).
async fn show_rows(
    state: &AppState,
    show: &Show,
    slot: Slot,
    with_log: bool,
) -> Result<ShowRows, ApiError> {
    let clock = Clock::new(state.config.station.primary().schedule.time_zone());
    let (log, mark) = if with_log {
        (
            show_log(state, show).await?,
            state.store.mark(show.id).await?,
        )
    } else {
        (Vec::new(), None)
    };
    let now = Timestamp::now();
    let cx = ShowContext {
        clock: &clock,
        slot,
        on_air: state.is_on_air(&show.slug, show.week),
        ended: show.week.end <= now,
        now,
        log: &log,
        mark,
    };
    Ok(ShowRows::new(show, &cx))
}

/// The show's announces with their acks, oldest first, corrected ones included, and the free
/// texts of its log window (as the API's log).
async fn show_log(
    state: &AppState,
    show: &Show,
) -> Result<Vec<(Announcement, Vec<Ack>)>, ApiError> {
    let window = state
        .config
        .station
        .primary()
        .schedule
        .log_window(show.week);
    Ok(state.store.show_log(show.id, window).await?)
}

/// The two shows a page lists: the current one (on air during the live window) and the one
/// before it.
pub async fn two_shows(state: &AppState, with_log: bool) -> Result<Vec<ShowRows>, ApiError> {
    let current = state.current_show().await?;
    let previous = state.previous_show().await?;
    Ok(vec![
        show_rows(state, &current, Slot::Current, with_log).await?,
        show_rows(state, &previous, Slot::Previous, with_log).await?,
    ])
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shows: Vec<ShowRows>,
    poll: PollLine,
    /// The show's IANA zone and its label, for the times the script draws.
    tz: String,
    zone: String,
    /// The newest seq when the page was drawn: the live stream resumes after it.
    last_seq: u64,
    targets: Vec<crate::http::api::targets::TargetView>,
    relays: RelaysPanel,
}

/// The last poll's outcome, as the dashboard says it.
pub struct PollLine {
    pub ok: bool,
    pub text: String,
}

impl PollLine {
    fn new(state: &AppState, clock: &Clock) -> PollLine {
        match state.pollers.last_status() {
            None => PollLine {
                ok: false,
                text: "Not polled yet".into(),
            },
            Some(p) => {
                let at = clock.time(p.at);
                match p.error {
                    None => PollLine {
                        ok: true,
                        text: format!("Last poll {at}: ok, {} tracks", p.tracks),
                    },
                    Some(e) => PollLine {
                        ok: false,
                        text: format!("Last poll {at} failed: {e}"),
                    },
                }
            }
        }
    }
}

/// The DJ's page: both shows with an Announce button per track (HTML).
#[utoipa::path(get, path = "/dashboard", tag = TAG,
    security(("cookie" = []), ()),
    responses(
        (status = 200, description = "The page", content_type = HTML, body = String),
        (status = 303, description = "No valid session cookie (a bearer token is not one): \
            to `/login`",
            headers(("Location" = String))),
        StorageFailed,
    ),
)]
async fn dashboard(State(state): State<AppState>, _dj: DjSession) -> Result<Response, ApiError> {
    let clock = Clock::new(state.config.station.primary().schedule.time_zone());
    let now = Timestamp::now();
    let live = state
        .config
        .station
        .primary()
        .schedule
        .live_window_around(now)?;
    let relays = RelaysPanel::new(
        &state.relays.infos(),
        now,
        live,
        state.config.station.primary().schedule.time_zone(),
    );
    Ok(DashboardPage {
        shows: two_shows(&state, true).await?,
        poll: PollLine::new(&state, &clock),
        tz: clock.iana().to_string(),
        zone: clock.label().to_string(),
        last_seq: state.store.last_seq().await?.get(),
        targets: crate::http::api::targets::views(&state).await?,
        relays,
    }
    .into_response())
}

/// One show's section of the dashboard, as the page draws it: what the script swaps in when
/// the show changed (an edit in another tab, a script, a poll, an announce). The show the DJ
/// announces from brings the console's now/next and the poll line along.
#[derive(Template, WebTemplate)]
#[template(path = "dash_fragment.html")]
struct ShowFragment {
    show: ShowRows,
    poll: Option<PollLine>,
}

/// One show's section of the dashboard (an HTML fragment), which the dashboard's script swaps
/// in when the show changed.
#[utoipa::path(get, path = "/dashboard/shows/{id}", tag = TAG,
    security(("cookie" = []), ()),
    params(("id" = i64, Path, description = "The show's id")),
    responses(
        (status = 200, description = "The fragment", content_type = HTML, body = String),
        (status = 303, description = "No valid session cookie (a bearer token is not one): \
            to `/login`",
            headers(("Location" = String))),
        (status = 400, description = "The id is not a 64-bit number", body = ErrorBody),
        (status = 403, description = "A show that is not the DJ's", body = ErrorBody),
        (status = 404, description = "No show with that id", body = ErrorBody),
        StorageFailed,
    ),
)]
async fn show_fragment(
    State(state): State<AppState>,
    // The id first: a malformed one is 400 whether or not a session comes with it.
    ApiPath(id): ApiPath<i64>,
    DjSession(dj): DjSession,
) -> Result<Response, ApiError> {
    let show = state.store.show(id).await?;
    crate::http::guards::require_stored(&dj.rights, &show.slug)?;
    let slot = if state.current_show().await?.id == id {
        Slot::Current
    } else if state.previous_show().await?.id == id {
        Slot::Previous
    } else {
        Slot::Other
    };
    let show = show_rows(&state, &show, slot, true).await?;
    let clock = Clock::new(state.config.station.primary().schedule.time_zone());
    let poll = show.primary.then(|| PollLine::new(&state, &clock));
    let mut response = ShowFragment { show, poll }.into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
