//! `GET /ws/announce`: authenticates a subscriber, replays what it missed (`?since=`, or for a
//! relay without it, everything after its cursor), then forwards the broadcast to it until it
//! leaves, falls too far behind (4008), stops answering pings, logs out (a dashboard: 1008), or
//! the hub shuts down (1001).
//! Acks and relay states it sends are recorded. A socket gets the lines of the shows its relay
//! is given (`shows`), narrowed to one by `?show=`, and every station-wide line; a DJ's socket
//! (a dashboard session or a scoped token) gets only its shows' frames (`ws_scope`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use jiff::{SignedDuration, Timestamp};
use ntr_protocol::{
    ClientMessage, Seq, ServerMessage,
    close::{BAD_AUTH, GOING_AWAY, LOGGED_OUT, TOO_SLOW},
};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, timeout};
use tokio_util::task::AbortOnDropHandle;

use crate::auth::Role;
use crate::auth::limiter::client_addr;
use crate::broadcast::{Frame, SubscriberKind, Subscription, status_message};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiQuery;
use crate::http::guards::{Credentials, credentials, cross_origin_hint, same_origin};
use crate::http::server::limits::ConnectionSlot;
use crate::http::show_query::ShowQuery;
use crate::http::state::AppState;
use crate::http::ws_scope::ShowScope;
use crate::log_throttle::Verdict;
use crate::relays::{RelayConnection, RelayName};
use crate::show_filter::ShowFilter;
use crate::station::{Rights, ShowSlug};
use crate::store::{SessionWatch, Store};
use ntr_common::shutdown::Shutdown;

pub const PING_INTERVAL: Duration = Duration::from_secs(25);
pub const PONG_TIMEOUT: Duration = Duration::from_secs(10);
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);
/// A refused first-message login is closed no sooner than this after the socket opened.
pub const REFUSE_AFTER: Duration = Duration::from_secs(1);
/// A socket write that takes this long means the peer stopped reading; drop it.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Small buffers: announce lines are short, and memory per subscriber is a target.
const BUFFER_SIZE: usize = 4 * 1024;
const MAX_INCOMING: usize = 16 * 1024;

/// The shutdown signal handed to each socket task.
#[derive(Clone)]
pub struct WsShutdown(pub Shutdown);

/// The announce broadcast (WebSocket); messages, `?since=` and close codes are in
/// `docs/protocol.md`.
///
/// Authenticate with a bearer token (admin or relay), a session cookie from the same origin,
/// or, with neither, a first `{"type": "subscribe", "token": "…"}` message within 10 s.
#[utoipa::path(get, path = "/ws/announce", tag = crate::http::tags::STREAMS,
    params(("since" = Option<u64>, Query, minimum = 0, maximum = 9223372036854775807_i64,
        description = "Replay every announce after this seq from the replay window first"),
        ShowQuery),
    security((), ("bearer" = []), ("cookie" = [])),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade, or `since` is not a seq",
            body = ErrorBody),
        (status = 401, description = "A wrong bearer token", body = ErrorBody),
        (status = 403, description = "A session cookie on a request from another origin",
            body = ErrorBody),
        (status = 404, description = "No show has that slug", body = ErrorBody),
    ),
)]
pub async fn announce_socket(
    State(state): State<AppState>,
    axum::Extension(WsShutdown(shutdown)): axum::Extension<WsShutdown>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<AnnounceQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    auth: WsAuth,
) -> Response {
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(r) => return ApiError::BadRequest(r.body_text()).into_response(),
    };
    let show = ShowQuery { show: query.show };
    let show = match show.named(&state.config.station) {
        Ok(show) => show.map(|s| s.slug.clone()),
        Err(e) => return e.into_response(),
    };
    let address = client_addr(peer, &headers, &state.config.hub.trusted_proxies);
    if let WsAuth::Authenticated(Subscriber::Relay(name)) = &auth
        && let Err(e) = state.relays.start_cursor(name, &state.store).await
    {
        tracing::error!(relay = %name, error = %e, "cannot start a relay cursor");
    }
    let socket = Socket {
        state,
        since: query.since,
        show,
        address,
        shutdown,
    };
    upgrade
        .read_buffer_size(BUFFER_SIZE)
        .write_buffer_size(BUFFER_SIZE)
        .max_message_size(MAX_INCOMING)
        .max_frame_size(MAX_INCOMING)
        .on_upgrade(move |ws| socket.serve(ws, auth))
}

/// The query of `/ws/announce`: `?since=` and `?show=`, both optional.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AnnounceQuery {
    since: Option<Seq>,
    show: Option<String>,
}

/// Who is on the other end of a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscriber {
    /// A relay token: the named relay (or an old plugin using its token).
    Relay(RelayName),
    /// The admin token or a scoped token: counted as a subscriber, and sees acks (and, for
    /// the station admin, relay states) of the shows it may act on.
    Token(Rights),
    /// A logged-in dashboard, by its session id (a logout closes the socket): sees what a
    /// token of the same rights sees, is not counted.
    Dashboard { session: String, rights: Rights },
}

impl Subscriber {
    fn from_role(role: Role) -> Subscriber {
        match role {
            Role::Caller(principal) => Subscriber::Token(principal.rights),
            Role::Relay(name) => Subscriber::Relay(name),
        }
    }

    fn kind(&self) -> SubscriberKind {
        match self {
            Subscriber::Relay(_) => SubscriberKind::Relay,
            Subscriber::Token(_) => SubscriberKind::AdminToken,
            Subscriber::Dashboard { .. } => SubscriberKind::Dashboard,
        }
    }

    /// The filter of a show-scoped subscriber; `None` for relays and the station admin.
    fn scope(&self) -> Option<ShowScope> {
        match self {
            Subscriber::Relay(_) => None,
            Subscriber::Token(rights) | Subscriber::Dashboard { rights, .. } => {
                ShowScope::of(rights)
            }
        }
    }
}

/// How the upgrade request authenticated itself.
pub enum WsAuth {
    Authenticated(Subscriber),
    /// No credentials on the upgrade: the first message must be a subscribe with a token.
    /// Until it comes, the socket keeps its connection's place under the per-address and
    /// global caps; a WebSocket that has authenticated counts against neither.
    FirstMessage(Option<ConnectionSlot>),
}

impl FromRequestParts<AppState> for WsAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match credentials(parts, state).await? {
            Credentials::Bearer(role) => Ok(WsAuth::Authenticated(Subscriber::from_role(role))),
            Credentials::Session { id, principal }
                if same_origin(&parts.headers, &state.config.hub.public_url) =>
            {
                Ok(WsAuth::Authenticated(Subscriber::Dashboard {
                    session: id,
                    rights: principal.rights,
                }))
            }
            Credentials::Session { .. } => Err(ApiError::Forbidden(cross_origin_hint(
                &state.config.hub.public_url,
            ))),
            Credentials::None => Ok(WsAuth::FirstMessage(ConnectionSlot::of(parts))),
        }
    }
}

/// One upgraded socket before it knows who it serves.
struct Socket {
    state: AppState,
    since: Option<Seq>,
    /// `?show=`: only that show's lines (and station-wide ones).
    show: Option<ShowSlug>,
    address: IpAddr,
    shutdown: Shutdown,
}

/// The sending half of a subscriber's socket, the relay whose cursor its writes move, and
/// whose lines it is sent.
struct Outgoing {
    sink: Sink,
    relay: Option<Arc<RelayConnection>>,
    shows: ShowFilter,
}

impl Outgoing {
    async fn text(&mut self, text: Utf8Bytes) -> Result<(), ()> {
        send(&mut self.sink, text).await
    }

    /// Writes an announce of `show` if the socket gets that show's lines; for a relay, notes
    /// that it was written, or that it was passed over.
    async fn announce_of(
        &mut self,
        seq: Seq,
        show: Option<&str>,
        text: Utf8Bytes,
    ) -> Result<(), ()> {
        if self.shows.passes(show) {
            return self.announce(seq, text).await;
        }
        if let Some(relay) = &self.relay {
            relay.skipped(seq);
        }
        Ok(())
    }

    /// Writes an announce; for a relay, notes that it was written.
    async fn announce(&mut self, seq: Seq, text: Utf8Bytes) -> Result<(), ()> {
        if let Some(relay) = &self.relay {
            relay.sending(seq);
        }
        send(&mut self.sink, text).await?;
        if let Some(relay) = &self.relay {
            relay.written(seq);
        }
        Ok(())
    }

    async fn close(&mut self, code: u16) {
        let message = close(code, ntr_protocol::close::describe(code));
        let _ = timeout(SEND_TIMEOUT, self.sink.send(message)).await;
    }
}

impl Socket {
    async fn serve(self, socket: WebSocket, auth: WsAuth) {
        let opened = Instant::now();
        let (sink, mut stream) = socket.split();
        let mut out = Outgoing {
            sink,
            relay: None,
            shows: ShowFilter::all(),
        };
        let who = match auth {
            WsAuth::Authenticated(who) => who,
            WsAuth::FirstMessage(slot) => {
                match first_message_auth(&mut stream, &self.state).await {
                    Ok(who) => {
                        drop(slot);
                        who
                    }
                    // The slot is kept until the close: a refused plugin still counts under the caps.
                    Err(failure) => return self.refuse(&mut out, failure, opened).await,
                }
            }
        };
        if let Subscriber::Relay(name) = &who {
            out.relay = self.state.relays.connect(name, self.address).map(Arc::new);
        }
        out.shows = self.shows_for(out.relay.as_deref());
        // A relay's cursor (created now if it has none) is read before subscribing: every line
        // announced after it is then either replayed or sent live.
        let resume = resume_point(out.relay.as_deref(), &self.state).await;
        // Subscribe before replaying, so nothing published meanwhile is missed; the replay's
        // last seq then filters out what would arrive twice.
        let sub = self.state.broadcaster.subscribe(who.kind());
        let session = match &who {
            Subscriber::Dashboard { session, .. } => {
                Some(self.state.store.watch_session(session.clone()).await)
            }
            _ => None,
        };
        let mut scope = who.scope();
        let Ok(last_seq) = self.greet(&mut out, &who, scope.as_mut(), resume).await else {
            return;
        };
        // Incoming frames (acks, status, pongs, close) are read by a task of their own, so a
        // broadcast wake-up only polls what it needs: the channel, and timers already armed.
        let pong = Arc::new(AtomicBool::new(false));
        let reader = AbortOnDropHandle::new(tokio::spawn(read_loop(
            stream,
            self.state.clone(),
            out.relay.clone(),
            Arc::clone(&pong),
        )));
        let live = Live {
            out,
            sub,
            last_seq,
            pong,
            session,
            scope,
            store: self.state.store.clone(),
        };
        live.run(reader, self.shutdown).await;
    }

    /// Whose lines this socket is sent: its relay's shows (every show for other subscribers),
    /// narrowed to `?show=`.
    fn shows_for(&self, relay: Option<&RelayConnection>) -> ShowFilter {
        let given = relay.map_or_else(ShowFilter::all, |r| r.shows().clone());
        match &self.show {
            Some(show) => given.narrow(show),
            None => given,
        }
    }

    /// What a subscriber gets before the live stream: the replay (after `?since=`, or for a
    /// relay without it, after its cursor; the admin token and dashboards have none), the
    /// subscriber count, and for the station admin's dashboards the relays' state now.
    /// Answers the seq up to which live announces would be duplicates.
    async fn greet(
        &self,
        out: &mut Outgoing,
        who: &Subscriber,
        mut scope: Option<&mut ShowScope>,
        resume: Option<Seq>,
    ) -> Result<Seq, ()> {
        let last_seq = match self.since.or(resume) {
            Some(since) => replay(out, &self.state, scope.as_deref_mut(), since).await?,
            None => Seq::ZERO,
        };
        let status = status_message(self.state.broadcaster.subscribers()).to_json();
        out.text(status.into()).await?;
        if who.kind() != SubscriberKind::Relay && scope.is_none() {
            let relays = ServerMessage::Relays {
                relays: self.state.relays.infos(),
            };
            out.text(relays.to_json().into()).await?;
        }
        Ok(last_seq)
    }

    /// A first-message login that failed: logged (a few times a minute per address at most),
    /// then closed with 4001 no sooner than [`REFUSE_AFTER`] after the socket opened, so a
    /// plugin that reconnects at once tries about once a second instead of a thousand times.
    async fn refuse(&self, out: &mut Outgoing, failure: FirstMessageFailure, opened: Instant) {
        let address = self.address;
        match self.state.relays.refused(address) {
            Verdict::Log { unlogged_repeats } if failure.is_worth_a_warning() => {
                tracing::warn!(
                    %address,
                    reason = failure.describe(),
                    repeats_in_the_last_minute = unlogged_repeats,
                    "first-message subscribe refused (close 4001)"
                );
            }
            _ => tracing::debug!(%address, reason = failure.describe(), "subscribe refused"),
        }
        tokio::time::sleep_until(opened + REFUSE_AFTER).await;
        out.close(BAD_AUTH).await;
    }
}

/// The live part of a subscription: forwards the broadcast until the socket ends.
struct Live {
    out: Outgoing,
    sub: Subscription,
    /// Live announces up to this seq were already sent by the replay.
    last_seq: Seq,
    /// Set by the reader task when a pong arrives.
    pong: Arc<AtomicBool>,
    /// A dashboard's session, whose logout closes the socket.
    session: Option<SessionWatch>,
    /// A DJ's filter: only its shows' frames are forwarded.
    scope: Option<ShowScope>,
    store: Store,
}

impl Live {
    async fn run(mut self, mut reader: AbortOnDropHandle<()>, shutdown: Shutdown) {
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
                frame = self.sub.rx.recv() => match frame {
                    Ok(frame) => {
                        if self.forward(frame).await.is_err() {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(_)) => return self.out.close(TOO_SLOW).await,
                    Err(RecvError::Closed) => return,
                },
                frame = recv_dashboard(&mut self.sub.dashboard) => {
                    if let Some(frame) = frame
                        && self.forward(frame).await.is_err()
                    {
                        return;
                    }
                }
                _ = ping.tick() => {
                    self.pong.store(false, Ordering::Relaxed);
                    if send_msg(&mut self.out.sink, Message::Ping(Default::default())).await.is_err() {
                        return;
                    }
                    if !awaiting_pong {
                        pong_timer.as_mut().reset(Instant::now() + PONG_TIMEOUT);
                        awaiting_pong = true;
                    }
                }
                _ = &mut pong_timer, if awaiting_pong => {
                    if !self.pong.load(Ordering::Relaxed) {
                        return; // no pong within 10 s: the client is gone
                    }
                    awaiting_pong = false;
                }
                () = session_ended(self.session.as_mut()) => return self.out.close(LOGGED_OUT).await,
                _ = &mut reader => return, // the client closed, or its stream failed
                _ = &mut stop => return self.out.close(GOING_AWAY).await,
            }
        }
    }
}

impl Live {
    /// Sends a broadcast frame, unless the replay sent it already or it is another show's.
    async fn forward(&mut self, frame: Frame) -> Result<(), ()> {
        if frame.seq.is_some_and(|seq| seq <= self.last_seq) {
            return Ok(());
        }
        if let Some(scope) = &mut self.scope
            && !scope.passes(&frame, &self.store).await
        {
            return Ok(());
        }
        match frame.seq {
            Some(seq) => {
                let show = frame.show.as_deref();
                self.out.announce_of(seq, show, frame.text).await
            }
            None => self.out.text(frame.text).await,
        }
    }
}

/// Returns when the dashboard session behind a socket ends; never for other subscribers.
async fn session_ended(session: Option<&mut SessionWatch>) {
    match session {
        Some(watch) => watch.ended().await,
        None => std::future::pending().await,
    }
}

/// Reads what the client sends until it closes: acks and relay states are recorded, pongs
/// noted.
async fn read_loop(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    state: AppState,
    relay: Option<Arc<RelayConnection>>,
    pong: Arc<AtomicBool>,
) {
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Text(text) => handle_text(&state, relay.as_deref(), &text).await,
            Message::Pong(_) => pong.store(true, Ordering::Relaxed),
            Message::Close(_) => return,
            _ => {}
        }
    }
}

/// A relay's cursor, created at the newest seq if it has none; `None` for other subscribers (or
/// when the database fails: the relay then gets the live stream only).
async fn resume_point(relay: Option<&RelayConnection>, state: &AppState) -> Option<Seq> {
    let relay = relay?;
    relay
        .resume_point(&state.store)
        .await
        .inspect_err(
            |e| tracing::error!(relay = %relay.name(), error = %e, "cannot read a relay cursor"),
        )
        .ok()
}

/// Sends the logged announcements after `since` from the replay window and returns the seq up
/// to which live frames are duplicates: the last one replayed, or, when there was nothing to
/// replay, the log's end (a `since` from another database must not silence the live stream).
async fn replay(
    out: &mut Outgoing,
    state: &AppState,
    mut scope: Option<&mut ShowScope>,
    since: Seq,
) -> Result<Seq, ()> {
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
        last = a.seq;
        if let Some(scope) = scope.as_deref_mut()
            && !scope.announce_passes(a.seq, a.show.as_deref())
        {
            continue;
        }
        let text = Utf8Bytes::from(a.to_message().to_json());
        out.announce_of(a.seq, a.show.as_deref(), text).await?;
    }
    Ok(last)
}

/// The next dashboard frame (an ack, the relays' state); never resolves for a relay. A
/// dashboard that lags only misses some of them (the next relays frame is whole again), so a
/// lag is skipped rather than fatal.
async fn recv_dashboard(rx: &mut Option<tokio::sync::broadcast::Receiver<Frame>>) -> Option<Frame> {
    match rx {
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

/// Why a first-message login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstMessageFailure {
    WrongToken,
    /// The first message was not a subscribe (or not JSON).
    NotSubscribe,
    /// Nothing within 10 s.
    Silent,
    /// The client left first.
    Gone,
}

impl FirstMessageFailure {
    fn describe(self) -> &'static str {
        match self {
            FirstMessageFailure::WrongToken => "wrong token",
            FirstMessageFailure::NotSubscribe => "the first message was not a subscribe",
            FirstMessageFailure::Silent => "no subscribe message within 10 s",
            FirstMessageFailure::Gone => "the client left before subscribing",
        }
    }

    /// A client that simply left is not a misconfigured plugin.
    fn is_worth_a_warning(self) -> bool {
        self != FirstMessageFailure::Gone
    }
}

/// The seed plugins' handshake: `{"type":"subscribe","token":"…"}` within 10 s.
async fn first_message_auth(
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
    state: &AppState,
) -> Result<Subscriber, FirstMessageFailure> {
    let deadline = tokio::time::Instant::now() + SUBSCRIBE_TIMEOUT;
    loop {
        // Control frames (a client's keep-alive ping) may come before the subscribe message.
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(Some(Ok(Message::Text(text)))) => {
                return match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Subscribe { token }) => state
                        .tokens
                        .role_of(&token)
                        .map(Subscriber::from_role)
                        .ok_or(FirstMessageFailure::WrongToken),
                    _ => Err(FirstMessageFailure::NotSubscribe),
                };
            }
            Ok(Some(Ok(_))) => return Err(FirstMessageFailure::NotSubscribe),
            Ok(None | Some(Err(_))) => return Err(FirstMessageFailure::Gone),
            Err(_) => return Err(FirstMessageFailure::Silent),
        }
    }
}

async fn handle_text(state: &AppState, relay: Option<&RelayConnection>, text: &str) {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Ack { seq, target }) => handle_ack(state, relay, seq, &target).await,
        Ok(ClientMessage::RelayStatus(status)) => {
            // Only a relay has a row to show it in; the admin token's status means nothing.
            if let Some(relay) = relay
                && let Err(e) = relay.status(&state.store, status).await
            {
                tracing::warn!(relay = %relay.name(), error = %e, "cannot save that a relay acks");
            }
        }
        // A repeated subscribe, or anything unknown, is ignored: older plugins send extras.
        Ok(ClientMessage::Subscribe { .. } | ClientMessage::Unknown) | Err(_) => {}
    }
}

async fn handle_ack(state: &AppState, relay: Option<&RelayConnection>, seq: Seq, target: &str) {
    let target: String = crate::line::AnnounceLine::sanitize(target)
        .as_str()
        .chars()
        .take(100)
        .collect();
    if target.is_empty() {
        return;
    }
    let recorded = match relay {
        // Only an ack of a line written to that socket counts, with its targets capped.
        Some(relay) => match relay.acked(&state.store, seq, &target).await {
            Ok(true) => {
                let name = relay.name().as_str();
                state.acks.record_for_relay(name, seq, &target).await
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(relay = %relay.name(), error = %e, "cannot save a relay cursor");
                false
            }
        },
        None => state.acks.record(seq, &target).await,
    };
    if recorded {
        tracing::info!(%seq, target = %target, "delivered");
    }
}
