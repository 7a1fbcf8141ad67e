//! `GET /events`: the announces as Server-Sent Events for the public page and anyone else
//! without a token. Each is `event: announce`, `id: SEQ` and the announce frame's JSON as
//! `data`, so a browser's `EventSource` resumes by itself: its reconnect sends `Last-Event-ID`
//! and first gets what it missed from the replay window. Announces are public (they go to IRC);
//! so is a show's playlist, and `event: show_changed` (no `id`, data
//! `{"type":"show_changed","show_id":N}`) says that one changed (an edit, a poll), so the
//! public page redraws it. Nothing else of the WebSocket (status, acks, relays) is sent.
//!
//! The stream reads the same broadcast channel as the WebSocket subscribers. A client more
//! than the channel's capacity behind is cut off (its stream ends) and reconnects with
//! `Last-Event-ID`; nobody else waits for it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::Stream;
use jiff::{SignedDuration, Timestamp};
use ntr_protocol::{Seq, ServerMessage, SinceQuery};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use super::responses::StorageFailed;
use crate::broadcast::Frame;
use crate::state::AppState;
use crate::store::Announcement;
use crate::ws::WsShutdown;

/// Comment lines this often keep proxies and the idle-connection timeout from closing a quiet
/// stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Every announce as Server-Sent Events: `event: announce`, `id: SEQ`, and the announce
/// message of `/ws/announce` as `data`.
///
/// A reconnect with `Last-Event-ID` (or a first request with `?since=`) first gets every
/// announce after that seq from the replay window. A comment line every 15 s keeps the
/// stream open through proxies.
#[utoipa::path(get, path = "/events", tag = crate::openapi::STREAMS_TAG,
    params(
        ("since" = Option<u64>, Query, description = "Replay the announces after this seq first"),
        ("Last-Event-ID" = Option<u64>, Header,
            description = "Sent by EventSource on a reconnect; wins over `since`"),
    ),
    responses(
        (status = 200, description = "The event stream, until the client or the hub leaves",
            content_type = "text/event-stream", body = String),
        (status = 400, description = "`Last-Event-ID` or `since` is not a seq", body = ErrorBody),
        StorageFailed,
    ),
)]
pub async fn events(
    State(state): State<AppState>,
    axum::Extension(WsShutdown(shutdown)): axum::Extension<WsShutdown>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SinceQuery>,
) -> Result<Response, ApiError> {
    let since = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<Seq>().ok())
                .ok_or_else(|| {
                    ApiError::BadRequest("Last-Event-ID must be an announce seq".into())
                })?,
        ),
        None => query.since,
    };
    // Listen before reading the replay, so nothing announced meanwhile falls in between; the
    // replay's last seq then filters out what would arrive twice.
    let rx = state.broadcaster.listen();
    let shows = state.store.show_changes();
    let (replay, last) = match since {
        Some(since) => replay(&state, since).await?,
        None => (Vec::new(), Seq::ZERO),
    };
    let mut shutdown = shutdown;
    let feed = Feed {
        replay: replay.into_iter(),
        rx,
        shows,
        last,
        stop: Box::pin(async move { shutdown.wait().await }),
        keep_alive: keep_alive(),
    };
    let mut response = Body::from_stream(stream(feed)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    // nginx would otherwise buffer the stream and deliver lines in batches.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The logged announces after `since` within the replay window, and the seq up to which live
/// frames are duplicates (the log's end at most: a `since` from another database must not
/// silence the live stream).
async fn replay(state: &AppState, since: Seq) -> Result<(Vec<Announcement>, Seq), ApiError> {
    let window = SignedDuration::from_secs(state.config.hub.replay_window_seconds as i64);
    let end = state.store.last_seq().await?;
    let missed = state
        .store
        .announcements_since(since, Timestamp::now() - window)
        .await?;
    let last = missed.last().map_or(since.min(end), |a| a.seq);
    Ok((missed, last))
}

/// One client's position in the stream.
struct Feed {
    replay: std::vec::IntoIter<Announcement>,
    rx: broadcast::Receiver<Frame>,
    /// Ids of shows whose playlist changed.
    shows: broadcast::Receiver<i64>,
    last: Seq,
    /// Pinned once: a fresh shutdown future per event would register every listener with
    /// the shutdown channel again on every announce.
    stop: Pin<Box<dyn Future<Output = ()> + Send>>,
    keep_alive: tokio::time::Interval,
}

/// One event on the wire. Written by hand rather than with axum's `Event`: the fields are
/// fixed (a number and one line of JSON), and the bytes are all a listener costs per announce.
fn announce_event(seq: Seq, json: &str) -> Bytes {
    Bytes::from(format!("event: announce\nid: {seq}\ndata: {json}\n\n"))
}

/// A show's playlist changed. Without an `id`, so the client's `Last-Event-ID` stays the
/// last announce's.
fn show_changed_event(show_id: i64) -> Bytes {
    let json = ServerMessage::ShowChanged { show_id }.to_json();
    Bytes::from(format!("event: show_changed\ndata: {json}\n\n"))
}

fn stream(feed: Feed) -> impl Stream<Item = Result<Bytes, Infallible>> {
    futures_util::stream::unfold(feed, |mut feed| async move {
        if let Some(a) = feed.replay.next() {
            let event = announce_event(a.seq, &a.to_message().to_json());
            return Some((Ok(event), feed));
        }
        loop {
            tokio::select! {
                biased;
                frame = feed.rx.recv() => match frame {
                    Ok(Frame { seq: Some(seq), text }) if seq > feed.last => {
                        feed.last = seq;
                        return Some((Ok(announce_event(seq, text.as_str())), feed));
                    }
                    // Status frames, and announces the replay already sent.
                    Ok(_) => {}
                    // Too far behind (or the hub is stopping): end; the client resumes.
                    Err(RecvError::Lagged(_) | RecvError::Closed) => return None,
                },
                change = feed.shows.recv() => match change {
                    Ok(show_id) => return Some((Ok(show_changed_event(show_id)), feed)),
                    // Changes were missed: end, and the page redraws every show when it is back.
                    Err(RecvError::Lagged(_) | RecvError::Closed) => return None,
                },
                _ = feed.keep_alive.tick() => {
                    return Some((Ok(Bytes::from_static(b":\n\n")), feed));
                }
                _ = &mut feed.stop => return None,
            }
        }
    })
}

/// Ticks every [`KEEP_ALIVE`], first one interval from now; a slow reader skips missed ticks.
fn keep_alive() -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}
