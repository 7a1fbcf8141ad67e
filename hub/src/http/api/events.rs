//! `GET /events`: the announces as Server-Sent Events for the public page and anyone else
//! without a token. Each is `event: announce`, `id: SEQ` and the announce frame's JSON as
//! `data`, so a browser's `EventSource` resumes by itself: its reconnect sends `Last-Event-ID`
//! and first gets what it missed from the replay window. Announces are public (they go to IRC);
//! so is a show's playlist, and `event: show_changed` (no `id`, data
//! `{"type":"show_changed","show_id":N}`) says that one changed (an edit, a poll), so the
//! public page redraws it. Nothing else of the WebSocket (status, acks, relays) is sent.
//!
//! `?show=SLUG` narrows the announces (live and replayed) to that show's and the station-wide
//! ones; `show_changed` events still come for every show, since they only ask for a redraw.
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
use futures_util::stream::{self, PollNext};
use futures_util::{Stream, StreamExt, future};
use jiff::{SignedDuration, Timestamp};
use ntr_protocol::{Seq, ServerMessage, SinceQuery};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, IntervalStream};

use crate::broadcast::Frame;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiQuery;
use crate::http::responses::StorageFailed;
use crate::http::show_query::ShowQuery;
use crate::http::state::AppState;
use crate::http::ws::WsShutdown;
use crate::show_filter::ShowFilter;
use crate::store::Announcement;

/// Comment lines this often keep proxies and the idle-connection timeout from closing a quiet
/// stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Every announce as Server-Sent Events: `event: announce`, `id: SEQ`, and the announce
/// message of `/ws/announce` as `data`.
///
/// A reconnect with `Last-Event-ID` (or a first request with `?since=`) first gets every
/// announce after that seq from the replay window. A comment line every 15 s keeps the
/// stream open through proxies.
#[utoipa::path(get, path = "/events", tag = crate::http::tags::STREAMS,
    params(
        ("since" = Option<u64>, Query, minimum = 0, maximum = 9223372036854775807_i64, description = "Replay the announces after this seq first"),
        ("Last-Event-ID" = Option<u64>, Header, minimum = 0, maximum = 9223372036854775807_i64,
            description = "Sent by EventSource on a reconnect; wins over `since`"),
        ShowQuery,
    ),
    responses(
        (status = 200, description = "The event stream, until the client or the hub leaves",
            content_type = "text/event-stream", body = String),
        (status = 400, description = "`Last-Event-ID` or `since` is not a seq", body = ErrorBody),
        (status = 404, description = "No show has that slug", body = ErrorBody),
        StorageFailed,
    ),
)]
pub async fn events(
    State(state): State<AppState>,
    axum::Extension(WsShutdown(shutdown)): axum::Extension<WsShutdown>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SinceQuery>,
    ApiQuery(show): ApiQuery<ShowQuery>,
) -> Result<Response, ApiError> {
    let filter = match show.named(&state.config.station)? {
        Some(show) => ShowFilter::only(vec![show.slug.clone()]),
        None => ShowFilter::all(),
    };
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
        Some(since) => replay(&state, since, &filter).await?,
        None => (Vec::new(), Seq::ZERO),
    };
    let mut shutdown = shutdown;
    let feed = Feed {
        replay: replay.into_iter(),
        rx,
        filter,
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

/// The announces after `since` in the replay window that pass `filter`, and the seq up to
/// which live frames would be duplicates (the log's end at most: a `since` from another
/// database must not silence the live stream).
async fn replay(
    state: &AppState,
    since: Seq,
    filter: &ShowFilter,
) -> Result<(Vec<Announcement>, Seq), ApiError> {
    let window = SignedDuration::from_secs(state.config.hub.replay_window_seconds as i64);
    let end = state.store.last_seq().await?;
    let mut missed = state
        .store
        .announcements_since(since, Timestamp::now() - window)
        .await?;
    let last = missed.last().map_or(since.min(end), |a| a.seq);
    missed.retain(|a| filter.passes(a.show.as_deref()));
    Ok((missed, last))
}

/// One client's position in the stream.
struct Feed {
    replay: std::vec::IntoIter<Announcement>,
    rx: broadcast::Receiver<Frame>,
    /// Whose announces the client asked for.
    filter: ShowFilter,
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

/// The replay, then the live events until the client falls too far behind, the show changes
/// are lost, or the hub stops.
///
/// Built from streams that live as long as the listener, so a listener stays registered with
/// the show-change channel and the keep-alive timer between announces. A `select!` per event
/// registered and dropped those on every announce, 10,000 times over: that made the SSE
/// fan-out slower than the WebSocket's.
fn stream(feed: Feed) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let Feed {
        replay,
        rx,
        filter,
        shows,
        last,
        stop,
        keep_alive,
    } = feed;
    let replayed =
        stream::iter(replay).map(|a| Ok(announce_event(a.seq, &a.to_message().to_json())));
    let keep_alive =
        IntervalStream::new(keep_alive).map(|_| Item::Event(Bytes::from_static(b":\n\n")));
    let live = first_ready(
        until_end(announces(rx, last, filter)),
        first_ready(
            until_end(show_changes(shows)),
            first_ready(keep_alive, stream::once(stop).map(|()| Item::End)),
        ),
    );
    replayed.chain(live.scan((), |_, item| {
        future::ready(match item {
            Item::Event(bytes) => Some(Ok(bytes)),
            Item::End => None,
        })
    }))
}

/// What the live part yields: an event to write, or the end of the stream.
enum Item {
    Event(Bytes),
    End,
}

/// `events`, then [`Item::End`] once it ends.
fn until_end(events: impl Stream<Item = Bytes>) -> impl Stream<Item = Item> {
    events
        .map(Item::Event)
        .chain(stream::once(future::ready(Item::End)))
}

/// Both streams merged, `first` served whenever it has something: announces go before show
/// changes, and those before a keep-alive comment.
fn first_ready<A, B>(first: A, second: B) -> impl Stream<Item = Item>
where
    A: Stream<Item = Item>,
    B: Stream<Item = Item>,
{
    stream::select_with_strategy(first, second, |_: &mut ()| PollNext::Left)
}

/// Live announces newer than `last` (the replay sent the others); ends when the listener is
/// too far behind (it resumes with `Last-Event-ID`) or the hub stops.
fn announces(
    rx: broadcast::Receiver<Frame>,
    last: Seq,
    filter: ShowFilter,
) -> impl Stream<Item = Bytes> {
    BroadcastStream::new(rx)
        .scan(last, move |last, frame| {
            future::ready(match frame {
                Ok(Frame {
                    seq: Some(seq),
                    show,
                    text,
                }) if seq > *last => {
                    *last = seq;
                    let wanted = filter.passes(show.as_deref());
                    Some(wanted.then(|| announce_event(seq, text.as_str())))
                }
                // Status frames, and announces the replay already sent.
                Ok(_) => Some(None),
                Err(BroadcastStreamRecvError::Lagged(_)) => None,
            })
        })
        .filter_map(future::ready)
}

/// `show_changed` events; ends when changes were missed (the page redraws every show when it
/// is back).
fn show_changes(shows: broadcast::Receiver<i64>) -> impl Stream<Item = Bytes> {
    BroadcastStream::new(shows).scan((), |_, change| {
        future::ready(match change {
            Ok(show_id) => Some(show_changed_event(show_id)),
            Err(BroadcastStreamRecvError::Lagged(_)) => None,
        })
    })
}

/// Ticks every [`KEEP_ALIVE`], first one interval from now; a slow reader skips missed ticks.
fn keep_alive() -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}
