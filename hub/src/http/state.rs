//! The state every handler receives: explicit, cloned per request, built once by `startup`.

use std::sync::Arc;

use jiff::Timestamp;

use crate::announce::Announcer;
use crate::auth::login_counter::LoginCounter;
use crate::auth::logins::Logins;
use crate::auth::session::SessionKeys;
use crate::auth::{Tokens, password};
use crate::broadcast::Broadcaster;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::poller::Pollers;
use crate::relays::Relays;
use crate::station::ShowDef;
use crate::store::{Show, ShowError, Store};
use crate::week::Week;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// This replica's name among the station's (`[store] replica`, default `HOSTNAME:PORT`).
    pub replica: Arc<str>,
    pub store: Store,
    /// One poller per SoundCloud show.
    pub pollers: Arc<Pollers>,
    pub tokens: Arc<Tokens>,
    pub sessions: Arc<SessionKeys>,
    /// Who may log in to the dashboard, with their password hashes and rights.
    pub logins: Arc<Logins>,
    pub login_limiter: Arc<LoginCounter>,
    /// Password checks, two at a time.
    pub password_checks: password::Checks,
    pub broadcaster: Broadcaster,
    /// Configured relays: connections, reported status, cursors.
    pub relays: Relays,
    pub metrics: Arc<Metrics>,
    /// Records acks, a relay's or a target's.
    pub acks: crate::acks::Acks,
    /// `[[targets]]`: their panels and metrics (the announcer pokes their workers).
    pub targets: crate::targets::Targets,
    /// Announces and corrections, start to end.
    pub announcer: Announcer,
    /// `GET /playlist` is what every listener's bot asks for; its JSON is rebuilt only when
    /// the store or the week changes.
    pub playlist_cache: Arc<std::sync::Mutex<std::collections::HashMap<String, CachedPlaylist>>>,
}

/// The serialised current show and what it was built from.
#[derive(Clone)]
pub struct CachedPlaylist {
    pub week_start: Timestamp,
    pub shows_version: u64,
    pub on_air: bool,
    pub body: bytes::Bytes,
}

impl AppState {
    /// The show the station means by "now": the one on air, else the one that airs next.
    pub fn show_now(&self) -> Result<&ShowDef, ShowError> {
        Ok(self.config.station.on_air_or_next(Timestamp::now())?)
    }

    /// The current week of the show "now" (see [`AppState::show_now`]).
    pub async fn current_show(&self) -> Result<Show, ShowError> {
        self.store
            .current_show(self.show_now()?, Timestamp::now())
            .await
    }

    /// The week before that.
    pub async fn previous_show(&self) -> Result<Show, ShowError> {
        self.store
            .previous_show(self.show_now()?, Timestamp::now())
            .await
    }

    /// Whether `show`'s week `week` is on air; never for a show no longer configured.
    pub fn is_on_air(&self, show: &str, week: Week) -> bool {
        self.config
            .station
            .get(show)
            .is_some_and(|def| def.schedule.is_on_air(week, Timestamp::now()))
    }
}
