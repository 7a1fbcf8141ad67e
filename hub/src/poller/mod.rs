//! The station's pollers: one per show whose playlist is its DJ's SoundCloud likes (a manual
//! show has none), all sharing one SoundCloud client, so the client_id, the backoff and the
//! request count are the station's.

mod show;

use std::sync::Arc;

use ntr_common::shutdown::Shutdown;

pub use show::{PollIntervals, PollStatus, Poller, next_wait as next_poll_wait};

use crate::leadership::Leadership;
use crate::soundcloud::SoundcloudClient;
use crate::station::{PlaylistSource, ShowSlug, Station};
use crate::store::Store;

pub struct Pollers {
    client: Arc<SoundcloudClient>,
    pollers: Vec<Arc<Poller>>,
}

impl Pollers {
    /// A poller for each SoundCloud show of `station`, with what earlier runs remembered.
    pub async fn new(
        client: SoundcloudClient,
        store: &Store,
        station: &Station,
        intervals: PollIntervals,
    ) -> Pollers {
        // A remembered client_id saves a scrape on every restart; a read error only costs it.
        let client_id = store.meta(show::META_CLIENT_ID).await.ok().flatten();
        client.remember_client_id(client_id);
        let client = Arc::new(client);
        let mut pollers = Vec::new();
        for def in station.shows() {
            if let PlaylistSource::SoundcloudLikes { user } = &def.source {
                let poller = Poller::new(
                    Arc::clone(&client),
                    store.clone(),
                    def,
                    user.clone(),
                    intervals,
                )
                .await;
                pollers.push(Arc::new(poller));
            }
        }
        Pollers { client, pollers }
    }

    /// The client every poller uses (the add-track handler resolves track URLs with it).
    pub fn client(&self) -> &SoundcloudClient {
        &self.client
    }

    /// `show`'s poller; `None` for a manual show.
    pub fn get(&self, show: &ShowSlug) -> Option<&Arc<Poller>> {
        self.pollers.iter().find(|p| p.show() == show)
    }

    /// The newest outcome of any show's poll.
    pub fn last_status(&self) -> Option<PollStatus> {
        self.pollers
            .iter()
            .filter_map(|p| p.last_status())
            .max_by_key(|s| s.at)
    }

    /// Polls run and polls failed since start, every show together.
    pub fn polls(&self) -> (u64, u64) {
        self.pollers
            .iter()
            .map(|p| p.polls())
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    }

    /// Runs every poller on its show's schedule until shutdown.
    pub fn spawn(&self, leadership: &Leadership, shutdown: &Shutdown) {
        for poller in &self.pollers {
            tokio::spawn(Arc::clone(poller).run(leadership.clone(), shutdown.clone()));
        }
    }
}
