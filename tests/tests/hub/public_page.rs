//! The listeners' page `/`: server-rendered (everything is in the HTML before any script runs,
//! and no script is inline), and in a real headless Chromium its "Now playing" follows each
//! announce without a reload. Screenshots of the page at a phone's and a laptop's width are
//! saved in `e2e::browser::screenshot_dir()`.

use std::time::{Duration, Instant};

use e2e::browser::{Browser, DESKTOP, PHONE};
use e2e::hub::{TestHub, TestSchedule};
use jiff::SignedDuration;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);

/// Inside a live window: the schedule starts on the hour of ten minutes ago (so 10 to 70
/// minutes ago), and the window lasts two hours.
fn on_air() -> TestSchedule {
    TestSchedule {
        ago: SignedDuration::from_mins(10),
        live_minutes: 120,
        ..TestSchedule::default()
    }
}

#[tokio::test]
async fn the_page_is_complete_without_scripts() {
    let hub = TestHub::start_with(on_air(), "").await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");
    hub.add_record(id, "Night <Drive>", "A & B", "https://x.test/nd")
        .await;
    hub.add_record(id, "Evil", "X", "").await;
    hub.announce(json!({"show_id": id, "position": 1})).await;
    hub.announce(json!({"show_id": id, "position": 2})).await;
    hub.announce(json!({"show_id": id, "position": 1})).await;
    let html = hub
        .http
        .get(format!("{}/", hub.url()))
        .send()
        .await
        .expect("GET /")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("<a id=\"np-title\" href=\"https://x.test/nd\" rel=\"noopener noreferrer\">Night &#60;Drive&#62;</a>"),
        "now playing, escaped: {html}"
    );
    assert!(html.contains("<span id=\"np-artist\">A &#38; B</span>"));
    assert!(
        html.contains("<mark id=\"on-air\" class=\"on-air\">On air</mark>"),
        "on air, not hidden"
    );
    assert!(
        html.contains(" UTC</strong>"),
        "the next show is labelled with the zone"
    );
    assert!(
        html.contains("<time>00:00</time> <a href=\"https://x.test/nd\""),
        "tracklist"
    );
    for link in [
        "/shows.rss",
        "/schedule.ics",
        "/nowplaying.json",
        "/nowplaying.txt",
    ] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(html.contains(&format!("/shows/{id}/tracklist?format=cue")));
    // A strict CSP will forbid inline scripts: every script is a file.
    let scripts = html.matches("<script").count();
    assert_eq!(
        scripts,
        html.matches("<script src=").count(),
        "no inline script"
    );
    assert!(!html.contains(" style=\""), "no inline style");
}

#[tokio::test]
async fn now_playing_follows_announces_live_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let hub = TestHub::start_with(on_air(), "").await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");
    hub.add_record(id, "First Light", "Dawn", "https://x.test/1")
        .await;
    hub.add_record(id, "Second Wind", "Gale", "https://x.test/2")
        .await;
    hub.add_record(id, "Wrong One", "Nobody", "").await;
    hub.announce(json!({"show_id": id, "position": 1})).await;

    let failure = format!("public-page-failure-{}", hub.port);
    let waited = browser
        .or_screenshot(&failure, async {
            browser.set_viewport(PHONE).await;
            browser.goto(&format!("{}/", hub.url())).await;
            let waited = follows_announces(&browser, &hub, id).await;
            follows_a_correction(&browser, &hub, id).await;
            fits_and_screenshots(&browser).await;
            waited
        })
        .await;
    eprintln!("announce POST to the page showing it: {waited:?}");
}

/// The page as loaded, then the next announce shown without a reload; returns how long that
/// took (printed for the record, never asserted: timing is the bench's job).
async fn follows_announces(browser: &Browser, hub: &TestHub, id: i64) -> Duration {
    assert_eq!(browser.text("#np-title").await, "First Light");
    let badge = browser
        .eval("return document.getElementById('on-air').hidden")
        .await;
    assert_eq!(badge, Value::Bool(false), "on air");
    let countdown = browser.text("#countdown").await;
    assert!(countdown.starts_with("(in "), "{countdown}");
    assert!(browser.text("#next").await.contains("UTC"), "zone label");

    let sent = Instant::now();
    hub.announce(json!({"show_id": id, "position": 2})).await;
    browser.wait_for_text("#np-title", "Second Wind", T).await;
    let waited = sent.elapsed();
    assert_eq!(browser.text("#np-artist").await, "Gale");
    let at = browser.text("#np-at").await;
    assert!(at.starts_with("Announced ") && at.ends_with(" UTC"), "{at}");
    browser
        .wait_for_text(&lines(id), "Gale - Second Wind", T)
        .await;
    waited
}

fn lines(id: i64) -> String {
    format!("details[data-show-id='{id}'] .lines")
}

/// A wrong announce, then its correction by free text: the page falls back to the track that
/// still stands, and the tracklist drops the wrong one.
async fn follows_a_correction(browser: &Browser, hub: &TestHub, id: i64) {
    let wrong = hub.announce(json!({"show_id": id, "position": 3})).await;
    browser.wait_for_text("#np-title", "Wrong One", T).await;
    hub.announce(json!({"text": "sorry, that was Second Wind", "corrects": wrong["seq"]}))
        .await;
    browser.wait_for_text("#np-title", "Second Wind", T).await;
    let script = format!(
        "return !document.querySelector(\"{}\").textContent.includes('Wrong One')",
        lines(id)
    );
    browser.wait_for_script(&script, T).await;
    assert!(
        browser
            .text(&lines(id))
            .await
            .contains("Gale - Second Wind")
    );
}

async fn fits_and_screenshots(browser: &Browser) {
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";
    assert_eq!(
        browser.eval(fits).await,
        Value::Bool(true),
        "no sideways scrolling at 375 px"
    );
    browser.screenshot("public-phone").await;
    browser.set_viewport(DESKTOP).await;
    assert_eq!(
        browser.eval(fits).await,
        Value::Bool(true),
        "no sideways scrolling at 1280 px"
    );
    browser.screenshot("public-desktop").await;
}
