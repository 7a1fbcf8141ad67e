//! The JSON shapes of SPEC.md, built from store types. Kept apart from the handlers so the
//! dashboard, the WebSocket and the API serialise a show the same way.

use jiff::Timestamp;
use serde::Serialize;

use crate::state::AppState;
use crate::store::{Show, ShowSummary, Track};

#[derive(Serialize)]
pub struct ShowView<'a> {
    pub id: i64,
    pub week_start: Timestamp,
    pub week_end: Timestamp,
    pub on_air: bool,
    pub tracks: &'a [Track],
}

impl<'a> ShowView<'a> {
    pub fn new(state: &AppState, show: &'a Show) -> Self {
        ShowView {
            id: show.id,
            week_start: show.week.start,
            week_end: show.week.end,
            on_air: state.is_on_air(show.week),
            tracks: &show.tracks,
        }
    }
}

#[derive(Serialize)]
pub struct ShowSummaryView {
    pub id: i64,
    pub week_start: Timestamp,
    pub week_end: Timestamp,
    pub on_air: bool,
    pub track_count: u32,
}

impl ShowSummaryView {
    pub fn new(state: &AppState, s: &ShowSummary) -> Self {
        ShowSummaryView {
            id: s.id,
            week_start: s.week.start,
            week_end: s.week.end,
            on_air: state.is_on_air(s.week),
            track_count: s.track_count,
        }
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
