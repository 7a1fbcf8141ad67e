//! The one place where failures become HTTP statuses: every JSON endpoint answers errors as
//! `{"error": "…"}`, and nothing a client sends can produce a 5xx (only the hub's own storage
//! failing can, and that is logged).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::alerts::GoLiveError;
use crate::announce::AnnounceError;
use crate::soundcloud::SoundcloudError;
use crate::station::Refused;
use crate::store::{ShowError, StoreError};
use crate::week::OutOfCalendar;

/// The body of every error answer: a readable message, never a code to parse.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": "no show with id 999"}))]
pub struct ErrorBody {
    pub error: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// A DJ acting on another show, or on what belongs to the station admin.
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("{0}")]
    NotFound(String),
    /// The request does not fit what is there now (the track at a position changed, the show
    /// is shorter, the announce to correct is gone, old or corrected).
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large (the limit is 64 KiB)")]
    PayloadTooLarge,
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// SoundCloud failed while serving this request (502, as a gateway would answer).
    #[error("{0}")]
    Upstream(String),
    /// A part the hub needs is out of reach for now (the shared database): try again.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Refused(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = ErrorBody {
            error: self.to_string(),
        };
        (self.status(), Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoShow(_) | StoreError::NoPosition { .. } => {
                ApiError::NotFound(e.to_string())
            }
            // The request is well formed but does not fit the show or the log as they are now.
            StoreError::TrackChanged { .. }
            | StoreError::BeyondShow(_)
            | StoreError::Uncorrectable(_) => ApiError::Conflict(e.to_string()),
            StoreError::OutOfRange(m) => ApiError::Unprocessable(m),
            StoreError::Unreachable(m) => ApiError::Unavailable(format!(
                "the station's database cannot be reached ({m}); try again: a retry with the \
                 same Idempotency-Key never announces twice"
            )),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<OutOfCalendar> for ApiError {
    fn from(e: OutOfCalendar) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<ShowError> for ApiError {
    fn from(e: ShowError) -> Self {
        match e {
            ShowError::Store(e) => e.into(),
            ShowError::Calendar(e) => e.into(),
        }
    }
}

impl From<AnnounceError> for ApiError {
    fn from(e: AnnounceError) -> Self {
        match e {
            AnnounceError::Store(e) => e.into(),
            AnnounceError::Show(e) => e.into(),
            AnnounceError::UnknownShow { .. } => ApiError::NotFound(e.to_string()),
            AnnounceError::NothingLeft { .. } => ApiError::Conflict(e.to_string()),
            AnnounceError::EmptyText
            | AnnounceError::NoneOnAir { .. }
            | AnnounceError::KeyReused
            | AnnounceError::LogOnlyWithoutShow
            | AnnounceError::LogTimeOutside { .. } => ApiError::Unprocessable(e.to_string()),
        }
    }
}

impl From<GoLiveError> for ApiError {
    fn from(e: GoLiveError) -> Self {
        match e {
            GoLiveError::Store(e) => e.into(),
            GoLiveError::Calendar(e) => e.into(),
            GoLiveError::NotOnAir { .. }
            | GoLiveError::AlreadyFired { .. }
            | GoLiveError::NotConfigured(_) => ApiError::Conflict(e.to_string()),
        }
    }
}

impl From<SoundcloudError> for ApiError {
    fn from(e: SoundcloudError) -> Self {
        match e {
            SoundcloudError::NotFound(_) => ApiError::NotFound(e.to_string()),
            other => ApiError::Upstream(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::Unprocessable(r.body_text()),
            _ => ApiError::BadRequest(r.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}
