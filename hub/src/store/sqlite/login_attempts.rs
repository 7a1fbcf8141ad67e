//! Login attempts in SQL (see the face's `login_attempts`): one transaction per count, which
//! SQLite's single writer runs one at a time.

use rusqlite::params;

use super::{Sqlite, time, to_ms};
use crate::store::login_attempts::{AttemptCount, LoginAttempt};
use crate::store::{StoreError, stored};

impl Sqlite {
    pub async fn count_login_attempt(&self, a: LoginAttempt) -> Result<AttemptCount, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let at = to_ms(stored(a.at));
            let cutoff = at - a.window.as_millis() as i64;
            tx.execute("DELETE FROM login_attempts WHERE at <= ?1", params![cutoff])?;
            let (count, oldest): (u32, _) = tx.query_row(
                "SELECT COUNT(*), COALESCE(MIN(at), ?2) FROM login_attempts WHERE address = ?1",
                params![a.address, at],
                |r| Ok((r.get(0)?, time(r, 1)?)),
            )?;
            if count >= a.max {
                return Ok(AttemptCount::Full { oldest });
            }
            tx.execute(
                "INSERT INTO login_attempts (address, at) VALUES (?1, ?2)",
                params![a.address, at],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(AttemptCount::Counted(id))
        })
        .await
    }

    pub async fn forget_login_attempt(&self, id: i64) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute("DELETE FROM login_attempts WHERE id = ?1", params![id])?;
            Ok(())
        })
        .await
    }
}
