//! Dashboard sessions. The cookie only carries a signed session id; the row here is what makes
//! logout and expiry real: a replayed cookie whose row is ended or expired is refused. Sessions
//! also belong to the dashboard password they were made under: a start under another one ends
//! them all.

use jiff::Timestamp;

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
        }
    }

    /// The live session with this id, if it exists, has not ended and has not expired.
    pub async fn live_session(&self, id: String) -> Result<Option<SessionRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.live_session(id).await,
        }
    }

    /// Ends the session (a logout): it is no longer live.
    pub async fn end_session(&self, id: String) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.end_session(id).await,
        }
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
        }
    }
}
