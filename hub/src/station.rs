//! The station: the shows one hub serves, and who may act on which of them.
//!
//! Each show has a slug (in URLs, frames and config references), a title, a weekly schedule in
//! its own time zone, the templates its lines are written with and the source of its playlist.
//! A v2 config's single `[show]` is a station of one show. One station has one stream, so the
//! live windows of two shows never overlap: [`Station::new`] refuses a schedule where they
//! would within the next 52 weeks, DST changes included.

use std::collections::BTreeSet;
use std::fmt;

use jiff::{SignedDuration, Timestamp};

use crate::line_template::{AlertTemplate, AnnounceTemplate, CorrectionTemplate};
use crate::week::{OutOfCalendar, Schedule};

/// A show's slug: 1 to 32 of `a-z`, `0-9` and `-`, so it fits in a URL path, a query and an
/// IRC line without escaping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShowSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a show slug: use 1 to 32 of a-z, 0-9 and -")]
pub struct BadSlug(pub String);

impl ShowSlug {
    pub const MAX_LEN: usize = 32;

    pub fn parse(s: &str) -> Result<ShowSlug, BadSlug> {
        let valid = (1..=Self::MAX_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(ShowSlug(s.to_owned()))
        } else {
            Err(BadSlug(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShowSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which shows a login or a token may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rights {
    /// The station admin: every show, and what belongs to no show (relays, targets, the
    /// station's settings, station-wide lines).
    Station,
    /// A DJ: these shows only (never empty).
    Shows(BTreeSet<ShowSlug>),
}

impl Rights {
    pub fn may(&self, show: &ShowSlug) -> bool {
        self.may_slug(show.as_str())
    }

    /// [`Rights::may`] for a slug as stored, which may name a show no longer configured.
    pub fn may_slug(&self, show: &str) -> bool {
        match self {
            Rights::Station => true,
            Rights::Shows(shows) => shows.iter().any(|s| s.as_str() == show),
        }
    }

    pub fn is_station(&self) -> bool {
        matches!(self, Rights::Station)
    }

    /// The one show a DJ runs, when it runs exactly one.
    pub fn only_show(&self) -> Option<&ShowSlug> {
        match self {
            Rights::Shows(shows) if shows.len() == 1 => shows.first(),
            _ => None,
        }
    }
}

impl fmt::Display for Rights {
    /// "every show" or the slugs, comma-separated: what an error says the caller may act on.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rights::Station => f.write_str("every show"),
            Rights::Shows(shows) => {
                let slugs: Vec<&str> = shows.iter().map(ShowSlug::as_str).collect();
                f.write_str(&slugs.join(", "))
            }
        }
    }
}

/// Why a caller may not do what it asked: it names what is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("show `{show}` is not one of yours (you may act on: {rights})")]
    NotYourShow { show: String, rights: Rights },
    #[error("{what} belongs to the station admin (you may act on: {rights})")]
    StationOnly { what: String, rights: Rights },
    #[error("name one of your shows with \"show\" ({rights})")]
    NameYourShow { rights: Rights },
}

/// Where a show's playlist comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaylistSource {
    /// The likes of a SoundCloud profile (its permalink), polled into each week's playlist.
    SoundcloudLikes { user: String },
    /// No poller: the DJ builds the playlist by hand.
    Manual,
}

/// One show of the station, as configured.
#[derive(Debug, Clone)]
pub struct ShowDef {
    pub slug: ShowSlug,
    pub title: String,
    pub schedule: Schedule,
    pub announce_template: AnnounceTemplate,
    pub correction_template: CorrectionTemplate,
    pub source: PlaylistSource,
    pub console: Console,
    pub alerts: Alerts,
}

/// A show's go-live alerts: what "we're live" and the reminder say, and how long before each
/// start the reminder goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerts {
    /// The alerts' `{show}`: the show's title; a one-show config without `[show] title` says
    /// "The show" (its pages' fallback, the SoundCloud profile, would read oddly in a post).
    pub name: String,
    pub live_template: AlertTemplate,
    pub reminder_template: AlertTemplate,
    pub remind_before: SignedDuration,
}

impl Alerts {
    pub const DEFAULT_NAME: &'static str = "The show";
    pub const DEFAULT_REMIND_MINUTES: i64 = 30;
    /// The longest lead: a day before the start (a week's reminder the week before would be
    /// mistaken for the next show's).
    pub const MAX_REMIND_MINUTES: i64 = 1440;

    /// `remind_minutes`, as the reminder's `{minutes}` says it.
    pub fn remind_minutes(&self) -> i64 {
        self.remind_before.as_mins()
    }
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            name: Self::DEFAULT_NAME.into(),
            live_template: AlertTemplate::parse_live(AlertTemplate::LIVE_DEFAULT)
                .unwrap_or_else(|_| unreachable!("the default live template parses")),
            reminder_template: AlertTemplate::parse_reminder(AlertTemplate::REMINDER_DEFAULT)
                .unwrap_or_else(|_| unreachable!("the default reminder template parses")),
            remind_before: SignedDuration::from_mins(Self::DEFAULT_REMIND_MINUTES),
        }
    }
}

/// How a show's announces behave on a bad network: how long each is held (Undo is possible)
/// before anyone sees it, and how old a tap the dashboard could not send may get before the DJ
/// is asked what to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Console {
    pub hold: SignedDuration,
    pub max_age: SignedDuration,
}

impl Console {
    /// The longest hold: a stream runs 10 to 30 s behind the studio, and a line held much
    /// longer than that reaches listeners after the track.
    pub const MAX_HOLD_SECONDS: i64 = 120;
    pub const DEFAULT_MAX_AGE_SECONDS: i64 = 90;
    /// The longest wait before asking: a show's live window is at most a day.
    pub const MAX_MAX_AGE_SECONDS: i64 = 86_400;
}

impl Default for Console {
    fn default() -> Self {
        Console {
            hold: SignedDuration::ZERO,
            max_age: SignedDuration::from_secs(Self::DEFAULT_MAX_AGE_SECONDS),
        }
    }
}

/// How far ahead two shows' live windows are compared.
const OVERLAP_HORIZON_WEEKS: usize = 52;

/// The configured shows: never empty, slugs unique, live windows disjoint.
#[derive(Debug, Clone)]
pub struct Station {
    shows: Vec<ShowDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StationError {
    #[error("a station needs at least one show")]
    Empty,
    #[error("two shows have the slug `{0}`")]
    Duplicate(ShowSlug),
    #[error(
        "the live windows of `{first}` and `{second}` overlap on {at} (one station, one stream)"
    )]
    Overlap {
        first: ShowSlug,
        second: ShowSlug,
        at: Timestamp,
    },
    #[error(transparent)]
    Calendar(#[from] OutOfCalendar),
}

impl Station {
    /// The shows, checked against each other over the 52 weeks after `now`.
    pub fn new(shows: Vec<ShowDef>, now: Timestamp) -> Result<Station, StationError> {
        if shows.is_empty() {
            return Err(StationError::Empty);
        }
        let mut seen = BTreeSet::new();
        for show in &shows {
            if !seen.insert(&show.slug) {
                return Err(StationError::Duplicate(show.slug.clone()));
            }
        }
        let windows = shows
            .iter()
            .map(|s| live_windows(&s.schedule, now))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, first) in windows.iter().enumerate() {
            for (j, second) in windows.iter().enumerate().skip(i + 1) {
                if let Some(at) = first_overlap(first, second) {
                    return Err(StationError::Overlap {
                        first: shows[i].slug.clone(),
                        second: shows[j].slug.clone(),
                        at,
                    });
                }
            }
        }
        Ok(Station { shows })
    }

    pub fn shows(&self) -> &[ShowDef] {
        &self.shows
    }

    /// The first show configured: the templates of a station-wide line or of a week whose show
    /// is no longer configured, and the default `[store] legacy_show`.
    pub fn primary(&self) -> &ShowDef {
        &self.shows[0]
    }

    pub fn get(&self, slug: &str) -> Option<&ShowDef> {
        self.shows.iter().find(|s| s.slug.as_str() == slug)
    }

    /// The path of `show`'s public page: `/` while it is the station's only show, else
    /// `/s/{slug}`.
    pub fn page_path(&self, show: &ShowDef) -> String {
        if self.shows.len() == 1 {
            "/".to_string()
        } else {
            format!("/s/{}", show.slug)
        }
    }

    /// The slugs, comma-separated, for errors that list what exists.
    pub fn slug_list(&self) -> String {
        let slugs: Vec<&str> = self.shows.iter().map(|s| s.slug.as_str()).collect();
        slugs.join(", ")
    }

    /// The show whose live window `now` is in, if any (at most one: windows are disjoint).
    pub fn on_air(&self, now: Timestamp) -> Result<Option<&ShowDef>, OutOfCalendar> {
        for show in &self.shows {
            if show.schedule.on_air_week(now)?.is_some() {
                return Ok(Some(show));
            }
        }
        Ok(None)
    }

    /// The show on air at `now`, else the one whose live window starts first after it.
    pub fn on_air_or_next(&self, now: Timestamp) -> Result<&ShowDef, OutOfCalendar> {
        let mut best: Option<(Timestamp, &ShowDef)> = None;
        for show in &self.shows {
            let (start, _) = show.schedule.live_window_around(now)?;
            if best.is_none_or(|(earliest, _)| start < earliest) {
                best = Some((start, show));
            }
        }
        // `shows` is never empty, so the loop found one.
        Ok(best.map_or(&self.shows[0], |(_, show)| show))
    }
}

/// A station of manual shows named `slugs`, one an hour every day of the week from Monday on,
/// for tests elsewhere in the crate.
#[cfg(test)]
pub fn test_station(slugs: &[&str]) -> Station {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let shows = slugs
        .iter()
        .zip(DAYS)
        .map(|(slug, day)| ShowDef {
            slug: ShowSlug::parse(slug).expect("slug"),
            title: (*slug).to_owned(),
            schedule: Schedule::from_config("UTC", day, 10, 60).expect("schedule"),
            announce_template: AnnounceTemplate::parse(AnnounceTemplate::DEFAULT)
                .expect("template"),
            correction_template: CorrectionTemplate::parse(CorrectionTemplate::DEFAULT)
                .expect("template"),
            source: PlaylistSource::Manual,
            console: Console::default(),
            alerts: Alerts::default(),
        })
        .collect();
    Station::new(shows, Timestamp::now()).expect("disjoint")
}

/// The live windows `[start, end)` of the next 52 weeks, the one around `now` included.
fn live_windows(
    schedule: &Schedule,
    now: Timestamp,
) -> Result<Vec<(Timestamp, Timestamp)>, OutOfCalendar> {
    let starts = schedule.upcoming_starts(now, OVERLAP_HORIZON_WEEKS + 1)?;
    starts
        .into_iter()
        .map(|start| {
            let end = start
                .checked_add(schedule.live_window())
                .map_err(|_| OutOfCalendar(start))?;
            Ok((start, end))
        })
        .collect()
}

/// The first moment two sorted lists of windows share, if any.
fn first_overlap(a: &[(Timestamp, Timestamp)], b: &[(Timestamp, Timestamp)]) -> Option<Timestamp> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let start = a[i].0.max(b[j].0);
        if start < a[i].1.min(b[j].1) {
            return Some(start);
        }
        // The window that ends first cannot overlap anything later in the other list.
        if a[i].1 <= b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(slug: &str, tz: &str, day: &str, hour: i64, minutes: i64) -> ShowDef {
        ShowDef {
            slug: ShowSlug::parse(slug).expect("slug"),
            title: slug.to_owned(),
            schedule: Schedule::from_config(tz, day, hour, minutes).expect("schedule"),
            announce_template: AnnounceTemplate::parse(AnnounceTemplate::DEFAULT)
                .expect("template"),
            correction_template: CorrectionTemplate::parse(CorrectionTemplate::DEFAULT)
                .expect("template"),
            source: PlaylistSource::Manual,
            console: Console::default(),
            alerts: Alerts::default(),
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn slugs_are_short_lowercase_words() {
        for good in ["ntr", "a", "late-night-2", &"x".repeat(32)] {
            assert!(ShowSlug::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "NTR", "a b", "é", "a/b", "a_b", &"x".repeat(33)] {
            assert!(ShowSlug::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn disjoint_shows_make_a_station() {
        let station = Station::new(
            vec![
                show("ntr", "America/New_York", "wednesday", 22, 300),
                show("jazz", "Europe/Berlin", "thursday", 12, 120),
            ],
            at("2026-03-01T00:00:00Z"),
        )
        .expect("no overlap");
        assert_eq!(station.slug_list(), "ntr, jazz");
        // Wednesday 23:00 in New York.
        let live = station
            .on_air(at("2026-03-05T04:00:00Z"))
            .expect("calendar");
        assert_eq!(live.map(|s| s.slug.as_str()), Some("ntr"));
        let next = station
            .on_air_or_next(at("2026-03-05T10:00:00Z"))
            .expect("calendar");
        assert_eq!(
            next.slug.as_str(),
            "jazz",
            "Thursday noon in Berlin is next"
        );
    }

    #[test]
    fn overlapping_windows_name_both_shows() {
        let err = Station::new(
            vec![
                show("ntr", "America/New_York", "wednesday", 22, 300),
                show("late", "America/New_York", "thursday", 2, 60),
            ],
            at("2026-03-01T00:00:00Z"),
        )
        .expect_err("Thursday 02:00 is inside Wednesday 22:00 + 5 h");
        assert!(
            matches!(&err, StationError::Overlap { first, second, .. }
                if first.as_str() == "ntr" && second.as_str() == "late"),
            "{err}"
        );
    }

    #[test]
    fn an_overlap_that_only_a_dst_change_makes_is_found() {
        // Same hour on the wall in two zones one hour apart in winter and summer alike,
        // except for the weeks when only one of them has changed its clocks.
        let err = Station::new(
            vec![
                show("ny", "America/New_York", "sunday", 12, 60),
                show("london", "Europe/London", "sunday", 16, 60),
            ],
            at("2026-01-04T00:00:00Z"),
        )
        .expect_err("between the US and UK DST changes both start at 16:00 UTC");
        assert!(
            matches!(err, StationError::Overlap { at: when, .. }
                if when == at("2026-03-08T16:00:00Z")),
            "{err}"
        );
        // Back to back is not an overlap.
        Station::new(
            vec![
                show("a", "UTC", "monday", 10, 60),
                show("b", "UTC", "monday", 11, 60),
            ],
            at("2026-01-04T00:00:00Z"),
        )
        .expect("11:00 starts when 10:00 + 1 h ends");
    }

    #[test]
    fn rights_cover_their_shows_or_the_station() {
        let (ntr, jazz) = (ShowSlug::parse("ntr"), ShowSlug::parse("jazz"));
        let (ntr, jazz) = (ntr.expect("slug"), jazz.expect("slug"));
        let station = Rights::Station;
        assert!(station.is_station() && station.may(&ntr) && station.may_slug("gone"));
        assert_eq!(station.only_show(), None);
        assert_eq!(station.to_string(), "every show");

        let dj = Rights::Shows([ntr.clone()].into());
        assert!(!dj.is_station());
        assert!(dj.may(&ntr) && !dj.may(&jazz));
        assert!(!dj.may_slug("") && !dj.may_slug("nt"), "whole slugs only");
        assert_eq!(dj.only_show(), Some(&ntr));

        let both = Rights::Shows([ntr.clone(), jazz.clone()].into());
        assert!(both.may(&ntr) && both.may(&jazz));
        assert_eq!(both.only_show(), None, "a DJ of two shows must name one");
        assert_eq!(both.to_string(), "jazz, ntr");
        let refused = Refused::NotYourShow {
            show: "late".into(),
            rights: both,
        };
        assert_eq!(
            refused.to_string(),
            "show `late` is not one of yours (you may act on: jazz, ntr)"
        );
    }

    #[test]
    fn duplicate_slugs_and_no_shows_are_refused() {
        let now = at("2026-01-04T00:00:00Z");
        assert_eq!(Station::new(vec![], now).unwrap_err(), StationError::Empty);
        let err = Station::new(
            vec![
                show("a", "UTC", "monday", 10, 60),
                show("a", "UTC", "friday", 10, 60),
            ],
            now,
        )
        .unwrap_err();
        assert_eq!(err, StationError::Duplicate(ShowSlug::parse("a").unwrap()));
    }
}
