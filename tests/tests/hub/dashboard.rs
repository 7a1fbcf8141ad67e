//! The DJ's console in a real headless Chromium, at a phone's and a laptop's size.

use std::time::Duration;

use e2e::browser::{Browser, DESKTOP, PHONE, Viewport};
use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{PASSWORD, TestHub, TestSchedule, USERNAME, plus_hours};

const T: Duration = Duration::from_secs(15);

/// A hub whose current show has five liked tracks.
async fn hub_with_tracks(schedule: TestSchedule) -> TestHub {
    let hub = TestHub::start_with(schedule, "").await;
    let (current, _) = hub.weeks();
    let names = ["Aurora", "Basalt", "Cinder", "Delta Blues", "Ember"];
    hub.soundcloud.set_likes(
        names
            .iter()
            .enumerate()
            .map(|(i, name)| FakeLike {
                created_at: plus_hours(current.start, i as i64 + 1),
                track: Some(track(i as i64 + 1, name, &format!("Artist {}", i + 1))),
            })
            .collect(),
    );
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    hub
}

/// Logs in through the form at `http://localhost:PORT` (the hub's public_url says 127.0.0.1).
async fn log_in(browser: &Browser, hub: &TestHub) {
    browser
        .goto(&format!("http://localhost:{}/dashboard", hub.port))
        .await;
    browser.type_into("input[name=username]", USERNAME).await;
    browser.type_into("input[name=password]", PASSWORD).await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    browser
        .wait_for_script("return location.pathname === '/dashboard'", T)
        .await;
    browser.wait_for_selector("#conn.up", T).await;
}

async fn shot(browser: &Browser, viewport: Viewport, name: &str) {
    browser.set_viewport(viewport).await;
    browser.screenshot(name).await;
}

#[tokio::test]
async fn look() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let hub = hub_with_tracks(TestSchedule {
        timezone: "America/New_York",
        ..TestSchedule::default()
    })
    .await;
    log_in(&browser, &hub).await;
    shot(&browser, PHONE, "look-375").await;
    browser.click("#announce-next").await;
    browser.wait_for_selector("#toasts .toast", T).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    shot(&browser, PHONE, "look-375-announced").await;
    shot(&browser, DESKTOP, "look-1280-announced").await;
}
