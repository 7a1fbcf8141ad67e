//! `Idempotency-Key`s in SQL: recording a line (logged now, or held) together with the key
//! that asked for it, in one transaction, and reading back what a key made as it stands now (a
//! held line released since reads as the announce it became).

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::announcements::{announcement, insert_announcement};
use super::held::{held, insert_held};
use super::{Sqlite, stored_now, to_ms};
use crate::store::{
    HeldState, IdempotencyKey, Keyed, NewAnnouncement, RecordAs, Recorded, StoreError,
};

impl Sqlite {
    /// What an `Idempotency-Key` made, as it stands now, with the body it came with, if the
    /// key was used at or after `not_before`.
    pub async fn keyed(
        &self,
        key: IdempotencyKey,
        not_before: Timestamp,
    ) -> Result<Option<(String, Recorded)>, StoreError> {
        self.call(move |c| keyed(c, &key, not_before)).await
    }

    /// Records `new` (logged, or held), with its key if it has one, in one transaction; when
    /// the key is there already (a duplicate that won the race), records nothing and answers
    /// what the key made.
    pub async fn record(&self, new: NewAnnouncement, how: RecordAs) -> Result<Keyed, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            if let Some(key) = &how.key {
                forget_keys(&tx, how.keys_not_before)?;
                if let Some((body, recorded)) = keyed(&tx, key, how.keys_not_before)? {
                    return Ok(Keyed::Existing { body, recorded });
                }
            }
            let recorded = match how.hold_until {
                Some(at) => Recorded::Held(insert_held(&tx, new, at)?),
                None => Recorded::Announced(Box::new(insert_announcement(&tx, new)?)),
            };
            if let Some(key) = &how.key {
                remember_key(&tx, key, &recorded)?;
            }
            tx.commit()?;
            Ok(Keyed::Recorded(recorded))
        })
        .await
    }
}

/// What `key` made, as it stands now, with its body, if it was used at or after `not_before`.
fn keyed(
    c: &Connection,
    key: &IdempotencyKey,
    not_before: Timestamp,
) -> Result<Option<(String, Recorded)>, StoreError> {
    let found: Option<(String, Option<u64>, Option<i64>)> = c
        .query_row(
            "SELECT body, seq, held_id FROM idempotency_keys
             WHERE principal = ?1 AND key = ?2 AND created_at >= ?3",
            params![key.principal, key.key, to_ms(not_before)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((body, seq, held_id)) = found else {
        return Ok(None);
    };
    let held = held_id.map(|id| held(c, id)).transpose()?.flatten();
    let recorded = match (seq, held) {
        (Some(seq), _) => Recorded::Announced(Box::new(announcement(c, seq)?)),
        (None, Some(h)) => match h.state {
            HeldState::Released(seq) => Recorded::Announced(Box::new(announcement(c, seq.get())?)),
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
fn forget_keys(tx: &Transaction<'_>, not_before: Timestamp) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM idempotency_keys WHERE created_at < ?1",
        [to_ms(not_before)],
    )?;
    tx.execute(
        "DELETE FROM held_announcements WHERE state <> 'held' AND held_at < ?1
           AND id NOT IN (SELECT held_id FROM idempotency_keys WHERE held_id IS NOT NULL)",
        [to_ms(not_before)],
    )?;
    Ok(())
}

fn remember_key(
    tx: &Transaction<'_>,
    key: &IdempotencyKey,
    recorded: &Recorded,
) -> Result<(), StoreError> {
    let (seq, held_id) = match recorded {
        Recorded::Announced(a) => (Some(a.seq.get()), None),
        Recorded::Held(h) => (None, Some(h.id)),
    };
    tx.execute(
        "INSERT INTO idempotency_keys (principal, key, body, seq, held_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            key.principal,
            key.key,
            key.body,
            seq,
            held_id,
            to_ms(stored_now())
        ],
    )?;
    Ok(())
}
