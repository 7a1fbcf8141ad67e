//! A show's "recording started" mark: the instant the DJ's recording of the show begins, from
//! which tracklist offsets are counted. One per show; marking again moves it.

use jiff::Timestamp;

use super::{Backend, Store, StoreError};

impl Store {
    /// Sets (or moves) the mark of show `show_id`; `NoShow` if there is no such show.
    pub async fn set_mark(&self, show_id: i64, at: Timestamp) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.set_mark(show_id, at).await,
            Backend::Postgres(db) => db.set_mark(show_id, at).await,
        }
    }

    /// The mark of show `show_id`, if the DJ set one.
    pub async fn mark(&self, show_id: i64) -> Result<Option<Timestamp>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.mark(show_id).await,
            Backend::Postgres(db) => db.mark(show_id).await,
        }
    }
}
