//! Announces held for their show's `hold_seconds`: recorded by [`Store::record`], released
//! into the log when the hold ends (the seq is issued then) or undone before. They are stored,
//! so a restarted hub still releases them (late, if it was down when they were due).

use jiff::Timestamp;

use super::{Announcement, Backend, HeldState, Store, StoreError};

impl Store {
    /// The held announces due at `now`, oldest first.
    pub async fn held_due(&self, now: Timestamp) -> Result<Vec<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.held_due(now).await,
            Backend::Postgres(db) => db.held_due(now).await,
        }
    }

    /// The positions of show week `show_id` with an announce held now.
    pub async fn held_positions(&self, show_id: i64) -> Result<Vec<u32>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.held_positions(show_id).await,
            Backend::Postgres(db) => db.held_positions(show_id).await,
        }
    }

    /// Whose line held announce `id` is: `Ok(None)` for an unknown id, `Ok(Some(None))` for a
    /// station-wide free text, else the show's slug.
    pub async fn held_slug(&self, id: i64) -> Result<Option<Option<String>>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.held_slug(id).await,
            Backend::Postgres(db) => db.held_slug(id).await,
        }
    }

    /// When the next held announce is due, if any is held.
    pub async fn next_release(&self) -> Result<Option<Timestamp>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.next_release().await,
            Backend::Postgres(db) => db.next_release().await,
        }
    }

    /// Moves held announce `id` into the log with a fresh seq, in one transaction; `None` when
    /// it is no longer held (undone, or released already).
    pub async fn release_held(&self, id: i64) -> Result<Option<Announcement>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.release_held(id).await,
            Backend::Postgres(db) => db.release_held(id).await,
        }
    }

    /// Undoes held announce `id` if it is still held. Answers the state it was in (`Held`: it
    /// is undone now), or `None` for an id never issued.
    pub async fn undo_held(&self, id: i64) -> Result<Option<HeldState>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.undo_held(id).await,
            Backend::Postgres(db) => db.undo_held(id).await,
        }
    }
}
