//! Dashboard sessions in SQL: the `sessions` table, trimmed of dead rows whenever one is made,
//! and in `meta` the fingerprint of the password they were made under.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::{Sqlite, time, to_ms};
use crate::store::{SessionRow, StoreError};

/// The `meta` key of the password fingerprint the sessions were made under.
const PASSWORD_KEY: &str = "sessions_password";

impl Sqlite {
    pub async fn create_session(
        &self,
        id: String,
        username: String,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.call(move |c| {
            let now = to_ms(Timestamp::now());
            // Expired rows are of no use to anyone; trimming them here keeps the table small
            // without a background task.
            c.execute(
                "DELETE FROM sessions WHERE expires_at < ?1 OR ended_at IS NOT NULL",
                [now],
            )?;
            c.execute(
                "INSERT INTO sessions (id, username, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, username, now, to_ms(expires_at)],
            )?;
            Ok(())
        })
        .await
    }

    /// The live session with this id, if it exists, has not ended and has not expired.
    pub async fn live_session(&self, id: String) -> Result<Option<SessionRow>, StoreError> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT id, username, expires_at FROM sessions
                 WHERE id = ?1 AND ended_at IS NULL AND expires_at > ?2",
                params![id, to_ms(Timestamp::now())],
                |r| {
                    Ok(SessionRow {
                        id: r.get(0)?,
                        username: r.get(1)?,
                        expires_at: time(r, 2)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    pub async fn end_session(&self, id: String) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                "UPDATE sessions SET ended_at = ?2 WHERE id = ?1",
                params![id, to_ms(Timestamp::now())],
            )?;
            Ok(())
        })
        .await
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
        self.call(move |c| {
            let key = match &username {
                Some(user) => format!("{PASSWORD_KEY}:{user}"),
                None => PASSWORD_KEY.to_owned(),
            };
            let tx = c.transaction()?;
            let made_under: Option<String> = tx
                .query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| {
                    r.get(0)
                })
                .optional()?;
            if made_under.as_deref() == Some(fingerprint.as_str()) {
                return Ok(0);
            }
            let now = to_ms(Timestamp::now());
            let ended = match &username {
                Some(user) => tx.execute(
                    "UPDATE sessions SET ended_at = ?1 WHERE ended_at IS NULL AND username = ?2",
                    params![now, user],
                )?,
                None => tx.execute(
                    "UPDATE sessions SET ended_at = ?1 WHERE ended_at IS NULL",
                    [now],
                )?,
            };
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, fingerprint],
            )?;
            tx.commit()?;
            Ok(ended)
        })
        .await
    }
}
