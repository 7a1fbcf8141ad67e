//! The JSON answers built from store types (the shapes themselves are `ntr_protocol`'s). Kept
//! apart from the handlers so the dashboard, the WebSocket and the API serialise a show the
//! same way.

use serde::Serialize;

use crate::state::AppState;
use crate::store::{Show, ShowSummary};

/// A show with its tracks, as `/playlist`, `/shows/{id}` and the edit endpoints answer.
pub fn show_view(state: &AppState, show: &Show) -> ntr_protocol::Show {
    ntr_protocol::Show {
        id: show.id,
        week_start: show.week.start,
        week_end: show.week.end,
        on_air: state.is_on_air(show.week),
        tracks: show.tracks.clone(),
    }
}

/// A show without its tracks, as `/shows` lists it.
pub fn summary_view(state: &AppState, s: &ShowSummary) -> ntr_protocol::ShowSummary {
    ntr_protocol::ShowSummary {
        id: s.id,
        week_start: s.week.start,
        week_end: s.week.end,
        on_air: state.is_on_air(s.week),
        track_count: s.track_count,
    }
}

#[derive(Serialize)]
pub struct HealthView {
    pub status: &'static str,
    pub version: &'static str,
    pub subscribers: usize,
    /// The last poll's outcome; before the first poll, `at` is null and `error` says so.
    pub last_poll: serde_json::Value,
}
