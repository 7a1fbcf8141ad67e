//! Show weeks: a week starts each `show.day` at `show.hour`:00 in `show.timezone` and ends at the
//! next start, so across a DST change a week lasts 167 or 169 hours. The show of a week airs at
//! its end; for `duration_minutes` after a week start the week that just ended is *on air*.
//!
//! Time zones come from jiff's bundled database, never the host's, so a test's answer does not
//! depend on the machine it runs on.

use jiff::civil::{Date, Weekday};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::config::ConfigError;

/// One show week, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Week {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// The weekly schedule from `[show]`.
#[derive(Debug, Clone)]
pub struct Schedule {
    tz: TimeZone,
    day: Weekday,
    hour: i8,
    live: SignedDuration,
}

/// The shortest week (the one that loses an hour to DST), which bounds the live window.
const SHORTEST_WEEK_MINUTES: i64 = 167 * 60;

impl Schedule {
    pub fn from_config(
        timezone: &str,
        day: &str,
        hour: i64,
        duration_minutes: i64,
    ) -> Result<Schedule, ConfigError> {
        let tz = TimeZoneDatabase::bundled().get(timezone).map_err(|_| {
            ConfigError::invalid(
                "show.timezone",
                format!("`{timezone}` is not a time zone name such as America/New_York"),
            )
        })?;
        let day = parse_weekday(day).ok_or_else(|| {
            ConfigError::invalid(
                "show.day",
                format!("`{day}` is not a day of the week such as wednesday"),
            )
        })?;
        let hour = i8::try_from(hour)
            .ok()
            .filter(|h| (0..24).contains(h))
            .ok_or_else(|| {
                ConfigError::invalid("show.hour", format!("must be 0 to 23 (got {hour})"))
            })?;
        if !(1..=SHORTEST_WEEK_MINUTES).contains(&duration_minutes) {
            return Err(ConfigError::invalid(
                "show.duration_minutes",
                format!("must be 1 to {SHORTEST_WEEK_MINUTES} (got {duration_minutes})"),
            ));
        }
        Ok(Schedule {
            tz,
            day,
            hour,
            live: SignedDuration::from_mins(duration_minutes),
        })
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The week that `t` falls in.
    pub fn week_containing(&self, t: Timestamp) -> Week {
        let local = t.to_zoned(self.tz.clone()).date();
        let back = (local.weekday().to_monday_zero_offset() - self.day.to_monday_zero_offset())
            .rem_euclid(7);
        let mut start_date = local.saturating_sub(i64::from(back).days());
        if self.start_on(start_date) > t {
            start_date = start_date.saturating_sub(7.days());
        }
        Week {
            start: self.start_on(start_date),
            end: self.start_on(start_date.saturating_add(7.days())),
        }
    }

    pub fn previous(&self, week: Week) -> Week {
        self.week_containing(week.start - SignedDuration::from_nanos(1))
    }

    /// The week whose show is on air at `now`, if `now` is inside a live window.
    pub fn on_air_week(&self, now: Timestamp) -> Option<Week> {
        let current = self.week_containing(now);
        (now < current.start + self.live).then(|| self.previous(current))
    }

    pub fn is_live(&self, now: Timestamp) -> bool {
        self.on_air_week(now).is_some()
    }

    /// The live window `[start, end)` that `now` is in, else the next one.
    pub fn live_window(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        let current = self.week_containing(now);
        let start = if now < current.start + self.live {
            current.start
        } else {
            current.end
        };
        (start, start + self.live)
    }

    /// The show people mean by "the current show": the on-air one during the live window
    /// (the DJ is playing it), otherwise the week being collected now.
    pub fn current_show_week(&self, now: Timestamp) -> Week {
        self.on_air_week(now)
            .unwrap_or_else(|| self.week_containing(now))
    }

    /// The instant `hour`:00 local on `date`. If DST skips that hour, jiff's "compatible" rule
    /// moves it forward past the gap, which is what a wall clock shows.
    fn start_on(&self, date: Date) -> Timestamp {
        date.at(self.hour, 0, 0, 0)
            .to_zoned(self.tz.clone())
            .map(|z| z.timestamp())
            // Only dates at the very edge of jiff's range (year ±9999) can fail.
            .unwrap_or(Timestamp::MAX)
    }
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    let days = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    let s = s.trim().to_ascii_lowercase();
    days.iter()
        .find(|(name, _)| *name == s || (s.len() == 3 && name.starts_with(&s)))
        .map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny_wed_22() -> Schedule {
        Schedule::from_config("America/New_York", "wednesday", 22, 300).expect("valid")
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn hours(w: Week) -> i64 {
        w.end.duration_since(w.start).as_hours()
    }

    #[test]
    fn ordinary_week() {
        // Wed 2026-06-10 22:00 EDT = 02:00Z on the 11th.
        let w = ny_wed_22().week_containing(ts("2026-06-12T12:00:00Z"));
        assert_eq!(w.start, ts("2026-06-11T02:00:00Z"));
        assert_eq!(w.end, ts("2026-06-18T02:00:00Z"));
        assert_eq!(hours(w), 168);
    }

    #[test]
    fn spring_forward_week_is_167_hours() {
        // DST starts Sun 2026-03-08 in the US: Wed 03-04 22:00 EST (03:00Z) to Wed 03-11 22:00 EDT (02:00Z).
        let w = ny_wed_22().week_containing(ts("2026-03-08T12:00:00Z"));
        assert_eq!(w.start, ts("2026-03-05T03:00:00Z"));
        assert_eq!(w.end, ts("2026-03-12T02:00:00Z"));
        assert_eq!(hours(w), 167);
    }

    #[test]
    fn fall_back_week_is_169_hours() {
        // DST ends Sun 2026-11-01: Wed 10-28 22:00 EDT (02:00Z on 29th) to Wed 11-04 22:00 EST (03:00Z on 5th).
        let w = ny_wed_22().week_containing(ts("2026-11-01T12:00:00Z"));
        assert_eq!(w.start, ts("2026-10-29T02:00:00Z"));
        assert_eq!(w.end, ts("2026-11-05T03:00:00Z"));
        assert_eq!(hours(w), 169);
    }

    #[test]
    fn exact_boundary_instants() {
        let s = ny_wed_22();
        let start = ts("2026-06-11T02:00:00Z");
        assert_eq!(s.week_containing(start).start, start);
        let just_before = start - SignedDuration::from_nanos(1);
        assert_eq!(s.week_containing(just_before).end, start);
        assert_eq!(s.previous(s.week_containing(start)).end, start);
    }

    #[test]
    fn live_window_is_the_current_or_the_next_one() {
        let s = Schedule::from_config("UTC", "wednesday", 22, 300).expect("schedule");
        let start: Timestamp = "2026-03-11T22:00:00Z".parse().expect("time");
        let five_hours = SignedDuration::from_hours(5);
        assert_eq!(s.live_window(start), (start, start + five_hours));
        let inside = start + SignedDuration::from_hours(4);
        assert_eq!(s.live_window(inside), (start, start + five_hours));
        let next = start + SignedDuration::from_hours(7 * 24);
        assert_eq!(s.live_window(start + five_hours), (next, next + five_hours));
    }

    #[test]
    fn live_window_puts_the_previous_week_on_air() {
        let s = ny_wed_22();
        let start = ts("2026-06-11T02:00:00Z");
        let previous = s.week_containing(start - SignedDuration::from_secs(1));
        assert_eq!(s.on_air_week(start), Some(previous));
        let last_live = start + SignedDuration::from_mins(300) - SignedDuration::from_nanos(1);
        assert_eq!(s.on_air_week(last_live), Some(previous));
        assert_eq!(s.on_air_week(start + SignedDuration::from_mins(300)), None);
        assert_eq!(s.current_show_week(last_live), previous);
        assert_eq!(
            s.current_show_week(start + SignedDuration::from_mins(300)),
            s.week_containing(start)
        );
    }

    #[test]
    fn a_show_hour_inside_a_dst_gap_moves_past_it() {
        // 02:00 on Sunday 2026-03-08 does not exist in New York; the week starts at 03:00 EDT.
        let s = Schedule::from_config("America/New_York", "sunday", 2, 60).expect("valid");
        let w = s.week_containing(ts("2026-03-09T12:00:00Z"));
        assert_eq!(w.start, ts("2026-03-08T07:00:00Z"));
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Schedule::from_config("Nowhere/City", "wednesday", 22, 300).is_err());
        assert!(Schedule::from_config("UTC", "blursday", 22, 300).is_err());
        assert!(Schedule::from_config("UTC", "wednesday", 24, 300).is_err());
        assert!(Schedule::from_config("UTC", "wednesday", -1, 300).is_err());
        assert!(Schedule::from_config("UTC", "wednesday", 22, 0).is_err());
        assert!(Schedule::from_config("UTC", "Wed", 22, 300).is_ok());
    }
}
