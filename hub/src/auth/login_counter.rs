//! Where failed logins are counted: in this hub's memory ([`LoginLimiter`]) when it is the only
//! hub of its database, or in the database when replicas share it, so that a guesser gets the
//! same 10 attempts per 3 minutes whichever replica the balancer sends each guess to. The rule
//! is the limiter's either way: counted before the password is checked, one at a time per
//! address, and a right password gives back only its own attempt.

use std::net::IpAddr;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::limiter::{Attempt, Locked, LoginLimiter, MAX_FAILURES, WINDOW, counted_as};
use crate::store::{AttemptCount, LoginAttempt, Store, StoreError};

pub enum LoginCounter {
    Memory(LoginLimiter),
    Shared(Store),
}

/// An attempt counted against its address; give it back with [`LoginCounter::succeeded`].
#[must_use]
pub enum Counted {
    Memory(Attempt),
    Shared(i64),
}

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    Locked(#[from] Locked),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LoginCounter {
    /// Counts in memory on a database of its own, in the database when it is shared.
    pub fn for_store(store: &Store) -> LoginCounter {
        if store.is_shared() {
            LoginCounter::Shared(store.clone())
        } else {
            LoginCounter::Memory(LoginLimiter::default())
        }
    }

    /// Counts an attempt from `addr` before its password is checked, or refuses it.
    pub async fn try_attempt(&self, addr: IpAddr) -> Result<Counted, Refused> {
        let store = match self {
            LoginCounter::Memory(limiter) => {
                return Ok(Counted::Memory(limiter.try_attempt(addr)?));
            }
            LoginCounter::Shared(store) => store,
        };
        let now = Timestamp::now();
        let window = SignedDuration::try_from(WINDOW).unwrap_or(SignedDuration::MAX);
        let attempt = LoginAttempt {
            address: counted_as(addr).to_string(),
            at: now,
            window,
            max: MAX_FAILURES as u32,
        };
        match store.count_login_attempt(attempt).await? {
            AttemptCount::Counted(id) => Ok(Counted::Shared(id)),
            AttemptCount::Full { oldest } => {
                let left = (oldest + window).duration_since(now);
                let retry_after = Duration::try_from(left).unwrap_or(Duration::ZERO);
                Err(Refused::Locked(Locked { retry_after }))
            }
        }
    }

    /// The attempt's password was right: it no longer counts as a failure.
    pub async fn succeeded(&self, attempt: Counted) {
        match (self, attempt) {
            (LoginCounter::Memory(limiter), Counted::Memory(a)) => limiter.succeeded(a),
            (LoginCounter::Shared(store), Counted::Shared(id)) => {
                if let Err(e) = store.forget_login_attempt(id).await {
                    // It stays counted: one attempt fewer for this address for 3 minutes.
                    tracing::warn!(error = %e, "cannot give back a right login's attempt");
                }
            }
            // An attempt only ever goes back to the counter that counted it.
            _ => {}
        }
    }
}
