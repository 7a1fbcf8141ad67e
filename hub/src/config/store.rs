//! `[store]`: where the data lives (the embedded SQLite under `hub.data_dir`, or a PostgreSQL
//! database that several replicas share), this replica's name, and the show a database from
//! before stations belongs to.

use serde::Deserialize;

use super::ConfigError;
use crate::station::{ShowSlug, Station};
use crate::store::DatabaseUrl;

/// The longest replica name: it is shown on dashboards and in logs.
const REPLICA_MAX: usize = 64;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    legacy_show: Option<String>,
    url: Option<String>,
    replica: Option<String>,
}

/// `[store]`, checked.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The PostgreSQL database, or `None` for SQLite in the data directory.
    pub url: Option<DatabaseUrl>,
    /// This replica's name; `None` until the start knows its port (`HOSTNAME:PORT`).
    pub replica: Option<String>,
    /// The show the weeks of a database from before stations belong to (`legacy_show`,
    /// default the first show).
    pub legacy_show: ShowSlug,
}

pub(super) fn validate(raw: RawStore, station: &Station) -> Result<StoreConfig, ConfigError> {
    let legacy_show = match raw.legacy_show {
        Some(slug) => ShowSlug::parse(slug.trim())
            .map_err(|e| ConfigError::invalid("store.legacy_show", e.to_string()))?,
        None => station.primary().slug.clone(),
    };
    let url = raw
        .url
        .map(|u| DatabaseUrl::parse(u.trim()))
        .transpose()
        .map_err(|e| ConfigError::invalid("store.url", e))?;
    let replica = raw.replica.map(|r| check_replica(r.trim())).transpose()?;
    Ok(StoreConfig {
        url,
        replica,
        legacy_show,
    })
}

fn check_replica(name: &str) -> Result<String, ConfigError> {
    let bad = |why: &str| ConfigError::invalid("store.replica", format!("`{name}` {why}"));
    if name.is_empty() {
        return Err(bad("is empty: leave the key out for HOSTNAME:PORT"));
    }
    if name.chars().count() > REPLICA_MAX {
        return Err(bad(&format!("is longer than {REPLICA_MAX} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("has a control character"));
    }
    Ok(name.to_owned())
}
