//! Feeds for people who are not in IRC: the shows as RSS 2.0 (`/shows.rss`, each show's
//! tracklist as an item) and the coming shows as iCalendar (`/schedule.ics`). Both are written
//! by well-kept crates (`rss`, `icalendar`), which do the XML and iCalendar escaping.

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

/// A track link is only ever an http(s) URL; anything else is shown as text.
pub fn safe_link(url: &str) -> Option<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links() {
        assert_eq!(safe_link("https://x.test/a"), Some("https://x.test/a"));
        assert_eq!(safe_link("HTTP://x.test"), Some("HTTP://x.test"));
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link(""), None);
    }
}
