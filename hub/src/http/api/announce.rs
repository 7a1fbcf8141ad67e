//! Announcing over HTTP: `POST /admin/announce` (a track, a free text, a correction or a
//! log-only entry), `POST /admin/announce/next` (the console's Announce next, for hardware
//! buttons) and `DELETE /admin/announce/held/{held_id}` (Undo while a show's hold runs). Each
//! request may carry an `Idempotency-Key`, so a tap retried on a bad network announces once.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ntr_protocol::{Announced, Held, Seq};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::admin::{expected_track, parse_slug, position_value};
use super::integer;
use crate::announce::{AnnounceRequest, Answer, Submission, WeekChoice};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::guards::Caller;
use crate::http::responses::{AdminAuthErrors, StorageFailed, TooLarge};
use crate::http::state::AppState;
use crate::store::{HeldState, IdempotencyKey, Recorded};

/// The tag of the admin endpoints in the OpenAPI document.
use crate::http::tags::ADMIN as TAG;

/// What to announce: `{"position": N}` (a track of the current show), `{"show": SLUG,
/// "position": N}` (a track of that show's current week), `{"show_id": S, "position": N}` (a
/// track of any week) or `{"text": "…"}` (a free line, with an optional `show`). Any other
/// combination is refused with 422. With a position, `track_id` names the track meant.
/// (Its OpenAPI schema, the forms with their ranges, is in `forms`.)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnounceBody {
    /// The show week the position is in; the current show when absent.
    #[serde(default, deserialize_with = "integer::optional")]
    show_id: Option<i64>,
    /// A show's slug: its current week for a position, its line for a text. Without it (and
    /// without `show_id`), the show on air; a text is then station-wide when none is.
    show: Option<String>,
    /// The track's position, 1 or more.
    #[serde(default, deserialize_with = "integer::optional")]
    position: Option<i64>,
    /// The `id` of the track meant, as the show listed it (0 for a record whose `id` is
    /// null); when another track is at the position now, 409 and nothing is announced.
    #[serde(default, deserialize_with = "integer::optional")]
    track_id: Option<i64>,
    /// A free line, announced as given (control characters removed).
    text: Option<String>,
    /// The seq of an earlier announce (of the last 24 hours, not yet corrected) this one
    /// corrects; the line gets the correction template around it.
    #[serde(default, deserialize_with = "integer::optional")]
    corrects: Option<u64>,
    /// Only log it, at `at`: a track played while the DJ could not announce it.
    log_only: Option<bool>,
    /// With `log_only`: when it played.
    at: Option<String>,
}

impl AnnounceBody {
    /// The submission this body makes, with the request's key.
    fn into_submission(self, key: Option<IdempotencyKey>) -> Result<Submission, ApiError> {
        let corrects = self
            .corrects
            .map(|n| Seq::checked(n).map_err(|e| ApiError::Unprocessable(format!("corrects: {e}"))))
            .transpose()?;
        let log_only_at = match (self.log_only, self.at.as_deref()) {
            (Some(true), Some(at)) => Some(at.parse::<Timestamp>().map_err(|e| {
                ApiError::Unprocessable(format!("at: `{at}` is not an RFC 3339 time: {e}"))
            })?),
            (Some(true), None) => {
                return Err(ApiError::Unprocessable(
                    "log_only needs \"at\": when the track played (RFC 3339)".into(),
                ));
            }
            (_, Some(_)) => {
                return Err(ApiError::Unprocessable(
                    "at goes with \"log_only\": true only".into(),
                ));
            }
            (_, None) => None,
        };
        if log_only_at.is_some() && corrects.is_some() {
            return Err(ApiError::Unprocessable(
                "a correction goes out to everyone: it cannot be log_only".into(),
            ));
        }
        Ok(Submission {
            request: self.into_request()?,
            corrects,
            log_only_at,
            key,
        })
    }

    fn into_request(self) -> Result<AnnounceRequest, ApiError> {
        let show = self.show.as_deref().map(parse_slug).transpose()?;
        match (self.show_id, self.position, self.text) {
            (None, None, Some(text)) if self.track_id.is_none() => {
                Ok(AnnounceRequest::Text { text, show })
            }
            (show_id, Some(position), None) => Ok(AnnounceRequest::Track {
                week: match (show_id, show) {
                    (Some(_), Some(_)) => {
                        return Err(ApiError::Unprocessable(
                            "send show_id or show, not both".into(),
                        ));
                    }
                    (Some(id), None) => WeekChoice::Id(id),
                    (None, Some(slug)) => WeekChoice::Show(slug),
                    (None, None) => WeekChoice::Current,
                },
                position: position_value("position", position)?,
                expected: expected_track(self.track_id, ApiError::Unprocessable)?,
            }),
            (_, None, None) => Err(ApiError::Unprocessable(
                "send {\"position\": N}, {\"show_id\": S, \"position\": N} or {\"text\": \"…\"}"
                    .into(),
            )),
            _ => Err(ApiError::Unprocessable(
                "send either a position (with an optional show_id and track_id) or a text, \
                 not both"
                    .into(),
            )),
        }
    }
}

/// Announce a track or a free text to every subscriber.
///
/// With the show's `hold_seconds`, the line is held first (202) and goes out when the hold
/// ends, unless undone. With `"log_only": true` and `at`, it is only logged (status
/// `"logged"`): in the show's log and tracklist at `at`, sent to no one.
#[utoipa::path(post, path = "/admin/announce", tag = TAG, operation_id = "announce",
    security(("bearer" = []), ("cookie" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[ -~]{1,64}$",
        description = "One key per tap: the same key (per token or login) within 24 hours \
            answers the first result again, as it stands now, with `\"replayed\": true` and \
            announces nothing; with another body, 422")),
    request_body = AnnounceBody,
    responses(
        (status = 200, description = "Announced and broadcast, or only logged", body = Announced),
        (status = 202, description = "Held for the show's `hold_seconds`", body = Held),
        (status = 400, description = "The body is not JSON, or no `Content-Type: application/json`",
            body = ErrorBody),
        (status = 404, description = "No such show, or no track at that position", body = ErrorBody),
        (status = 409, description = "`track_id` names another track than the one at that \
            position now (the playlist changed), `corrects` names no uncorrected announce \
            of the last 24 hours, or the key's announce was undone; nothing was announced",
            body = ErrorBody),
        (status = 422, description = "A body of neither form (an unknown field, a position out \
            of range, both `text` and `position`, neither, a text with nothing left once \
            control characters and blanks are removed, a `track_id` or `show_id` with a text, \
            a number out of range, `log_only` without `at` or `at` outside the show's week \
            and live window), an `Idempotency-Key` that is not 1 to 64 printable ASCII \
            characters, or one used with another body in the last 24 hours", body = ErrorBody),
        AdminAuthErrors, TooLarge, StorageFailed,
    ),
)]
pub async fn announce_handler(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AnnounceBody>,
) -> Result<AnnounceAnswer, ApiError> {
    // The parsed body, written out the same way every time: what a repeated key must match.
    let key = idempotency_key(&headers, &caller.name, format!("{body:?}"))?;
    let mut submission = body.into_submission(key)?;
    submission.request = super::scope::announce(
        &state,
        &caller.rights,
        submission.request,
        submission.corrects,
    )
    .await?;
    let answer = state.announcer.submit(submission).await?;
    answer_of(&state, answer)
}

/// Which show `POST /admin/announce/next` announces in: `{}` for the current one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NextBody {
    /// A show's slug; without it, the show on air (or the only one; a DJ's own).
    #[schema(pattern = "^[a-z0-9-]{1,32}$")]
    show: Option<String>,
}

/// Announce the next track, as the console's Announce next does.
///
/// The first track not announced after the one on air, else the first one skipped. Made for
/// hardware buttons (a Stream Deck, a foot pedal, a MIDI bridge): two calls at the same moment
/// announce two different tracks. Answers as `POST /admin/announce` does.
#[utoipa::path(post, path = "/admin/announce/next", tag = TAG, operation_id = "announce_next",
    security(("bearer" = []), ("cookie" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[ -~]{1,64}$",
        description = "One key per tap: the same key (per token or login) within 24 hours \
            answers the first result again, as it stands now, with `\"replayed\": true` and \
            announces nothing; with another body, 422")),
    request_body = NextBody,
    responses(
        (status = 200, description = "Announced and broadcast", body = Announced),
        (status = 202, description = "Held for the show's `hold_seconds`", body = Held),
        (status = 400, description = "The body is not JSON, or no `Content-Type: application/json`",
            body = ErrorBody),
        (status = 404, description = "No show with that slug", body = ErrorBody),
        (status = 409, description = "Every track of the show is announced, or the key's \
            announce was undone", body = ErrorBody),
        (status = 422, description = "An unknown field, a malformed slug, several shows and \
            none on air, or a bad or reused `Idempotency-Key`", body = ErrorBody),
        AdminAuthErrors, TooLarge, StorageFailed,
    ),
)]
pub async fn announce_next(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NextBody>,
) -> Result<AnnounceAnswer, ApiError> {
    let key = idempotency_key(&headers, &caller.name, format!("next {body:?}"))?;
    let slug = body.show.as_deref().map(parse_slug).transpose()?;
    let show = super::scope::next_show(&state, &caller.rights, slug)?;
    let answer = state.announcer.announce_next(show, key).await?;
    answer_of(&state, answer)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct HeldPath {
    /// The `held_id` of the 202 answer.
    held_id: i64,
}

/// Undo a held announce before its hold ends: it never gets a seq and reaches no one.
#[utoipa::path(delete, path = "/admin/announce/held/{held_id}", tag = TAG,
    operation_id = "undo_held", params(HeldPath),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Undone: nothing was sent", body = UndoneView),
        (status = 400, description = "The id is not a 64-bit number", body = ErrorBody),
        (status = 404, description = "No held announce with that id", body = ErrorBody),
        (status = 409, description = "Its hold ended (it went out) or it was undone already",
            body = ErrorBody),
        AdminAuthErrors, StorageFailed,
    ),
)]
pub async fn undo_held(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(path): ApiPath<HeldPath>,
) -> Result<Json<UndoneView>, ApiError> {
    super::scope::held(&state, &caller.rights, path.held_id).await?;
    match state.announcer.undo(path.held_id).await? {
        Some(HeldState::Held) => Ok(Json(UndoneView {
            status: "undone".into(),
            held_id: path.held_id,
        })),
        Some(HeldState::Released(seq)) => Err(ApiError::Conflict(format!(
            "held announce {} went out already, as seq {seq}: correct it instead",
            path.held_id
        ))),
        Some(HeldState::Undone) => Err(ApiError::Conflict(format!(
            "held announce {} was undone already",
            path.held_id
        ))),
        None => Err(ApiError::NotFound(format!(
            "no held announce {}",
            path.held_id
        ))),
    }
}

/// The answer to an undo.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct UndoneView {
    /// Always `"undone"`.
    status: String,
    held_id: i64,
}

/// An announce request's answer: 200 with the line, or 202 while it is held.
pub enum AnnounceAnswer {
    Announced(Announced),
    Held(Held),
}

impl IntoResponse for AnnounceAnswer {
    fn into_response(self) -> Response {
        match self {
            AnnounceAnswer::Announced(a) => (StatusCode::OK, Json(a)).into_response(),
            AnnounceAnswer::Held(h) => (StatusCode::ACCEPTED, Json(h)).into_response(),
        }
    }
}

fn answer_of(state: &AppState, answer: Answer) -> Result<AnnounceAnswer, ApiError> {
    match answer.outcome {
        Recorded::Announced(a) => Ok(AnnounceAnswer::Announced(Announced {
            status: if a.log_only { "logged" } else { "announced" }.into(),
            seq: a.seq,
            message: a.message.as_str().to_string(),
            subscribers: if a.log_only {
                0
            } else {
                state.broadcaster.subscribers()
            },
            replayed: answer.replayed,
        })),
        Recorded::Held(h) if h.state == HeldState::Undone => Err(ApiError::Conflict(format!(
            "Idempotency-Key: the announce sent with this key (held {}) was undone",
            h.id
        ))),
        Recorded::Held(h) => Ok(AnnounceAnswer::Held(Held {
            status: "held".into(),
            held_id: h.id,
            release_at: h.release_at,
            message: h.message.as_str().to_string(),
            replayed: answer.replayed,
        })),
    }
}

/// The longest `Idempotency-Key`.
const MAX_KEY_LEN: usize = 64;

/// The request's `Idempotency-Key` (1 to 64 printable ASCII characters), or none; `body` is
/// the request as a repeat must match it.
fn idempotency_key(
    headers: &HeaderMap,
    principal: &str,
    body: String,
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            (1..=MAX_KEY_LEN).contains(&k.len()) && k.bytes().all(|b| (0x20..0x7f).contains(&b))
        })
        .ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "Idempotency-Key: must be 1 to {MAX_KEY_LEN} printable ASCII characters"
            ))
        })?;
    Ok(Some(IdempotencyKey {
        principal: principal.to_owned(),
        key: key.to_owned(),
        body,
    }))
}
