//! What the DJ and scripts read about targets: `GET /admin/deliveries?seq=N` (the ledger rows of
//! one announce), `GET /admin/targets` (each target's state and recent problems, which the
//! dashboard's Targets panel renders and `static/targets.js` refreshes), and the panel's rows
//! for the server-rendered page. Nothing here carries a secret: endpoints are redacted and
//! errors were scrubbed before they reached the ledger.

use axum::Json;
use axum::extract::State;
use jiff::{SignedDuration, Timestamp};
use ntr_protocol::Seq;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiQuery;
use crate::http::guards::{Admin, Caller};
use crate::http::responses::{AdminAuthErrors, StorageFailed};
use crate::http::state::AppState;
use crate::http::tags::ADMIN as TAG;
use crate::store::{AlertKind, DeliveryRow, DeliveryStatus, StoreError};

/// How far back the panel counts failures and lists problems.
const PANEL_WINDOW: SignedDuration = SignedDuration::from_hours(24);
/// Problems listed per target.
const PROBLEMS_PER_TARGET: usize = 20;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// The announce's seq (required).
    #[param(required = true, minimum = 0, maximum = 9223372036854775807_i64)]
    seq: Option<i64>,
}

/// Where one announce was delivered by the hub's own targets: one object per enabled target,
/// sorted by name.
#[utoipa::path(get, path = "/admin/deliveries", tag = TAG,
    security(("bearer" = []), ("cookie" = [])),
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "The ledger rows of that announce; empty for an announce \
            made before the targets were configured", body = Vec<DeliveryRow>),
        (status = 400, description = "`seq` missing, or not a number from 0 to 9223372036854775807", body = ErrorBody),
        (status = 404, description = "No announce with that seq", body = ErrorBody),
        AdminAuthErrors, StorageFailed,
    ),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Vec<DeliveryRow>>, ApiError> {
    let raw = query
        .seq
        .ok_or_else(|| ApiError::BadRequest("seq is required: /admin/deliveries?seq=N".into()))?;
    let seq = Seq::try_from(raw)
        .map_err(|_| ApiError::BadRequest(format!("seq must be 0 or more (got {raw})")))?;
    super::scope::line(&state, &caller.rights, seq).await?;
    let enabled = state.targets.recipients();
    state
        .store
        .deliveries(seq, enabled)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no announce with seq {raw}")))
}

/// Every configured delivery target, enabled or not, with its state and recent problems.
#[utoipa::path(get, path = "/admin/targets", tag = TAG,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The targets, in configuration order", body = Vec<TargetView>),
        AdminAuthErrors, StorageFailed,
    ),
)]
pub async fn targets(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<TargetView>>, ApiError> {
    Ok(Json(views(&state).await?))
}

/// A target as the panel shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetView {
    pub name: String,
    /// `discord`, `webhook`, `matrix`, `icecast`, `mastodon`, `bluesky`, `telegram` or `ntfy`.
    #[schema(example = "icecast")]
    pub kind: &'static str,
    /// Where it sends, secrets left out (`…/webhooks/ID/***`).
    pub endpoint: String,
    pub enabled: bool,
    pub delay_seconds: u64,
    /// Lines waiting or being retried.
    pub pending: u32,
    /// Lines that failed in the last 24 hours.
    pub failed: u32,
    /// The most recently changed delivery.
    pub last: Option<LastDelivery>,
    /// Recent lines not (yet) sent that carry an error, newest first.
    pub problems: Vec<LastDelivery>,
    /// The panel's line: "sent #42 (120 ms after the announce)" (then ", stream title
    /// verified" or "; mismatch: the stream shows “…”" for a target read back),
    /// "retrying #42: 503 …", "failed #42: …". Made here once, for the server-rendered panel
    /// and its script alike.
    pub summary: String,
    /// Whether the panel shows this target in the error colour: the last line is not sent and
    /// carries an error, or the stream showed another title.
    pub failing: bool,
    /// What it is sent: `announce`, `live`, `reminder`.
    pub events: Vec<&'static str>,
    /// The last go-live alert of each kind it takes (`live`, `reminder`), in that order.
    pub alerts: Vec<AlertDelivery>,
}

/// A target's last go-live alert of one kind, with the panel's line for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertDelivery {
    /// `live` or `reminder`.
    #[serde(rename = "type")]
    #[schema(example = "live")]
    pub kind: &'static str,
    /// `null` while none was fired.
    pub status: Option<DeliveryStatus>,
    pub last_error: Option<String>,
    /// "live: sent (85 ms after it fired)", "reminder: failed: expired", "live: none yet".
    pub summary: String,
    pub failing: bool,
}

impl AlertDelivery {
    fn new(kind: AlertKind, row: Option<&DeliveryRow>) -> AlertDelivery {
        let name = kind.as_str();
        let Some(row) = row else {
            return AlertDelivery {
                kind: name,
                status: None,
                last_error: None,
                summary: format!("{name}: none yet"),
                failing: false,
            };
        };
        let error = row.last_error.as_deref().unwrap_or("");
        let summary = match (row.status, row.latency_ms) {
            (DeliveryStatus::Sent, Some(ms)) => format!("{name}: sent ({ms} ms after it fired)"),
            (DeliveryStatus::Sent, None) => format!("{name}: sent"),
            (DeliveryStatus::Pending, _) if error.is_empty() => format!("{name}: sending"),
            (DeliveryStatus::Pending, _) => format!("{name}: retrying: {error}"),
            (DeliveryStatus::Failed, _) => format!("{name}: failed: {error}"),
        };
        AlertDelivery {
            kind: name,
            status: Some(row.status),
            last_error: row.last_error.clone(),
            summary,
            failing: row.status != DeliveryStatus::Sent && !error.is_empty(),
        }
    }
}

/// One delivery of a target: a [`DeliveryRow`] with its seq instead of the target's name.
/// Written out rather than `#[serde(flatten)]`ed: the OpenAPI document's schemas allow no
/// unknown properties, and a flattened row is an `allOf` no answer can satisfy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LastDelivery {
    pub seq: Seq,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub latency_ms: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Whether the receiver showed the text sent when read back (Icecast); null when not read
    /// back, not read yet or unreadable.
    pub verified: Option<bool>,
    /// What the receiver showed at the last readable read.
    pub stream_title: Option<String>,
}

impl LastDelivery {
    fn new(seq: Seq, row: DeliveryRow) -> LastDelivery {
        LastDelivery {
            seq,
            status: row.status,
            attempts: row.attempts,
            last_error: row.last_error,
            latency_ms: row.latency_ms,
            updated_at: row.updated_at,
            verified: row.verified,
            stream_title: row.stream_title,
        }
    }
}

/// The panel's line for a target (see [`TargetView::summary`]).
fn summary(enabled: bool, announces: bool, last: Option<&LastDelivery>) -> String {
    if !enabled {
        return "disabled".into();
    }
    if !announces {
        return "alerts only".into();
    }
    let Some(last) = last else {
        return "nothing sent yet".into();
    };
    let error = last.last_error.as_deref().unwrap_or("");
    match last.status {
        DeliveryStatus::Sent => {
            let sent = match last.latency_ms {
                Some(ms) => format!("sent #{} ({ms} ms after the announce)", last.seq),
                None => format!("sent #{}", last.seq),
            };
            match (last.verified, last.stream_title.as_deref()) {
                (Some(true), _) => format!("{sent}, stream title verified"),
                (Some(false), Some(shown)) => {
                    format!("{sent}; mismatch: the stream shows “{shown}”")
                }
                _ => sent,
            }
        }
        DeliveryStatus::Pending if error.is_empty() => format!("sending #{}", last.seq),
        DeliveryStatus::Pending => format!("retrying #{}: {error}", last.seq),
        DeliveryStatus::Failed => format!("failed #{}: {error}", last.seq),
    }
}

/// Whether `last` is a line not sent that carries an error, or one the receiver, read back,
/// showed another text for (a source client overwriting the stream title).
fn failing(last: Option<&LastDelivery>) -> bool {
    last.is_some_and(|l| {
        (l.status != DeliveryStatus::Sent && l.last_error.is_some()) || l.verified == Some(false)
    })
}

/// Every configured target's view, in configuration order.
pub async fn views(state: &AppState) -> Result<Vec<TargetView>, StoreError> {
    let since = Timestamp::now() - PANEL_WINDOW;
    let problems = state.store.delivery_problems(since).await?;
    let mut out = Vec::new();
    for t in state.targets.configs() {
        let counts = state.store.delivery_summary(t.name.clone(), since).await?;
        let mine: Vec<LastDelivery> = problems
            .iter()
            .filter(|(_, row)| row.target == t.name)
            .take(PROBLEMS_PER_TARGET)
            .map(|(seq, row)| LastDelivery::new(*seq, row.clone()))
            .collect();
        let last = counts.last.map(|(seq, row)| LastDelivery::new(seq, row));
        let alerts = AlertKind::ALL
            .into_iter()
            .filter(|k| t.events.gets(*k))
            .map(|k| {
                let row = counts.events.iter().find(|(kind, _)| *kind == k);
                AlertDelivery::new(k, row.map(|(_, r)| r))
            })
            .collect();
        out.push(TargetView {
            name: t.name.clone(),
            kind: t.kind.name(),
            endpoint: t.kind.endpoint(),
            enabled: t.enabled,
            delay_seconds: t.delay_seconds,
            pending: counts.pending,
            failed: counts.failed,
            summary: summary(t.enabled, t.events.announce, last.as_ref()),
            failing: failing(last.as_ref()),
            events: t.events.names(),
            alerts,
            last,
            problems: mine,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(verified: Option<bool>, stream_title: Option<&str>) -> LastDelivery {
        LastDelivery {
            seq: Seq::new(42),
            status: DeliveryStatus::Sent,
            attempts: 1,
            last_error: None,
            latency_ms: Some(120),
            updated_at: Timestamp::UNIX_EPOCH,
            verified,
            stream_title: stream_title.map(str::to_owned),
        }
    }

    #[test]
    fn a_stream_showing_another_title_is_flagged() {
        let last = sent(Some(false), Some("Liquidsoap - jingle"));
        assert_eq!(
            summary(true, true, Some(&last)),
            "sent #42 (120 ms after the announce); mismatch: the stream shows “Liquidsoap - jingle”"
        );
        assert!(failing(Some(&last)));
    }

    #[test]
    fn a_verified_or_unchecked_line_is_not_flagged() {
        let verified = sent(Some(true), Some("A - B"));
        assert_eq!(
            summary(true, true, Some(&verified)),
            "sent #42 (120 ms after the announce), stream title verified"
        );
        let unchecked = sent(None, None);
        assert_eq!(
            summary(true, true, Some(&unchecked)),
            "sent #42 (120 ms after the announce)"
        );
        assert!(!failing(Some(&verified)) && !failing(Some(&unchecked)));
    }
}
