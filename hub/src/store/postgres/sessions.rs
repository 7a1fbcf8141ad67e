//! Dashboard sessions in SQL: the `sessions` table, trimmed of dead rows whenever one is made,
//! and in `meta` the fingerprint of the password they were made under.

use jiff::Timestamp;

use super::{Postgres, col, time, to_ms};
use crate::store::{SessionRow, StoreError};

/// The `meta` key of the password fingerprint the sessions were made under.
const PASSWORD_KEY: &str = "sessions_password";

impl Postgres {
    pub async fn create_session(
        &self,
        id: String,
        username: String,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        let now = to_ms(Timestamp::now());
        // Expired rows are of no use to anyone; trimming them here keeps the table small
        // without a background task.
        c.execute(
            "DELETE FROM sessions WHERE expires_at < $1 OR ended_at IS NOT NULL",
            &[&now],
        )
        .await?;
        c.execute(
            "INSERT INTO sessions (id, username, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&id, &username, &now, &to_ms(expires_at)],
        )
        .await?;
        Ok(())
    }

    /// The live session with this id, if it exists, has not ended and has not expired.
    pub async fn live_session(&self, id: String) -> Result<Option<SessionRow>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT id, username, expires_at FROM sessions
                 WHERE id = $1 AND ended_at IS NULL AND expires_at > $2",
                &[&id, &to_ms(Timestamp::now())],
            )
            .await?;
        row.map(|r| {
            Ok(SessionRow {
                id: col(&r, 0)?,
                username: col(&r, 1)?,
                expires_at: time(&r, 2)?,
            })
        })
        .transpose()
    }

    pub async fn end_session(&self, id: String) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE sessions SET ended_at = $2 WHERE id = $1",
            &[&id, &to_ms(Timestamp::now())],
        )
        .await?;
        Ok(())
    }

    pub async fn end_sessions_of_other_passwords(
        &self,
        fingerprint: String,
    ) -> Result<usize, StoreError> {
        self.end_sessions_unless(None, fingerprint).await
    }

    pub async fn end_sessions_of_changed_password(
        &self,
        username: String,
        fingerprint: String,
    ) -> Result<usize, StoreError> {
        self.end_sessions_unless(Some(username), fingerprint).await
    }

    /// Unless the sessions (of `username`, or all of them) were made under `fingerprint`,
    /// ends them and records it; each user's fingerprint has a `meta` key of its own.
    async fn end_sessions_unless(
        &self,
        username: Option<String>,
        fingerprint: String,
    ) -> Result<usize, StoreError> {
        let key = match &username {
            Some(user) => format!("{PASSWORD_KEY}:{user}"),
            None => PASSWORD_KEY.to_owned(),
        };
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // FOR UPDATE: two hubs starting under a new password at once end the sessions once.
        let made_under = tx
            .query_opt("SELECT value FROM meta WHERE key = $1 FOR UPDATE", &[&key])
            .await?
            .map(|r| col::<String>(&r, 0))
            .transpose()?;
        if made_under.as_deref() == Some(fingerprint.as_str()) {
            return Ok(0);
        }
        let now = to_ms(Timestamp::now());
        let ended = tx
            .execute(
                "UPDATE sessions SET ended_at = $1
                 WHERE ended_at IS NULL AND ($2::text IS NULL OR username = $2)",
                &[&now, &username],
            )
            .await?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            &[&key, &fingerprint],
        )
        .await?;
        tx.commit().await?;
        Ok(usize::try_from(ended).unwrap_or(usize::MAX))
    }
}
