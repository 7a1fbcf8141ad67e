//! The key/value facts in SQL: the `meta` table.

use rusqlite::{OptionalExtension, params};

use super::Sqlite;
use crate::store::StoreError;

impl Sqlite {
    pub async fn meta(&self, key: String) -> Result<Option<String>, StoreError> {
        self.call(move |c| {
            Ok(
                c.query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
        .await
    }

    pub async fn set_meta(&self, key: String, value: String) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn insert_meta_once(&self, key: String, value: String) -> Result<String, StoreError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
                params![key, value],
            )?;
            Ok(
                c.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
    }
}
