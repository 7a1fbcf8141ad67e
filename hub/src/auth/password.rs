//! Dashboard passwords: argon2id hashes in PHC string form (`$argon2id$v=19$…`).

use std::sync::Arc;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

/// Password checks that may run at once. Each takes tens of milliseconds of a core: a crowd of
/// logins (or a guesser) then queues here instead of taking every core, and the database, on
/// a thread of its own, never waits behind them.
pub const CONCURRENT_CHECKS: usize = 2;

/// Why a password cannot be hashed, or a configured hash cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must not be empty")]
    Empty,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("not a PHC hash string ({0})")]
    NotPhc(String),
    #[error("algorithm {0} is not argon2")]
    NotArgon2(String),
}

/// Hashes a password with argon2id and a fresh random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks that a configured hash is an argon2 PHC string, so a mistake shows at start-up, not
/// at the DJ's first login.
pub fn check_hash_format(phc: &str) -> Result<(), PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|e| PasswordError::NotPhc(e.to_string()))?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(PasswordError::NotArgon2(parsed.algorithm.to_string()));
    }
    Ok(())
}

/// Verifies in constant time (argon2 compares its outputs with `subtle`).
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// Runs password checks on the blocking pool, at most [`CONCURRENT_CHECKS`] at a time.
#[derive(Clone)]
pub struct Checks {
    permits: Arc<Semaphore>,
}

/// The check could not run (its task panicked or the runtime is shutting down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the password check did not finish")]
pub struct CheckFailed;

impl Default for Checks {
    fn default() -> Self {
        Checks {
            permits: Arc::new(Semaphore::new(CONCURRENT_CHECKS)),
        }
    }
}

impl Checks {
    /// Whether `password` matches the argon2 hash `phc`.
    pub async fn verify(&self, password: String, phc: Arc<str>) -> Result<bool, CheckFailed> {
        self.run(move || verify(&password, &phc)).await
    }

    async fn run<F>(&self, check: F) -> Result<bool, CheckFailed>
    where
        F: FnOnce() -> bool + Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(|_| CheckFailed)?;
        tokio::task::spawn_blocking(check)
            .await
            .map_err(|_| CheckFailed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_two_checks_run_at_once() {
        let checks = Checks::default();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (checks, running, most) = (checks.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    checks
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                            true
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("task"), Ok(true));
        }
        assert_eq!(most.load(Ordering::SeqCst), CONCURRENT_CHECKS);
    }

    #[test]
    fn round_trip() {
        let h = hash("correct horse").expect("hashes");
        assert!(h.starts_with("$argon2id$"));
        check_hash_format(&h).expect("valid format");
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("correct horse", "garbage"));
        assert!(matches!(
            check_hash_format("$2b$12$abcdefghijklmnopqrstuv"),
            Err(PasswordError::NotPhc(_) | PasswordError::NotArgon2(_))
        ));
        assert_eq!(hash(""), Err(PasswordError::Empty));
    }
}
