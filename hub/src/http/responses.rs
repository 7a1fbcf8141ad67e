//! Error answers that mean the same on every endpoint that can give them, for the OpenAPI
//! document. Each endpoint lists its own 400, 404, 422 and 502 with their causes beside these.

use utoipa::IntoResponses;

use super::error::ErrorBody;

/// What an `/admin/…` endpoint answers before its handler runs when the credentials fail.
#[derive(IntoResponses)]
#[expect(
    dead_code,
    reason = "documentation only: utoipa reads the variants, nothing builds them"
)]
pub enum AdminAuthErrors {
    #[response(
        status = 401,
        description = "No credentials, a wrong bearer token, or a session cookie that is forged, \
                       expired or logged out"
    )]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "A relay token, a session cookie on a request from another origin, or a DJ \
                       (session or scoped token) acting on a show that is not theirs or on what \
                       belongs to the station admin; the error names what is missing"
    )]
    Forbidden(ErrorBody),
}

/// The hub's own storage failed; the cause is logged. Nothing a client sends leads here.
#[derive(IntoResponses)]
#[expect(
    dead_code,
    reason = "documentation only: utoipa reads the variants, nothing builds them"
)]
pub enum StorageFailed {
    #[response(status = 500, description = "The hub's storage failed (logged)")]
    Internal(ErrorBody),
}

/// A request body over 64 KiB, declared or streamed.
#[derive(IntoResponses)]
#[expect(
    dead_code,
    reason = "documentation only: utoipa reads the variants, nothing builds them"
)]
pub enum TooLarge {
    #[response(status = 413, description = "Request body over 64 KiB")]
    PayloadTooLarge(ErrorBody),
}
