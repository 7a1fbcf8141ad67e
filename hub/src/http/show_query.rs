//! `?show=SLUG`: which show of the station a request means. Absent, a list or feed is
//! station-wide and a "now" answer is for the show on air, else the one that airs next. An
//! unknown slug is 404 naming the known ones, so a typo in a bot's URL says what to write.

use jiff::Timestamp;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiError;
use crate::station::{ShowDef, Station};

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ShowQuery {
    /// A show's slug; without it, the whole station (or, for what is on now, the show on air
    /// or else the next one).
    pub show: Option<String>,
}

impl ShowQuery {
    /// The show named, or `None` for the station.
    pub fn named<'a>(&self, station: &'a Station) -> Result<Option<&'a ShowDef>, ApiError> {
        let Some(slug) = &self.show else {
            return Ok(None);
        };
        station.get(slug).map(Some).ok_or_else(|| {
            ApiError::NotFound(format!(
                "no show `{slug}`; the shows are {}",
                station.slug_list()
            ))
        })
    }

    /// The show named, or the one on air at `now`, else the one that airs next.
    pub fn or_now<'a>(
        &self,
        station: &'a Station,
        now: Timestamp,
    ) -> Result<&'a ShowDef, ApiError> {
        match self.named(station)? {
            Some(show) => Ok(show),
            None => Ok(station.on_air_or_next(now)?),
        }
    }
}
