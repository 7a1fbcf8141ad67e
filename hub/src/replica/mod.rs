//! This hub as one replica of a station: its session with the database, the leadership, and
//! what it hears from the other replicas.
//!
//! Replicas share everything through the database; this task keeps the rest in step. It
//! passes the other replicas' announces to the broadcaster and their show edits to the store's
//! listeners, asks for the leadership once a second (so another replica takes over within a
//! second or two of the leader's death, well inside the 10 s the poller may be stopped), and,
//! when the session's connection is lost, gives the leadership up at once (another replica may
//! have it a moment later), reconnects with backoff and catches up by seq.
//!
//! What runs once per station — the SoundCloud poller, the deliveries to targets, the
//! reminders' and alerts' deliveries — waits on [`Leadership`] before each step. On SQLite the
//! hub is the only one and leads from the start.

mod presence;

use std::time::Duration;

use ntr_common::backoff::Backoff;
use ntr_common::shutdown::Shutdown;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::broadcast::Broadcaster;
use crate::leadership::Leadership;
use crate::relays::Relays;
use crate::store::{Notice, ReplicaSession, Store, StoreError};
use crate::targets::Targets;
use presence::{Others, Said};

/// How often a replica asks for the leadership and proves its session alive.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// The longest a check may take before the session counts as lost (a link that drops packets
/// rather than closing).
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Who hears what the other replicas commit and say.
pub struct Heard {
    pub broadcaster: Broadcaster,
    /// Woken for another replica's announce, in case this replica leads.
    pub targets: Targets,
    /// Told which relays are connected elsewhere, and asked which are connected here.
    pub relays: Relays,
}

/// This replica's name and its first session, opened by the start (so a name that is taken
/// stops the start).
pub struct Replica {
    pub name: String,
    store: Store,
    session: ReplicaSession,
    leader: watch::Sender<bool>,
}

impl Replica {
    /// Opens the session under `name`: [`StoreError::ReplicaTaken`] if a running replica has it.
    pub async fn join(store: &Store, name: String) -> Result<Replica, StoreError> {
        let mut session = store.open_session(&name).await?;
        let leads = session.try_lead().await?;
        Ok(Replica {
            name,
            store: store.clone(),
            session,
            leader: watch::channel(leads).0,
        })
    }

    pub fn leadership(&self) -> Leadership {
        Leadership::following(self.leader.subscribe())
    }

    /// Keeps the session (reopening it when lost) until shutdown.
    pub async fn run(mut self, heard: Heard, mut shutdown: Shutdown) {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        loop {
            self.serve(&heard, &mut shutdown).await;
            self.leader
                .send_if_modified(|leads| std::mem::replace(leads, false));
            if shutdown.is_shutdown() {
                return;
            }
            tracing::warn!(replica = %self.name, "lost the connection to the database; reconnecting");
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_delay()) => {}
                    _ = shutdown.wait() => return,
                }
                match self.store.open_session(&self.name).await {
                    Ok(session) => {
                        self.session = session;
                        backoff.connected();
                        tracing::info!(replica = %self.name, "connected to the database again");
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot reconnect to the database yet"),
                }
            }
            // What was committed while the session was down was not heard of.
            heard.broadcaster.catch_up();
        }
    }

    /// Serves one session until it is lost or shutdown.
    async fn serve(&mut self, heard: &Heard, shutdown: &mut Shutdown) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut others = Others::default();
        loop {
            tokio::select! {
                notice = self.session.next_notice() => match notice {
                    Some(notice) => self.hear(notice, heard, &mut others),
                    None => return,
                },
                _ = tick.tick() => {
                    others.forget_quiet(Instant::now());
                    tell_others(heard, &others);
                    if !self.check(heard).await {
                        return;
                    }
                }
                _ = shutdown.wait() => return,
            }
        }
    }

    fn hear(&self, notice: Notice, heard: &Heard, others: &mut Others) {
        match notice {
            Notice::Announced { seq, frame } => {
                heard.broadcaster.heard(seq, frame);
                heard.targets.announced();
            }
            Notice::ShowChanged(id) => self.store.show_changed_elsewhere(id),
            Notice::SessionEnded(id) => self.store.session_ended_elsewhere(id),
            // A replica hears its own presence too.
            Notice::Presence { replica, .. } if replica == self.name => {}
            Notice::Presence { replica, said } => {
                others.heard(replica, &said, Instant::now());
                tell_others(heard, others);
            }
        }
    }

    /// Says this replica's presence and asks for the leadership; false when the session is
    /// lost (an error, or no answer within [`CHECK_TIMEOUT`]).
    async fn check(&mut self, heard: &Heard) -> bool {
        let said = Said {
            subscribers: heard.broadcaster.local_subscribers(),
            relays: heard.relays.connected_here(),
        };
        let check = async {
            self.session
                .tell_presence(&self.name, &said.to_text())
                .await?;
            self.session.try_lead().await
        };
        match tokio::time::timeout(CHECK_TIMEOUT, check).await {
            Ok(Ok(leads)) => {
                let now = self
                    .leader
                    .send_if_modified(|l| std::mem::replace(l, leads) != leads);
                if now && leads {
                    tracing::info!(replica = %self.name, "this replica leads now: it polls SoundCloud and delivers to targets");
                }
                true
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the database session failed");
                false
            }
            Err(_) => false,
        }
    }
}

/// Passes what the other replicas said on to the parts that show it.
fn tell_others(heard: &Heard, others: &Others) {
    heard.broadcaster.set_elsewhere(others.subscribers());
    heard.relays.set_elsewhere(others.relays());
}
