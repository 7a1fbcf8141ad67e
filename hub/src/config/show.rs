//! The station's shows: `[[shows]]` blocks, or a v2 config's single `[show]` with
//! `[soundcloud] user` (a station of one show, slug `[show] slug`, default `main`). Each show
//! has its weekly schedule, the templates of its announce and correction lines, the source
//! of its playlist and how long its announces are held.

use jiff::Timestamp;
use serde::Deserialize;

use super::ConfigError;
use crate::line_template::{AlertTemplate, AnnounceTemplate, CorrectionTemplate};
use crate::station::{Alerts, Console, PlaylistSource, ShowDef, ShowSlug, Station};
use crate::week::Schedule;

/// The SoundCloud profile a v2 config polls when `[soundcloud] user` is left out.
pub(super) const DEFAULT_SOUNDCLOUD_USER: &str = "nicktherat";

/// `[show]` (the one show of a v2 config) or one `[[shows]]` block: the same keys, except that
/// `source` and `soundcloud_user` belong to `[[shows]]` (a v2 show polls `[soundcloud] user`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawShow {
    slug: String,
    title: Option<String>,
    source: Option<String>,
    soundcloud_user: Option<String>,
    timezone: String,
    day: String,
    hour: i64,
    duration_minutes: i64,
    announce_template: String,
    correction_template: String,
    hold_seconds: i64,
    announce_max_age_seconds: i64,
    live_template: String,
    reminder_template: String,
    remind_minutes: i64,
}

impl Default for RawShow {
    fn default() -> Self {
        RawShow {
            slug: String::new(),
            title: None,
            source: None,
            soundcloud_user: None,
            timezone: "America/New_York".into(),
            day: "wednesday".into(),
            hour: 22,
            duration_minutes: 300,
            announce_template: AnnounceTemplate::DEFAULT.into(),
            correction_template: CorrectionTemplate::DEFAULT.into(),
            hold_seconds: 0,
            announce_max_age_seconds: Console::DEFAULT_MAX_AGE_SECONDS,
            live_template: AlertTemplate::LIVE_DEFAULT.into(),
            reminder_template: AlertTemplate::REMINDER_DEFAULT.into(),
            remind_minutes: Alerts::DEFAULT_REMIND_MINUTES,
        }
    }
}

/// A v2 config's show when `[show] slug` is left out.
const SINGLE_SHOW_SLUG: &str = "main";

/// The tables the shows may come from, as written.
pub(super) struct RawShows {
    pub show: Option<RawShow>,
    pub shows: Option<Vec<RawShow>>,
    pub soundcloud_user: Option<String>,
}

/// The station, checked against itself over the year after `now`.
pub(super) fn validate(raw: RawShows, now: Timestamp) -> Result<Station, ConfigError> {
    let shows = match (raw.shows, raw.show, raw.soundcloud_user) {
        (Some(_), Some(_), _) => return Err(both("[show]")),
        (Some(_), None, Some(_)) => return Err(both("[soundcloud] user")),
        (Some(blocks), None, None) => blocks
            .into_iter()
            .enumerate()
            .map(|(i, block)| station_show(i, block))
            .collect::<Result<Vec<_>, _>>()?,
        (None, show, user) => vec![single_show(show.unwrap_or_default(), user)?],
    };
    Station::new(shows, now).map_err(|e| ConfigError::invalid("shows", e.to_string()))
}

fn both(other: &str) -> ConfigError {
    ConfigError::invalid(
        "shows",
        format!("[[shows]] and {other} cannot both be set: move {other} into a [[shows]] block"),
    )
}

/// `[show]` and `[soundcloud] user`, as a v2 hub read them.
fn single_show(raw: RawShow, user: Option<String>) -> Result<ShowDef, ConfigError> {
    if raw.source.is_some() || raw.soundcloud_user.is_some() {
        return Err(ConfigError::invalid(
            "show.source",
            "source and soundcloud_user belong in [[shows]] blocks; [show] polls [soundcloud] user",
        ));
    }
    let slug = match raw.slug.trim() {
        "" => SINGLE_SHOW_SLUG,
        slug => slug,
    };
    let slug =
        ShowSlug::parse(slug).map_err(|e| ConfigError::invalid("show.slug", e.to_string()))?;
    let user = soundcloud_user(
        "soundcloud.user",
        user.unwrap_or_else(|| DEFAULT_SOUNDCLOUD_USER.into()),
    )?;
    let (schedule, announce_template, correction_template) = schedule("show", &raw)?;
    let console = console("show", &raw)?;
    let name = title(raw.title.clone()).unwrap_or_else(|| Alerts::DEFAULT_NAME.into());
    let alerts = alerts("show", &raw, name)?;
    Ok(ShowDef {
        title: title(raw.title).unwrap_or_else(|| user.clone()),
        slug,
        schedule,
        announce_template,
        correction_template,
        source: PlaylistSource::SoundcloudLikes { user },
        console,
        alerts,
    })
}

/// The `index`th `[[shows]]` block; errors name it `shows.SLUG.KEY` once its slug is known.
fn station_show(index: usize, raw: RawShow) -> Result<ShowDef, ConfigError> {
    let slug = ShowSlug::parse(raw.slug.trim()).map_err(|e| {
        let key = format!("shows[{}].slug", index + 1);
        if raw.slug.trim().is_empty() {
            ConfigError::invalid(key, "every [[shows]] block needs a slug")
        } else {
            ConfigError::invalid(key, e.to_string())
        }
    })?;
    let prefix = format!("shows.{slug}");
    let (schedule, announce_template, correction_template) = schedule(&prefix, &raw)?;
    let console = console(&prefix, &raw)?;
    let name = title(raw.title.clone()).unwrap_or_else(|| slug.to_string());
    let alerts = alerts(&prefix, &raw, name)?;
    let source = match (raw.source.as_deref(), raw.soundcloud_user) {
        (None | Some("soundcloud-likes"), Some(user)) => PlaylistSource::SoundcloudLikes {
            user: soundcloud_user(&format!("{prefix}.soundcloud_user"), user)?,
        },
        (None | Some("soundcloud-likes"), None) => {
            return Err(ConfigError::invalid(
                format!("{prefix}.soundcloud_user"),
                "is required with source = \"soundcloud-likes\" (or set source = \"manual\")",
            ));
        }
        (Some("manual"), None) => PlaylistSource::Manual,
        (Some("manual"), Some(_)) => {
            return Err(ConfigError::invalid(
                format!("{prefix}.soundcloud_user"),
                "a manual show has no SoundCloud profile: remove it or set source = \"soundcloud-likes\"",
            ));
        }
        (Some(other), _) => {
            return Err(ConfigError::invalid(
                format!("{prefix}.source"),
                format!("`{other}` is not a source: use \"soundcloud-likes\" or \"manual\""),
            ));
        }
    };
    Ok(ShowDef {
        title: title(raw.title).unwrap_or_else(|| slug.to_string()),
        slug,
        schedule,
        announce_template,
        correction_template,
        source,
        console,
        alerts,
    })
}

fn title(raw: Option<String>) -> Option<String> {
    raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn soundcloud_user(key: &str, user: String) -> Result<String, ConfigError> {
    let user = user.trim().to_owned();
    if user.is_empty() || user.contains('/') {
        return Err(ConfigError::invalid(
            key,
            "must be a profile permalink such as `nicktherat`",
        ));
    }
    Ok(user)
}

/// A show's schedule and the templates its lines are written with; keys under `prefix`.
fn schedule(
    prefix: &str,
    raw: &RawShow,
) -> Result<(Schedule, AnnounceTemplate, CorrectionTemplate), ConfigError> {
    let schedule = Schedule::from_config(&raw.timezone, &raw.day, raw.hour, raw.duration_minutes)
        .map_err(|e| ConfigError::invalid(format!("{prefix}.{}", e.field), e.message))?;
    let announce_template = AnnounceTemplate::parse(&raw.announce_template)
        .map_err(|e| ConfigError::invalid(format!("{prefix}.announce_template"), e.to_string()))?;
    let correction_template = CorrectionTemplate::parse(&raw.correction_template).map_err(|e| {
        ConfigError::invalid(format!("{prefix}.correction_template"), e.to_string())
    })?;
    Ok((schedule, announce_template, correction_template))
}

/// A show's `hold_seconds` (0 to 120) and `announce_max_age_seconds` (1 s to a day).
fn console(prefix: &str, raw: &RawShow) -> Result<Console, ConfigError> {
    let seconds = |key: &str, value: i64, range: std::ops::RangeInclusive<i64>| {
        if range.contains(&value) {
            Ok(jiff::SignedDuration::from_secs(value))
        } else {
            Err(ConfigError::invalid(
                format!("{prefix}.{key}"),
                format!(
                    "must be {} to {} seconds, not {value}",
                    range.start(),
                    range.end()
                ),
            ))
        }
    };
    Ok(Console {
        hold: seconds(
            "hold_seconds",
            raw.hold_seconds,
            0..=Console::MAX_HOLD_SECONDS,
        )?,
        max_age: seconds(
            "announce_max_age_seconds",
            raw.announce_max_age_seconds,
            1..=Console::MAX_MAX_AGE_SECONDS,
        )?,
    })
}

/// A show's `live_template`, `reminder_template` and `remind_minutes` (1 to 1,440).
fn alerts(prefix: &str, raw: &RawShow, name: String) -> Result<Alerts, ConfigError> {
    let key = |k: &str| format!("{prefix}.{k}");
    let live_template = AlertTemplate::parse_live(&raw.live_template)
        .map_err(|e| ConfigError::invalid(key("live_template"), e.to_string()))?;
    let reminder_template = AlertTemplate::parse_reminder(&raw.reminder_template)
        .map_err(|e| ConfigError::invalid(key("reminder_template"), e.to_string()))?;
    if !(1..=Alerts::MAX_REMIND_MINUTES).contains(&raw.remind_minutes) {
        return Err(ConfigError::invalid(
            key("remind_minutes"),
            format!(
                "must be 1 to {} minutes, not {}",
                Alerts::MAX_REMIND_MINUTES,
                raw.remind_minutes
            ),
        ));
    }
    Ok(Alerts {
        name,
        live_template,
        reminder_template,
        remind_before: jiff::SignedDuration::from_mins(raw.remind_minutes),
    })
}
