//! The DJ's dashboard: one show of the station at a time (`?show=SLUG`, else the show on air
//! or next), its two weeks with an Announce button per track, its log, and the switcher to the
//! other shows the viewer may see; and the fragment the page's script re-reads when a show
//! changed.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use super::relays::RelaysPanel;
use super::switcher::{self, ShowOption};
use super::{ShowRows, Slot, def_of, show_rows, two_shows};
use crate::clock::Clock;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::guards::DjSession;
use crate::http::responses::StorageFailed;
use crate::http::show_query::ShowQuery;
use crate::http::state::AppState;
use crate::http::tags::{HTML, PAGES as TAG};
use crate::station::{PlaylistSource, ShowDef};

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    /// The selected show's slug and title.
    slug: String,
    title: String,
    /// Every show the viewer may see; the switcher is drawn when there are two or more.
    switcher: Vec<ShowOption>,
    shows: Vec<ShowRows>,
    poll: PollLine,
    /// The show's playlist comes from SoundCloud (a Refresh button makes sense).
    polled: bool,
    /// The show's IANA zone and its label, for the times the script draws.
    tz: String,
    zone: String,
    /// The newest seq when the page was drawn: the live stream resumes after it.
    last_seq: u64,
    /// The show's `announce_max_age_seconds`, for the console's send queue.
    max_age_seconds: i64,
    /// The relays and targets panels are the station admin's (a DJ of some shows gets 403 on
    /// what they show).
    station_admin: bool,
    targets: Vec<crate::http::api::targets::TargetView>,
    relays: RelaysPanel,
}

/// The last poll's outcome, as the dashboard says it.
pub struct PollLine {
    pub ok: bool,
    pub text: String,
}

impl PollLine {
    fn new(state: &AppState, def: &ShowDef) -> PollLine {
        let clock = Clock::new(def.schedule.time_zone());
        let Some(poller) = state.pollers.get(&def.slug) else {
            return PollLine {
                ok: true,
                text: "Playlist built by hand: nothing to poll".into(),
            };
        };
        match poller.last_status() {
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

/// The DJ's page: one show's two weeks with an Announce button per track (HTML).
#[utoipa::path(get, path = "/dashboard", tag = TAG, params(ShowQuery),
    security(("cookie" = []), ()),
    responses(
        (status = 200, description = "The page", content_type = HTML, body = String),
        (status = 303, description = "No valid session cookie (a bearer token is not one): \
            to `/login`",
            headers(("Location" = String))),
        (status = 403, description = "`?show=` names a show that is not the DJ's", body = ErrorBody),
        (status = 404, description = "No show with that slug", body = ErrorBody),
        StorageFailed,
    ),
)]
pub async fn dashboard(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ShowQuery>,
    dj: DjSession,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let visible = switcher::visible_shows(&state, &dj);
    let def = switcher::selected(&state, &visible, &query, now)?;
    let clock = Clock::new(def.schedule.time_zone());
    let live = def.schedule.live_window_around(now)?;
    let relays = RelaysPanel::new(&state.relays.infos(), now, live, def.schedule.time_zone());
    Ok(DashboardPage {
        slug: def.slug.to_string(),
        title: def.title.clone(),
        switcher: switcher::options(&visible, def, now),
        shows: two_shows(&state, def, true).await?,
        poll: PollLine::new(&state, def),
        polled: matches!(def.source, PlaylistSource::SoundcloudLikes { .. }),
        tz: clock.iana().to_string(),
        zone: clock.label().to_string(),
        last_seq: state.store.last_seq().await?.get(),
        max_age_seconds: def.console.max_age.as_secs(),
        station_admin: dj.0.rights.is_station(),
        targets: if dj.0.rights.is_station() {
            crate::http::api::targets::views(&state).await?
        } else {
            Vec::new()
        },
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
pub async fn show_fragment(
    State(state): State<AppState>,
    // The id first: a malformed one is 400 whether or not a session comes with it.
    ApiPath(id): ApiPath<i64>,
    dj: DjSession,
) -> Result<Response, ApiError> {
    let show = state.store.show(id).await?;
    crate::http::guards::require_stored(&dj.0.rights, &show.slug)?;
    let def = def_of(&state, &show);
    let now = Timestamp::now();
    let slot = if state.store.current_show(def, now).await?.id == id {
        Slot::Current
    } else if state.store.previous_show(def, now).await?.id == id {
        Slot::Previous
    } else {
        Slot::Other
    };
    let show = show_rows(&state, &show, slot, true).await?;
    let poll = show.primary.then(|| PollLine::new(&state, def));
    let mut response = ShowFragment { show, poll }.into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
