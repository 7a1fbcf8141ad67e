//! Counters for `GET /metrics`, in Prometheus' text format: announces, acks, subscribers,
//! polls and their latency, and HTTP responses by status.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

#[derive(Default)]
pub struct Metrics {
    announces: AtomicU64,
    acks: AtomicU64,
    statuses: Mutex<BTreeMap<u16, u64>>,
}

impl Metrics {
    pub fn announce(&self) {
        self.announces.fetch_add(1, Ordering::Relaxed);
    }

    pub fn ack(&self) {
        self.acks.fetch_add(1, Ordering::Relaxed);
    }

    fn status(&self, code: u16) {
        let mut map = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(code).or_default() += 1;
    }
}

/// Middleware counting every response by status code.
pub async fn count_statuses(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    state.metrics.status(response.status().as_u16());
    response
}

pub async fn render(
    State(state): State<AppState>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let m = &state.metrics;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    metric(
        "ntr_announces_total",
        "counter",
        "Announcements broadcast.",
        m.announces.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "ntr_acks_total",
        "counter",
        "Deliveries acknowledged by relays.",
        m.acks.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "ntr_subscribers",
        "gauge",
        "Connected /ws/announce subscribers.",
        state.broadcaster.subscribers().to_string(),
    );
    metric(
        "ntr_soundcloud_requests_total",
        "counter",
        "Requests sent to SoundCloud.",
        state.poller.client().requests().to_string(),
    );
    let poll = state.poller.last_status();
    let p = poll.as_ref();
    metric(
        "ntr_last_poll_ok",
        "gauge",
        "1 if the last SoundCloud poll succeeded.",
        u8::from(p.is_some_and(|p| p.ok)).to_string(),
    );
    metric(
        "ntr_last_poll_timestamp_seconds",
        "gauge",
        "When the last poll ran.",
        p.map_or(0, |p| p.at.as_second()).to_string(),
    );
    metric(
        "ntr_last_poll_duration_seconds",
        "gauge",
        "How long the last poll took.",
        p.map_or(0.0, |p| p.duration_ms as f64 / 1000.0).to_string(),
    );
    metric(
        "ntr_last_poll_tracks",
        "gauge",
        "Likes seen by the last poll.",
        p.map_or(0, |p| p.tracks).to_string(),
    );
    metric(
        "ntr_polls_total",
        "counter",
        "Polls run since start.",
        state.poller.polls().0.to_string(),
    );
    metric(
        "ntr_polls_failed_total",
        "counter",
        "Polls that failed since start.",
        state.poller.polls().1.to_string(),
    );
    let _ = writeln!(
        out,
        "# HELP ntr_http_responses_total HTTP responses by status.\n# TYPE ntr_http_responses_total counter"
    );
    let statuses = m.statuses.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for (code, n) in statuses {
        let _ = writeln!(out, "ntr_http_responses_total{{code=\"{code}\"}} {n}");
    }
    out.push_str(&state.targets.metrics_text());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
}
