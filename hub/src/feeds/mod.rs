//! Feeds for people who are not in IRC: the shows as RSS 2.0 (`/shows.rss`, each show's
//! tracklist as an item) and the coming shows as iCalendar (`/schedule.ics`). Both are written
//! by well-kept crates (`rss`, `icalendar`), which do the XML and iCalendar escaping; track links
//! are only ever http(s) ([`crate::web_url::WebUrl`]).

pub mod ics;
pub mod rss;

use crate::config::Config;

/// `public_url` plus an absolute `path` (which starts with `/`), for links that leave the hub.
pub fn absolute(config: &Config, path: &str) -> String {
    format!(
        "{}{path}",
        config.hub.public_url.as_str().trim_end_matches('/')
    )
}
