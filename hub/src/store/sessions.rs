//! Dashboard sessions. The cookie only carries a signed session id; the row here is what makes
//! logout and expiry real: a replayed cookie whose row is ended or expired is refused. Sessions
//! also belong to the dashboard password they were made under: a start under another one ends
//! them all. Whoever holds a session open (a dashboard's WebSocket) can watch for its end.

use jiff::Timestamp;
use tokio::sync::broadcast::error::RecvError;

use super::{Backend, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub username: String,
    pub expires_at: Timestamp,
}

impl Store {
    /// Stores a new session; sessions that expired or ended are forgotten on the way.
    pub async fn create_session(
        &self,
        id: String,
        username: String,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.create_session(id, username, expires_at).await,
            Backend::Postgres(db) => db.create_session(id, username, expires_at).await,
        }
    }

    /// The live session with this id, if it exists, has not ended and has not expired.
    pub async fn live_session(&self, id: String) -> Result<Option<SessionRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.live_session(id).await,
            Backend::Postgres(db) => db.live_session(id).await,
        }
    }

    /// Ends the session (a logout): it is no longer live, and its watchers hear it.
    pub async fn end_session(&self, id: String) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.end_session(id.clone()).await?,
            Backend::Postgres(db) => {
                db.end_session(id.clone()).await?;
                // The session's sockets on the other replicas close too.
                db.notify_session_ended(&id).await?;
            }
        }
        self.session_ended_elsewhere(id);
        Ok(())
    }

    /// Another replica ended session `id`: its watchers here hear it.
    pub fn session_ended_elsewhere(&self, id: String) {
        // An error only means nobody watches right now.
        let _ = self.session_ends.send(id);
    }

    /// Called at start with the fingerprint of the dashboard password: unless the sessions were
    /// made under that same password, every one of them ends, and from now on they belong to
    /// this one. Answers how many ended.
    pub async fn end_sessions_of_other_passwords(
        &self,
        fingerprint: String,
    ) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.end_sessions_of_other_passwords(fingerprint).await,
            Backend::Postgres(db) => db.end_sessions_of_other_passwords(fingerprint).await,
        }
    }

    /// [`Store::end_sessions_of_other_passwords`] for one of several users: unless `username`'s
    /// sessions were made under this password of theirs, they end (the others' stay).
    pub async fn end_sessions_of_changed_password(
        &self,
        username: String,
        fingerprint: String,
    ) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.end_sessions_of_changed_password(username, fingerprint)
                    .await
            }
            Backend::Postgres(db) => {
                db.end_sessions_of_changed_password(username, fingerprint)
                    .await
            }
        }
    }

    /// Watches the session `id` from now on; see [`SessionWatch::ended`].
    pub async fn watch_session(&self, id: String) -> SessionWatch {
        // Subscribed before the check, so an end in between is heard, not missed.
        let ends = self.session_ends.subscribe();
        let ended = matches!(self.live_session(id.clone()).await, Ok(None));
        SessionWatch {
            id,
            ends,
            store: self.clone(),
            ended,
        }
    }
}

/// One session's end, as something to wait for.
pub struct SessionWatch {
    id: String,
    ends: tokio::sync::broadcast::Receiver<String>,
    store: Store,
    ended: bool,
}

impl SessionWatch {
    /// Returns once the session has ended (it may have already); never while it stays live.
    pub async fn ended(&mut self) {
        while !self.ended {
            match self.ends.recv().await {
                Ok(id) => self.ended = id == self.id,
                // Missed ends may include this one: the row knows.
                Err(RecvError::Lagged(_)) => {
                    let live = self.store.live_session(self.id.clone()).await;
                    self.ended = matches!(live, Ok(None));
                }
                Err(RecvError::Closed) => std::future::pending().await,
            }
        }
    }
}
