//! Login attempts in SQL (see the face's `login_attempts`): each count in a transaction that
//! holds the address's advisory lock, so replicas counting the same address at once count one
//! at a time.

use super::{Postgres, time, to_ms};
use crate::store::login_attempts::{AttemptCount, LoginAttempt};
use crate::store::{StoreError, stored};

impl Postgres {
    pub async fn count_login_attempt(&self, a: LoginAttempt) -> Result<AttemptCount, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let at = to_ms(stored(a.at));
        let cutoff = at - a.window.as_millis() as i64;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('ntr login ' || $1, 0))",
            &[&a.address],
        )
        .await?;
        tx.execute("DELETE FROM login_attempts WHERE at <= $1", &[&cutoff])
            .await?;
        let row = tx
            .query_one(
                "SELECT COUNT(*), COALESCE(MIN(at), $2) FROM login_attempts WHERE address = $1",
                &[&a.address, &at],
            )
            .await?;
        let count: i64 = row.try_get(0)?;
        if count >= i64::from(a.max) {
            return Ok(AttemptCount::Full {
                oldest: time(&row, 1)?,
            });
        }
        let id: i64 = tx
            .query_one(
                "INSERT INTO login_attempts (address, at) VALUES ($1, $2) RETURNING id",
                &[&a.address, &at],
            )
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(AttemptCount::Counted(id))
    }

    pub async fn forget_login_attempt(&self, id: i64) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute("DELETE FROM login_attempts WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }
}
