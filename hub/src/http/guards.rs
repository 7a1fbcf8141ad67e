//! Request guards: who is calling, and what it may touch. [`Caller`] admits the `/admin/…`
//! endpoints that act on a show (the admin token, a scoped token, or a dashboard session on a
//! same-origin request); the handler then calls [`require`] once it knows which show the
//! request acts on. [`Admin`] admits only the station admin (relays, targets, station
//! settings). [`DjSession`] is a logged-in dashboard user, for the pages.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use tower_cookies::Cookies;
use url::Url;

use crate::auth::session::COOKIE_NAME;
use crate::auth::{Principal, Role};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::station::{Refused, Rights, ShowSlug};

/// Someone who may use the `/admin/…` endpoints within its rights.
#[derive(Debug)]
pub struct Caller(pub Principal);

/// The station admin: every show, and what belongs to none.
#[derive(Debug)]
pub struct Admin;

/// A logged-in dashboard user.
#[derive(Debug, Clone)]
pub struct DjSession(pub Principal);

/// What the request's credentials turned out to be.
pub enum Credentials {
    None,
    Bearer(Role),
    /// A live dashboard session of a configured user.
    Session {
        id: String,
        principal: Principal,
    },
}

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Reads the bearer token or the session cookie. A present but wrong credential is an error:
/// falling back to "anonymous" would hide a misconfigured bot.
pub async fn credentials(parts: &mut Parts, state: &AppState) -> Result<Credentials, ApiError> {
    if parts.headers.contains_key(header::AUTHORIZATION) {
        return match bearer(&parts.headers).and_then(|t| state.tokens.role_of(t)) {
            Some(role) => Ok(Credentials::Bearer(role)),
            None => Err(ApiError::Unauthorized("invalid bearer token".into())),
        };
    }
    match session(parts, state).await? {
        Some((id, principal)) => Ok(Credentials::Session { id, principal }),
        None => Ok(Credentials::None),
    }
}

/// The live session named by the cookie, and whose it is. A cookie with a bad MAC, for an
/// ended or expired session, or of a user no longer configured counts as no session.
pub async fn session(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<(String, Principal)>, ApiError> {
    let cookies = Cookies::from_request_parts(parts, state)
        .await
        .map_err(|(_, m)| ApiError::Internal(m.into()))?;
    let Some(id) = cookies
        .get(COOKIE_NAME)
        .and_then(|c| state.sessions.verify(c.value()))
    else {
        return Ok(None);
    };
    let Some(row) = state.store.live_session(id).await? else {
        return Ok(None);
    };
    Ok(state.logins.principal(&row.username).map(|p| (row.id, p)))
}

/// Refused unless `rights` cover `show`: the one check every handler makes once it knows which
/// show a request acts on.
pub fn require(rights: &Rights, show: &ShowSlug) -> Result<(), ApiError> {
    require_stored(rights, show.as_str())
}

/// [`require`] for a slug as the store keeps it (possibly of a show no longer configured).
pub fn require_stored(rights: &Rights, show: &str) -> Result<(), ApiError> {
    if rights.may_slug(show) {
        Ok(())
    } else {
        Err(Refused::NotYourShow {
            show: show.to_owned(),
            rights: rights.clone(),
        }
        .into())
    }
}

/// Refused unless the show week `show_id` is one of a show `rights` cover (404 when there is
/// no such week, as without rights).
pub async fn require_week(state: &AppState, rights: &Rights, show_id: i64) -> Result<(), ApiError> {
    if rights.is_station() {
        return Ok(());
    }
    let show = state.store.show(show_id).await?;
    require_stored(rights, &show.slug)
}

/// Whether the request's `Origin` (or, lacking one, `Referer`) is `public_url`'s origin or the
/// origin the request was addressed to (its `Host` with `public_url`'s scheme). The second
/// lets a DJ who typed `http://localhost:8000` log in to a hub whose `public_url` says
/// `127.0.0.1`: a cross-site page cannot make a browser send a `Host` that matches its own
/// `Origin` unless it really is this server.
pub fn same_origin(headers: &HeaderMap, public_url: &Url) -> bool {
    let Some(claimed) = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Url::parse(v).ok())
        .map(|u| u.origin())
    else {
        return false;
    };
    if claimed == public_url.origin() {
        return true;
    }
    let addressed = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|host| Url::parse(&format!("{}://{host}", public_url.scheme())).ok())
        .map(|u| u.origin());
    addressed.is_some_and(|o| o == claimed)
}

/// What a DJ who met a cross-origin refusal should do instead.
pub fn cross_origin_hint(public_url: &Url) -> String {
    format!(
        "cross-origin request refused: open the dashboard at {}",
        public_url
            .join("dashboard")
            .unwrap_or_else(|_| public_url.clone())
    )
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match credentials(parts, state).await? {
            Credentials::Bearer(Role::Caller(principal)) => Ok(Caller(principal)),
            Credentials::Bearer(Role::Relay(_)) => Err(ApiError::Forbidden(
                "this token may only subscribe to /ws/announce".into(),
            )),
            Credentials::Session { principal, .. } => {
                let safe = matches!(parts.method, Method::GET | Method::HEAD);
                if safe || same_origin(&parts.headers, &state.config.hub.public_url) {
                    Ok(Caller(principal))
                } else {
                    Err(ApiError::Forbidden(cross_origin_hint(
                        &state.config.hub.public_url,
                    )))
                }
            }
            Credentials::None => Err(ApiError::Unauthorized(
                "log in or send Authorization: Bearer <admin token>".into(),
            )),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        if principal.rights.is_station() {
            return Ok(Admin);
        }
        Err(Refused::StationOnly {
            what: parts.uri.path().to_owned(),
            rights: principal.rights,
        }
        .into())
    }
}

impl FromRequestParts<AppState> for DjSession {
    type Rejection = axum::response::Redirect;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session(parts, state).await {
            Ok(Some((_, principal))) => Ok(DjSession(principal)),
            _ => Err(axum::response::Redirect::to("/login")),
        }
    }
}
