//! Dashboard login attempts per client address, kept in the database so that replicas sharing
//! it count one station-wide limit (a hub alone counts in memory and never calls these).

use jiff::{SignedDuration, Timestamp};

use super::{Backend, Store, StoreError};

/// What counting an attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptCount {
    /// Counted, as this row (forget it when the password was right).
    Counted(i64),
    /// The address has `max` attempts in the window already; the oldest was at this instant.
    Full { oldest: Timestamp },
}

/// One address's attempt, as the backends count it.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    /// The client address (an IPv6 one by its /64), as text.
    pub address: String,
    pub at: Timestamp,
    pub window: SignedDuration,
    pub max: u32,
}

impl Store {
    /// Counts an attempt unless the address has `max` in the window; attempts older than the
    /// window (of every address) are forgotten on the way. Concurrent calls for one address
    /// count one at a time, so `max` holds however many arrive at once.
    pub async fn count_login_attempt(
        &self,
        attempt: LoginAttempt,
    ) -> Result<AttemptCount, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.count_login_attempt(attempt).await,
            Backend::Postgres(db) => db.count_login_attempt(attempt).await,
        }
    }

    /// Forgets counted attempt `id` (its password was right).
    pub async fn forget_login_attempt(&self, id: i64) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.forget_login_attempt(id).await,
            Backend::Postgres(db) => db.forget_login_attempt(id).await,
        }
    }
}
