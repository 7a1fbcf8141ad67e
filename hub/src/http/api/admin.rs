//! Endpoints that change things: refresh from SoundCloud, and the DJ's manual edits of a
//! show (announcing has a file of its own). All need a [`Caller`] (the admin token, a scoped token, or a session on a
//! same-origin request) whose rights cover the show the request acts on.

use axum::Json;
use axum::extract::State;
use ntr_protocol::Show;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::integer;
use super::views::{RefreshOutcome, RefreshView, show_view};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::guards::{Caller, require_week};
use crate::http::responses::{AdminAuthErrors, StorageFailed, TooLarge};
use crate::http::show_query::ShowQuery;
use crate::http::state::AppState;
use crate::station::ShowSlug;
use crate::store::{ExpectedTrack, TrackInfo};
use crate::web_url::WebUrl;

/// The tag of the admin endpoints in the OpenAPI document.
use crate::http::tags::ADMIN as TAG;

pub(super) fn parse_slug(slug: &str) -> Result<ShowSlug, ApiError> {
    ShowSlug::parse(slug).map_err(|e| ApiError::Unprocessable(format!("show: {e}")))
}

pub(super) fn position_value(name: &str, n: i64) -> Result<u32, ApiError> {
    u32::try_from(n)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| ApiError::Unprocessable(format!("{name} must be 1 or more (got {n})")))
}

/// The track a client names with `track_id`: the `id` of the show's JSON, 0 for a record that
/// has none (its `id` is null, and SoundCloud ids start at 1); absent, any track. `invalid`
/// says how a negative one is refused (400 in a query, 422 in a body).
pub(super) fn expected_track(
    track_id: Option<i64>,
    invalid: fn(String) -> ApiError,
) -> Result<ExpectedTrack, ApiError> {
    match track_id {
        None => Ok(ExpectedTrack::Any),
        Some(0) => Ok(ExpectedTrack::Id(None)),
        Some(id) if id > 0 => Ok(ExpectedTrack::Id(Some(id))),
        Some(id) => Err(invalid(format!("track_id must be 0 or more (got {id})"))),
    }
}

/// Poll a show's SoundCloud likes now and answer with the outcome: the show named by
/// `?show=`, else the one on air, else the one that airs next.
///
/// A failed poll is still 200, with `"status": "error"` and the reason in `poll.error`. A show
/// whose playlist is built by hand has nothing to poll: 409.
#[utoipa::path(post, path = "/admin/refresh", tag = TAG, params(ShowQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The poll ran", body = RefreshView),
        (status = 404, description = "No show with that slug", body = ErrorBody),
        (status = 409, description = "The show is built by hand", body = ErrorBody),
        AdminAuthErrors, StorageFailed,
    ),
)]
pub async fn refresh(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ShowQuery>,
) -> Result<Json<RefreshView>, ApiError> {
    let def = super::scope::query_show(&state, &caller.rights, &query)?;
    let Some(poller) = state.pollers.get(&def.slug) else {
        return Err(ApiError::Conflict(format!(
            "show {} is built by hand: there is nothing to poll",
            def.slug
        )));
    };
    let poll = poller.poll_now().await;
    let status = if poll.ok {
        RefreshOutcome::Ok
    } else {
        RefreshOutcome::Error
    };
    Ok(Json(RefreshView { status, poll }))
}

/// A track to add: `{"url": "https://soundcloud.com/…"}` resolves a SoundCloud track;
/// `{"title": "…", "artist": "…", "url": "…"}` adds a record as given (`url` optional, and
/// then any http or https link). (Its OpenAPI schema is in `forms`.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddTrackBody {
    /// A SoundCloud track URL, or with `title` and `artist` any http(s) link.
    url: Option<String>,
    title: Option<String>,
    artist: Option<String>,
    /// Insert before the track now at this position (1 to n+1, else 409); appended when
    /// absent.
    #[serde(default, deserialize_with = "integer::optional")]
    position: Option<i64>,
}

/// Add a track to a show, by SoundCloud URL or by title and artist.
#[utoipa::path(post, path = "/admin/shows/{id}/tracks", tag = TAG,
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "The show's id")),
    request_body = AddTrackBody,
    responses(
        (status = 200, description = "The whole show after the edit", body = Show),
        (status = 400, description = "The id is not a 64-bit number, the body is not JSON, or no \
            `Content-Type: application/json`", body = ErrorBody),
        (status = 404, description = "No show with that id, or SoundCloud knows no track at \
            that URL", body = ErrorBody),
        (status = 409, description = "`position` is past one after the show's last track; \
            nothing changed", body = ErrorBody),
        (status = 422, description = "Neither form, an empty title or artist, a link that is not \
            http(s), a URL that is not a SoundCloud track, or a position out of range",
            body = ErrorBody),
        (status = 502, description = "SoundCloud failed while resolving the URL", body = ErrorBody),
        AdminAuthErrors, TooLarge, StorageFailed,
    ),
)]
pub async fn add_track(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(show_id): ApiPath<i64>,
    ApiJson(body): ApiJson<AddTrackBody>,
) -> Result<Json<Show>, ApiError> {
    require_week(&state, &caller.rights, show_id).await?;
    let position = body
        .position
        .map(|p| position_value("position", p))
        .transpose()?;
    // Only an http(s) link is ever stored: the public page renders it as an `href`.
    let link = match body.url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(url) => {
            Some(WebUrl::parse(url).map_err(|e| ApiError::Unprocessable(format!("url: {e}")))?)
        }
    };
    let track = match (body.title, body.artist, link) {
        // A record that is not on SoundCloud: taken as given.
        (Some(title), Some(artist), link) => {
            if title.trim().is_empty() || artist.trim().is_empty() {
                return Err(ApiError::Unprocessable(
                    "title and artist must not be empty".into(),
                ));
            }
            TrackInfo {
                soundcloud_id: None,
                title,
                artist,
                permalink_url: link,
                artwork_url: None,
                duration_ms: None,
                license: None,
            }
        }
        (None, None, Some(link)) => {
            check_soundcloud_url(&link, &state)?;
            // Check the show exists before spending a SoundCloud request on it.
            state.store.show(show_id).await?;
            state.pollers.client().resolve_track(link.as_str()).await?
        }
        _ => {
            return Err(ApiError::Unprocessable(
                "send {\"url\": \"https://soundcloud.com/…\"} or {\"title\", \"artist\", \"url\"}"
                    .into(),
            ));
        }
    };
    let show = state.store.add_track(show_id, track, position).await?;
    Ok(Json(show_view(&state, &show)))
}

fn check_soundcloud_url(url: &WebUrl, state: &AppState) -> Result<(), ApiError> {
    let parsed = url.url();
    let web = &state.config.soundcloud.web_base;
    let same_site = parsed.host_str() == web.host_str()
        || parsed
            .host_str()
            .is_some_and(|h| h.ends_with(".soundcloud.com") || h == "soundcloud.com");
    if !same_site || parsed.path().len() < 2 {
        return Err(ApiError::Unprocessable(format!(
            "`{url}` is not a SoundCloud track URL (like {}/artist/track)",
            web.as_str().trim_end_matches('/')
        )));
    }
    Ok(())
}

/// Which track a removal means (a DELETE has no body, so it is in the query).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveQuery {
    /// The `id` of the track meant, as the show listed it (0 for a record whose `id` is
    /// null); when another track is at the position now, 409 and nothing changes.
    #[param(minimum = 0)]
    track_id: Option<i64>,
}

/// Remove a track from a show; the tracks after it move up.
#[utoipa::path(delete, path = "/admin/shows/{id}/tracks/{position}", tag = TAG,
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("id" = i64, Path, description = "The show's id"),
        ("position" = i64, Path, minimum = 1, maximum = 4294967295_u32, description = "The track's position"),
        RemoveQuery,
    ),
    responses(
        (status = 200, description = "The whole show after the edit", body = Show),
        (status = 400, description = "The id, position or `track_id` is not a number in its \
            range", body = ErrorBody),
        (status = 404, description = "No show with that id, or no track at that position",
            body = ErrorBody),
        (status = 409, description = "`track_id` names another track than the one at that \
            position now (the playlist changed); nothing changed", body = ErrorBody),
        AdminAuthErrors, StorageFailed,
    ),
)]
pub async fn remove_track(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((show_id, position)): ApiPath<(i64, u32)>,
    ApiQuery(query): ApiQuery<RemoveQuery>,
) -> Result<Json<Show>, ApiError> {
    require_week(&state, &caller.rights, show_id).await?;
    let expected = expected_track(query.track_id, ApiError::BadRequest)?;
    let show = state
        .store
        .remove_track(show_id, position, expected)
        .await?;
    Ok(Json(show_view(&state, &show)))
}

/// Where a track moves to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// The track's new position, 1 to n; the others shift (past the last track: 409).
    #[schema(minimum = 1, maximum = 4294967295_u32)]
    #[serde(deserialize_with = "integer::required")]
    to: i64,
    /// The `id` of the track meant, as the show listed it (0 for a record whose `id` is
    /// null); when another track is at the position now, 409 and nothing changes.
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    #[serde(default, deserialize_with = "integer::optional")]
    track_id: Option<i64>,
}

/// Move a track to another position in its show.
#[utoipa::path(post, path = "/admin/shows/{id}/tracks/{position}/move", tag = TAG,
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("id" = i64, Path, description = "The show's id"),
        ("position" = i64, Path, minimum = 1, maximum = 4294967295_u32, description = "The track's position now"),
    ),
    request_body = MoveBody,
    responses(
        (status = 200, description = "The whole show after the edit", body = Show),
        (status = 400, description = "The id or position is not a number in its range, the body \
            is not JSON, or no `Content-Type: application/json`", body = ErrorBody),
        (status = 404, description = "No show with that id, or no track at that position",
            body = ErrorBody),
        (status = 409, description = "`track_id` names another track than the one at that \
            position now (the playlist changed), or `to` is past the show's last track; nothing \
            changed", body = ErrorBody),
        (status = 422, description = "`to` missing or out of range, a negative `track_id`, or \
            an unknown field", body = ErrorBody),
        AdminAuthErrors, TooLarge, StorageFailed,
    ),
)]
pub async fn move_track(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((show_id, position)): ApiPath<(i64, u32)>,
    ApiJson(body): ApiJson<MoveBody>,
) -> Result<Json<Show>, ApiError> {
    require_week(&state, &caller.rights, show_id).await?;
    let to = position_value("to", body.to)?;
    let expected = expected_track(body.track_id, ApiError::Unprocessable)?;
    let show = state
        .store
        .move_track(show_id, position, to, expected)
        .await?;
    Ok(Json(show_view(&state, &show)))
}
