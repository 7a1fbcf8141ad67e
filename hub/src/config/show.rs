//! `[show]`: the weekly schedule (time zone, day, hour, live window) and the templates of the
//! announce and correction lines.

use serde::Deserialize;

use super::ConfigError;
use crate::line_template::{AnnounceTemplate, CorrectionTemplate};
use crate::week::Schedule;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawShow {
    timezone: String,
    day: String,
    hour: i64,
    duration_minutes: i64,
    announce_template: String,
    correction_template: String,
}

impl Default for RawShow {
    fn default() -> Self {
        RawShow {
            timezone: "America/New_York".into(),
            day: "wednesday".into(),
            hour: 22,
            duration_minutes: 300,
            announce_template: AnnounceTemplate::DEFAULT.into(),
            correction_template: CorrectionTemplate::DEFAULT.into(),
        }
    }
}

/// The show's schedule and the templates its lines are written with.
pub(super) fn validate(
    raw: RawShow,
) -> Result<(Schedule, AnnounceTemplate, CorrectionTemplate), ConfigError> {
    let schedule = Schedule::from_config(&raw.timezone, &raw.day, raw.hour, raw.duration_minutes)
        .map_err(|e| ConfigError::invalid(format!("show.{}", e.field), e.message))?;
    let announce_template = AnnounceTemplate::parse(&raw.announce_template)
        .map_err(|e| ConfigError::invalid("show.announce_template", e.to_string()))?;
    let correction_template = CorrectionTemplate::parse(&raw.correction_template)
        .map_err(|e| ConfigError::invalid("show.correction_template", e.to_string()))?;
    Ok((schedule, announce_template, correction_template))
}
