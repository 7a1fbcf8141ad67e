//! `GET/POST /login` and `POST /logout`. A successful login always starts a fresh session id;
//! attempts are throttled per client address, counted before the password is checked.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde::Deserialize;
use tower_cookies::Cookies;
use utoipa::ToSchema;

use crate::auth::limiter::{Locked, client_addr};
use crate::auth::login_counter::Refused;
use crate::auth::session::COOKIE_NAME;
use crate::http::guards::{cross_origin_hint, same_origin};
use crate::http::state::AppState;
use crate::http::tags::HTML;
use crate::secrets::random_token;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    error: Option<String>,
    username: String,
}

/// The login form (HTML).
#[utoipa::path(get, path = "/login", tag = crate::http::tags::PAGES, operation_id = "login_form", responses(
    (status = 200, description = "The form", content_type = HTML, body = String),
))]
pub async fn form() -> LoginPage {
    LoginPage {
        error: None,
        username: String::new(),
    }
}

/// The login form's fields.
#[derive(Deserialize, ToSchema)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

fn page(status: StatusCode, error: &str, username: String) -> Response {
    (
        status,
        LoginPage {
            error: Some(error.into()),
            username,
        },
    )
        .into_response()
}

fn locked_page(locked: Locked) -> Response {
    page(
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "Too many failed attempts from your address. Try again in {} s.",
            locked.retry_after.as_secs().max(1)
        ),
        String::new(),
    )
}

/// Log in: starts a fresh session and sets the `ntr_session` cookie.
///
/// At most 10 failed logins per client address in any 3 minutes; beyond that every login from
/// that address is refused until the oldest failure is 3 minutes old.
#[utoipa::path(post, path = "/login", tag = crate::http::tags::PAGES, operation_id = "login",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Logged in: to `/dashboard`, with the session cookie",
            headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 400, description = "Not a urlencoded form", content_type = HTML, body = String),
        (status = 401, description = "Wrong username or password: the form again",
            content_type = HTML, body = String),
        (status = 403, description = "An `Origin` that is not the hub's", content_type = HTML,
            body = String),
        (status = 429, description = "Too many failed attempts from this address",
            content_type = HTML, body = String),
        (status = 503, description = "The hub cannot check passwords or save sessions right now",
            content_type = HTML, body = String),
    ),
)]
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    cookies: Cookies,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let addr = client_addr(peer, &headers, &state.config.hub.trusted_proxies);
    // A browser always sends Origin on a form POST; a foreign one is a login-CSRF attempt.
    // Refused before the limiter, so a foreign page cannot use up the DJ's attempts.
    if headers.contains_key(axum::http::header::ORIGIN)
        && !same_origin(&headers, &state.config.hub.public_url)
    {
        let hint = cross_origin_hint(&state.config.hub.public_url);
        return page(StatusCode::FORBIDDEN, &hint, String::new());
    }
    let Ok(Form(form)) = form else {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid username or password",
            String::new(),
        );
    };
    // Counted before the password is checked: see `auth::limiter`.
    let attempt = match state.login_limiter.try_attempt(addr).await {
        Ok(attempt) => attempt,
        Err(Refused::Locked(locked)) => return locked_page(locked),
        Err(Refused::Store(e)) => {
            tracing::error!(error = %e, "cannot count a login attempt");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The hub cannot reach its database right now; try again.",
                String::new(),
            );
        }
    };
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers. A hash is
    // checked even for an unknown username so timing does not reveal which one was wrong.
    let (login, hash) = state.logins.lookup(&form.username);
    let user = login.map(|l| l.name.clone());
    let hash: std::sync::Arc<str> = hash.into();
    let password = form.password;
    let password_ok = match state.password_checks.verify(password, hash).await {
        Ok(ok) => ok,
        Err(e) => {
            tracing::error!(error = %e, "cannot check the password");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The hub cannot check passwords right now; try again.",
                String::new(),
            );
        }
    };
    let Some(user) = user.filter(|_| password_ok) else {
        tracing::info!(%addr, "failed login");
        return page(
            StatusCode::UNAUTHORIZED,
            "Invalid username or password",
            form.username,
        );
    };
    state.login_limiter.succeeded(attempt).await;
    start_session(&state, &cookies, user).await
}

/// Replaces any session the browser had with a fresh one and sends it to the dashboard.
async fn start_session(state: &AppState, cookies: &Cookies, username: String) -> Response {
    // A fresh id on every login: a session id planted before login is never promoted.
    if let Some(old) = cookies
        .get(COOKIE_NAME)
        .and_then(|c| state.sessions.verify(c.value()))
        && let Err(e) = state.store.end_session(old).await
    {
        tracing::warn!(error = %e, "cannot end the previous session");
    }
    let id = random_token();
    let expires = state.sessions.expires_at(Timestamp::now());
    if let Err(e) = state
        .store
        .create_session(id.clone(), username, expires)
        .await
    {
        tracing::error!(error = %e, "cannot create a session");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The hub cannot save sessions right now; try again.",
            String::new(),
        );
    }
    cookies.add(state.sessions.cookie(&id));
    Redirect::to("/dashboard").into_response()
}

/// Log out: ends the session on the server and deletes the cookie.
#[utoipa::path(post, path = "/logout", tag = crate::http::tags::PAGES, responses(
    (status = 303, description = "To `/login`, with the cookie removed",
        headers(("Location" = String), ("Set-Cookie" = String))),
))]
pub async fn logout(State(state): State<AppState>, cookies: Cookies) -> Response {
    if let Some(id) = cookies
        .get(COOKIE_NAME)
        .and_then(|c| state.sessions.verify(c.value()))
        && let Err(e) = state.store.end_session(id).await
    {
        tracing::warn!(error = %e, "cannot end a session");
    }
    cookies.add(state.sessions.removal());
    Redirect::to("/login").into_response()
}
