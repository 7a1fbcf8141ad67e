//! The console for every DJ, in a real headless Chromium: axe-core finds nothing serious or
//! critical (WCAG 2.1 AA) on the login page, the dashboard (with toasts showing, and with the
//! Correct dialog open) and the public page, in the light and the dark colour scheme, at a
//! phone's and a laptop's width; every focus ring stands out at least 3:1 from what is around
//! it; every control on a phone is at least 44×44 px; and a DJ with only a keyboard logs in,
//! announces (the big button, the `n` key, a row's button, a free text) and corrects, with the
//! focus where they are after each step. Screenshots of each scheme and width are saved in
//! `e2e::browser::screenshot_dir()`.

use std::time::Duration;

use e2e::axe::{self, Violation};
use e2e::browser::{Browser, DESKTOP, PHONE, Scheme, Viewport};
use e2e::hub::{PASSWORD, TestHub, TestSchedule, USERNAME};
use jiff::SignedDuration;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(15);
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";
const SHIFT_TAB: &str = "\u{E008}\u{E004}";
const ARROW_UP: &str = "\u{E013}";
/// More Tab presses than any page here has controls: a walk that needs more is lost.
const MAX_TABS: usize = 150;

const TRACKS: [(&str, &str); 5] = [
    ("Aurora", "Artist One"),
    ("Basalt", "Artist Two"),
    ("Cinder", "Artist Three"),
    ("Delta Blues", "Artist Four"),
    ("Ember", "Artist Five"),
];

/// A hub on air (so the "On air" badge and the relay banner show) whose show has five records
/// with links; `announced` of them are announced, in order.
async fn hub_on_air(announced: usize) -> TestHub {
    let schedule = TestSchedule {
        ago: SignedDuration::from_mins(10),
        live_minutes: 120,
        ..TestSchedule::default()
    };
    let hub = TestHub::start_with(schedule, "").await;
    let id = show_id(&hub).await;
    for (n, (title, artist)) in TRACKS.iter().enumerate() {
        hub.add_record(id, title, artist, &format!("https://x.test/{n}"))
            .await;
    }
    for position in 1..=announced {
        hub.announce(json!({"show_id": id, "position": position}))
            .await;
    }
    hub
}

async fn show_id(hub: &TestHub) -> i64 {
    let (_, show) = hub.get_json("/playlist").await;
    show["id"].as_i64().expect("show id")
}

/// Every colour scheme at every width.
fn looks() -> Vec<(Scheme, Viewport)> {
    [Scheme::Light, Scheme::Dark]
        .into_iter()
        .flat_map(|s| [PHONE, DESKTOP].map(|v| (s, v)))
        .collect()
}

fn look_name(scheme: Scheme, viewport: Viewport) -> String {
    format!("{}-{}", scheme.name(), viewport.width)
}

/// Shows the page in `scheme` at `viewport`'s size, once its colours have finished changing:
/// links and buttons fade to a new scheme's colours, and axe must not see them half-way.
async fn show_as(browser: &Browser, scheme: Scheme, viewport: Viewport) {
    browser.set_viewport(viewport).await;
    browser.set_color_scheme(scheme).await;
    browser
        .wait_for_script(
            "return document.getAnimations().every((a) => a.playState !== 'running')",
            T,
        )
        .await;
}

/// A page has exactly one `<h1>`: what a screen reader's "next heading" starts from.
async fn one_h1(browser: &Browser, page: &str) -> Vec<String> {
    let count = browser
        .eval("return document.querySelectorAll('h1').length")
        .await;
    if count == json!(1) {
        Vec::new()
    } else {
        vec![format!("{page}: {count} <h1> elements, not one\n")]
    }
}

/// What axe finds on the page now, each finding labelled with `state`.
async fn axe_findings(browser: &Browser, source: &str, state: &str) -> Vec<String> {
    let found: Vec<Violation> = axe::check(browser, source).await;
    found.iter().map(|v| format!("{state}: {v}")).collect()
}

/// Toasts of every kind, one with an action button, drawn by the page's own code.
const TOASTS: &str = r#"
NTR.toast(["Sent: Now Playing: Song #1: Aurora by Artist One", "→ relay-1"], "ok", [{label: "Undo", run: () => {}}]);
NTR.toast(["Nothing left to announce in this show."], "warn");
NTR.toast(["Not announced: the hub is unreachable", "No bot is connected — nothing reached IRC"], "bad");
return document.querySelectorAll('#toasts .toast').length;"#;

#[tokio::test]
async fn axe_finds_nothing_serious_on_any_page_in_either_scheme_at_either_width() {
    let Some(source) = axe::script() else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    // #2 on air: its row is not striped, so the mark's colour is behind its text.
    let hub = hub_on_air(2).await;
    let url = hub.url();
    let failure = format!("a11y-axe-failure-{}", hub.port);
    let findings = browser
        .or_screenshot(&failure, every_page(&browser, &source, &url))
        .await;
    assert!(
        findings.is_empty(),
        "{} serious or critical axe findings:\n{}",
        findings.len(),
        findings.join("")
    );
}

async fn every_page(browser: &Browser, source: &str, url: &str) -> Vec<String> {
    let mut findings = Vec::new();
    for (scheme, viewport) in looks() {
        show_as(browser, scheme, viewport).await;
        browser.goto(&format!("{url}/login")).await;
        let look = look_name(scheme, viewport);
        findings.extend(axe_findings(browser, source, &format!("login {look}")).await);
        findings.extend(one_h1(browser, "login").await);
    }
    browser.log_in(url, T).await;
    for (scheme, viewport) in looks() {
        show_as(browser, scheme, viewport).await;
        findings.extend(dashboard_findings(browser, source, &look_name(scheme, viewport)).await);
    }
    for (scheme, viewport) in looks() {
        show_as(browser, scheme, viewport).await;
        browser.goto(url).await;
        browser.wait_for_selector("#now", T).await;
        let look = look_name(scheme, viewport);
        findings.extend(axe_findings(browser, source, &format!("public {look}")).await);
        findings.extend(one_h1(browser, "public").await);
        browser.screenshot(&format!("a11y-public-{look}")).await;
    }
    findings
}

/// The dashboard with toasts showing, then with the Correct dialog open.
async fn dashboard_findings(browser: &Browser, source: &str, look: &str) -> Vec<String> {
    browser.eval("window.scrollTo(0, 0); return true").await;
    assert_eq!(browser.eval(TOASTS).await, json!(3), "three toasts");
    let mut findings = axe_findings(browser, source, &format!("dashboard+toasts {look}")).await;
    findings.extend(one_h1(browser, "dashboard").await);
    browser.screenshot(&format!("a11y-dashboard-{look}")).await;
    browser.click("#now-next button.correct").await;
    browser.wait_for_selector("#correct-dialog[open]", T).await;
    findings.extend(axe_findings(browser, source, &format!("correct dialog {look}")).await);
    browser.screenshot(&format!("a11y-correct-{look}")).await;
    browser.press(ESCAPE).await;
    browser
        .wait_for_script("return !document.querySelector('dialog[open]')", T)
        .await;
    findings
}

/// The focused element's focus ring: its contrast against the colour behind it (the nearest
/// ancestor's opaque background, lighter ones blended in, and a see-through ring blended over
/// that), or why it has none.
const RING: &str = r"
const el = document.activeElement;
if (!el || el === document.body) return null;
const name = (el.id ? '#' + el.id : el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : ''))
  + ' ' + JSON.stringify((el.getAttribute('aria-label') || el.textContent || el.value || '').trim().slice(0, 30));
const rgba = (c) => { const m = c.match(/[\d.]+/g) || [0, 0, 0, 0]; return m.map(Number).concat([1]).slice(0, 4); };
const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
  .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
let bg = [0, 0, 0, 0];
const layers = [];
for (let n = el.parentElement; n; n = n.parentElement) layers.push(rgba(getComputedStyle(n).backgroundColor));
layers.push([255, 255, 255, 1]);
let color = null;
for (const layer of layers.reverse()) {
  if (layer[3] === 0) continue;
  color = color === null ? layer : [0, 1, 2].map((i) => layer[i] * layer[3] + color[i] * (1 - layer[3]));
}
const style = getComputedStyle(el);
const width = parseFloat(style.outlineWidth);
if (style.outlineStyle === 'none' || !(width > 0)) return { name, ratio: 0, why: 'no outline' };
const seen = rgba(style.outlineColor);
const ring = [0, 1, 2].map((i) => seen[i] * seen[3] + color[i] * (1 - seen[3]));
const [a, b] = [lum(ring), lum(color)].sort((x, y) => y - x);
return { name, ratio: Math.round((a + 0.05) / (b + 0.05) * 100) / 100, width, ring: style.outlineColor,
  behind: 'rgb(' + color.map(Math.round).join(', ') + ')' };";

/// Tabs through the whole page from the top and returns each control's ring: `(the ring of
/// lowest contrast, every ring under 3:1)`.
async fn focus_rings(browser: &Browser) -> (Value, Vec<Value>) {
    browser
        .eval("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); return true")
        .await;
    let mut seen = Vec::new();
    let mut weak = Vec::new();
    let mut lowest = Value::Null;
    for _ in 0..MAX_TABS {
        browser.press(TAB).await;
        let ring = browser.eval(RING).await;
        if ring.is_null() || seen.first() == Some(&ring["name"]) {
            break;
        }
        seen.push(ring["name"].clone());
        let ratio = ring["ratio"].as_f64().unwrap_or(0.0);
        if lowest["ratio"].as_f64().is_none_or(|low| ratio < low) {
            lowest = ring.clone();
        }
        if ratio < 3.0 {
            weak.push(ring);
        }
    }
    assert!(seen.len() > 3, "Tab reached only {seen:?}");
    (lowest, weak)
}

#[tokio::test]
async fn every_focus_ring_stands_out_in_either_scheme() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let hub = hub_on_air(1).await;
    let url = hub.url();
    let failure = format!("a11y-ring-failure-{}", hub.port);
    let weak = browser
        .or_screenshot(&failure, async {
            browser.log_in(&url, T).await;
            let banner = browser
                .eval("return !document.getElementById('relay-banner').hidden")
                .await;
            assert_eq!(
                banner,
                json!(true),
                "the red banner shows (no bot is connected)"
            );
            let mut weak = Vec::new();
            for scheme in [Scheme::Light, Scheme::Dark] {
                show_as(&browser, scheme, DESKTOP).await;
                for page in [format!("{url}/dashboard"), url.clone()] {
                    browser.goto(&page).await;
                    browser.wait_for_selector("#now, #now-next", T).await;
                    if page.ends_with("/dashboard") {
                        browser.eval(TOASTS).await;
                    }
                    let (lowest, found) = focus_rings(&browser).await;
                    eprintln!(
                        "{page} {}: the focus ring of lowest contrast {lowest}",
                        scheme.name()
                    );
                    weak.extend(
                        found
                            .into_iter()
                            .map(|r| format!("{page} {}: {r}", scheme.name())),
                    );
                }
            }
            weak
        })
        .await;
    assert!(
        weak.is_empty(),
        "focus rings under 3:1:\n{}",
        weak.join("\n")
    );
}

/// Every visible control of the page (a radio button counts with its label) and its size,
/// and those under 44 px in a direction.
const TARGETS: &str = r"
const all = Array.from(document.querySelectorAll('a[href], button, input, select, textarea, summary'))
  .filter((el) => el.getClientRects().length && !el.closest('dialog:not([open])'));
const small = all.map((el) => {
  const box = (el.type === 'radio' || el.type === 'checkbox') && el.closest('label') || el;
  const r = box.getBoundingClientRect();
  const name = (el.getAttribute('aria-label') || el.textContent || el.value || el.name || '').trim().slice(0, 30);
  return { what: el.tagName.toLowerCase() + '.' + String(el.className).split(' ')[0] + ' ' + JSON.stringify(name),
    size: Math.round(r.width) + '×' + Math.round(r.height), small: r.width < 44 || r.height < 44 };
}).filter((c) => c.small).map((c) => c.what + ' ' + c.size);
return { total: all.length, small };";

#[tokio::test]
async fn every_control_is_big_enough_for_a_thumb_on_a_phone() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let hub = hub_on_air(1).await;
    let url = hub.url();
    let failure = format!("a11y-targets-failure-{}", hub.port);
    browser
        .or_screenshot(&failure, async {
            browser.set_viewport(PHONE).await;
            browser.log_in(&url, T).await;
            browser.eval(TOASTS).await;
            let mut small = targets_under_44(&browser, "dashboard").await;
            browser
                .eval("document.querySelectorAll('details').forEach((d) => { d.open = true; }); return true")
                .await;
            small.extend(targets_under_44(&browser, "dashboard, every section open").await);
            browser.click("#now-next button.correct").await;
            browser.wait_for_selector("#correct-dialog[open]", T).await;
            small.extend(targets_under_44(&browser, "correct dialog").await);
            assert!(small.is_empty(), "controls under 44×44 px at 375 px:\n{}", small.join("\n"));
        })
        .await;
}

async fn targets_under_44(browser: &Browser, state: &str) -> Vec<String> {
    let found = browser.eval(TARGETS).await;
    let small: Vec<String> = serde_json::from_value(found["small"].clone()).expect("a list");
    eprintln!(
        "{state}: {} of {} controls under 44 px",
        small.len(),
        found["total"]
    );
    small.into_iter().map(|s| format!("{state}: {s}")).collect()
}

/// Whether the focus is on the big button, announcing track `position` next.
fn on_announce_next(position: u32) -> String {
    format!(
        "const el = document.activeElement; \
         return el.id === 'announce-next' && el.dataset.position === '{position}' && !el.disabled"
    )
}

/// Presses Tab (or `keys`) until `script` is true of the focused element; panics after
/// [`MAX_TABS`] presses.
async fn tab_to(browser: &Browser, keys: &str, script: &str) {
    for _ in 0..MAX_TABS {
        if browser.eval(script).await == json!(true) {
            return;
        }
        browser.press(keys).await;
    }
    panic!("{keys:?} never reached what {script:?} wants");
}

fn focused(css: &str) -> String {
    format!("return document.activeElement === document.querySelector({css:?})")
}

#[tokio::test]
async fn a_keyboard_alone_logs_in_announces_and_corrects_and_the_focus_stays_with_the_dj() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let hub = hub_on_air(0).await;
    let url = hub.url();
    let failure = format!("a11y-keyboard-failure-{}", hub.port);
    browser
        .or_screenshot(&failure, async {
            browser.set_viewport(DESKTOP).await;
            log_in_with_keys(&browser, &url).await;
            announce_with_keys(&browser).await;
            correct_with_keys(&browser).await;
        })
        .await;
}

async fn log_in_with_keys(browser: &Browser, url: &str) {
    browser.goto(&format!("{url}/login")).await;
    tab_to(browser, TAB, &focused("input[name=username]")).await;
    browser
        .press(&format!("{USERNAME}{TAB}{PASSWORD}{ENTER}"))
        .await;
    browser
        .wait_for_script("return location.pathname === '/dashboard'", T)
        .await;
    browser.wait_for_selector("#conn.up", T).await;
}

async fn announce_with_keys(browser: &Browser) {
    // n, with the focus nowhere yet: #1 goes out, the focus lands on the next one.
    browser.press("n").await;
    browser.wait_for_text("#toasts .toast", "Song #1", T).await;
    browser.wait_for_script(&on_announce_next(2), T).await;
    // Enter on the focused big button.
    browser.press(ENTER).await;
    browser.wait_for_text("#toasts .toast", "Song #2", T).await;
    browser.wait_for_script(&on_announce_next(3), T).await;
    // n again, the focus on the big button.
    browser.press("n").await;
    browser.wait_for_text("#toasts .toast", "Song #3", T).await;
    browser.wait_for_script(&on_announce_next(4), T).await;
    // A row's own button (#5, out of order): the focus goes to the big button, still #4.
    let row5 = "section.show[data-primary] tr[data-position='5'] button.announce";
    tab_to(browser, TAB, &focused(row5)).await;
    let name = browser
        .eval(&format!(
            "return document.querySelector({row5:?}).textContent.replace(/\\s+/g, ' ').trim()"
        ))
        .await;
    assert_eq!(
        name,
        json!("Announce #5 Ember"),
        "the row's button says which track"
    );
    browser.press(ENTER).await;
    browser.wait_for_text("#toasts .toast", "Song #5", T).await;
    browser.wait_for_script(&on_announce_next(4), T).await;
    // A free text, sent with Enter from its box.
    tab_to(browser, TAB, &focused("#free-text-input")).await;
    browser.press(&format!("Back after the news{ENTER}")).await;
    browser
        .wait_for_text("#toasts .toast", "Back after the news", T)
        .await;
    browser.wait_for_script(&on_announce_next(4), T).await;
}

/// The seq of the log entry whose line contains `text`.
async fn seq_of(browser: &Browser, text: &str) -> String {
    let seq = browser
        .eval(&format!(
            "const li = Array.from(document.querySelectorAll('section.show[data-primary] ol.log li')).find((l) => l.dataset.message.includes({text:?})); \
             return li ? li.dataset.seq : null"
        ))
        .await;
    match seq.as_str() {
        Some(seq) => seq.to_owned(),
        None => panic!("no log entry says {text:?}"),
    }
}

async fn correct_with_keys(browser: &Browser) {
    // The console's Correct is just before the big button: #5 is on air.
    browser.press(SHIFT_TAB).await;
    let wrong = seq_of(browser, "Ember").await;
    browser
        .wait_for_script(
            &focused(&format!("#now-next button.correct[data-seq='{wrong}']")),
            T,
        )
        .await;
    // Escape leaves the dialog and the focus where it was.
    browser.press(ENTER).await;
    browser.wait_for_selector("#correct-dialog[open]", T).await;
    browser.press(ESCAPE).await;
    browser
        .wait_for_script(
            &focused(&format!("#now-next button.correct[data-seq='{wrong}']")),
            T,
        )
        .await;
    // Enter opens it again, ↑ picks another track (#3), Enter on "Send correction" sends it.
    browser.press(ENTER).await;
    browser.wait_for_selector("#correct-dialog[open]", T).await;
    browser.press(ARROW_UP).await;
    tab_to(browser, TAB, &focused("#correct-form button[type=submit]")).await;
    browser.press(ENTER).await;
    browser
        .wait_for_text("#toasts .toast", "Correction", T)
        .await;
    // Back on the console's Correct, redrawn for the right track (#3); the wrong one corrected.
    browser
        .wait_for_selector(&format!("li.corrected[data-seq='{wrong}']"), T)
        .await;
    let right = seq_of(browser, "Correction: Now Playing: Song #3").await;
    let console = format!("#now-next button.correct[data-seq='{right}']");
    browser.wait_for_script(&focused(&console), T).await;
    // From the log, a text correction of the free text, typed and sent with Enter.
    let text = seq_of(browser, "Back after the news").await;
    let button = format!("li[data-seq='{text}'] button.correct");
    tab_to(browser, TAB, &focused(&button)).await;
    browser.press(ENTER).await;
    browser.wait_for_selector("#correct-dialog[open]", T).await;
    browser.press(&format!(" in five{ENTER}")).await;
    browser
        .wait_for_text("#toasts .toast", "Back after the news in five", T)
        .await;
    let back = format!(
        "const el = document.activeElement; return el.matches(\"li[data-seq='{text}'].corrected\") || el.matches({button:?})"
    );
    browser.wait_for_script(&back, T).await;
}
