//! `Idempotency-Key`s in SQL: recording a line (logged now, or held) together with the key
//! that asked for it, in one transaction, and reading back what a key made as it stands now (a
//! held line released since reads as the announce it became).

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use super::announcements::{announcement, insert_announcement};
use super::held::{held, insert_held};
use super::{Postgres, col, optional_seq, seq_param, to_ms};
use crate::store::{
    HeldState, IdempotencyKey, Keyed, NewAnnouncement, RecordAs, Recorded, StoreError, stored_now,
};

/// A lock per key (its hash), so two requests with one key wait for each other instead of
/// both finding no key and both recording.
const KEY_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0))";

impl Postgres {
    /// What an `Idempotency-Key` made, as it stands now, with the body it came with, if the
    /// key was used at or after `not_before`.
    pub async fn keyed(
        &self,
        key: IdempotencyKey,
        not_before: Timestamp,
    ) -> Result<Option<(String, Recorded)>, StoreError> {
        let c = self.client().await?;
        keyed(&c, &key, not_before).await
    }

    /// Records `new` (logged, or held), with its key if it has one, in one transaction; when
    /// the key is there already (a duplicate that won the race), records nothing and answers
    /// what the key made.
    pub async fn record(&self, new: NewAnnouncement, how: RecordAs) -> Result<Keyed, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if let Some(key) = &how.key {
            tx.execute(KEY_LOCK, &[&key.principal, &key.key]).await?;
            forget_keys(&tx, how.keys_not_before).await?;
            if let Some((body, recorded)) = keyed(&tx, key, how.keys_not_before).await? {
                return Ok(Keyed::Existing { body, recorded });
            }
        }
        let recorded = match how.hold_until {
            Some(at) => Recorded::Held(insert_held(&tx, new, at).await?),
            None => Recorded::Announced(Box::new(insert_announcement(&tx, new).await?)),
        };
        if let Some(key) = &how.key {
            remember_key(&tx, key, &recorded).await?;
        }
        tx.commit().await?;
        Ok(Keyed::Recorded(recorded))
    }
}

/// What `key` made, as it stands now, with its body, if it was used at or after `not_before`.
async fn keyed<C: GenericClient>(
    c: &C,
    key: &IdempotencyKey,
    not_before: Timestamp,
) -> Result<Option<(String, Recorded)>, StoreError> {
    let row = c
        .query_opt(
            "SELECT body, seq, held_id FROM idempotency_keys
             WHERE principal = $1 AND key = $2 AND created_at >= $3",
            &[&key.principal, &key.key, &to_ms(not_before)],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let body: String = col(&row, 0)?;
    let seq = optional_seq(&row, 1)?;
    let held_id: Option<i64> = col(&row, 2)?;
    let held = match held_id {
        Some(id) => held(c, id).await?,
        None => None,
    };
    let recorded = match (seq, held) {
        (Some(seq), _) => Recorded::Announced(Box::new(announcement(c, seq).await?)),
        (None, Some(h)) => match h.state {
            HeldState::Released(seq) => Recorded::Announced(Box::new(announcement(c, seq).await?)),
            HeldState::Held | HeldState::Undone => Recorded::Held(h),
        },
        (None, None) => {
            return Err(StoreError::Corrupt {
                column: 0,
                message: "an idempotency key names neither an announce nor a held one".into(),
            });
        }
    };
    Ok(Some((body, recorded)))
}

/// Forgets the keys used before `not_before`, and the undone or released held announces as
/// old, which no key can name any more.
async fn forget_keys(tx: &Transaction<'_>, not_before: Timestamp) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        &[&to_ms(not_before)],
    )
    .await?;
    tx.execute(
        "DELETE FROM held_announcements WHERE state <> 'held' AND held_at < $1
           AND id NOT IN (SELECT held_id FROM idempotency_keys WHERE held_id IS NOT NULL)",
        &[&to_ms(not_before)],
    )
    .await?;
    Ok(())
}

async fn remember_key(
    tx: &Transaction<'_>,
    key: &IdempotencyKey,
    recorded: &Recorded,
) -> Result<(), StoreError> {
    let (seq, held_id) = match recorded {
        Recorded::Announced(a) => (Some(seq_param(a.seq)?), None),
        Recorded::Held(h) => (None, Some(h.id)),
    };
    tx.execute(
        "INSERT INTO idempotency_keys (principal, key, body, seq, held_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &key.principal,
            &key.key,
            &key.body,
            &seq,
            &held_id,
            &to_ms(stored_now()),
        ],
    )
    .await?;
    Ok(())
}
