//! The JSON shapes of the hub's public REST API that clients read: a show with its tracks
//! (`/playlist`, `/shows/{id}`), a show summary (`/shows`) and the announce answer.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::seq::Seq;

/// A track at its position in a show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Track {
    pub position: u32,
    /// SoundCloud's track id; null for a record that is not on SoundCloud.
    pub id: Option<i64>,
    pub title: String,
    pub artist: String,
    pub permalink_url: String,
    pub artwork_url: Option<String>,
    pub duration_ms: Option<i64>,
    pub license: Option<String>,
    /// Null for a track the DJ added by hand.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub liked_at: Option<Timestamp>,
}

/// A week's show with its tracks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Show {
    pub id: i64,
    /// The slug of the station's show this is a week of (empty from a hub older than
    /// stations).
    #[serde(default)]
    pub show: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub week_start: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub week_end: Timestamp,
    pub on_air: bool,
    pub tracks: Vec<Track>,
}

/// A show without its tracks, as `/shows` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShowSummary {
    pub id: i64,
    /// The slug of the station's show this is a week of (empty from a hub older than
    /// stations).
    #[serde(default)]
    pub show: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub week_start: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub week_end: Timestamp,
    pub on_air: bool,
    pub track_count: u32,
}

/// The answer of `POST /admin/announce` for a line in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Announced {
    /// `"announced"`; `"logged"` for a `log_only` entry, which went to no one.
    pub status: String,
    pub seq: Seq,
    pub message: String,
    /// Relays and token subscribers listening when it was sent (dashboards not counted).
    pub subscribers: usize,
    /// `true` when this answers a repeated `Idempotency-Key`: nothing was announced again.
    #[serde(default)]
    pub replayed: bool,
}

/// The answer of `POST /admin/announce` (202) for a line held for its show's `hold_seconds`:
/// it gets its seq and goes out at `release_at`, unless undone before with
/// `DELETE /admin/announce/held/{held_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Held {
    /// Always `"held"`.
    pub status: String,
    pub held_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub release_at: Timestamp,
    pub message: String,
    /// `true` when this answers a repeated `Idempotency-Key`.
    #[serde(default)]
    pub replayed: bool,
}
