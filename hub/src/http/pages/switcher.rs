//! Which shows a dashboard viewer may see, which one the page opens on, and the switcher that
//! lists them. [`visible_shows`] is the one place that decides what a viewer sees; every
//! dashboard page and fragment asks it.

use jiff::Timestamp;

use crate::http::error::ApiError;
use crate::http::guards::DjSession;
use crate::http::show_query::ShowQuery;
use crate::http::state::AppState;
use crate::station::ShowDef;

/// The shows `viewer` may see on the dashboard (the shows its rights cover), in the station's
/// order.
pub fn visible_shows<'a>(state: &'a AppState, viewer: &DjSession) -> Vec<&'a ShowDef> {
    state
        .config
        .station
        .shows()
        .iter()
        .filter(|s| viewer.0.rights.may(&s.slug))
        .collect()
}

/// The show the dashboard draws: the one `?show=` names, else the one of `shows` on air now,
/// else the one of them that airs next. A named show the viewer may not see is refused.
pub fn selected<'a>(
    state: &AppState,
    shows: &[&'a ShowDef],
    query: &ShowQuery,
    now: Timestamp,
) -> Result<&'a ShowDef, ApiError> {
    if let Some(named) = query.named(&state.config.station)? {
        return shows
            .iter()
            .find(|s| s.slug == named.slug)
            .copied()
            .ok_or_else(|| ApiError::Forbidden(format!("show {} is not yours", named.slug)));
    }
    let mut best: Option<(Timestamp, &ShowDef)> = None;
    for show in shows {
        let (start, _) = show.schedule.live_window_around(now)?;
        if best.is_none_or(|(earliest, _)| start < earliest) {
            best = Some((start, show));
        }
    }
    best.map(|(_, show)| show)
        .ok_or_else(|| ApiError::Forbidden("no show is yours on this station".into()))
}

/// One entry of the switcher.
pub struct ShowOption {
    pub slug: String,
    pub title: String,
    pub selected: bool,
    pub on_air: bool,
}

/// The switcher's entries; it is drawn only when there is more than one.
pub fn options(shows: &[&ShowDef], selected: &ShowDef, now: Timestamp) -> Vec<ShowOption> {
    shows
        .iter()
        .map(|s| ShowOption {
            slug: s.slug.to_string(),
            title: s.title.clone(),
            selected: s.slug == selected.slug,
            on_air: s.schedule.on_air_week(now).ok().flatten().is_some(),
        })
        .collect()
}
