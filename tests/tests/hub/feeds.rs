//! The public feeds: /nowplaying.json and .txt, /shows.rss (read back with a feed parser) and
//! /schedule.ics (read back with an iCalendar parser, its times checked against jiff).

use e2e::hub::TestHub;
use figment::Figment;
use figment::providers::{Format, Toml};
use icalendar::{CalendarComponent, CalendarDateTime, Component, DatePerhapsTime};
use jiff::civil::Weekday;
use jiff::tz::TimeZoneDatabase;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde_json::{Value, json};

async fn get(hub: &TestHub, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = hub
        .http
        .get(format!("{}{path}", hub.url()))
        .send()
        .await
        .expect("GET");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

#[tokio::test]
async fn nowplaying_follows_the_last_track_announce() {
    let hub = TestHub::start().await;
    let (status, headers, body) = get(&hub, "/nowplaying.json").await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-cache");
    let empty: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(empty["now_playing"], Value::Null);
    assert_eq!(empty["on_air"], false);
    let (_, current) = hub.get_json("/playlist").await;
    assert_eq!(empty["show"]["id"], current["id"]);
    assert_eq!(empty["show"]["week_start"], current["week_start"]);
    let (status, headers, text) = get(&hub, "/nowplaying.txt").await;
    assert_eq!((status, text.as_str()), (200, ""));
    assert_eq!(headers["cache-control"], "no-cache");

    let id = current["id"].as_i64().expect("id");
    let position = hub
        .add_record(id, "Night\nDrive", "Some One", "https://x.test/nd")
        .await;
    let answer = hub
        .announce(json!({"show_id": id, "position": position}))
        .await;
    hub.announce(json!({"text": "Back after the break"})).await;
    let (_, _, body) = get(&hub, "/nowplaying.json").await;
    let now: Value = serde_json::from_str(&body).expect("json");
    let playing = &now["now_playing"];
    assert_eq!(
        playing["seq"], answer["seq"],
        "a free text is not a track: {now}"
    );
    assert_eq!(playing["title"], "Night\nDrive");
    assert_eq!(playing["artist"], "Some One");
    assert_eq!(playing["url"], "https://x.test/nd");
    assert_eq!(playing["position"], position);
    assert_eq!(playing["show_id"], id);
    assert!(
        playing["announced_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let (_, headers, text) = get(&hub, "/nowplaying.txt").await;
    assert_eq!(
        text, "Some One - NightDrive",
        "one line, as announce lines are"
    );
    assert!(
        headers["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/plain"))
    );
}

#[tokio::test]
async fn rss_has_one_item_per_show_with_announces_newest_first() {
    let hub = TestHub::start().await;
    let (current_week, previous_week) = hub.weeks();
    let store = &hub.state().store;
    let main = &hub.state().config.station.primary().slug;
    let previous = store
        .show_for_week(main, previous_week)
        .await
        .expect("previous show");
    let current = store
        .show_for_week(main, current_week)
        .await
        .expect("current show");
    // A show without announces is left out.
    store
        .show_for_week(
            main,
            hub.state()
                .config
                .station
                .primary()
                .schedule
                .previous(previous_week)
                .expect("in range"),
        )
        .await
        .expect("older show");
    let p = hub
        .add_record(
            previous.id,
            "Old <b>one</b> ]]> & co",
            "Art",
            "https://x.test/o",
        )
        .await;
    hub.announce(json!({"show_id": previous.id, "position": p}))
        .await;
    let c = hub.add_record(current.id, "New one", "Band", "").await;
    hub.announce(json!({"show_id": current.id, "position": c}))
        .await;

    let (status, headers, body) = get(&hub, "/shows.rss").await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("application/rss+xml"))
    );
    let feed = feed_rs::parser::parse(body.as_bytes()).expect("a valid feed");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::RSS2);
    assert_eq!(feed.entries.len(), 2, "{body}");
    check_items(
        &hub,
        &feed,
        [(current.id, current_week), (previous.id, previous_week)],
    );
}

/// The items' links, titles and descriptions, newest show first.
fn check_items(hub: &TestHub, feed: &feed_rs::model::Feed, shows: [(i64, hub::Week); 2]) {
    let tz = hub
        .state()
        .config
        .station
        .primary()
        .schedule
        .time_zone()
        .clone();
    for (entry, (id, week)) in feed.entries.iter().zip(shows) {
        assert_eq!(
            entry.links[0].href,
            format!("{}/shows/{id}/tracklist", hub.url())
        );
        let title = format!(
            "Show of {}",
            week.end.to_zoned(tz.clone()).strftime("%Y-%m-%d")
        );
        assert_eq!(entry.title.as_ref().expect("title").content, title);
        assert!(entry.published.is_some(), "pubDate");
    }
    let description = |i: usize| {
        feed.entries[i]
            .summary
            .as_ref()
            .expect("description")
            .content
            .clone()
    };
    let old = description(1);
    assert!(
        old.contains("00:00 <a href=\"https://x.test/o\">Art - Old &#60;b&#62;one&#60;/b&#62; ]]&#62; &#38; co</a>"),
        "titles are HTML-escaped inside the description: {old}"
    );
    let new = description(0);
    assert!(
        new.contains("00:00 Band - New one<br>"),
        "a record without a link: {new}"
    );
}

/// The next `n` starts of "Wednesday 22:00 New York" after `now`, computed with jiff alone.
fn wednesdays_22_new_york(now: Timestamp, n: usize) -> Vec<Timestamp> {
    let tz = TimeZoneDatabase::bundled()
        .get("America/New_York")
        .expect("zone");
    let mut date = now.to_zoned(tz.clone()).date();
    let mut out = Vec::new();
    while out.len() < n {
        if date.weekday() == Weekday::Wednesday {
            let start = date
                .at(22, 0, 0, 0)
                .to_zoned(tz.clone())
                .expect("local time")
                .timestamp();
            if start > now {
                out.push(start);
            }
        }
        date = date.checked_add(1.day()).expect("date");
    }
    out
}

fn event_times(ics: &str) -> Vec<(i64, i64)> {
    let calendar: icalendar::Calendar = ics.parse().expect("a valid iCalendar");
    let utc_seconds = |t: Option<DatePerhapsTime>| match t {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) => t.timestamp(),
        other => panic!("a UTC date-time, got {other:?}"),
    };
    calendar
        .components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => {
                assert!(e.get_summary().is_some_and(|s| !s.is_empty()));
                assert!(e.get_uid().is_some());
                Some((utc_seconds(e.get_start()), utc_seconds(e.get_end())))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn ics_is_right_across_the_2026_us_dst_change() {
    let config = hub::Config::from_figment(Figment::new().merge(Toml::string(
        "[show]\ntimezone = \"America/New_York\"\nday = \"wednesday\"\nhour = 22\nduration_minutes = 300\n",
    )))
    .expect("config");
    let now: Timestamp = "2026-10-10T12:00:00Z".parse().expect("time");
    let ics = hub::calendar(&config, now).expect("in range");
    let expected = wednesdays_22_new_york(now, 8);
    // DST ends on 2026-11-01: 22:00 New York is 02:00Z before and 03:00Z after.
    assert_eq!(expected[2].to_string(), "2026-10-29T02:00:00Z");
    assert_eq!(expected[3].to_string(), "2026-11-05T03:00:00Z");
    let times = event_times(&ics);
    let want: Vec<(i64, i64)> = expected
        .iter()
        .map(|s| {
            let end = *s + SignedDuration::from_mins(300);
            (s.as_second(), end.as_second())
        })
        .collect();
    assert_eq!(times, want, "{ics}");
}

#[tokio::test]
async fn schedule_ics_lists_the_next_eight_shows() {
    let hub = TestHub::start().await;
    let (status, headers, body) = get(&hub, "/schedule.ics").await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/calendar"))
    );
    // The test schedule is weekly in UTC, its week having started 72 hours ago.
    let (week, _) = hub.weeks();
    let times = event_times(&body);
    assert_eq!(times.len(), 8);
    for (i, (start, end)) in times.iter().enumerate() {
        let want = week.end + SignedDuration::from_hours(168 * i as i64);
        assert_eq!(*start, want.as_second(), "show {i}");
        assert_eq!(
            end - start,
            hub.state()
                .config
                .station
                .primary()
                .schedule
                .live_window()
                .as_secs(),
            "duration_minutes of the test schedule"
        );
    }
}
