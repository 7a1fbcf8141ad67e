//! Old-plugin clients coming and going: WebSocket clients of `/ws/announce` that authenticate
//! with the first message `{"type":"subscribe","token":…}` on the relay's token, never ack,
//! stay a seeded while and leave. They are the listeners that must cost the relay nothing.
//! Each session checks that what it got came in seq order without repeats.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::plan::millis;
use crate::subscribers::announce_seq;

/// What the plugin sessions saw, all lanes together.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Sessions that subscribed.
    pub sessions: u64,
    /// Attempts that could not connect (the hub was down).
    pub refused: u64,
    /// Announce frames received.
    pub lines: u64,
    /// Frames whose seq was not above the session's previous one.
    pub out_of_order: u64,
}

pub struct Plugins {
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    lanes: Vec<JoinHandle<()>>,
}

impl Plugins {
    /// `lanes` clients at a time on `url` with `token`, each lane with its own seeded stream.
    pub fn start(url: &str, token: &str, lanes: usize, rngs: Vec<StdRng>) -> Plugins {
        let tally = Arc::<Mutex<Tally>>::default();
        let stop = Arc::new(AtomicBool::new(false));
        let lanes = rngs
            .into_iter()
            .take(lanes)
            .map(|rng| {
                tokio::spawn(lane(
                    (url.to_string(), token.to_string()),
                    rng,
                    Arc::clone(&tally),
                    Arc::clone(&stop),
                ))
            })
            .collect();
        Plugins { tally, stop, lanes }
    }

    /// Ends every lane (each closes its socket) and returns the tally.
    pub async fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        for lane in self.lanes {
            let _ = lane.await;
        }
        self.tally
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn lane(
    (url, token): (String, String),
    mut rng: StdRng,
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let stay = millis(&mut rng, 1_000, 20_000);
        let away = millis(&mut rng, 300, 5_000);
        let seen = session(&url, &token, stay, &stop).await;
        {
            let mut t = tally.lock().unwrap_or_else(PoisonError::into_inner);
            match seen {
                None => t.refused += 1,
                Some((lines, out_of_order)) => {
                    t.sessions += 1;
                    t.lines += lines;
                    t.out_of_order += out_of_order;
                }
            }
        }
        tokio::time::sleep(away).await;
    }
}

/// One session of at most `stay`: (announce frames, frames out of order), or None when it
/// could not connect or subscribe.
async fn session(url: &str, token: &str, stay: Duration, stop: &AtomicBool) -> Option<(u64, u64)> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.ok()?;
    let subscribe = serde_json::json!({ "type": "subscribe", "token": token }).to_string();
    ws.send(Message::text(subscribe)).await.ok()?;
    let until = Instant::now() + stay;
    let (mut lines, mut out_of_order, mut last) = (0, 0, 0);
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        let frame = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
        match frame {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Some(seq) = announce_seq(&text) {
                    lines += 1;
                    if seq <= last {
                        out_of_order += 1;
                    }
                    last = seq;
                }
            }
            // A pause in the stream (Err), or another frame (status, ping).
            Err(_) | Ok(Some(Ok(_))) => {}
            // The hub went away (killed) or closed the socket: the session ends.
            Ok(_) => break,
        }
    }
    let _ = ws.close(None).await;
    Some((lines, out_of_order))
}
