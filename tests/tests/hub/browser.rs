//! The DJ's path in a real headless Chromium: log in through the form, see the playlist, click
//! Announce, and check that a relay-token subscriber received the exact line and that the page
//! shows the track as announced and where it landed. A screenshot is left in the test's temp
//! dir on failure.

use std::sync::Arc;
use std::time::Duration;

use e2e::browser::Browser;
use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{PASSWORD, RELAY_TOKEN, TestHub, USERNAME, plus_hours};
use e2e::wsclient::{bearer, next_of, send_json};
use serde_json::json;

const T: Duration = Duration::from_secs(15);

#[tokio::test]
async fn dj_logs_in_and_announces_from_the_dashboard() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let browser = Arc::new(browser);
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

    // Outside the hub's temp dir, which is deleted when the test fails.
    let shot = std::env::temp_dir().join(format!("ntr-dashboard-failure-{}.png", hub.port));
    let url = hub.url();
    let b = Arc::clone(&browser);
    let run = tokio::spawn(async move {
        b.goto(&format!("{url}/dashboard")).await;
        assert!(
            b.current_url().await.ends_with("/login"),
            "no session: the login form"
        );
        b.type_into("input[name=username]", USERNAME).await;
        b.type_into("input[name=password]", PASSWORD).await;
        b.click("form[action='/login'] button[type=submit]").await;
        assert!(
            b.wait_for("return location.pathname === '/dashboard'", T)
                .await,
            "logged in"
        );
        // Server-rendered: the titles are in the HTML, escaped, before any script runs.
        let row = b.text("section.show tr[data-position='1']").await;
        assert!(
            row.contains("First <b>Light</b>") && row.contains("Dawn & Dusk"),
            "{row}"
        );
        assert!(
            b.wait_for(
                "return document.getElementById('conn').classList.contains('up')",
                T
            )
            .await,
            "live dot"
        );
        b.click("section.show tr[data-position='1'] button.announce")
            .await;
    });
    let outcome = run.await;
    if outcome.is_err() {
        browser.screenshot(&shot).await;
        panic!(
            "browser steps failed (screenshot: {}): {outcome:?}",
            shot.display()
        );
    }

    let m = next_of(&mut relay, "announce", T).await;
    let expected = "Now Playing: Song #1: First <b>Light</b> by Dawn & Dusk - https://soundcloud.com/dawn-&-dusk/track-1";
    assert_eq!(m["message"], expected);
    assert_eq!(m["position"], 1);
    send_json(
        &mut relay,
        json!({"type": "ack", "seq": m["seq"], "target": "#ntr"}),
    )
    .await;

    let shown = browser
        .wait_for(
            "const l = document.querySelector(\"section.show tr[data-position='1'] .landed\"); \
             return !!l && l.closest('tr').classList.contains('announced') && l.textContent.includes('Announced') && l.textContent.includes('#ntr');",
            T,
        )
        .await;
    if !shown {
        browser.screenshot(&shot).await;
        panic!(
            "the page does not show the announce and its ack (screenshot: {})",
            shot.display()
        );
    }
    let toast = browser.text("#toasts .toast").await;
    assert!(toast.contains("Now Playing: Song #1"), "{toast}");
    // Row 2 is untouched.
    let untouched = browser.eval("return document.querySelector(\"tr[data-position='2']\").classList.contains('announced')").await;
    assert_eq!(untouched, json!(false));
}
