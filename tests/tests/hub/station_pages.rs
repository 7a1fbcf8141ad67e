//! A station of two shows in different time zones (New York, on air; Tokyo, in two days) on
//! the pages: `/` is the station page (on air, the week's schedule in each show's zone and in
//! UTC, recent tracklists of both), `/s/{slug}` one show's page that follows only its own
//! lines, an unknown slug a 404 page naming the shows, and the dashboard opening on the show
//! on air with a switcher to the other. In real headless Chromium: both pages at 375 and 1280
//! px, and two browsers on the dashboard, one switching shows and announcing on each, the other
//! seeing each change live and not disturbed by the other show's lines.

use std::time::Duration;

use e2e::browser::{Browser, DESKTOP, PHONE};
use e2e::hub::login;
use e2e::station::{LATER, ON_AIR, TestStation};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(15);

/// Each show's current week with two records in it; returns the weeks' ids (ntr, jazz).
async fn two_playlists(station: &TestStation) -> (i64, i64) {
    let ntr = station.week_id(ON_AIR.slug).await;
    let jazz = station.week_id(LATER.slug).await;
    station.add_record(ntr, "Subway Lights", "Nick").await;
    station.add_record(ntr, "Hudson Rain", "Nick").await;
    station.add_record(jazz, "Shibuya Blue", "Kei").await;
    station.add_record(jazz, "Ginza Midnight", "Kei").await;
    (ntr, jazz)
}

#[tokio::test]
async fn station_and_show_pages_are_complete_without_scripts() {
    let station = TestStation::start().await;
    let (ntr, jazz) = two_playlists(&station).await;
    station
        .announce(json!({"show_id": ntr, "position": 1}))
        .await;
    station
        .announce(json!({"show_id": jazz, "position": 1}))
        .await;

    let (status, html) = station.get_text("/").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("On air now</span>")
            && html.contains("<a id=\"lead-show\" href=\"/s/ntr\">Nick the Rat</a>"),
        "the show on air leads: {html}"
    );
    assert!(html.contains("data-show=\"ntr\""), "follows ntr's lines");
    // The schedule: both shows, each start in its own zone and in UTC, the one on air first.
    let schedule = &html[html.find("id=\"schedule\"").expect("a schedule")..];
    let (first, second) = (
        schedule.find("/s/ntr").expect("ntr listed"),
        schedule.find("/s/jazz").expect("jazz listed"),
    );
    assert!(first < second, "by next start");
    assert!(schedule.contains(" New York</time>"), "{schedule}");
    assert!(schedule.contains(" Tokyo</time>"), "{schedule}");
    assert!(schedule.contains(" UTC)</small>"), "{schedule}");
    // Recent tracklists of both shows, each linked to its show's page.
    assert!(html.contains("Nick - Subway Lights"), "ntr's tracklist");
    assert!(html.contains("Kei - Shibuya Blue"), "jazz's tracklist");
    assert!(html.contains(&format!("/shows/{jazz}/tracklist?format=cue")));
    assert!(html.contains("<a href=\"/s/jazz\">Tokyo Jazz Hour's page</a>"));

    let (status, page) = station.get_text("/s/jazz").await;
    assert_eq!(status, 200);
    assert!(page.contains("<h1 class=\"show-title\">Tokyo Jazz Hour"));
    assert!(page.contains("data-stream-show=\"jazz\""));
    assert!(
        page.contains(" Tokyo</strong>"),
        "next show in Tokyo's zone"
    );
    assert!(page.contains("Kei - Shibuya Blue"));
    assert!(!page.contains("Subway Lights"), "nothing of ntr: {page}");
    assert!(
        page.contains("<span id=\"np-title\">Shibuya Blue</span>"),
        "jazz's own newest track"
    );
    let (_, page) = station.get_text("/s/ntr").await;
    assert!(page.contains("<span id=\"np-title\">Subway Lights</span>"));
    assert!(!page.contains("Shibuya"), "nothing of jazz");

    let (status, missing) = station.get_text("/s/nope").await;
    assert_eq!(status, 404);
    assert!(missing.contains("No show “nope”"), "{missing}");
    assert!(missing.contains("href=\"/s/ntr\">Nick the Rat</a>"));
    assert!(missing.contains("href=\"/s/jazz\">Tokyo Jazz Hour</a>"));
}

#[tokio::test]
async fn the_dashboard_opens_on_the_show_on_air_and_switches() {
    let station = TestStation::start().await;
    let (ntr, jazz) = two_playlists(&station).await;
    let (cookie, _) = login(&station.http, &station.url()).await;
    let get = |path: &'static str| {
        let req = station.http.get(format!("{}{path}", station.url()));
        let cookie = cookie.clone();
        async move {
            let resp = req.header("cookie", cookie).send().await.expect("GET");
            (resp.status().as_u16(), resp.text().await.expect("html"))
        }
    };
    let (status, html) = get("/dashboard").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1 id=\"dash-show\" class=\"dash-show\">Nick the Rat</h1>"));
    assert!(html.contains("data-show=\"ntr\""));
    assert!(html.contains(&format!("id=\"show-{ntr}\"")), "ntr's week");
    assert!(!html.contains(&format!("id=\"show-{jazz}\"")), "not jazz's");
    assert!(html.contains("<label for=\"show-select\">Show</label>"));
    assert!(html.contains("<option value=\"ntr\" selected>Nick the Rat (on air)</option>"));
    assert!(html.contains("<option value=\"jazz\">Tokyo Jazz Hour</option>"));
    assert!(html.contains(" New York"), "ntr's clock");
    assert!(
        !html.contains("id=\"refresh\""),
        "a show built by hand polls nothing"
    );

    let (status, html) = get("/dashboard?show=jazz").await;
    assert_eq!(status, 200);
    assert!(html.contains("Tokyo Jazz Hour</h1>"));
    assert!(html.contains(&format!("id=\"show-{jazz}\"")));
    assert!(html.contains("data-tz=\"Asia/Tokyo\""));
    assert!(html.contains("<option value=\"jazz\" selected>"));

    let (status, body) = get("/dashboard?show=nope").await;
    assert_eq!(status, 404);
    assert!(body.contains("ntr, jazz"), "names the shows: {body}");
}

#[tokio::test]
async fn station_pages_in_a_browser_at_both_widths() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let station = TestStation::start().await;
    let (ntr, jazz) = two_playlists(&station).await;
    station
        .announce(json!({"show_id": jazz, "position": 1}))
        .await;
    let failure = format!("station-pages-failure-{}", station.port);
    browser
        .or_screenshot(&failure, async {
            browser.goto(&format!("{}/", station.url())).await;
            assert_eq!(browser.text("#lead-show").await, "Nick the Rat");
            // Live: an ntr announce is now playing; a jazz one fills jazz's tracklist only.
            station
                .announce(json!({"show_id": ntr, "position": 1}))
                .await;
            browser.wait_for_text("#np-title", "Subway Lights", T).await;
            station
                .announce(json!({"show_id": jazz, "position": 2}))
                .await;
            // Closed, so read its text rather than what is drawn.
            let jazz_lines = format!(
                "return document.querySelector(\"details[data-show-id='{jazz}'] .lines\")\
                 .textContent.includes('Kei - Ginza Midnight')"
            );
            browser.wait_for_script(&jazz_lines, T).await;
            assert_eq!(browser.text("#np-title").await, "Subway Lights");
            fits_at_both_widths(&browser, "station").await;

            browser.set_viewport(PHONE).await;
            browser.goto(&format!("{}/s/ntr", station.url())).await;
            watch_now_playing(&browser).await;
            station
                .announce(json!({"show_id": jazz, "position": 1}))
                .await;
            station
                .announce(json!({"show_id": ntr, "position": 2}))
                .await;
            browser.wait_for_text("#np-title", "Hudson Rain", T).await;
            let seen = browser.eval("return window.seenTitles.join('|')").await;
            assert!(
                !seen.as_str().unwrap_or_default().contains("Shibuya"),
                "jazz's line never showed on ntr's page: {seen}"
            );
            fits_at_both_widths(&browser, "show-page").await;
        })
        .await;
}

/// Records every title `#np-title` shows from now on, in `window.seenTitles`.
async fn watch_now_playing(browser: &Browser) {
    browser
        .eval(
            "window.seenTitles = [];\
             new MutationObserver(() => window.seenTitles.push(document.getElementById('np-track').textContent))\
               .observe(document.getElementById('np-track'), {childList: true, subtree: true});\
             return true",
        )
        .await;
}

async fn fits_at_both_widths(browser: &Browser, name: &str) {
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";
    for (viewport, width) in [(PHONE, 375), (DESKTOP, 1280)] {
        browser.set_viewport(viewport).await;
        assert_eq!(
            browser.eval(fits).await,
            Value::Bool(true),
            "{name}: no sideways scrolling at {width} px"
        );
        browser.screenshot(&format!("{name}-{width}")).await;
    }
}

#[tokio::test]
async fn two_browsers_switch_shows_and_see_each_announce_live() {
    let Some(dj) = Browser::start().await else {
        return;
    };
    let Some(other) = Browser::start().await else {
        return;
    };
    let station = TestStation::start().await;
    let (ntr, jazz) = two_playlists(&station).await;
    let url = station.url();
    let failure = format!("station-dashboard-failure-{}", station.port);
    dj.or_screenshot(&failure, async {
        dj.log_in(&url, T).await;
        other.log_in(&url, T).await;
        assert_eq!(dj.text("#dash-show").await, "Nick the Rat", "opens on air");

        // An announce on ntr from the dashboard; the other browser sees it live.
        dj.click(&row(ntr, 1, "button.announce")).await;
        other.wait_for_selector(&announced(ntr, 1), T).await;

        // Both switch to jazz with the switcher, by keyboard: focus the select, pick, submit.
        for browser in [&dj, &other] {
            switch_to(browser, "jazz").await;
            assert_eq!(browser.text("#dash-show").await, "Tokyo Jazz Hour");
            browser.wait_for_selector("#conn.up", T).await;
        }
        watch_redraws(&other).await;
        // Another show's lines leave jazz's view alone: neither ntr's track nor its free text
        // redraws anything here (the free text once redrew the show on the console).
        station
            .announce(json!({"show_id": ntr, "position": 2}))
            .await;
        station
            .announce(json!({"show": "ntr", "text": "ntr says hi"}))
            .await;
        other
            .wait_for_script(
                "return window.redraws.filter((e) => e === 'frame:ntr').length === 2",
                T,
            )
            .await;
        let redraws = other.eval("return window.redraws.join(' ')").await;
        assert_eq!(
            redraws,
            json!("frame:ntr frame:ntr"),
            "no redraw for ntr's frames"
        );
        dj.click(&row(jazz, 1, "button.announce")).await;
        other.wait_for_selector(&announced(jazz, 1), T).await;
        // The free text box posts under jazz, into jazz's log.
        dj.type_into("#free-text-input", "jazz in two days").await;
        dj.click("#free-text button").await;
        other
            .wait_for_text(&format!("#show-{jazz}-log"), "jazz in two days", T)
            .await;
        let log = other.text(&format!("#show-{jazz}-log")).await;
        assert!(!log.contains("ntr says hi"), "{log}");
        assert_eq!(other.text("#dash-show").await, "Tokyo Jazz Hour");
        dj.screenshots(
            "#switcher",
            ["dashboard-station-375", "dashboard-station-1280"],
        )
        .await;
    })
    .await;
}

/// Row `position` of week `id`'s table once it is marked announced.
fn announced(id: i64, position: u32) -> String {
    format!("#show-{id} tr[data-position='{position}'].announced")
}

/// `css` inside row `position` of week `id`'s table.
fn row(id: i64, position: u32, css: &str) -> String {
    format!("#show-{id} tr[data-position='{position}'] {css}")
}

/// Opens `slug` with the switcher's keyboard path: focus the select, choose, press Open.
async fn switch_to(browser: &Browser, slug: &str) {
    let script = format!(
        "const s = document.getElementById('show-select'); s.focus(); s.value = {slug:?};\
         return document.activeElement === s"
    );
    assert_eq!(browser.eval(&script).await, Value::Bool(true), "focusable");
    browser.click("#switcher button[type=submit]").await;
    browser
        .wait_for_script(
            &format!(
                "return location.search === '?show={slug}' && !!document.getElementById('dash')"
            ),
            T,
        )
        .await;
}

/// Logs in `window.redraws`, from now on, each show the page re-reads (`refresh:ID`) and each
/// announce frame it gets (`frame:SLUG`), in order: the page handles a frame before telling
/// its panels, so a re-read a frame caused comes right before that frame.
async fn watch_redraws(browser: &Browser) {
    browser
        .eval(
            "window.redraws = [];\
             const read = window.NTR.refreshShow;\
             window.NTR.refreshShow = (id) => { window.redraws.push('refresh:' + id); return read(id); };\
             document.addEventListener('ntr:message', (e) => {\
               if (e.detail.type === 'announce') { window.redraws.push('frame:' + e.detail.show); }\
             });\
             return true",
        )
        .await;
}
