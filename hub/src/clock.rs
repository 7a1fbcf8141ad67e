//! One clock for every page: times are drawn in the show's time zone and labelled with it
//! ("22:41:07 New York"), never in the server's or the reader's own zone. The pages get the
//! zone's IANA name too (`data-tz`), so the times their scripts draw after a click follow the
//! same clock.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The show's zone, its IANA name and the label times carry.
#[derive(Debug, Clone)]
pub struct Clock {
    tz: TimeZone,
    iana: String,
    label: String,
}

impl Clock {
    pub fn new(tz: &TimeZone) -> Clock {
        // Zones come from the time zone database by name, so they always carry one; an unnamed
        // zone could only be UTC's own.
        let iana = tz.iana_name().unwrap_or("UTC").to_string();
        Clock {
            tz: tz.clone(),
            label: zone_label(&iana),
            iana,
        }
    }

    /// The IANA name, for the browser's `Intl.DateTimeFormat(…, {timeZone})`.
    pub fn iana(&self) -> &str {
        &self.iana
    }

    /// How the zone is named next to a time: "New York".
    pub fn label(&self) -> &str {
        &self.label
    }

    /// "22:41:07 New York".
    pub fn time(&self, t: Timestamp) -> String {
        format!("{} {}", self.format(t, "%H:%M:%S"), self.label)
    }

    /// "Wed Mar 18, 22:00" (no label: a range shows it once, at its end).
    pub fn day_time(&self, t: Timestamp) -> String {
        self.format(t, "%a %b %-d, %H:%M")
    }

    /// "Wed Mar 18, 22:00 – Wed Mar 25, 22:00 New York".
    pub fn range(&self, start: Timestamp, end: Timestamp) -> String {
        format!(
            "{} – {} {}",
            self.day_time(start),
            self.day_time(end),
            self.label
        )
    }

    /// `t` in the show's zone, formatted with `strftime` directives.
    pub fn format(&self, t: Timestamp, fmt: &str) -> String {
        t.to_zoned(self.tz.clone()).strftime(fmt).to_string()
    }
}

/// "New York" from "America/New_York", "Kolkata" from "Asia/Kolkata", "UTC" from "UTC": the
/// city part, as people name the zone.
pub fn zone_label(iana: &str) -> String {
    iana.rsplit('/').next().unwrap_or(iana).replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZoneDatabase;

    #[test]
    fn labels_times_with_the_city_of_the_zone() {
        let tz = TimeZoneDatabase::bundled()
            .get("America/New_York")
            .expect("zone");
        let clock = Clock::new(&tz);
        let t: Timestamp = "2026-03-19T02:41:07Z".parse().expect("time");
        assert_eq!(clock.iana(), "America/New_York");
        assert_eq!(clock.time(t), "22:41:07 New York");
        assert_eq!(clock.day_time(t), "Wed Mar 18, 22:41");
        assert_eq!(zone_label("UTC"), "UTC");
        assert_eq!(zone_label("America/Argentina/Buenos_Aires"), "Buenos Aires");
    }
}
