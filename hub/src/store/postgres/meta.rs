//! The key/value facts in SQL: the `meta` table.

use super::{Postgres, col};
use crate::store::StoreError;

impl Postgres {
    pub async fn meta(&self, key: String) -> Result<Option<String>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
            .await?;
        row.map(|r| col(&r, 0)).transpose()
    }

    pub async fn set_meta(&self, key: String, value: String) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await?;
        Ok(())
    }

    pub async fn insert_meta_once(&self, key: String, value: String) -> Result<String, StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT(key) DO NOTHING",
            &[&key, &value],
        )
        .await?;
        let row = c
            .query_one("SELECT value FROM meta WHERE key = $1", &[&key])
            .await?;
        col(&row, 0)
    }
}
