//! The DJ's path in a real headless Chromium: log in through the form, see the playlist, click
//! Announce, and check that a relay-token subscriber received the exact line and that the page
//! shows the track as announced and where it landed. The dashboard is then saved as a PNG at a
//! phone's and at a laptop's width, in `e2e::browser::screenshot_dir()`; a failing step leaves
//! a screenshot there too (its path is printed).

use std::time::Duration;

use e2e::browser::{Browser, DESKTOP, PHONE, png_size};
use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{RELAY_TOKEN, TestHub, plus_hours};
use e2e::wsclient::{bearer, next_of, send_json};
use serde_json::json;

const T: Duration = Duration::from_secs(15);
const FIRST_ROW: &str = "section.show tr[data-position='1']";

#[tokio::test]
async fn dj_logs_in_and_announces_from_the_dashboard() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let (current, _) = hub.weeks();
    hub.soundcloud.set_likes(vec![
        FakeLike {
            created_at: plus_hours(current.start, 1),
            track: Some(track(1, "First <b>Light</b>", "Dawn & Dusk")),
        },
        FakeLike {
            created_at: plus_hours(current.start, 2),
            track: Some(track(2, "Second Wind", "Gale")),
        },
    ]);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;

    let failure = format!("dashboard-failure-{}", hub.port);
    browser
        .or_screenshot(&failure, log_in_and_announce(&browser, &hub.url()))
        .await;

    let m = next_of(&mut relay, "announce", T).await;
    let expected = "Now Playing: Song #1: First <b>Light</b> by Dawn & Dusk - https://soundcloud.com/dawn-&-dusk/track-1";
    assert_eq!(m["message"], expected);
    assert_eq!(m["position"], 1);
    send_json(
        &mut relay,
        json!({"type": "ack", "seq": m["seq"], "target": "#ntr"}),
    )
    .await;

    browser
        .or_screenshot(&failure, async {
            let landed = browser
                .wait_for_text(&format!("{FIRST_ROW}.announced .landed"), "#ntr", T)
                .await;
            assert!(landed.contains("Announced"), "{landed}");
            let toast = browser.text("#toasts .toast").await;
            assert!(toast.contains("Now Playing: Song #1"), "{toast}");
            // Row 2 is untouched.
            let untouched = browser
                .eval("return document.querySelector(\"tr[data-position='2']\").classList.contains('announced')")
                .await;
            assert_eq!(untouched, json!(false));
        })
        .await;

    for (viewport, name) in [(PHONE, "dashboard-375"), (DESKTOP, "dashboard-1280")] {
        browser.set_viewport(viewport).await;
        let png = std::fs::read(browser.screenshot(name).await).expect("read the screenshot");
        assert_eq!(
            png_size(&png),
            Some((viewport.width, viewport.height)),
            "{name}: a PNG of the whole viewport"
        );
    }
}

/// From the login form to a click on track 1's Announce button.
async fn log_in_and_announce(browser: &Browser, url: &str) {
    browser.goto(&format!("{url}/dashboard")).await;
    assert!(
        browser.current_url().await.ends_with("/login"),
        "no session: the login form"
    );
    browser.submit_login(T).await;
    // Server-rendered: the titles are in the HTML, escaped, before any script runs.
    let row = browser.text(FIRST_ROW).await;
    assert!(
        row.contains("First <b>Light</b>") && row.contains("Dawn & Dusk"),
        "{row}"
    );
    // The live dot: the page's WebSocket is open.
    browser.wait_for_selector("#conn.up", T).await;
    browser.click(&format!("{FIRST_ROW} button.announce")).await;
}
