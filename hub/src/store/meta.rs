//! Small persistent facts that are not worth a table: the resolved SoundCloud user id, the
//! scraped client_id and the last poll's outcome.

use super::{Backend, Store, StoreError};

impl Store {
    /// The value stored under `key`, if any.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.meta(key.to_owned()).await,
            Backend::Postgres(db) => db.meta(key.to_owned()).await,
        }
    }

    /// Stores `value` under `key`, replacing what was there.
    pub async fn set_meta(&self, key: &str, value: String) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.set_meta(key.to_owned(), value).await,
            Backend::Postgres(db) => db.set_meta(key.to_owned(), value).await,
        }
    }

    /// Stores `value` under `key` unless a value is there already; answers the value kept
    /// (when two hubs race, both get the first one's).
    pub async fn insert_meta_once(&self, key: &str, value: String) -> Result<String, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.insert_meta_once(key.to_owned(), value).await,
            Backend::Postgres(db) => db.insert_meta_once(key.to_owned(), value).await,
        }
    }
}
