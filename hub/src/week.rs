//! Show weeks: a week starts each `show.day` at `show.hour`:00 in `show.timezone` and ends at the
//! next start, so across a DST change a week lasts 167 or 169 hours. The show of a week airs at
//! its end; for `duration_minutes` after a week start the week that just ended is *on air*.
//!
//! Time zones come from jiff's bundled database, never the host's, so a test's answer does not
//! depend on the machine it runs on.

use jiff::civil::{Date, Weekday};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{SignedDuration, Timestamp, ToSpan};

/// One show week, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Week {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Week {
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }
}

/// A time within a week of either end of jiff's calendar (years -9999 and 9999), where a
/// whole week around it cannot be represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no show week contains {0}: it is at the end of the calendar")]
pub struct OutOfCalendar(pub Timestamp);

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

/// A schedule value that cannot be used: `field` is its key within the show's section
/// (`timezone`, `day`, `hour`, `duration_minutes`), so the config can name the whole key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ScheduleError {
    pub field: &'static str,
    pub message: String,
}

impl ScheduleError {
    fn new(field: &'static str, message: String) -> ScheduleError {
        ScheduleError { field, message }
    }
}

impl Schedule {
    pub fn from_config(
        timezone: &str,
        day: &str,
        hour: i64,
        duration_minutes: i64,
    ) -> Result<Schedule, ScheduleError> {
        let tz = TimeZoneDatabase::bundled().get(timezone).map_err(|_| {
            ScheduleError::new(
                "timezone",
                format!("`{timezone}` is not a time zone name such as America/New_York"),
            )
        })?;
        let day = parse_weekday(day).ok_or_else(|| {
            ScheduleError::new(
                "day",
                format!("`{day}` is not a day of the week such as wednesday"),
            )
        })?;
        let hour = i8::try_from(hour)
            .ok()
            .filter(|h| (0..24).contains(h))
            .ok_or_else(|| ScheduleError::new("hour", format!("must be 0 to 23 (got {hour})")))?;
        if !(1..=SHORTEST_WEEK_MINUTES).contains(&duration_minutes) {
            return Err(ScheduleError::new(
                "duration_minutes",
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
    pub fn week_containing(&self, t: Timestamp) -> Result<Week, OutOfCalendar> {
        let out = |_| OutOfCalendar(t);
        let local = t.to_zoned(self.tz.clone()).date();
        let back = (local.weekday().to_monday_zero_offset() - self.day.to_monday_zero_offset())
            .rem_euclid(7);
        let mut start_date = local.checked_sub(i64::from(back).days()).map_err(out)?;
        let mut start = self.start_on(start_date).map_err(out)?;
        if start > t {
            start_date = start_date.checked_sub(7.days()).map_err(out)?;
            start = self.start_on(start_date).map_err(out)?;
        }
        let end_date = start_date.checked_add(7.days()).map_err(out)?;
        let end = self.start_on(end_date).map_err(out)?;
        Ok(Week { start, end })
    }

    pub fn previous(&self, week: Week) -> Result<Week, OutOfCalendar> {
        let before = week
            .start
            .checked_sub(SignedDuration::from_nanos(1))
            .map_err(|_| OutOfCalendar(week.start))?;
        self.week_containing(before)
    }

    /// Whether `now` is in the live window at the start of `current`, the week containing it.
    pub fn is_live_in(&self, current: Week, now: Timestamp) -> bool {
        now.duration_since(current.start) < self.live
    }

    /// Whether `week`'s show is on air at `now`: during the live window right after it ends.
    pub fn is_on_air(&self, week: Week, now: Timestamp) -> bool {
        let since_end = now.duration_since(week.end);
        !since_end.is_negative() && since_end < self.live
    }

    /// The week whose show is on air at `now`, if `now` is inside a live window.
    pub fn on_air_week(&self, now: Timestamp) -> Result<Option<Week>, OutOfCalendar> {
        let current = self.week_containing(now)?;
        if self.is_live_in(current, now) {
            self.previous(current).map(Some)
        } else {
            Ok(None)
        }
    }

    /// How long a show is live after its start (`duration_minutes`).
    pub fn live_window(&self) -> SignedDuration {
        self.live
    }

    /// The span whose free texts belong in `week`'s show log: from the end of the previous
    /// show's live window to the end of this one's. A free text has no show of its own, so it
    /// goes with the show on air when it was sent, or, between shows, with the one that airs
    /// next.
    pub fn log_window(&self, week: Week) -> (Timestamp, Timestamp) {
        (week.start + self.live, week.end + self.live)
    }

    /// The next `count` show starts: the one on air at `now` if it is inside a live window,
    /// then the following week starts.
    pub fn upcoming_starts(
        &self,
        now: Timestamp,
        count: usize,
    ) -> Result<Vec<Timestamp>, OutOfCalendar> {
        let mut week = self.week_containing(now)?;
        let mut starts = Vec::with_capacity(count);
        if self.is_live_in(week, now) {
            starts.push(week.start);
        }
        while starts.len() < count {
            starts.push(week.end);
            week = self.week_containing(week.end)?;
        }
        Ok(starts)
    }

    /// The live window `[start, end)` that `now` is in, else the next one.
    pub fn live_window_around(
        &self,
        now: Timestamp,
    ) -> Result<(Timestamp, Timestamp), OutOfCalendar> {
        let current = self.week_containing(now)?;
        let start = if self.is_live_in(current, now) {
            current.start
        } else {
            current.end
        };
        let end = start
            .checked_add(self.live)
            .map_err(|_| OutOfCalendar(start))?;
        Ok((start, end))
    }

    /// The show people mean by "the current show": the on-air one during the live window
    /// (the DJ is playing it), otherwise the week being collected now.
    pub fn current_show_week(&self, now: Timestamp) -> Result<Week, OutOfCalendar> {
        match self.on_air_week(now)? {
            Some(week) => Ok(week),
            None => self.week_containing(now),
        }
    }

    /// The instant `hour`:00 local on `date`. If DST skips that hour, jiff's "compatible" rule
    /// moves it forward past the gap, which is what a wall clock shows. Only dates at the very
    /// edge of jiff's range (year ±9999) fail.
    fn start_on(&self, date: Date) -> Result<Timestamp, jiff::Error> {
        date.at(self.hour, 0, 0, 0)
            .to_zoned(self.tz.clone())
            .map(|z| z.timestamp())
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

    fn week(s: &Schedule, t: Timestamp) -> Week {
        s.week_containing(t).expect("in the calendar")
    }

    fn hours(w: Week) -> i64 {
        w.end.duration_since(w.start).as_hours()
    }

    #[test]
    fn ordinary_week() {
        // Wed 2026-06-10 22:00 EDT = 02:00Z on the 11th.
        let w = week(&ny_wed_22(), ts("2026-06-12T12:00:00Z"));
        assert_eq!(w.start, ts("2026-06-11T02:00:00Z"));
        assert_eq!(w.end, ts("2026-06-18T02:00:00Z"));
        assert_eq!(hours(w), 168);
    }

    #[test]
    fn spring_forward_week_is_167_hours() {
        // DST starts Sun 2026-03-08 in the US: Wed 03-04 22:00 EST (03:00Z) to Wed 03-11 22:00 EDT (02:00Z).
        let w = week(&ny_wed_22(), ts("2026-03-08T12:00:00Z"));
        assert_eq!(w.start, ts("2026-03-05T03:00:00Z"));
        assert_eq!(w.end, ts("2026-03-12T02:00:00Z"));
        assert_eq!(hours(w), 167);
    }

    #[test]
    fn fall_back_week_is_169_hours() {
        // DST ends Sun 2026-11-01: Wed 10-28 22:00 EDT (02:00Z on 29th) to Wed 11-04 22:00 EST (03:00Z on 5th).
        let w = week(&ny_wed_22(), ts("2026-11-01T12:00:00Z"));
        assert_eq!(w.start, ts("2026-10-29T02:00:00Z"));
        assert_eq!(w.end, ts("2026-11-05T03:00:00Z"));
        assert_eq!(hours(w), 169);
    }

    #[test]
    fn exact_boundary_instants() {
        let s = ny_wed_22();
        let start = ts("2026-06-11T02:00:00Z");
        assert_eq!(week(&s, start).start, start);
        let just_before = start - SignedDuration::from_nanos(1);
        assert_eq!(week(&s, just_before).end, start);
        assert_eq!(s.previous(week(&s, start)).expect("previous").end, start);
    }

    #[test]
    fn live_window_is_the_current_or_the_next_one() {
        let s = Schedule::from_config("UTC", "wednesday", 22, 300).expect("schedule");
        let start: Timestamp = "2026-03-11T22:00:00Z".parse().expect("time");
        let five_hours = SignedDuration::from_hours(5);
        assert_eq!(s.live_window_around(start), Ok((start, start + five_hours)));
        let inside = start + SignedDuration::from_hours(4);
        assert_eq!(
            s.live_window_around(inside),
            Ok((start, start + five_hours))
        );
        let next = start + SignedDuration::from_hours(7 * 24);
        assert_eq!(
            s.live_window_around(start + five_hours),
            Ok((next, next + five_hours))
        );
    }

    #[test]
    fn live_window_puts_the_previous_week_on_air() {
        let s = ny_wed_22();
        let start = ts("2026-06-11T02:00:00Z");
        let previous = week(&s, start - SignedDuration::from_secs(1));
        let after_live = start + SignedDuration::from_mins(300);
        let last_live = after_live - SignedDuration::from_nanos(1);
        assert_eq!(s.on_air_week(start), Ok(Some(previous)));
        assert_eq!(s.on_air_week(last_live), Ok(Some(previous)));
        assert_eq!(s.on_air_week(after_live), Ok(None));
        assert_eq!(s.current_show_week(last_live), Ok(previous));
        assert_eq!(s.current_show_week(after_live), Ok(week(&s, start)));
        for (now, on_air) in [(start, true), (last_live, true), (after_live, false)] {
            assert_eq!(s.is_on_air(previous, now), on_air, "{now}");
            assert_eq!(s.is_live_in(week(&s, now), now), on_air, "{now}");
        }
        assert!(!s.is_on_air(previous, start - SignedDuration::from_nanos(1)));
        assert!(
            !s.is_on_air(week(&s, start), last_live),
            "the week being collected"
        );
    }

    #[test]
    fn upcoming_starts_keep_the_local_hour_across_dst() {
        let s = ny_wed_22();
        let starts = s
            .upcoming_starts(ts("2026-10-20T12:00:00Z"), 3)
            .expect("in range");
        assert_eq!(
            starts,
            [
                ts("2026-10-22T02:00:00Z"),
                ts("2026-10-29T02:00:00Z"),
                ts("2026-11-05T03:00:00Z")
            ]
        );
        let live = s
            .upcoming_starts(ts("2026-10-22T03:00:00Z"), 2)
            .expect("in range");
        assert_eq!(
            live,
            [ts("2026-10-22T02:00:00Z"), ts("2026-10-29T02:00:00Z")]
        );
    }

    #[test]
    fn a_show_hour_inside_a_dst_gap_moves_past_it() {
        // 02:00 on Sunday 2026-03-08 does not exist in New York; the week starts at 03:00 EDT.
        let s = Schedule::from_config("America/New_York", "sunday", 2, 60).expect("valid");
        let w = week(&s, ts("2026-03-09T12:00:00Z"));
        assert_eq!(w.start, ts("2026-03-08T07:00:00Z"));
    }

    #[test]
    fn the_end_of_the_calendar_has_no_made_up_week() {
        let s = ny_wed_22();
        let t = Timestamp::MAX - SignedDuration::from_hours(1);
        assert_eq!(s.week_containing(t), Err(OutOfCalendar(t)));
        assert_eq!(s.current_show_week(t), Err(OutOfCalendar(t)));
        let first = Timestamp::MIN + SignedDuration::from_hours(1);
        assert_eq!(s.week_containing(first), Err(OutOfCalendar(first)));
        let last_whole = week(&s, Timestamp::MAX - SignedDuration::from_hours(24 * 8));
        assert_eq!(hours(last_whole), 168);
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
