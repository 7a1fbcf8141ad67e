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
        let page = absolute(config, &config.station.page_path(show));
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

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Toml};

    use super::*;

    #[test]
    fn a_station_lists_every_shows_starts_under_its_own_title() {
        let config = Config::from_figment(Figment::new().merge(Toml::string(
            "[[shows]]\nslug = \"a\"\ntitle = \"Show A\"\nsource = \"manual\"\n\
             timezone = \"Europe/Berlin\"\nday = \"monday\"\nhour = 10\nduration_minutes = 60\n\
             [[shows]]\nslug = \"b\"\ntitle = \"Show B\"\nsource = \"manual\"\n\
             timezone = \"America/New_York\"\nday = \"friday\"\nhour = 20\nduration_minutes = 60\n",
        )))
        .expect("two shows");
        let now: Timestamp = "2026-03-01T00:00:00Z".parse().expect("time");
        let ics = calendar(&config, now).expect("in range");
        assert_eq!(ics.matches("SUMMARY:Show A live").count(), SHOWS, "{ics}");
        assert_eq!(ics.matches("SUMMARY:Show B live").count(), SHOWS, "{ics}");
        assert!(ics.contains("/s/b"), "a show's page on a station: {ics}");
        // In time order: Monday's A before Friday's B, week after week.
        let first_a = ics.find("SUMMARY:Show A live").expect("a");
        let first_b = ics.find("SUMMARY:Show B live").expect("b");
        assert!(first_a < first_b, "{ics}");

        let only_b = calendar_of(&config, &[config.station.get("b").expect("b")], now);
        let only_b = only_b.expect("in range");
        assert!(!only_b.contains("Show A"), "{only_b}");
        assert_eq!(only_b.matches("SUMMARY:Show B live").count(), SHOWS);
    }
}
