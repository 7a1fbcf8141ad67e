//! `ntr-bench floor-server --port P`: the bare floor the performance targets compare the hub with. An axum 0.8
//! WebSocket server with one `tokio::sync::broadcast` channel and one forwarding task per
//! socket, nothing else: no auth, no log, no store. `POST /trigger` broadcasts its body as one
//! text frame and answers at once; `GET /count` says how many sockets are subscribed (used only
//! while connecting, never while measuring).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use tokio::sync::broadcast;

/// The same queue bound as the hub (64), so both drop a lagging socket the same way.
const CAPACITY: usize = 64;
/// The same socket buffer sizes the hub uses: only memory differs with them, not speed.
const BUFFER: usize = 4 * 1024;

type Tx = broadcast::Sender<Utf8Bytes>;

pub fn run(port: u16) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(port))
}

async fn serve(port: u16) -> anyhow::Result<()> {
    let (tx, _) = broadcast::channel::<Utf8Bytes>(CAPACITY);
    let app = Router::new()
        .route("/ws", get(upgrade))
        .route("/trigger", post(trigger))
        .route("/count", get(count))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let stop = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await?;
    Ok(())
}

async fn upgrade(State(tx): State<Tx>, ws: WebSocketUpgrade) -> Response {
    ws.read_buffer_size(BUFFER)
        .write_buffer_size(BUFFER)
        .on_upgrade(move |socket| forward(socket, tx.subscribe()))
}

/// The one task per socket: broadcast → socket, until either side ends.
async fn forward(mut socket: WebSocket, mut rx: broadcast::Receiver<Utf8Bytes>) {
    loop {
        tokio::select! {
            frame = rx.recv() => match frame {
                Ok(text) => {
                    if socket.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn trigger(State(tx): State<Tx>, body: Bytes) -> StatusCode {
    match Utf8Bytes::try_from(body) {
        Ok(text) => {
            let _ = tx.send(text);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn count(State(tx): State<Tx>) -> String {
    tx.receiver_count().to_string()
}
