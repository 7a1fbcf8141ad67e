//! `/schedule.ics`: the next show starts as VEVENTs lasting the live window. Times are written
//! in UTC, computed from the show's own time zone, so they are right across DST changes
//! without a VTIMEZONE (which calendar clients would have to interpret).

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, EventLike};
use jiff::Timestamp;

use super::absolute;
use crate::config::Config;
use crate::week::OutOfCalendar;

/// How many show starts the calendar lists.
pub const SHOWS: usize = 8;

fn utc(t: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().unsigned_abs())
        .unwrap_or_default()
}

pub fn calendar(config: &Config, now: Timestamp) -> Result<String, OutOfCalendar> {
    let schedule = &config.station.primary().schedule;
    let page = absolute(config, "/");
    let host = config.hub.public_url.host_str().unwrap_or("localhost");
    let title = format!("{} live", config.station.primary().title);
    let mut calendar = Calendar::new();
    calendar.name(&title);
    calendar.description("The next shows of the weekly live show");
    for start in schedule.upcoming_starts(now, SHOWS)? {
        let end = start + schedule.live_window();
        calendar.push(
            icalendar::Event::new()
                .uid(&format!("show-{}@{host}", start.as_second()))
                .summary(&title)
                .description(&format!("Playlist and live now playing: {page}"))
                .url(&page)
                .timestamp(utc(now))
                .starts(utc(start))
                .ends(utc(end))
                .done(),
        );
    }
    Ok(calendar.done().to_string())
}
