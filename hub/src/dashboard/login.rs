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

use crate::auth::extract::{cross_origin_hint, same_origin};
use crate::auth::limiter::{Locked, client_addr};
use crate::auth::session::COOKIE_NAME;
use crate::auth::{password, secret_eq};
use crate::secrets::random_token;
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    error: Option<String>,
    username: String,
}

pub async fn form() -> LoginPage {
    LoginPage {
        error: None,
        username: String::new(),
    }
}

#[derive(Deserialize)]
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
    let attempt = match state.login_limiter.try_attempt(addr) {
        Ok(attempt) => attempt,
        Err(locked) => return locked_page(locked),
    };
    let expected_user = state.config.dashboard.username.clone();
    let hash = state.password_hash.clone();
    let password = form.password;
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers. The hash is
    // checked even for a wrong username so timing does not reveal which one was wrong.
    let user_ok = secret_eq(&form.username, &expected_user);
    let password_ok =
        match tokio::task::spawn_blocking(move || password::verify(&password, &hash)).await {
            Ok(ok) => ok,
            Err(e) => {
                tracing::error!(error = %e, "the password check did not finish");
                return page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The hub cannot check passwords right now; try again.",
                    String::new(),
                );
            }
        };
    if !(user_ok && password_ok) {
        tracing::info!(%addr, "failed login");
        return page(
            StatusCode::UNAUTHORIZED,
            "Invalid username or password",
            form.username,
        );
    }
    state.login_limiter.succeeded(attempt);
    start_session(&state, &cookies, expected_user).await
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
