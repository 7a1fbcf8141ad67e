//! The PostgreSQL backend: a database that several hubs can share, and every line of SQL the
//! store runs on it. The files here mirror `sqlite/` concept by concept, with the same tables,
//! columns and statements wherever the two dialects allow, so the two can be read side by side.
//!
//! The driver is `tokio-postgres` with a `deadpool-postgres` pool rather than `sqlx`: both are
//! async and speak the same protocol, but `sqlx` brings its query macros, its own pool and
//! runtime layer and builds about three times longer, while the store needs none of that (its
//! SQL is written by hand and checked by the conformance suite, not at compile time).
//!
//! What differs from SQLite, and why:
//! - Many connections run at once, so a statement that SQLite's single writer made safe by
//!   itself is written here so that a concurrent one cannot break it (an upsert rather than a
//!   read then a write).
//! - seq is issued under a transaction-scoped advisory lock ([`SEQ_LOCK`]): seqs are committed in
//!   the order they are issued, so a reader that sees seq n has seen every seq below n.
//! - Instants are milliseconds since the epoch (`BIGINT`) as in SQLite; flags are `BOOLEAN`.
//! - Schema versions live in a `schema_version` table (`migrations`), not SQLite's pragma.

mod alerts;
mod announcements;
mod cursors;
mod deliveries;
mod held;
mod import;
mod keys;
mod ledger_rows;
mod login_attempts;
mod marks;
mod meta;
mod migrations;
mod notify;
mod played;
mod session;
mod sessions;
mod shows;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use jiff::Timestamp;
use ntr_protocol::Seq;
use serde::de::DeserializeOwned;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

pub use import::Import;
pub use session::{Session, StationLock};

use super::StoreError;

/// Connections one hub keeps open: announces, pages and workers rarely need more at once, and
/// a station's PostgreSQL serves every replica from its own `max_connections` (100 by default).
const POOL_SIZE: usize = 8;

/// The longest an operation waits to connect, or for a free connection, before it fails: a
/// database that cannot be reached makes a request fail, never hang.
const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The advisory lock every seq is issued under, held until its transaction ends.
const SEQ_LOCK: i64 = 0x006e_7472_5f73_6571; // "ntr_seq" in ASCII

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The server answered with an error (a constraint, bad SQL): the database's fault or
        // ours. No answer at all (a closed or broken connection): the database is out of reach.
        if e.as_db_error().is_none() {
            StoreError::Unreachable(e.to_string())
        } else {
            StoreError::Database(Box::new(e))
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        // No connection within the wait, or none could be made.
        StoreError::Unreachable(e.to_string())
    }
}

/// A pool of connections to one database; cheap to clone.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    /// Where the pool connects, for the connection a replica's session keeps of its own.
    config: Arc<tokio_postgres::Config>,
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://user@host:port/db`) and brings its schema
    /// up to date.
    pub async fn connect(url: &str) -> Result<Postgres, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Connect {
            url: redacted(url),
            message: format!("{e}"),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(WAIT);
        }
        let place = describe(&config);
        let manager = Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(WAIT))
            .wait_timeout(Some(WAIT))
            .build()
            .map_err(|e| StoreError::Connect {
                url: place.clone(),
                message: e.to_string(),
            })?;
        let mut client = pool.get().await.map_err(|e| StoreError::Connect {
            url: place.clone(),
            message: e.to_string(),
        })?;
        migrations::run(&mut client, &place).await?;
        Ok(Postgres {
            pool,
            config: Arc::new(config),
        })
    }

    /// A connection from the pool.
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }
}

/// Checks a URL as a connection would read it: where it points (without its password) and
/// its host and port, or what is wrong with it.
pub fn check_url(url: &str) -> Result<(String, String), String> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("`{}` is not a database URL ({e})", redacted(url)))?;
    let (host, port) = host_port(&config);
    Ok((describe(&config), format!("{host}:{port}")))
}

/// Where `config` points, without its password: for messages an operator reads.
fn describe(config: &tokio_postgres::Config) -> String {
    let user = config.get_user().unwrap_or("");
    let (host, port) = host_port(config);
    let db = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}@{host}:{port}/{db}")
}

/// The first host `config` names and its port, as a connection would use them.
fn host_port(config: &tokio_postgres::Config) -> (String, u16) {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    (host, config.get_ports().first().copied().unwrap_or(5432))
}

/// `url` with anything between `:` and `@` of its authority hidden, for a URL that does not
/// even parse (so [`describe`] cannot be used).
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Setting a password only fails for URLs that cannot have one, which have none.
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(a URL that does not parse)".to_owned(),
    }
}

/// Whether `location` names a PostgreSQL database rather than a directory.
pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Milliseconds since the epoch: how instants are stored, as in SQLite.
fn to_ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// `seq` as the database's `BIGINT`.
fn seq_param(seq: Seq) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::OutOfRange(format!("seq {seq}")))
}

/// Column `idx` of `r`; a value that does not convert is a corrupt row.
fn col<'a, T: FromSql<'a>>(r: &'a Row, idx: usize) -> Result<T, StoreError> {
    r.try_get(idx).map_err(|e| StoreError::Corrupt {
        column: idx,
        message: e.to_string(),
    })
}

/// A count or position in column `idx` (a `BIGINT`) as the face's unsigned type.
fn uint<T: TryFrom<i64>>(r: &Row, idx: usize) -> Result<T, StoreError> {
    let n: i64 = col(r, idx)?;
    T::try_from(n).map_err(|_| StoreError::Corrupt {
        column: idx,
        message: format!("{n} is out of range"),
    })
}

/// A nullable count or position in column `idx`.
fn optional_uint<T: TryFrom<i64>>(r: &Row, idx: usize) -> Result<Option<T>, StoreError> {
    match col::<Option<i64>>(r, idx)? {
        None => Ok(None),
        Some(_) => uint(r, idx).map(Some),
    }
}

/// The seq in column `idx`.
fn seq(r: &Row, idx: usize) -> Result<Seq, StoreError> {
    uint::<u64>(r, idx).map(Seq::new)
}

/// The seq in column `idx`, which may be NULL.
fn optional_seq(r: &Row, idx: usize) -> Result<Option<Seq>, StoreError> {
    Ok(optional_uint::<u64>(r, idx)?.map(Seq::new))
}

/// The instant in column `idx`. Milliseconds outside [`Timestamp`]'s range are a corrupt row,
/// never silently the epoch.
fn time(r: &Row, idx: usize) -> Result<Timestamp, StoreError> {
    let ms: i64 = col(r, idx)?;
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt {
        column: idx,
        message: e.to_string(),
    })
}

/// The instant in column `idx`, which may be NULL.
fn optional_time(r: &Row, idx: usize) -> Result<Option<Timestamp>, StoreError> {
    match col::<Option<i64>>(r, idx)? {
        None => Ok(None),
        Some(_) => time(r, idx).map(Some),
    }
}

/// The JSON value in column `idx`, which may be NULL; JSON that does not parse is a corrupt row.
fn json<T: DeserializeOwned>(r: &Row, idx: usize) -> Result<Option<T>, StoreError> {
    col::<Option<String>>(r, idx)?
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| StoreError::Corrupt {
            column: idx,
            message: e.to_string(),
        })
}
