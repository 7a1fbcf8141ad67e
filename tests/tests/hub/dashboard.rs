//! The DJ's console in a real headless Chromium, at a phone's (375×812) and a laptop's
//! (1280×800) size: logging in at `http://localhost:PORT` while `public_url` says 127.0.0.1,
//! announcing the next track with one tap, correcting it, editing the playlist (remove, undo,
//! move by button, keyboard and drag, add by SoundCloud link) while a second session sees every
//! change without a reload, a tap on a row a poll moved refused (409) and said so, honest delivery
//! toasts, one clock, and a layout that fits a phone.
//! Each state is saved as a PNG in `e2e::browser::screenshot_dir()` (paths are printed).

use std::time::{Duration, Instant};

use e2e::browser::{Browser, DESKTOP, PHONE, Viewport};
use e2e::fake_soundcloud::{FakeLike, Fault, track};
use e2e::hub::{
    ADMIN_TOKEN, PASSWORD, RELAY_TOKEN, TestHub, TestSchedule, USERNAME, login, plus_hours,
};
use e2e::wsclient::{Event, Ws, bearer, next, next_of};
use jiff::Timestamp;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(15);
const ZONE: &str = "America/New_York";
const NAMES: [&str; 5] = ["Aurora", "Basalt", "Cinder", "Delta Blues", "Ember"];

/// The titles of the current show's rows, in order, as a script expression.
const TITLES: &str = "Array.from(document.querySelectorAll('section.show[data-primary] tbody tr')).map(r => r.dataset.title)";

/// A hub in New York time whose current show has five liked tracks.
async fn hub_with_tracks() -> TestHub {
    let schedule = TestSchedule {
        timezone: ZONE,
        ..TestSchedule::default()
    };
    let hub = TestHub::start_with(schedule, "").await;
    hub.soundcloud.set_likes(
        NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| like(&hub, i as i64 + 1, name))
            .collect(),
    );
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    hub
}

fn like(hub: &TestHub, n: i64, title: &str) -> FakeLike {
    let (current, _) = hub.weeks();
    FakeLike {
        created_at: plus_hours(current.start, n),
        track: Some(track(n, title, &format!("Artist {n}"))),
    }
}

/// Logs in through the form at `http://localhost:PORT` (the hub's public_url says 127.0.0.1),
/// and waits for the live connection.
async fn log_in(browser: &Browser, hub: &TestHub) {
    browser
        .goto(&format!("http://localhost:{}/dashboard", hub.port))
        .await;
    assert!(browser.current_url().await.ends_with("/login"));
    browser.type_into("input[name=username]", USERNAME).await;
    browser.type_into("input[name=password]", PASSWORD).await;
    click(browser, "form[action='/login'] button[type=submit]").await;
    browser
        .wait_for_script("return location.pathname === '/dashboard'", T)
        .await;
    browser.wait_for_selector("#conn.up", T).await;
    // Set once: still there later means the page was never reloaded.
    browser
        .eval("window.__sameDocument = true; return true")
        .await;
}

async fn shot(browser: &Browser, viewport: Viewport, name: &str) {
    browser.set_viewport(viewport).await;
    browser.screenshot(name).await;
}

async fn titles(browser: &Browser) -> Vec<String> {
    let value = browser.eval(&format!("return {TITLES}")).await;
    serde_json::from_value(value).expect("titles")
}

/// Waits until the current show's titles are `want`, without a reload.
async fn wait_for_titles(browser: &Browser, want: &[&str]) {
    let want = serde_json::to_string(want).expect("json");
    browser
        .wait_for_script(
            &format!(
                "return window.__sameDocument === true && JSON.stringify({TITLES}) === {want:?}"
            ),
            T,
        )
        .await;
}

/// The first visible button a toast covers, if any (none should be). Rows scrolled under the
/// sticky console are hidden by the console as a whole, on purpose; every other button, and the
/// console's own, must be clear of toasts.
const COVERED_BY_TOAST: &str = r#"
const console_ = document.getElementById('console').getBoundingClientRect();
const buttons = Array.from(document.querySelectorAll('button'))
  .filter(b => !b.closest('#toasts') && !b.closest('dialog') && b.getClientRects().length);
for (const b of buttons) {
  const r = b.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  if (y < 0 || y > innerHeight) continue;
  if (!b.closest('#console') && y < console_.bottom) continue;
  const top = document.elementFromPoint(x, y);
  if (top && top.closest('#toasts')) return b.outerHTML;
}
return null;"#;

/// Layout rules at a phone's width: no sideways scrolling, a one-line header, no clipped
/// button, no button under a toast (checked at the top and scrolled down).
async fn check_phone_layout(browser: &Browser, state: &str) {
    let fits = browser
        .eval("return document.documentElement.scrollWidth <= innerWidth")
        .await;
    assert_eq!(fits, json!(true), "{state}: the page scrolls sideways");
    let header = browser
        .eval(
            "const boxes = Array.from(document.querySelectorAll('header nav li')).map(li => li.getBoundingClientRect()); \
             const logout = document.querySelector('.logout').getBoundingClientRect(); \
             return Math.max(...boxes.map(b => b.top)) < Math.min(...boxes.map(b => b.bottom)) && logout.height < 2.2 * parseFloat(getComputedStyle(document.querySelector('.logout')).lineHeight)",
        )
        .await;
    assert_eq!(
        header,
        json!(true),
        "{state}: the header takes more than one line"
    );
    let clipped = browser
        .eval(
            "return Array.from(document.querySelectorAll('button')).filter(b => b.getClientRects().length && !b.closest('dialog') && \
             (b.scrollWidth > b.clientWidth + 1 || b.getBoundingClientRect().right > innerWidth + 0.5)).map(b => b.textContent.trim())",
        )
        .await;
    assert_eq!(clipped, json!([]), "{state}: clipped buttons");
    for scroll in [0, 400] {
        browser
            .eval(&format!("window.scrollTo(0, {scroll}); return true"))
            .await;
        let covered = browser.eval(COVERED_BY_TOAST).await;
        assert_eq!(covered, Value::Null, "{state}: a toast covers a button");
    }
    browser.eval("window.scrollTo(0, 0); return true").await;
}

/// Every time the dashboard shows is labelled with the show's zone.
async fn check_times_labelled(browser: &Browser) {
    let unlabelled = browser
        .eval("return Array.from(document.querySelectorAll('#dash time')).map(t => t.textContent.trim()).filter(t => !t.endsWith(' New York'))")
        .await;
    assert_eq!(
        unlabelled,
        json!([]),
        "times not labelled with the show's zone"
    );
}

/// "HH:MM" now on the show's clock, and a minute ago (a check may straddle a minute).
fn new_york_minutes() -> [String; 2] {
    let tz = jiff::tz::TimeZoneDatabase::bundled()
        .get(ZONE)
        .expect("zone");
    let now = Timestamp::now();
    [now, now - jiff::SignedDuration::from_secs(60)]
        .map(|t| t.to_zoned(tz.clone()).strftime("%H:%M").to_string())
}

/// Taps `css` and returns the line the token subscriber got, and how long it took.
async fn tap_to_line(browser: &Browser, css: &str, relay: &mut Ws) -> (Value, Duration) {
    let started = Instant::now();
    click(browser, css).await;
    let line = next_of(relay, "announce", T).await;
    (line, started.elapsed())
}

#[tokio::test]
async fn phone_announces_next_with_one_tap_corrects_it_and_is_told_where_it_went() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let hub = hub_with_tracks().await;
    let failure = format!("dash-phone-failure-{}", hub.port);
    browser
        .or_screenshot(&failure, phone_session(&browser, &hub))
        .await;
}

async fn phone_session(browser: &Browser, hub: &TestHub) {
    log_in(browser, hub).await;
    fresh_page_fits_a_phone(browser).await;
    no_bot_is_said_plainly(browser).await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;
    let mut latencies = Vec::new();
    let (line, took) = the_bot_is_named(browser, &mut relay).await;
    latencies.push(took);
    latencies.push(correct_from_the_console(browser, &mut relay, &line).await);
    other_phone_widths_fit(browser).await;
    clicked_times_are_on_the_show_clock(browser).await;
    a_free_text_is_corrected_from_the_log(browser, &mut relay).await;
    // Two more taps for the latency figure.
    for _ in 0..2 {
        let (_, took) = tap_to_line(browser, "#announce-next", &mut relay).await;
        latencies.push(took);
    }
    print_latency(latencies);
    shot(browser, DESKTOP, "dash-1280-after-show").await;
}

async fn fresh_page_fits_a_phone(browser: &Browser) {
    check_times_labelled(browser).await;
    check_phone_layout(browser, "fresh").await;
    let hints = browser
        .eval("return Array.from(document.querySelectorAll('.key-hint')).filter(k => k.getClientRects().length).length")
        .await;
    assert_eq!(
        hints,
        json!(0),
        "keyboard hints are hidden on a touch screen"
    );
    shot(browser, PHONE, "dash-375-fresh").await;
}

/// No bot listens: the toast says so plainly.
async fn no_bot_is_said_plainly(browser: &Browser) {
    click(browser, "#announce-next").await;
    let toast = browser.wait_for_text("#toasts .toast", "Song #1", T).await;
    assert!(
        toast.contains("No bot is connected — nothing reached IRC"),
        "{toast}"
    );
    browser
        .wait_for_text("#announce-next", "Announce next: #2 Basalt", T)
        .await;
    check_phone_layout(browser, "no bot").await;
    shot(browser, PHONE, "dash-375-no-bot").await;
}

/// A bot listens: one tap, the line reaches it, and the toast names it.
async fn the_bot_is_named(browser: &Browser, relay: &mut Ws) -> (Value, Duration) {
    browser
        .wait_for_script("return (window.NTR.relays || []).some(r => r.connected)", T)
        .await;
    let (line, took) = tap_to_line(browser, "#announce-next", relay).await;
    assert_eq!(line["position"], 2);
    let message = line["message"].as_str().unwrap_or_default();
    assert!(message.contains("Basalt"), "{message}");
    let toast = browser.wait_for_text("#toasts .toast", "Song #2", T).await;
    assert!(toast.contains("→ relay-1"), "{toast}");
    assert!(!toast.contains("No bot"), "{toast}");
    browser
        .wait_for_selector("section.show[data-primary] tr.now[data-position='2']", T)
        .await;
    check_phone_layout(browser, "announced").await;
    shot(browser, PHONE, "dash-375-announced").await;
    browser.eval("window.scrollTo(0, 500); return true").await;
    shot(browser, PHONE, "dash-375-announced-scrolled").await;
    browser.eval("window.scrollTo(0, 0); return true").await;
    (line, took)
}

/// Corrects `line` (#2) with #4 from the console's Correct button; returns tap-to-line time.
async fn correct_from_the_console(browser: &Browser, relay: &mut Ws, line: &Value) -> Duration {
    click(browser, "#now-next button.correct").await;
    browser.wait_for_selector("#correct-dialog[open]", T).await;
    click(browser, "#correct-form select option[value='4']").await;
    shot(browser, PHONE, "dash-375-correct-dialog").await;
    let started = Instant::now();
    click(browser, "#correct-form button[type=submit]").await;
    let correction = next_of(relay, "announce", T).await;
    let took = started.elapsed();
    assert_eq!(correction["corrects"], line["seq"]);
    assert_eq!(correction["position"], 4);
    let message = correction["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Correction: ") && message.contains("Delta Blues"),
        "{message}"
    );
    // The wrong one counts as not announced again; #4 is on air; the log marks the correction.
    browser
        .wait_for_selector("section.show[data-primary] tr.now[data-position='4']", T)
        .await;
    let row2 = browser
        .eval("return document.querySelector(\"section.show[data-primary] tr[data-position='2']\").classList.contains('announced')")
        .await;
    assert_eq!(
        row2,
        json!(false),
        "the corrected track counts as not announced"
    );
    let corrected = browser
        .text(&format!("ol.log li.corrected[data-seq='{}']", line["seq"]))
        .await;
    assert!(corrected.contains("corrected"), "{corrected}");
    check_times_labelled(browser).await;
    check_phone_layout(browser, "corrected").await;
    shot(browser, PHONE, "dash-375-corrected").await;
    took
}

/// The narrowest and widest common phones.
async fn other_phone_widths_fit(browser: &Browser) {
    for width in [360, 414] {
        let phone = Viewport {
            width,
            height: 800,
            mobile: true,
        };
        browser.set_viewport(phone).await;
        check_phone_layout(browser, &format!("{width} px")).await;
        browser.screenshot(&format!("dash-{width}-corrected")).await;
    }
    browser.set_viewport(PHONE).await;
}

/// A time the page draws after a click is on the show's clock too.
async fn clicked_times_are_on_the_show_clock(browser: &Browser) {
    click(browser, "#refresh").await;
    let status = browser.wait_for_text("#poll-status", "ok", T).await;
    assert!(status.contains(" New York"), "{status}");
    assert!(
        new_york_minutes()
            .iter()
            .any(|m| status.contains(m.as_str())),
        "{status} is not New York time ({:?})",
        new_york_minutes()
    );
}

/// A free text, corrected from the log with the right words.
async fn a_free_text_is_corrected_from_the_log(browser: &Browser, relay: &mut Ws) {
    browser
        .type_into("#free-text-input", "Back after the news")
        .await;
    click(browser, "#free-text button[type=submit]").await;
    let text = next_of(relay, "announce", T).await;
    assert_eq!(text["message"], "Back after the news");
    click(
        browser,
        &format!("ol.log li[data-seq='{}'] button.correct", text["seq"]),
    )
    .await;
    browser.wait_for_selector("#correct-dialog[open]", T).await;
    let prefilled = browser
        .eval("return document.querySelector('#correct-form input[name=text]').value")
        .await;
    assert_eq!(prefilled, json!("Back after the news"));
    send_keys(browser, "#correct-form input[name=text]", " in five").await;
    click(browser, "#correct-form button[type=submit]").await;
    let fixed = next_of(relay, "announce", T).await;
    assert_eq!(fixed["corrects"], text["seq"]);
    assert_eq!(fixed["message"], "Correction: Back after the news in five");
    browser
        .wait_for_selector(
            &format!("ol.log li.corrected[data-seq='{}']", text["seq"]),
            T,
        )
        .await;
}

/// Prints the tap-to-line figures (measured, never asserted: timing is the bench's job).
fn print_latency(mut latencies: Vec<Duration>) {
    latencies.sort();
    eprintln!(
        "tap-to-line latency (click → token subscriber has the line), {} taps: min {:?}, median {:?}, max {:?}",
        latencies.len(),
        latencies[0],
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}

#[tokio::test]
async fn laptop_edits_the_playlist_and_a_second_session_sees_each_change_live() {
    let Some(laptop) = Browser::start().await else {
        return;
    };
    let Some(phone) = Browser::start().await else {
        return;
    };
    let mut hub = hub_with_tracks().await;
    laptop.set_viewport(DESKTOP).await;
    log_in(&laptop, &hub).await;
    log_in(&phone, &hub).await;
    let failure = format!("dash-edit-failure-{}", hub.port);
    let steps = async {
        edit_session(&laptop, &phone, &hub).await;
        the_public_page_follows(&laptop, &phone, &hub).await;
    };
    phone
        .or_screenshot(
            &format!("{failure}-phone"),
            laptop.or_screenshot(&failure, steps),
        )
        .await;
    phone
        .or_screenshot(
            &format!("{failure}-reconnect"),
            a_reconnect_catches_up(&phone, &mut hub),
        )
        .await;
}

async fn edit_session(laptop: &Browser, phone: &Browser, hub: &TestHub) {
    shot(laptop, DESKTOP, "dash-1280-fresh").await;
    remove_and_undo(laptop, phone).await;
    move_by_button_keyboard_and_drag(laptop, phone).await;
    add_by_link(laptop, phone, hub).await;
    script_and_poll_edits_show_up(laptop, phone, hub).await;
    the_n_key_announces(laptop, phone).await;
    check_phone_layout(phone, "edited").await;
    shot(phone, PHONE, "dash-375-edited").await;
    shot(laptop, DESKTOP, "dash-1280-edited").await;
    eprintln!("titles after the edits: {:?}", titles(laptop).await);
}

/// Remove #3, then undo: it comes back at #3 (on both).
async fn remove_and_undo(laptop: &Browser, phone: &Browser) {
    click(
        laptop,
        "section.show[data-primary] tr[data-position='3'] button.remove",
    )
    .await;
    for b in [laptop, phone] {
        wait_for_titles(b, &["Aurora", "Basalt", "Delta Blues", "Ember"]).await;
    }
    let toast = laptop
        .wait_for_text("#toasts .toast", "Removed #3", T)
        .await;
    assert!(toast.contains("Cinder"), "{toast}");
    shot(laptop, DESKTOP, "dash-1280-removed-undo").await;
    check_phone_layout(phone, "removed").await;
    click(laptop, "#toasts .toast .toast-actions button").await;
    for b in [laptop, phone] {
        browser_wait_position_url(b, 3, "/track-3").await;
    }
}

/// Move #5 up with the ↑ button, #1 down with Alt+↓ on the keyboard, and drag #4 onto #1.
async fn move_by_button_keyboard_and_drag(laptop: &Browser, phone: &Browser) {
    click(
        laptop,
        "section.show[data-primary] tr[data-position='5'] button.move-up",
    )
    .await;
    browser_wait_position_url(phone, 4, "/track-5").await;
    send_keys(
        laptop,
        "section.show[data-primary] tr[data-position='1'] button.move-down",
        "\u{E00A}\u{E015}",
    )
    .await;
    browser_wait_position_url(phone, 2, "/track-1").await;
    // The other session can see the move before the laptop has redrawn its own table and put
    // the focus back, so this waits (bounded) instead of reading once.
    laptop
        .wait_for_script(
            "const row = document.activeElement.closest('tr'); \
             return row !== null && row.dataset.position === '2'",
            T,
        )
        .await;
    let dragged = laptop.eval(DRAG_4_ONTO_1).await;
    assert_eq!(dragged, json!(true));
    browser_wait_position_url(phone, 1, "/track-5").await;
}

/// Add one by its SoundCloud link; a bad link and SoundCloud being down are told in place.
async fn add_by_link(laptop: &Browser, phone: &Browser, hub: &TestHub) {
    add_by_url(laptop, "https://example.com/not-soundcloud").await;
    let error = laptop
        .wait_for_text(".add-track .form-error", "Not added", T)
        .await;
    assert!(error.contains("SoundCloud"), "{error}");
    hub.soundcloud
        .push_faults([Fault::Status(503), Fault::Status(503), Fault::Status(503)]);
    add_by_url(laptop, "https://soundcloud.com/someone/track-9").await;
    let error = laptop
        .wait_for_text(".add-track .form-error", "Not added", T)
        .await;
    assert!(
        error.contains("503") || error.contains("SoundCloud"),
        "{error}"
    );
    shot(laptop, DESKTOP, "dash-1280-add-error").await;
    add_by_url(laptop, "https://soundcloud.com/someone/track-9").await;
    for b in [laptop, phone] {
        b.wait_for_text(
            "section.show[data-primary] tr[data-position='6']",
            "Resolved 9",
            T,
        )
        .await;
    }
}

/// A script's edit and a poll that changed the show show up too, without a reload.
async fn script_and_poll_edits_show_up(laptop: &Browser, phone: &Browser, hub: &TestHub) {
    let show_id = primary_show_id(laptop).await;
    let (status, _) = hub
        .post_admin(
            &format!("/admin/shows/{show_id}/tracks"),
            json!({"title": "Scripted", "artist": "Cron", "position": 1}),
        )
        .await;
    assert_eq!(status, 200);
    for b in [laptop, phone] {
        b.wait_for_text(
            "section.show[data-primary] tr[data-position='1']",
            "Scripted",
            T,
        )
        .await;
    }
    let mut likes: Vec<FakeLike> = (1..=5)
        .map(|n| like(hub, n, NAMES[n as usize - 1]))
        .collect();
    likes.push(like(hub, 6, "Fresh Like"));
    hub.soundcloud.set_likes(likes);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    for b in [laptop, phone] {
        b.wait_for_text("section.show[data-primary] tbody", "Fresh Like", T)
            .await;
        let same = b.eval("return window.__sameDocument === true").await;
        assert_eq!(same, json!(true), "no reload");
    }
}

/// n on a keyboard announces the next track, as the hint beside the button says.
async fn the_n_key_announces(laptop: &Browser, phone: &Browser) {
    let hint = laptop
        .eval(
            "return document.querySelector('#announce-next .key-hint').getClientRects().length > 0",
        )
        .await;
    assert_eq!(hint, json!(true), "the laptop shows the n hint");
    laptop
        .eval("document.activeElement && document.activeElement.blur(); return true")
        .await;
    send_keys(laptop, "body", "n").await;
    laptop.wait_for_text("#toasts .toast", "Song #1", T).await;
    phone
        .wait_for_selector("section.show[data-primary] tr.now[data-position='1']", T)
        .await;
}

/// The public page follows playlist changes live too; then the phone goes back to its
/// dashboard (at the address it logged in with).
async fn the_public_page_follows(laptop: &Browser, phone: &Browser, hub: &TestHub) {
    phone.goto(&hub.url()).await;
    phone
        .eval("window.__sameDocument = true; return true")
        .await;
    let show_id = primary_show_id(laptop).await;
    let public_row = format!("section.show[data-show-id='{show_id}'] tr[data-position='1']");
    let title = format!("document.querySelector(\"{public_row} .title\").textContent.trim()");
    let before = phone.eval(&format!("return {title}")).await;
    click(
        laptop,
        "section.show[data-primary] tr[data-position='1'] button.remove",
    )
    .await;
    phone
        .wait_for_script(
            &format!("return window.__sameDocument === true && {title} !== {before}"),
            T,
        )
        .await;
    shot(phone, PHONE, "public-375-after-remove").await;
    phone
        .goto(&format!("http://localhost:{}/dashboard", hub.port))
        .await;
    phone.wait_for_selector("#conn.up", T).await;
    phone
        .eval("window.__sameDocument = true; return true")
        .await;
}

/// The hub restarts; what is announced before the page is back shows once it reconnects.
async fn a_reconnect_catches_up(phone: &Browser, hub: &mut TestHub) {
    hub.stop().await;
    phone.wait_for_text("#conn-text", "offline", T).await;
    hub.restart().await;
    let show_id = primary_show_id(phone).await;
    let (status, _) = hub
        .post_admin(
            "/admin/announce",
            json!({"show_id": show_id, "position": 3}),
        )
        .await;
    assert_eq!(status, 200);
    phone.wait_for_selector("#conn.up", T).await;
    phone
        .wait_for_selector("section.show[data-primary] tr.now[data-position='3']", T)
        .await;
    let same = phone.eval("return window.__sameDocument === true").await;
    assert_eq!(same, json!(true), "caught up without a reload");
}

/// A drag of row 4 onto row 1, as a mouse would make it (WebDriver cannot drive HTML5 drag
/// and drop in Chromium, so the events are dispatched as the browser would).
const DRAG_4_ONTO_1: &str = r#"
const rows = document.querySelectorAll('section.show[data-primary] tbody tr');
const from = rows[3], to = rows[0];
if (!from.draggable) return 'rows are not draggable with a mouse';
const dt = new DataTransfer();
const fire = (el, type) => el.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
fire(from, 'dragstart'); fire(to, 'dragover'); fire(to, 'drop'); fire(from, 'dragend');
return true;"#;

async fn add_by_url(browser: &Browser, url: &str) {
    let details = "section.show[data-primary] details.add-track";
    let open = browser
        .eval(&format!("return document.querySelector('{details}').open"))
        .await;
    if open != json!(true) {
        click(browser, &format!("{details} summary")).await;
    }
    let input = browser
        .find(&format!("{details} form.add-url input[name=url]"))
        .await;
    input.clear().await.expect("clear");
    input.send_keys(url).await.expect("type the link");
    click(
        browser,
        &format!("{details} form.add-url button[type=submit]"),
    )
    .await;
}

async fn primary_show_id(browser: &Browser) -> i64 {
    let id = browser
        .eval("return Number(document.querySelector('section.show[data-primary]').dataset.showId)")
        .await;
    id.as_i64().expect("show id")
}

/// Waits until the current show's row `position` is the track whose link ends with `suffix`.
async fn browser_wait_position_url(browser: &Browser, position: u32, suffix: &str) {
    browser
        .wait_for_script(
            &format!(
                "const r = document.querySelector(\"section.show[data-primary] tr[data-position='{position}']\"); \
                 return window.__sameDocument === true && !!r && r.dataset.url.endsWith('{suffix}')"
            ),
            T,
        )
        .await;
}

/// The next `show_changed` frame's show id, skipping others.
async fn next_show_changed(ws: &mut Ws) -> i64 {
    next_of(ws, "show_changed", T).await["show_id"]
        .as_i64()
        .expect("show_id")
}

#[tokio::test]
async fn edits_and_polls_tell_dashboards_which_show_changed_and_relays_hear_nothing_of_it() {
    let hub = hub_with_tracks().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("show id");
    let mut dashboard = bearer(&hub.url(), "", ADMIN_TOKEN).await;
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;

    let edits = [
        (
            format!("/admin/shows/{id}/tracks"),
            json!({"title": "T", "artist": "A"}),
        ),
        (format!("/admin/shows/{id}/tracks/6/move"), json!({"to": 1})),
    ];
    for (path, body) in edits {
        let (status, answer) = hub.post_admin(&path, body).await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(next_show_changed(&mut dashboard).await, id, "{path}");
    }
    let removed = hub
        .admin(
            hub.http
                .delete(format!("{}/admin/shows/{id}/tracks/1", hub.url())),
        )
        .send()
        .await
        .expect("DELETE");
    assert_eq!(removed.status(), 200);
    assert_eq!(next_show_changed(&mut dashboard).await, id, "remove");

    // A poll that finds a new like changes the show; one that finds nothing new does not.
    let mut likes: Vec<FakeLike> = (1..=5)
        .map(|n| like(&hub, n, NAMES[n as usize - 1]))
        .collect();
    likes.push(like(&hub, 6, "New Like"));
    hub.soundcloud.set_likes(likes);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    assert_eq!(next_show_changed(&mut dashboard).await, id, "poll");
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    hub.announce_text("marker").await;
    let after = next_of(&mut dashboard, "announce", T).await;
    assert_eq!(
        after["message"], "marker",
        "no show_changed for an unchanged poll"
    );

    // Relays get the announce and nothing about shows.
    loop {
        match next(&mut relay, T).await {
            Event::Json(m) if m["type"] == "announce" => break,
            Event::Json(m) => assert_ne!(m["type"], "show_changed", "{m}"),
            other => panic!("relay: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_show_fragment_is_the_dashboard_section_behind_a_session() {
    let hub = hub_with_tracks().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("show id");
    let path = format!("{}/dashboard/shows/{id}", hub.url());
    let anonymous = hub.http.get(&path).send().await.expect("GET");
    assert_eq!(anonymous.status(), 303, "no session: to the login form");

    let (cookie, _) = login(&hub.http, &hub.url()).await;
    let get = |path: String| {
        let req = hub.http.get(path).header("cookie", &cookie);
        async move { req.send().await.expect("GET") }
    };
    let resp = get(path).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .map(reqwest::header::HeaderValue::as_bytes),
        Some(&b"no-store"[..])
    );
    let html = resp.text().await.expect("body");
    for part in [
        "id=\"now-next\"",
        &format!("id=\"show-{id}-rows\""),
        &format!("id=\"show-{id}-log\""),
        "Announce next: #1 Aurora",
        "Delta Blues",
    ] {
        assert!(html.contains(part), "{part} in the fragment");
    }
    let missing = get(format!("{}/dashboard/shows/999999", hub.url())).await;
    assert_eq!(missing.status(), 404);

    // Every page names its icon, and the hub serves it.
    let page = get(format!("{}/dashboard", hub.url())).await;
    let page = page.text().await.expect("dashboard");
    assert!(page.contains(r#"<link rel="icon" href="/static/favicon.svg""#));
    let icon = get(format!("{}/static/favicon.svg", hub.url())).await;
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.expect("svg").starts_with("<svg"));
}

/// Types `keys` into the element matching `css`, finding it again if a redraw replaced it
/// between the find and the keys (the page redraws a show whenever it changes).
async fn send_keys(browser: &Browser, css: &str, keys: &str) {
    for _ in 0..20 {
        if browser.find(css).await.send_keys(keys).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("could not type into {css}");
}

/// Clicks the element matching `css`, finding it again if a redraw replaced it meanwhile. It
/// is scrolled to the middle of the viewport first, as a DJ would scroll it into sight: at the
/// top edge it would sit under the sticky console.
async fn click(browser: &Browser, css: &str) {
    let center = format!(
        "const e = document.querySelector({css:?}); if (e) e.scrollIntoView({{block: 'center'}}); return true"
    );
    for _ in 0..20 {
        browser.eval(&center).await;
        if browser.find(css).await.click().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("could not click {css}");
}

#[tokio::test]
async fn the_public_event_stream_says_which_show_changed_without_moving_last_event_id() {
    let hub = hub_with_tracks().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("show id");
    let mut events = e2e::sse::SseStream::connect(&format!("{}/events", hub.url()), None).await;
    let (status, _) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks/2/move"),
            json!({"to": 1}),
        )
        .await;
    assert_eq!(status, 200);
    let event = events.next(T).await.expect("an event");
    assert_eq!(event.event, "show_changed");
    assert_eq!(event.id, None, "Last-Event-ID stays the last announce's");
    let data: Value = serde_json::from_str(&event.data).expect("JSON");
    assert_eq!(data, json!({"type": "show_changed", "show_id": id}));
}

/// A poll removes Aurora while the page, not yet redrawn, still shows it at #1 and Basalt at
/// #2: tapping ✕ on Basalt's row would remove Cinder by position. The page sends Basalt's id,
/// so the hub refuses, the toast says the playlist changed, and the show is redrawn unchanged.
#[tokio::test]
async fn a_tap_on_a_row_a_poll_moved_is_refused_and_said_so() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let hub = hub_with_tracks().await;
    log_in(&browser, &hub).await;
    let failure = format!("dash-conflict-failure-{}", hub.port);
    browser
        .or_screenshot(&failure, stale_remove_is_refused(&browser, &hub))
        .await;
}

async fn stale_remove_is_refused(browser: &Browser, hub: &TestHub) {
    // The page stops redrawing, as if the poll's frame had not arrived yet.
    browser
        .eval("window.__refresh = NTR.refreshShow; NTR.refreshShow = () => {}; return true")
        .await;
    let likes = (2..=5)
        .map(|n| like(hub, n, NAMES[n as usize - 1]))
        .collect();
    hub.soundcloud.set_likes(likes);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    assert_eq!(
        titles(browser).await,
        NAMES,
        "the page still shows the old list"
    );
    browser
        .eval("NTR.refreshShow = window.__refresh; return true")
        .await;
    click(
        browser,
        "section.show[data-primary] tr[data-position='2'] button.remove",
    )
    .await;
    let toast = browser
        .wait_for_text("#toasts .toast", "the playlist changed", T)
        .await;
    assert!(toast.contains("Not removed"), "{toast}");
    assert!(
        toast.contains("Cinder"),
        "names the track there now: {toast}"
    );
    wait_for_titles(browser, &["Basalt", "Cinder", "Delta Blues", "Ember"]).await;
    let (_, show) = hub.get_json("/playlist").await;
    assert_eq!(
        show["tracks"].as_array().map(Vec::len),
        Some(4),
        "nothing removed"
    );
    shot(browser, PHONE, "dash-375-conflict").await;
    shot(browser, DESKTOP, "dash-1280-conflict").await;
}
