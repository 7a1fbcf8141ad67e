//! Endpoints that change things: announce, refresh from SoundCloud, and the DJ's manual edits
//! of a show. All need [`Admin`]: the bearer admin token, or a session on a same-origin request.

use axum::Json;
use axum::extract::State;
use ntr_protocol::{Announced, Seq};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use super::views::show_view;
use crate::announce::{AnnounceError, AnnounceRequest, announce};
use crate::auth::extract::Admin;
use crate::state::AppState;
use crate::store::TrackInfo;
use crate::web_url::WebUrl;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnounceBody {
    show_id: Option<i64>,
    position: Option<i64>,
    text: Option<String>,
    /// The seq of an earlier announce this one corrects.
    corrects: Option<Seq>,
}

impl AnnounceBody {
    fn into_request(self) -> Result<AnnounceRequest, ApiError> {
        match (self.show_id, self.position, self.text) {
            (None, None, Some(text)) => Ok(AnnounceRequest::Text(text)),
            (show_id, Some(position), None) => Ok(AnnounceRequest::Track {
                show_id,
                position: position_value("position", position)?,
            }),
            (_, None, None) => Err(ApiError::Unprocessable(
                "send {\"position\": N}, {\"show_id\": S, \"position\": N} or {\"text\": \"…\"}"
                    .into(),
            )),
            _ => Err(ApiError::Unprocessable(
                "send either a position (with an optional show_id) or a text, not both".into(),
            )),
        }
    }
}

fn position_value(name: &str, n: i64) -> Result<u32, ApiError> {
    u32::try_from(n)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| ApiError::Unprocessable(format!("{name} must be 1 or more (got {n})")))
}

pub async fn announce_handler(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(body): ApiJson<AnnounceBody>,
) -> Result<Json<Announced>, ApiError> {
    let corrects = body.corrects;
    let request = body.into_request()?;
    let a = announce(&state, request, corrects)
        .await
        .map_err(|e| match e {
            AnnounceError::Store(e) => ApiError::from(e),
            AnnounceError::Show(e) => ApiError::from(e),
            AnnounceError::EmptyText => ApiError::Unprocessable(e.to_string()),
        })?;
    Ok(Json(Announced {
        status: "announced".into(),
        seq: a.seq,
        message: a.message.as_str().to_string(),
        subscribers: state.broadcaster.subscribers(),
    }))
}

pub async fn refresh(State(state): State<AppState>, _admin: Admin) -> Json<Value> {
    let status = state.poller.poll_now().await;
    Json(json!({ "status": if status.ok { "ok" } else { "error" }, "poll": status }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddTrackBody {
    url: Option<String>,
    title: Option<String>,
    artist: Option<String>,
    position: Option<i64>,
}

pub async fn add_track(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(show_id): ApiPath<i64>,
    ApiJson(body): ApiJson<AddTrackBody>,
) -> Result<Json<ntr_protocol::Show>, ApiError> {
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
            state.poller.client().resolve_track(link.as_str()).await?
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

pub async fn remove_track(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath((show_id, position)): ApiPath<(i64, u32)>,
) -> Result<Json<ntr_protocol::Show>, ApiError> {
    let show = state.store.remove_track(show_id, position).await?;
    Ok(Json(show_view(&state, &show)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    to: i64,
}

pub async fn move_track(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath((show_id, position)): ApiPath<(i64, u32)>,
    ApiJson(body): ApiJson<MoveBody>,
) -> Result<Json<ntr_protocol::Show>, ApiError> {
    let to = position_value("to", body.to)?;
    let show = state.store.move_track(show_id, position, to).await?;
    Ok(Json(show_view(&state, &show)))
}
