//! `/shows.rss`: one item per show that has standing track announces, newest first, its
//! tracklist (with links to every format) as the item's description.

use askama::Template;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::absolute;
use crate::config::Config;
use crate::tracklist::Tracklist;
use crate::web_url::WebUrl;

/// Most items a feed carries.
pub const MAX_ITEMS: u32 = 50;

/// One line of an item's description.
pub struct FeedLine {
    pub time: String,
    pub label: String,
    pub url: Option<WebUrl>,
}

#[derive(Template)]
#[template(path = "feed_item.html")]
struct ItemDescription {
    lines: Vec<FeedLine>,
    formats: Vec<(&'static str, String)>,
}

/// RFC 2822, as RSS wants its dates.
fn rfc2822(t: Timestamp) -> String {
    jiff::fmt::rfc2822::to_string(&t.to_zoned(TimeZone::UTC)).unwrap_or_default()
}

fn item(config: &Config, list: &Tracklist) -> Result<rss::Item, askama::Error> {
    let link = absolute(config, &format!("/shows/{}/tracklist", list.show_id));
    let description = ItemDescription {
        lines: list
            .entries
            .iter()
            .map(|e| FeedLine {
                time: e.clock(),
                label: e.label(),
                url: WebUrl::link(&e.url),
            })
            .collect(),
        formats: [
            ("text", "text"),
            ("CUE", "cue"),
            ("CSV", "csv"),
            ("Markdown", "md"),
            ("JSON", "json"),
        ]
        .into_iter()
        .map(|(name, f)| (name, format!("{link}?format={f}")))
        .collect(),
    }
    .render()?;
    let mut item = rss::Item::default();
    item.set_title(list.title.clone());
    item.set_link(link.clone());
    item.set_guid(rss::Guid {
        value: link,
        permalink: true,
    });
    item.set_pub_date(list.entries.first().map(|e| rfc2822(e.announced_at)));
    item.set_description(description);
    Ok(item)
}

/// The whole feed; `lists` newest show first.
pub fn feed(config: &Config, lists: &[Tracklist]) -> Result<String, askama::Error> {
    let items = lists
        .iter()
        .map(|l| item(config, l))
        .collect::<Result<Vec<_>, _>>()?;
    let mut channel = rss::Channel::default();
    channel.set_title(format!(
        "{}: shows and tracklists",
        config.station.primary().title
    ));
    channel.set_link(absolute(config, "/"));
    channel.set_description(
        "Each show's tracklist, with the time each track started, newest show first.",
    );
    channel.set_last_build_date(rfc2822(Timestamp::now()));
    channel.set_generator(format!("announce hub {}", env!("CARGO_PKG_VERSION")));
    channel.set_items(items);
    Ok(channel.to_string())
}
