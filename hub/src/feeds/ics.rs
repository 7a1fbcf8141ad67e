//! `/schedule.ics`: the next show starts as VEVENTs lasting the live window. Times are written
//! in UTC, computed from the show's own time zone, so they are right across DST changes
//! without a VTIMEZONE (which calendar clients would have to interpret). A station lists each
//! show's next starts, every event titled with its own show's title.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, EventLike};
use jiff::Timestamp;

use super::absolute;
use crate::config::Config;
use crate::station::ShowDef;
use crate::week::OutOfCalendar;

/// How many starts of each show the calendar lists.
pub const SHOWS: usize = 8;

fn utc(t: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().unsigned_abs())
        .unwrap_or_default()
}

/// The calendar of every show of the station.
pub fn calendar(config: &Config, now: Timestamp) -> Result<String, OutOfCalendar> {
    let shows: Vec<&ShowDef> = config.station.shows().iter().collect();
    calendar_of(config, &shows, now)
}

/// The calendar of `shows`: each one's next [`SHOWS`] starts, in time order. Named after the
/// show when it has one, after the station otherwise.
pub fn calendar_of(
    config: &Config,
    shows: &[&ShowDef],
    now: Timestamp,
) -> Result<String, OutOfCalendar> {
    let mut starts: Vec<(Timestamp, &ShowDef)> = Vec::new();
    for show in shows {
        let upcoming = show.schedule.upcoming_starts(now, SHOWS)?;
        starts.extend(upcoming.into_iter().map(|start| (start, *show)));
    }
    starts.sort_by_key(|(start, _)| *start);
    let host = config.hub.public_url.host_str().unwrap_or("localhost");
    let mut calendar = Calendar::new();
    match shows {
        [one] => calendar.name(&format!("{} live", one.title)),
        _ => calendar.name(&format!("{} live", config.station.primary().title)),
    };
    calendar.description("The next shows of the weekly live show");
    for (start, show) in starts {
        let page = absolute(config, &show_page(config, show));
        let end = start + show.schedule.live_window();
        calendar.push(
            icalendar::Event::new()
                .uid(&format!("show-{}@{host}", start.as_second()))
                .summary(&format!("{} live", show.title))
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

/// A show's page: `/` while it is the station's only show, `/s/{slug}` otherwise.
fn show_page(config: &Config, show: &ShowDef) -> String {
    if config.station.shows().len() == 1 {
        "/".to_string()
    } else {
        format!("/s/{}", show.slug)
    }
}
