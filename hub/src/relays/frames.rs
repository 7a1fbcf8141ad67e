//! `relays` frames for dashboards: sent whenever the relays' state changes, at most
//! [`FRAMES_PER_SECOND`] a second, and never twice the same.

use std::time::Duration;

use ntr_protocol::ServerMessage;

use super::Relays;
use crate::broadcast::Broadcaster;
use ntr_common::shutdown::Shutdown;

pub const FRAMES_PER_SECOND: u32 = 2;
const GAP: Duration = Duration::from_millis(1000 / FRAMES_PER_SECOND as u64);

pub async fn run_frames(relays: Relays, broadcaster: Broadcaster, mut shutdown: Shutdown) {
    let mut last = relays.infos();
    loop {
        tokio::select! {
            _ = relays.wait_changed() => {}
            _ = shutdown.wait() => return,
        }
        let now = relays.infos();
        if now != last {
            broadcaster.to_dashboards(&ServerMessage::Relays {
                relays: now.clone(),
            });
            last = now;
        }
        // Changes during the gap are folded into the next frame: `Notify` keeps one wake-up.
        tokio::select! {
            _ = tokio::time::sleep(GAP) => {}
            _ = shutdown.wait() => return,
        }
    }
}
