//! `GET /ws/announce`: authenticates a subscriber, replays what it missed (`?since=`), then
//! forwards the broadcast to it until it leaves, falls too far behind (4008), stops answering
//! pings, or the hub shuts down (1001). Acks it sends are recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use jiff::{SignedDuration, Timestamp};
use ntr_protocol::{
    ClientMessage, Seq, SinceQuery,
    close::{BAD_AUTH, GOING_AWAY, TOO_SLOW},
};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, timeout};
use tokio_util::task::AbortOnDropHandle;

use crate::api::error::ApiError;
use crate::api::extract::ApiQuery;
use crate::auth::Role;
use crate::auth::extract::{Credentials, credentials, cross_origin_hint, same_origin};
use crate::broadcast::{Frame, status_message};
use crate::server::limits::ConnectionSlot;
use crate::shutdown::Shutdown;
use crate::state::AppState;

pub const PING_INTERVAL: Duration = Duration::from_secs(25);
pub const PONG_TIMEOUT: Duration = Duration::from_secs(10);
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket write that takes this long means the peer stopped reading; drop it.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Small buffers: announce lines are short, and memory per subscriber is a target.
const BUFFER_SIZE: usize = 4 * 1024;
const MAX_INCOMING: usize = 16 * 1024;

/// The shutdown signal handed to each socket task.
#[derive(Clone)]
pub struct WsShutdown(pub Shutdown);

pub async fn announce_socket(
    State(state): State<AppState>,
    axum::Extension(WsShutdown(shutdown)): axum::Extension<WsShutdown>,
    ApiQuery(query): ApiQuery<SinceQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    auth: WsAuth,
) -> Response {
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(r) => return ApiError::BadRequest(r.body_text()).into_response(),
    };
    upgrade
        .read_buffer_size(BUFFER_SIZE)
        .write_buffer_size(BUFFER_SIZE)
        .max_message_size(MAX_INCOMING)
        .max_frame_size(MAX_INCOMING)
        .on_upgrade(move |socket| serve(socket, state, query.since, auth, shutdown))
}

/// How the upgrade request authenticated itself.
pub enum WsAuth {
    /// `acks`: whether this subscriber is a dashboard (admin or session) that wants ack frames.
    Authenticated { acks: bool },
    /// No credentials on the upgrade: the first message must be a subscribe with a token.
    /// Until it comes, the socket keeps its connection's place under the per-address and
    /// global caps; a WebSocket that has authenticated counts against neither.
    FirstMessage(Option<ConnectionSlot>),
}

impl FromRequestParts<AppState> for WsAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match credentials(parts, state).await? {
            Credentials::Bearer(role) => Ok(WsAuth::Authenticated {
                acks: role == Role::Admin,
            }),
            Credentials::Session(_)
                if same_origin(&parts.headers, &state.config.hub.public_url) =>
            {
                Ok(WsAuth::Authenticated { acks: true })
            }
            Credentials::Session(_) => Err(ApiError::Forbidden(cross_origin_hint(
                &state.config.hub.public_url,
            ))),
            Credentials::None => Ok(WsAuth::FirstMessage(ConnectionSlot::of(parts))),
        }
    }
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    since: Option<Seq>,
    auth: WsAuth,
    shutdown: Shutdown,
) {
    let (mut sink, mut stream) = socket.split();
    let wants_acks = match auth {
        WsAuth::Authenticated { acks } => acks,
        WsAuth::FirstMessage(slot) => match first_message_auth(&mut stream, &state).await {
            Some(role) => {
                drop(slot);
                role == Role::Admin
            }
            None => {
                let _ = timeout(
                    SEND_TIMEOUT,
                    sink.send(close(BAD_AUTH, "bad or missing token")),
                )
                .await;
                return;
            }
        },
    };
    // Subscribe before replaying, so nothing published meanwhile is missed; the replay's last
    // seq then filters out what would arrive twice.
    let mut sub = state.broadcaster.subscribe(wants_acks);
    let last_seq = match since {
        Some(since) => match replay(&mut sink, &state, since).await {
            Ok(seq) => seq,
            Err(()) => return,
        },
        None => Seq::ZERO,
    };
    let status = status_message(state.broadcaster.subscribers()).to_json();
    if send(&mut sink, status.into()).await.is_err() {
        return;
    }

    // Incoming frames (acks, pongs, close) are read by a task of their own, so a broadcast
    // wake-up only polls what it needs: the channel, and timers that are already armed.
    let pong = Arc::new(AtomicBool::new(false));
    let mut reader = AbortOnDropHandle::new(tokio::spawn(read_loop(
        stream,
        state.clone(),
        Arc::clone(&pong),
    )));
    let mut shutdown = shutdown;
    let stop = shutdown.wait();
    tokio::pin!(stop);
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let pong_timer = tokio::time::sleep(PONG_TIMEOUT);
    tokio::pin!(pong_timer);
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            biased;
            frame = sub.rx.recv() => match frame {
                Ok(Frame { seq: Some(seq), .. }) if seq <= last_seq => {}
                Ok(frame) => {
                    if send(&mut sink, frame.text).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let _ = timeout(SEND_TIMEOUT, sink.send(close(TOO_SLOW, ntr_protocol::close::describe(TOO_SLOW)))).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            ack = recv_ack(&mut sub.acks) => {
                if let Some(frame) = ack
                    && send(&mut sink, frame.text).await.is_err()
                {
                    return;
                }
            }
            _ = ping.tick() => {
                pong.store(false, Ordering::Relaxed);
                if send_msg(&mut sink, Message::Ping(Default::default())).await.is_err() {
                    return;
                }
                if !awaiting_pong {
                    pong_timer.as_mut().reset(Instant::now() + PONG_TIMEOUT);
                    awaiting_pong = true;
                }
            }
            _ = &mut pong_timer, if awaiting_pong => {
                if !pong.load(Ordering::Relaxed) {
                    return; // no pong within 10 s: the client is gone
                }
                awaiting_pong = false;
            }
            _ = &mut reader => return, // the client closed, or its stream failed
            _ = &mut stop => {
                let _ = timeout(SEND_TIMEOUT, sink.send(close(GOING_AWAY, "hub shutting down"))).await;
                return;
            }
        }
    }
}

/// Reads what the client sends until it closes: acks are recorded, pongs noted.
async fn read_loop(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    state: AppState,
    pong: Arc<AtomicBool>,
) {
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Text(text) => handle_text(&state, &text).await,
            Message::Pong(_) => pong.store(true, Ordering::Relaxed),
            Message::Close(_) => return,
            _ => {}
        }
    }
}

/// Sends the logged announcements after `since` from the replay window and returns the seq up
/// to which live frames are duplicates: the last one replayed, or, when there was nothing to
/// replay, the log's end (a `since` from another database must not silence the live stream).
async fn replay(sink: &mut Sink, state: &AppState, since: Seq) -> Result<Seq, ()> {
    let window = SignedDuration::from_secs(state.config.hub.replay_window_seconds as i64);
    let read = async {
        let end = state.store.last_seq().await?;
        let missed = state
            .store
            .announcements_since(since, Timestamp::now() - window)
            .await?;
        Ok::<_, crate::store::StoreError>((end, missed))
    };
    let (end, missed) = read
        .await
        .map_err(|e| tracing::error!(error = %e, "cannot read the replay"))?;
    let mut last = since.min(end);
    for a in &missed {
        send(sink, Utf8Bytes::from(a.to_message().to_json())).await?;
        last = a.seq;
    }
    Ok(last)
}

/// The next ack frame for a dashboard; never resolves for a relay. A dashboard that lags on
/// acks only misses some "landed" marks, so a lag is skipped rather than fatal.
async fn recv_ack(acks: &mut Option<tokio::sync::broadcast::Receiver<Frame>>) -> Option<Frame> {
    match acks {
        Some(rx) => match rx.recv().await {
            Ok(frame) => Some(frame),
            Err(RecvError::Lagged(_)) => None,
            Err(RecvError::Closed) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

async fn send(sink: &mut Sink, text: Utf8Bytes) -> Result<(), ()> {
    send_msg(sink, Message::Text(text)).await
}

async fn send_msg(sink: &mut Sink, msg: Message) -> Result<(), ()> {
    match timeout(SEND_TIMEOUT, sink.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The seed plugins' handshake: `{"type":"subscribe","token":"…"}` within 10 s.
async fn first_message_auth(
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
    state: &AppState,
) -> Option<Role> {
    let deadline = tokio::time::Instant::now() + SUBSCRIBE_TIMEOUT;
    loop {
        // Control frames (a client's keep-alive ping) may come before the subscribe message.
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(Message::Text(text)))) => {
                return match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Subscribe { token }) => state.tokens.role_of(&token),
                    _ => None,
                };
            }
            _ => return None,
        }
    }
}

async fn handle_text(state: &AppState, text: &str) {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Ack { seq, target }) => {
            let target: String = crate::line::AnnounceLine::sanitize(&target)
                .as_str()
                .chars()
                .take(100)
                .collect();
            if target.is_empty() {
                return;
            }
            match state.store.record_ack(seq, target.clone()).await {
                Ok(true) => {
                    tracing::info!(%seq, target = %target, "delivered");
                    state.metrics.ack();
                    state.broadcaster.ack(seq, &target);
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot record an ack"),
            }
        }
        // A repeated subscribe, or anything unknown, is ignored: older plugins send extras.
        Ok(
            ClientMessage::Subscribe { .. }
            | ClientMessage::RelayStatus(_)
            | ClientMessage::Unknown,
        )
        | Err(_) => {}
    }
}
