//! The JSON answers built from store types (the shapes themselves are `ntr_protocol`'s). Kept
//! apart from the handlers so the dashboard, the WebSocket and the API serialise a show the
//! same way.

use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::state::AppState;
use crate::poller::PollStatus;
use crate::store::{Show, ShowSummary};

/// A show with its tracks, as `/playlist`, `/shows/{id}` and the edit endpoints answer.
pub fn show_view(state: &AppState, show: &Show) -> ntr_protocol::Show {
    ntr_protocol::Show {
        id: show.id,
        show: show.slug.clone(),
        week_start: show.week.start,
        week_end: show.week.end,
        on_air: state.is_on_air(&show.slug, show.week),
        tracks: show.tracks.clone(),
    }
}

/// A show without its tracks, as `/shows` lists it.
pub fn summary_view(state: &AppState, s: &ShowSummary) -> ntr_protocol::ShowSummary {
    ntr_protocol::ShowSummary {
        id: s.id,
        show: s.slug.clone(),
        week_start: s.week.start,
        week_end: s.week.end,
        on_air: state.is_on_air(&s.slug, s.week),
        track_count: s.track_count,
    }
}

/// The answer of `GET /health`.
#[derive(Serialize, ToSchema)]
pub struct HealthView {
    /// `"ok"` whenever the hub answers; a failed poll shows in `last_poll`.
    pub status: &'static str,
    pub version: &'static str,
    /// This replica's name (`[store] replica`): which one of a station's hubs answered.
    pub replica: String,
    /// Open `/ws/announce` connections to this replica (relays and bots).
    pub subscribers: usize,
    pub last_poll: LastPoll,
}

/// The last SoundCloud poll as `/health` shows it: before the first poll, `at` is null, `ok`
/// false and `error` says so, and `requests` and `duration_ms` are absent.
#[derive(Serialize, ToSchema)]
pub struct LastPoll {
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
    pub ok: bool,
    pub error: Option<String>,
    /// Likes seen in the weeks the poll covered.
    pub tracks: u32,
    /// SoundCloud requests the poll took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u32>,
    /// How long the poll took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl From<Option<PollStatus>> for LastPoll {
    fn from(status: Option<PollStatus>) -> LastPoll {
        match status {
            Some(p) => LastPoll {
                at: Some(p.at),
                ok: p.ok,
                error: p.error,
                tracks: p.tracks,
                requests: Some(p.requests),
                duration_ms: Some(p.duration_ms),
            },
            None => LastPoll {
                at: None,
                ok: false,
                error: Some("not polled yet".into()),
                tracks: 0,
                requests: None,
                duration_ms: None,
            },
        }
    }
}

/// The answer of `POST /admin/refresh`.
#[derive(Serialize, ToSchema)]
pub struct RefreshView {
    pub status: RefreshOutcome,
    pub poll: PollStatus,
}

/// Whether the poll `POST /admin/refresh` ran succeeded.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RefreshOutcome {
    Ok,
    Error,
}
