//! A WebSocket subscriber for tests (tokio-tungstenite), with the hub's three ways to log in.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What a read produced.
#[derive(Debug)]
pub enum Event {
    Json(Value),
    Closed(Option<u16>),
    Timeout,
}

/// Connects to `ws://…/ws/announce{query}` with extra headers; `Err` carries the HTTP status
/// of a refused upgrade.
pub async fn connect(base: &str, query: &str, headers: &[(&str, String)]) -> Result<Ws, u16> {
    let url = format!(
        "{}/ws/announce{query}",
        base.replacen("http://", "ws://", 1)
    );
    let mut req = url.into_client_request().expect("ws request");
    for (k, v) in headers {
        req.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            v.parse().expect("header value"),
        );
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("ws connect: {e}"),
    }
}

pub async fn bearer(base: &str, query: &str, token: &str) -> Ws {
    connect(base, query, &[("authorization", format!("Bearer {token}"))])
        .await
        .expect("bearer upgrade accepted")
}

/// The next JSON message (pings are answered by tungstenite while reading).
pub async fn next(ws: &mut Ws, limit: Duration) -> Event {
    loop {
        match tokio::time::timeout(limit, ws.next()).await {
            Err(_) => return Event::Timeout,
            Ok(None | Some(Err(_))) => return Event::Closed(None),
            Ok(Some(Ok(Message::Text(t)))) => {
                return Event::Json(serde_json::from_str(&t).expect("server sends JSON"));
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Event::Closed(frame.map(|f: CloseFrame| u16::from(f.code)));
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// The next message of the given `type`, skipping others (status and ack frames, mostly).
pub async fn next_of(ws: &mut Ws, kind: &str, limit: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match next(ws, left).await {
            Event::Json(v) if v["type"] == kind => return v,
            Event::Json(_) => {}
            other => panic!("waiting for a {kind} message: {other:?}"),
        }
    }
}

pub async fn send_json(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .expect("ws send");
}

/// Fails if an announce frame arrives within `span`; other frames (status, acks) are skipped.
pub async fn no_announce(ws: &mut Ws, span: Duration) {
    let until = std::time::Instant::now() + span;
    while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
        match next(ws, left).await {
            Event::Json(v) if v["type"] == "announce" => panic!("no announce was due: {v}"),
            Event::Timeout => return,
            Event::Closed(code) => panic!("the socket closed: {code:?}"),
            Event::Json(_) => {}
        }
    }
}
