//! Waiting for a condition, polled with a deadline: tests wait for what they need to be true
//! instead of sleeping for a guessed time.

use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is checked again.
const EVERY: Duration = Duration::from_millis(20);

/// Checks `ready` every 20 ms until it returns `Some`, and returns that; `None` once `limit`
/// has passed.
pub async fn until<T, F>(limit: Duration, mut ready: F) -> Option<T>
where
    F: AsyncFnMut() -> Option<T>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = ready().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`; panics after `limit`.
pub async fn until_listening(port: u16, limit: Duration) {
    let listening = until(limit, async || {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(drop)
    })
    .await;
    assert!(
        listening.is_some(),
        "nothing listened on 127.0.0.1:{port} within {limit:?}"
    );
}
