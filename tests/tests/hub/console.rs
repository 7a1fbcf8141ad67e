//! The console's send path and search in a real headless Chromium: a tap made while the browser
//! is offline waits ("offline — 1 announce waiting") and reaches a token subscriber and an IRC
//! channel exactly once when the link is back; a tap whose answer is lost after the hub got it
//! is sent again with the same key and still announced once; a waiting tap survives a reload;
//! past the max age the DJ's choices do what they say; a held announce counts down and can be
//! undone; and the search field finds any track of both weeks, ignoring case and accents, by
//! keyboard alone.
//!
//! The dashboard is opened through a [`CutProxy`], so a test can refuse announce requests or
//! lose their answers while the page itself still loads.

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::browser::{Browser, DESKTOP, PHONE};
use e2e::cut_proxy::{Cut, CutProxy};
use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{RELAY_TOKEN, TestHub, TestSchedule, plus_hours};
use e2e::ircd::{Ircd, Observer};
use e2e::wsclient::{Ws, bearer, next_of, no_announce};
use fantoccini::key::Key;
use serde_json::Value;

const T: Duration = Duration::from_secs(15);
/// How long a test watches for a second line that must not come.
const QUIET: Duration = Duration::from_secs(3);
const CHANNEL: &str = "#ntr";
const BOT: &str = "ntrbot";
/// This week's tracks (title, artist); "Über Ω" is for the accent-blind search.
const THIS_WEEK: [(&str, &str); 4] = [
    ("Aurora", "Basalt"),
    ("Über Ω", "Cinder"),
    ("Delta Blues", "Ember"),
    ("Fjord", "Garnet"),
];
/// Last week's one track.
const LAST_WEEK: (&str, &str) = ("Halcyon", "Ólafur Arnalds");

/// One scenario: the hub (its show has [`THIS_WEEK`] and [`LAST_WEEK`]), the proxy the browser
/// reaches it through, the logged-in browser, and a token subscriber.
struct Console {
    hub: TestHub,
    proxy: CutProxy,
    browser: Browser,
    subscriber: Ws,
}

impl Console {
    /// `None` when Chromium is not installed (outside CI).
    async fn start() -> Option<Console> {
        Self::start_with(TestSchedule::default()).await
    }

    async fn start_with(schedule: TestSchedule) -> Option<Console> {
        let browser = Browser::start().await?;
        let hub = TestHub::start_with(schedule, "").await;
        let (current, previous) = hub.weeks();
        let mut likes: Vec<FakeLike> = THIS_WEEK
            .iter()
            .zip(1..)
            .map(|((title, artist), n)| FakeLike {
                created_at: plus_hours(current.start, n),
                track: Some(track(n, title, artist)),
            })
            .collect();
        likes.push(FakeLike {
            created_at: plus_hours(previous.start, 1),
            track: Some(track(9, LAST_WEEK.0, LAST_WEEK.1)),
        });
        hub.soundcloud.set_likes(likes);
        assert_eq!(hub.refresh().await["poll"]["ok"], true);
        let proxy = CutProxy::start(hub.port).await;
        browser.log_in(&proxy.url(), T).await;
        let subscriber = bearer(&hub.url(), "", RELAY_TOKEN).await;
        Some(Console {
            hub,
            proxy,
            browser,
            subscriber,
        })
    }

    /// Waits until the console shows `n` taps waiting; returns the line it shows.
    async fn waiting(&self, n: usize) -> String {
        let count = if n == 1 {
            "1 announce waiting".to_owned()
        } else {
            format!("{n} announces waiting")
        };
        self.browser.wait_for_text("#queue-head", &count, T).await
    }

    /// Waits until no tap is waiting.
    async fn none_waiting(&self) {
        self.browser
            .wait_for_script("return document.getElementById('queue').hidden", T)
            .await;
    }

    /// The one announce the subscriber gets; fails if a second one follows within [`QUIET`].
    async fn exactly_one_line(&mut self) -> Value {
        let line = next_of(&mut self.subscriber, "announce", T).await;
        self.no_line().await;
        line
    }

    /// [`Console::exactly_one_line`], which must name `title`.
    async fn exactly_one_line_naming(&mut self, title: &str) -> Value {
        let line = self.exactly_one_line().await;
        assert!(
            line["message"].as_str().is_some_and(|m| m.contains(title)),
            "a line naming {title}: {line}"
        );
        line
    }

    /// Fails if the subscriber gets an announce within [`QUIET`].
    async fn no_line(&mut self) {
        no_announce(&mut self.subscriber, QUIET).await;
    }
}

/// A show whose taps are past their max age after one second.
fn max_age_one_second() -> TestSchedule {
    TestSchedule {
        show_keys: "announce_max_age_seconds = 1\n",
        ..TestSchedule::default()
    }
}

/// Runs `steps` with a screenshot named after the test if they fail.
async fn shot_on_failure<T>(console: &Console, name: &str, steps: impl Future<Output = T>) -> T {
    let name = format!("console-{name}-failure-{}", console.hub.port);
    console.browser.or_screenshot(&name, steps).await
}

/// An in-process irc-relay in `CHANNEL` of the ngircd on `port`, subscribed to the hub.
async fn irc_relay(hub: &TestHub, port: u16, state_dir: &Path) -> irc_relay::RelayHandle {
    let toml = format!(
        "[relay]\nhub_url = \"{}\"\ntoken = \"{}\"\nstate_dir = \"{}\"\n\
         reconnect_initial_seconds = 0.05\nreconnect_max_seconds = 0.5\n\
         [irc]\nserver = \"127.0.0.1\"\nport = {port}\ntls = false\nnickname = \"{BOT}\"\n\
         channels = [\"{CHANNEL}\"]\n",
        hub.url(),
        hub.relay_token(),
        state_dir.display(),
    );
    let config = irc_relay::Config::from_toml(&toml).expect("relay config");
    let relay = irc_relay::Relay::start(config);
    relay
        .wait_ready(1, T)
        .await
        .unwrap_or_else(|status| panic!("relay not ready: {status:?}"));
    relay
}

#[tokio::test]
async fn a_tap_while_offline_waits_and_goes_out_once_when_the_link_is_back() {
    let Some(ircd) = Ircd::start().await else {
        return;
    };
    let Some(mut console) = Console::start().await else {
        return;
    };
    let mut listener = Observer::join(ircd.port(), "listener", CHANNEL).await;
    let _relay = irc_relay(
        &console.hub,
        ircd.port(),
        &console.hub.data_dir().join("relay"),
    )
    .await;
    let browser = &console.browser;
    shot_on_failure(&console, "offline", async {
        browser.set_offline(true).await;
        let cut = Instant::now();
        browser
            .wait_for_script(
                "return !document.getElementById('conn').classList.contains('up')",
                T,
            )
            .await;
        eprintln!("offline shown {:?} after the link was cut", cut.elapsed());
        browser.click("#announce-next").await;
        let shown = console.waiting(1).await;
        assert!(shown.starts_with("offline — "), "{shown}");
        assert!(browser.text("#queue-list").await.contains("#1 Aurora"));
    })
    .await;
    console.no_line().await;
    console.browser.set_offline(false).await;
    console.exactly_one_line_naming("Aurora").await;
    console.none_waiting().await;
    let said = listener.next_privmsg_from(BOT, T).await;
    assert!(said.text.contains("Aurora"), "{}", said.text);
    let again = listener.privmsgs_from(BOT, QUIET).await;
    assert!(
        again.is_empty(),
        "the channel got the line again: {again:?}"
    );
}

#[tokio::test]
async fn a_link_that_dies_silently_shows_offline_within_5_s_and_the_tap_waits() {
    let Some(mut console) = Console::start().await else {
        return;
    };
    let browser = &console.browser;
    browser
        .wait_for_script(
            "return document.getElementById('conn').classList.contains('up')",
            T,
        )
        .await;
    shot_on_failure(&console, "silent", async {
        // Nothing passes and nothing closes: only the console's own probe can tell.
        console.proxy.set(Cut::Silent);
        let cut = Instant::now();
        browser
            .wait_for_script(
                "return !document.getElementById('conn').classList.contains('up')",
                Duration::from_secs(5),
            )
            .await;
        eprintln!(
            "a silent link shown offline {:?} after it died",
            cut.elapsed()
        );
        browser.click("#announce-next").await;
        let shown = console.waiting(1).await;
        assert!(shown.starts_with("offline — "), "{shown}");
    })
    .await;
    console.no_line().await;
    console.proxy.set(Cut::Pass);
    console.exactly_one_line_naming("Aurora").await;
    console.none_waiting().await;
}

#[tokio::test]
async fn a_lost_answer_is_sent_again_with_its_key_and_announced_once() {
    let Some(mut console) = Console::start().await else {
        return;
    };
    console.proxy.set(Cut::LoseAnswer);
    console.browser.click("#announce-next").await;
    console.exactly_one_line_naming("Aurora").await;
    assert_eq!(console.proxy.cuts(), 1, "the answer was not lost");
    let browser = &console.browser;
    shot_on_failure(&console, "lost-answer", async {
        // The retry's answer is the first one again: the page ends where one tap ends.
        browser.wait_for_text("#toasts .toast", "Sent: ", T).await;
        console.none_waiting().await;
        browser
            .wait_for_text("#announce-next", "#2 Über Ω", T)
            .await;
    })
    .await;
}

#[tokio::test]
async fn a_waiting_tap_survives_a_reload_and_goes_out_once() {
    let Some(mut console) = Console::start().await else {
        return;
    };
    console.proxy.set(Cut::Refuse);
    console.browser.click("#announce-next").await;
    console.waiting(1).await;
    console.browser.reload().await;
    console.browser.wait_for_selector("#conn.up", T).await;
    console.waiting(1).await;
    assert!(
        console.proxy.cuts() >= 2,
        "the reloaded page did not try again"
    );
    console.no_line().await;
    console.proxy.set(Cut::Pass);
    console.exactly_one_line_naming("Aurora").await;
    console.none_waiting().await;
}

/// Two taps that waited too long: one dropped, one announced now.
#[tokio::test]
async fn past_the_max_age_announce_now_sends_it_and_drop_forgets_it() {
    let Some(mut console) = Console::start_with(max_age_one_second()).await else {
        return;
    };
    console.proxy.set(Cut::Refuse);
    shot_on_failure(&console, "max-age", async {
        console.browser.click("#announce-next").await;
        console.waiting(1).await;
        // The button is busy until its tap's first try is over.
        console
            .browser
            .wait_for_script(
                "return !document.getElementById('announce-next').disabled",
                T,
            )
            .await;
        console.browser.click("#announce-next").await;
        console.waiting(2).await;
        console
            .browser
            .wait_for_script(
                "return document.querySelectorAll('#queue-list button[data-choice]').length === 6",
                T,
            )
            .await;
    })
    .await;
    console.proxy.set(Cut::Pass);
    // Stale taps wait for the DJ even with the link back.
    console.no_line().await;
    console
        .browser
        .click("#queue-list li:nth-child(2) button[data-choice=drop]")
        .await;
    console
        .browser
        .wait_for_text("#toasts .toast", "Dropped: #1 Aurora", T)
        .await;
    console.waiting(1).await;
    console
        .browser
        .click("#queue-list li:nth-child(1) button[data-choice=now]")
        .await;
    console.exactly_one_line_naming("Aurora").await;
    console.none_waiting().await;
}

#[tokio::test]
async fn past_the_max_age_log_only_records_the_tap_and_sends_it_to_nobody() {
    let Some(mut console) = Console::start_with(max_age_one_second()).await else {
        return;
    };
    console.proxy.set(Cut::Refuse);
    console.browser.click("#announce-next").await;
    console
        .browser
        .wait_for_selector("#queue-list button[data-choice=log]", T)
        .await;
    console.proxy.set(Cut::Pass);
    console
        .browser
        .click("#queue-list button[data-choice=log]")
        .await;
    console
        .browser
        .wait_for_text("#toasts .toast", "Logged only: ", T)
        .await;
    console.none_waiting().await;
    console.no_line().await;
    console
        .browser
        .wait_for_text("section.show[data-primary] ol.log .line", "Aurora", T)
        .await;
}

#[tokio::test]
async fn a_held_announce_counts_down_and_undo_sends_nothing() {
    let schedule = TestSchedule {
        show_keys: "hold_seconds = 5\n",
        ..TestSchedule::default()
    };
    let Some(mut console) = Console::start_with(schedule).await else {
        return;
    };
    let browser = &console.browser;
    browser.click("#announce-next").await;
    browser
        .wait_for_text("#toasts .toast.held", "Sending in ", T)
        .await;
    browser
        .click("#toasts .toast.held .toast-actions button")
        .await;
    browser
        .wait_for_text("#toasts .toast", "Undone — nothing was sent", T)
        .await;
    // Past the release time, still nothing.
    console.no_line().await;
    console.no_line().await;
    // Without Undo the toast counts down, then says it was sent, and the line goes out once.
    let browser = &console.browser;
    browser.click("#announce-next").await;
    browser
        .wait_for_text("#toasts .toast.held", "Sending in ", T)
        .await;
    browser.screenshot("console-held-phone").await;
    browser
        .wait_for_text("#toasts .toast", "released after the hold", T)
        .await;
    console.exactly_one_line_naming("Aurora").await;
}

/// The search field by keyboard alone: `/` focuses it, a query lists matches, the arrows move,
/// Enter announces, Escape closes; accents and case do not matter.
#[tokio::test]
async fn search_finds_any_track_by_keyboard_and_enter_announces_it() {
    let Some(mut console) = Console::start().await else {
        return;
    };
    let name = format!("console-search-failure-{}", console.hub.port);
    let browser = &console.browser;
    browser
        .or_screenshot(&name, search_ignores_accents(browser))
        .await;
    // At a phone's width: "ar" matches this week's Fjord (by Garnet) and last week's Halcyon
    // (by Ólafur Arnalds); the arrows reach the second and Enter announces it.
    browser.set_viewport(PHONE).await;
    search_for(browser, "ar").await;
    let options = option_texts(browser).await;
    assert_eq!(options.len(), 2, "{options:?}");
    let last_week = options
        .iter()
        .position(|o| o.contains("Halcyon") && o.contains("(last week)"))
        .unwrap_or_else(|| panic!("no last week's track: {options:?}"));
    browser.keys(&format!("{}{}", Key::Down, Key::Up)).await;
    browser.keys(&Key::Down.to_string().repeat(last_week)).await;
    let active = browser
        .eval("return document.getElementById('search').getAttribute('aria-activedescendant')")
        .await;
    assert_eq!(active, format!("search-option-{last_week}").as_str());
    browser.screenshot("console-search-phone").await;
    browser.keys(&Key::Enter.to_string()).await;
    console.exactly_one_line_naming("Halcyon").await;
    assert_eq!(console.browser.focused_id().await, "search");
    search_enter_at_desktop(&mut console).await;
}

/// "ub" and "ÜB" (case and accents) and "er ω" (the small letter of the title's capital Ω)
/// all find "Über Ω"; Escape closes the list.
async fn search_ignores_accents(browser: &Browser) {
    browser.set_viewport(DESKTOP).await;
    for query in ["ub", "ÜB", "er ω"] {
        search_for(browser, query).await;
        let options = option_texts(browser).await;
        assert_eq!(options.len(), 1, "{query}: {options:?}");
        assert!(options[0].starts_with("#2 Über Ω"), "{query}: {options:?}");
    }
    browser.keys(&Key::Escape.to_string()).await;
    browser
        .wait_for_script("return document.getElementById('search-results').hidden", T)
        .await;
}

/// At a laptop's width: Enter on the first match announces it; asking for an announced
/// track again asks first, and saying no sends nothing.
async fn search_enter_at_desktop(console: &mut Console) {
    let browser = &console.browser;
    browser.set_viewport(DESKTOP).await;
    search_for(browser, "blues").await;
    browser.screenshot("console-search-desktop").await;
    browser.keys(&Key::Enter.to_string()).await;
    let line = console.exactly_one_line().await;
    assert!(
        line["message"]
            .as_str()
            .is_some_and(|m| m.contains("Delta Blues")),
        "{line}"
    );
    let browser = &console.browser;
    browser
        .wait_for_selector(
            "section.show[data-primary] tr.announced[data-title='Delta Blues']",
            T,
        )
        .await;
    search_for(browser, "delta").await;
    browser.keys(&Key::Enter.to_string()).await;
    let asked = browser.dismiss_dialog().await;
    assert!(asked.contains("already announced"), "{asked}");
    console.no_line().await;
}

/// Focuses the search field with `/` (from the page, by keyboard), replaces its text with
/// `query` and waits for the list.
async fn search_for(browser: &Browser, query: &str) {
    browser
        .eval("document.activeElement.blur(); return true")
        .await;
    browser.keys("/").await;
    assert_eq!(browser.focused_id().await, "search");
    browser.keys(query).await;
    browser
        .wait_for_script(
            "return !document.getElementById('search-results').hidden",
            T,
        )
        .await;
}

async fn option_texts(browser: &Browser) -> Vec<String> {
    let texts = browser
        .eval("return Array.from(document.querySelectorAll('#search-results [role=option]:not([aria-disabled])')).map(o => o.textContent)")
        .await;
    serde_json::from_value(texts).expect("option texts")
}

/// The figure: how long a tap takes to reach a token subscriber with the send queue on the path
/// (a free text each, typed and sent with Enter). Prints the median and p95; asserts only that
/// every line arrived once and in order.
#[tokio::test]
async fn tap_to_line_through_the_send_queue_figure() {
    let Some(mut console) = Console::start().await else {
        return;
    };
    let mut took = Vec::new();
    for n in 1..=20 {
        let text = format!("Figure tap {n}");
        console.browser.type_into("#free-text-input", &text).await;
        let started = Instant::now();
        console.browser.keys(&Key::Enter.to_string()).await;
        let line = next_of(&mut console.subscriber, "announce", T).await;
        took.push(started.elapsed());
        assert_eq!(line["message"], text.as_str(), "{line}");
        console
            .browser
            // Enter does nothing while the Send button is busy with the tap before.
            .wait_for_script(
                "return !document.querySelector('#free-text button').disabled",
                T,
            )
            .await;
    }
    console.no_line().await;
    took.sort();
    eprintln!(
        "tap-to-line through the send queue, {} taps: median {:?}, p95 {:?}, max {:?}",
        took.len(),
        took[took.len() / 2],
        took[took.len() * 95 / 100 - 1],
        took[took.len() - 1]
    );
}
