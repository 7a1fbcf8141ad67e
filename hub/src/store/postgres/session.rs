//! A replica's session: one connection of its own, outside the pool, that holds the replica's
//! name and perhaps the leadership as session-level advisory locks, and LISTENs for what the
//! other replicas commit. PostgreSQL drops a session's locks the moment its connection ends,
//! so a replica killed with -9, or cut off from the database, lets go of its name and of the
//! leadership without anyone waiting for a timeout; the others learn it at their next
//! `pg_try_advisory_lock`.

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use super::super::StoreError;
use super::super::replica::Notice;
use super::{Postgres, notify};

/// The advisory lock of the leadership; its holder runs what runs once per station.
const LEADER_LOCK: i64 = 0x006e_7472_5f6c_6561; // "ntr_lea" in ASCII

/// A held station-wide lock: a pooled connection inside the transaction that holds it.
pub struct StationLock(Option<deadpool_postgres::Object>);

impl Drop for StationLock {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            // Ending the transaction lets go of the lock; only then may the connection go back
            // to the pool. A connection that cannot roll back is dropped from the pool, and
            // the lock ends with it.
            tokio::spawn(async move {
                if client.batch_execute("ROLLBACK").await.is_err() {
                    drop(deadpool_postgres::Object::take(client));
                }
            });
        }
    }
}

/// An open session; dropping it closes the connection and lets go of everything it holds.
pub struct Session {
    client: tokio_postgres::Client,
    notices: mpsc::UnboundedReceiver<Notice>,
    leading: bool,
}

impl Postgres {
    /// Opens a session holding the name `replica`, listening to announces and show changes.
    pub async fn open_session(&self, replica: &str) -> Result<Session, StoreError> {
        let (client, mut connection) = self.config.connect(tokio_postgres::NoTls).await?;
        let (tx, notices) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(|cx| connection.poll_message(cx));
            while let Some(Ok(message)) = messages.next().await {
                if let AsyncMessage::Notification(n) = message
                    && let Some(notice) = notify::parse(n.channel(), n.payload())
                    && tx.send(notice).is_err()
                {
                    return;
                }
            }
            // The connection ended: `tx` drops with this task, which ends the session's
            // notices, and that is how the session learns it is lost.
        });
        // The name's lock is keyed by a hash of the name (64 bits: two names sharing one is
        // not a worry at a handful of replicas).
        let free: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended('ntr replica ' || $1, 0))",
                &[&replica],
            )
            .await?
            .get(0);
        if !free {
            return Err(StoreError::ReplicaTaken(replica.to_owned()));
        }
        client
            .batch_execute(&format!(
                "LISTEN {}; LISTEN {}; LISTEN {}; LISTEN {}",
                notify::CHANNEL,
                notify::SHOWS,
                notify::SESSIONS,
                notify::PRESENCE
            ))
            .await?;
        Ok(Session {
            client,
            notices,
            leading: false,
        })
    }

    /// Takes the station-wide lock `name`: a transaction of its own holding an advisory lock,
    /// which ends (and so lets go) when the guard is dropped.
    pub async fn station_lock(&self, name: &str) -> Result<StationLock, StoreError> {
        let client = self.client().await?;
        client.batch_execute("BEGIN").await?;
        if let Err(e) = client
            .execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('ntr lock ' || $1, 0))",
                &[&name],
            )
            .await
        {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(e.into());
        }
        Ok(StationLock(Some(client)))
    }

    /// Tells the other replicas that session `id` ended.
    pub async fn notify_session_ended(&self, id: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        notify::session_ended(&c, id).await
    }

    /// Tells the other replicas that show `id` changed.
    pub async fn notify_show_changed(&self, id: i64) -> Result<(), StoreError> {
        let c = self.client().await?;
        notify::show_changed(&c, id).await
    }
}

impl Session {
    /// The next notice; `None` once the connection is gone.
    pub async fn next_notice(&mut self) -> Option<Notice> {
        self.notices.recv().await
    }

    /// Says this replica's presence; a payload too long for a notification is an error.
    pub async fn tell_presence(&mut self, replica: &str, said: &str) -> Result<(), StoreError> {
        self.client
            .execute(
                "SELECT pg_notify($1, $2)",
                &[&notify::PRESENCE, &format!("{replica}\n{said}")],
            )
            .await?;
        Ok(())
    }

    /// Takes the leadership if it is free; once held, it stays with this session. Every call
    /// also proves the connection alive.
    pub async fn try_lead(&mut self) -> Result<bool, StoreError> {
        if self.leading {
            self.client.simple_query("").await?;
        } else {
            self.leading = self
                .client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK])
                .await?
                .get(0);
        }
        Ok(self.leading)
    }
}
