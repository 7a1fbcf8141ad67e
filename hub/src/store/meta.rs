//! Small persistent facts that are not worth a table: the resolved SoundCloud user id, the
//! scraped client_id and the last poll's outcome.

use super::{Backend, Store, StoreError};

impl Store {
    /// The value stored under `key`, if any.
    pub async fn meta(&self, key: &'static str) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.meta(key).await,
        }
    }

    /// Stores `value` under `key`, replacing what was there.
    pub async fn set_meta(&self, key: &'static str, value: String) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.set_meta(key, value).await,
        }
    }
}
