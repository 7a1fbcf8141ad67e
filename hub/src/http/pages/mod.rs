//! Server-rendered pages (askama): the station page or the one show's page at `/`, each show's
//! page at `/s/{slug}`, the login form, and the DJ's dashboard with the fragment its script
//! re-reads when a show changes. Everything is in the HTML; the scripts in `static/` only add
//! the live parts.

mod dashboard;
mod listener;
mod login;
mod not_found;
mod public;
pub mod relays;
mod rows;
mod station;
mod switcher;

use jiff::Timestamp;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use rows::{ShowRows, Slot};

use crate::clock::Clock;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::station::ShowDef;
use crate::store::{AlertKind, Show};
use rows::{GoLive, ShowContext};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public::page))
        .routes(routes!(public::show_page))
        .routes(routes!(dashboard::dashboard))
        .routes(routes!(dashboard::show_fragment))
        .routes(routes!(login::form, login::submit))
        .routes(routes!(login::logout))
}

/// The configured show a stored week belongs to. A week of a show no longer configured is
/// drawn on the first show's clock: its own schedule is gone.
pub fn def_of<'a>(state: &'a AppState, show: &Show) -> &'a ShowDef {
    let station = &state.config.station;
    station.get(&show.slug).unwrap_or_else(|| station.primary())
}

/// A show drawn for a page; `with_log` reads its announces and mark (the dashboard's).
async fn show_rows(
    state: &AppState,
    show: &Show,
    slot: Slot,
    with_log: bool,
) -> Result<ShowRows, ApiError> {
    let def = def_of(state, show);
    let clock = Clock::new(def.schedule.time_zone());
    let (log, mark) = if with_log {
        let window = def.schedule.log_window(show.week);
        (
            state.store.show_log(show.id, window).await?,
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
    let mut rows = ShowRows::new(show, &cx);
    if slot == Slot::Current && cx.on_air && state.targets.sends(AlertKind::Live, &show.slug) {
        rows.go_live = match state.store.event(show.id, AlertKind::Live).await? {
            Some(event) => GoLive::Sent(clock.time(event.at)),
            None => GoLive::Ready,
        };
    }
    Ok(rows)
}

/// The two weeks of `def` a page lists: the current one (on air during the live window) and
/// the one before it.
pub async fn two_shows(
    state: &AppState,
    def: &ShowDef,
    with_log: bool,
) -> Result<Vec<ShowRows>, ApiError> {
    let now = Timestamp::now();
    let current = state.store.current_show(def, now).await?;
    let previous = state.store.previous_show(def, now).await?;
    Ok(vec![
        show_rows(state, &current, Slot::Current, with_log).await?,
        show_rows(state, &previous, Slot::Previous, with_log).await?,
    ])
}
