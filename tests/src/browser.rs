//! A real headless Chromium for the dashboard tests: Debian's `chromium` driven through its
//! `chromedriver` with the `fantoccini` WebDriver client, plus the waits, viewport sizes,
//! colour schemes, key presses and screenshots those tests need.
//!
//! Without the packages a test prints SKIPPED and returns, except under `CI=true`, where it
//! fails (`scripts/test` installs them).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::Method;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::binaries::require_program;
use crate::net::free_port;
use crate::wait;

/// A page's viewport in CSS pixels; `mobile` emulates a phone's browser (overlay scrollbars,
/// the page's `<meta name="viewport">` honoured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
    pub mobile: bool,
}

/// A phone's viewport.
pub const PHONE: Viewport = Viewport {
    width: 375,
    height: 812,
    mobile: true,
};
/// A laptop's viewport.
pub const DESKTOP: Viewport = Viewport {
    width: 1280,
    height: 800,
    mobile: false,
};

/// A colour scheme a page can be shown in: what `prefers-color-scheme` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Light,
    Dark,
}

impl Scheme {
    /// The media feature's value.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Light => "light",
            Scheme::Dark => "dark",
        }
    }
}

/// How long [`Browser::find`] and the other one-step helpers wait for an element.
const FIND: Duration = Duration::from_secs(10);
/// How long chromedriver may take to listen.
const DRIVER_START: Duration = Duration::from_secs(20);
/// Where Debian puts the binaries besides `PATH`.
const DIRS: &[&str] = &["/usr/bin", "/usr/lib/chromium"];

/// Chromium's flags: headless, as root, and quiet on the network (nothing but the page under
/// test is fetched).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
];

/// A DevTools protocol method, run through chromedriver's own `goog/cdp/execute` endpoint (the
/// WebDriver standard has no viewport emulation).
#[derive(Debug)]
struct DevTools {
    method: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        // Without a session chromedriver answers "invalid session id", which the caller sees.
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or("none")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        let body = json!({"cmd": self.method, "params": self.params});
        (Method::POST, Some(body.to_string()))
    }
}

/// chromedriver's own network emulation (`chromium/network_conditions`), which applies to
/// every tab and sets `navigator.onLine`: offline, or a normal link again.
#[derive(Debug)]
struct NetworkConditions {
    offline: bool,
}

impl WebDriverCompatibleCommand for NetworkConditions {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/chromium/network_conditions",
            session.unwrap_or("none")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        let body = json!({"network_conditions": {
            "offline": self.offline,
            "latency": 0,
            "download_throughput": -1,
            "upload_throughput": -1,
        }});
        (Method::POST, Some(body.to_string()))
    }
}

/// chromedriver in a process group of its own, with the Chromium it starts: dropping it kills
/// the group, so no browser outlives a test, even one that panicked.
struct DriverProcess(Child);

impl DriverProcess {
    fn spawn(driver: PathBuf, port: u16) -> DriverProcess {
        use std::os::unix::process::CommandExt;
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
        DriverProcess(child)
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        if let Ok(group) = i32::try_from(self.0.id()) {
            // SAFETY: signals the process group this value created (its leader is our child),
            // which holds chromedriver and the browsers it started.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self.0.wait();
    }
}

/// One browser session. Fields drop in order: the session, then the processes, then the
/// profile folder they used.
pub struct Browser {
    client: Client,
    _driver: DriverProcess,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile and a [`PHONE`]'s
    /// viewport, or `None` (with a SKIPPED line) when they are not installed and this is not CI.
    pub async fn start() -> Option<Browser> {
        let chromium = require_program(&["chromium", "chromium-browser"], DIRS, "chromium")?;
        let driver = require_program(&["chromedriver"], DIRS, "chromium-driver")?;
        let port = free_port();
        let driver = DriverProcess::spawn(driver, port);
        wait::until_listening(port, DRIVER_START).await;
        let profile = tempfile::tempdir().expect("a profile folder for Chromium");
        let mut args: Vec<String> = FLAGS.iter().map(std::string::ToString::to_string).collect();
        args.push(format!(
            "--window-size={},{}",
            DESKTOP.width, DESKTOP.height
        ));
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chromium, "args": args}),
        );
        capabilities.insert("unhandledPromptBehavior".into(), json!("ignore"));
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a chromedriver session");
        let browser = Browser {
            client,
            _driver: driver,
            _profile: profile,
        };
        browser.set_viewport(PHONE).await;
        Some(browser)
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn current_url(&self) -> String {
        self.client.current_url().await.expect("current URL").into()
    }

    /// The first element matching `css`, waiting up to 10 s for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.wait_for_selector(css, FIND).await
    }

    /// Waits until an element matches `css`; panics after `limit`.
    pub async fn wait_for_selector(&self, css: &str, limit: Duration) -> Element {
        self.client
            .wait()
            .at_most(limit)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element matches {css} within {limit:?}: {e}"))
    }

    /// Waits until an element matching `css` has `needle` in its text; returns that text.
    pub async fn wait_for_text(&self, css: &str, needle: &str, limit: Duration) -> String {
        let found = wait::until(limit, async || {
            for element in self.client.find_all(Locator::Css(css)).await.ok()? {
                if let Ok(text) = element.text().await
                    && text.contains(needle)
                {
                    return Some(text);
                }
            }
            None
        })
        .await;
        found.unwrap_or_else(|| panic!("no {css} shows {needle:?} within {limit:?}"))
    }

    /// Fills in the login form the browser shows with the test hub's credentials, submits it
    /// and waits until the dashboard is open.
    pub async fn submit_login(&self, limit: Duration) {
        self.submit_login_as((crate::hub::USERNAME, crate::hub::PASSWORD), limit)
            .await;
    }

    /// Like [`Browser::submit_login`], as the login `(name, password)`.
    pub async fn submit_login_as(&self, (name, password): (&str, &str), limit: Duration) {
        self.type_into("input[name=username]", name).await;
        self.type_into("input[name=password]", password).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
        self.wait_for_script("return location.pathname === '/dashboard'", limit)
            .await;
    }

    /// Waits until `script` (a function body, e.g. `return location.pathname === '/x'`)
    /// returns `true`; panics after `limit`.
    pub async fn wait_for_script(&self, script: &str, limit: Duration) {
        let done = wait::until(limit, async || {
            let value = self.client.execute(script, vec![]).await.ok()?;
            (value == Value::Bool(true)).then_some(())
        })
        .await;
        assert!(done.is_some(), "{script:?} was not true within {limit:?}");
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        self.find(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// The rendered text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Runs `script` (a function body that ends by calling `arguments[0]` with its result) in
    /// the page and returns that result.
    pub async fn eval_async(&self, script: &str) -> Value {
        self.client
            .execute_async(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("async script {script:?}: {e}"))
    }

    /// Runs a script file's `source` in the page, as a `<script>` would (e.g. a library that
    /// defines a global); its value is dropped.
    pub async fn load_script(&self, source: &str, name: &str) {
        if let Err(e) = self.client.execute(source, vec![]).await {
            panic!("loading {name} into the page: {e}");
        }
    }

    /// Presses `keys` on the keyboard, one after the other, as a person would: to whatever has
    /// the focus, wherever that is. Modifier keys ([`Key::Shift`], [`Key::Alt`]…) stay held
    /// until the end, so `"\u{E008}\u{E004}"` is Shift+Tab.
    pub async fn press(&self, keys: &str) {
        let modifiers = [Key::Shift, Key::Control, Key::Alt, Key::Meta].map(char::from);
        let mut actions = KeyActions::new("keyboard".into());
        let mut held = Vec::new();
        for key in keys.chars() {
            actions = actions.then(KeyAction::Down { value: key });
            if modifiers.contains(&key) {
                held.push(key);
            } else {
                actions = actions.then(KeyAction::Up { value: key });
            }
        }
        for key in held.into_iter().rev() {
            actions = actions.then(KeyAction::Up { value: key });
        }
        self.client
            .perform_actions(actions)
            .await
            .unwrap_or_else(|e| panic!("press {keys:?}: {e}"));
    }

    /// Shows pages in `scheme`, as a browser set to it would (`prefers-color-scheme`).
    pub async fn set_color_scheme(&self, scheme: Scheme) {
        let command = DevTools {
            method: "Emulation.setEmulatedMedia",
            params: json!({"features": [{"name": "prefers-color-scheme", "value": scheme.name()}]}),
        };
        self.client
            .issue_cmd(command)
            .await
            .unwrap_or_else(|e| panic!("set the colour scheme to {scheme:?}: {e}"));
    }

    /// Makes the page's viewport `viewport` (CSS pixels, one device pixel each, with a touch
    /// screen when it is a phone's), the way DevTools' device mode does: resizing the window
    /// instead would leave the height to headless Chromium's virtual screen and toolbar.
    pub async fn set_viewport(&self, viewport: Viewport) {
        let command = DevTools {
            method: "Emulation.setDeviceMetricsOverride",
            params: json!({
                "width": viewport.width,
                "height": viewport.height,
                "deviceScaleFactor": 1,
                "mobile": viewport.mobile,
            }),
        };
        self.client
            .issue_cmd(command)
            .await
            .unwrap_or_else(|e| panic!("set the viewport to {viewport:?}: {e}"));
        // A phone has a touch screen: touch emulation makes `(pointer: coarse)` match, so pages
        // that hide keyboard hints or mouse-only features on touch screens do so here. (Headless
        // Chromium otherwise reports no pointing device at all: `(pointer: none)`.)
        let input = [DevTools {
            method: "Emulation.setTouchEmulationEnabled",
            params: json!({"enabled": viewport.mobile, "maxTouchPoints": 5}),
        }];
        for command in input {
            self.client
                .issue_cmd(command)
                .await
                .unwrap_or_else(|e| panic!("input emulation for {viewport:?}: {e}"));
        }
        // What a screenshot covers is what the page is laid out in.
        let png = self.client.screenshot().await.expect("a screenshot");
        assert_eq!(
            png_size(&png),
            Some((viewport.width, viewport.height)),
            "the viewport after {viewport:?}"
        );
    }

    /// Logs in through `url`'s login form with the test hub's credentials and waits for the
    /// dashboard's live connection.
    pub async fn log_in(&self, url: &str, limit: Duration) {
        self.log_in_as(url, (crate::hub::USERNAME, crate::hub::PASSWORD), limit)
            .await;
    }

    /// Like [`Browser::log_in`], as the login `(name, password)`.
    pub async fn log_in_as(&self, url: &str, login: (&str, &str), limit: Duration) {
        self.goto(&format!("{url}/login")).await;
        self.submit_login_as(login, limit).await;
        self.wait_for_selector("#conn.up", limit).await;
    }

    /// Screenshots at a [`PHONE`]'s and a [`DESKTOP`]'s width (`names` in that order), with
    /// `css` scrolled into view.
    pub async fn screenshots(&self, css: &str, names: [&str; 2]) {
        for (viewport, name) in [PHONE, DESKTOP].into_iter().zip(names) {
            self.set_viewport(viewport).await;
            let scroll = format!("document.querySelector({css:?}).scrollIntoView()");
            self.eval(&scroll).await;
            let png = std::fs::read(self.screenshot(name).await).expect("read the screenshot");
            assert_eq!(png_size(&png), Some((viewport.width, viewport.height)));
        }
    }

    /// Cuts the browser's network (`true`) or gives it back (`false`).
    pub async fn set_offline(&self, offline: bool) {
        self.client
            .issue_cmd(NetworkConditions { offline })
            .await
            .unwrap_or_else(|e| panic!("network conditions offline={offline}: {e}"));
    }

    /// Types `keys` into whatever has the focus (the page's body when nothing has), as a
    /// keyboard would: special keys are `fantoccini::key::Key` values.
    pub async fn keys(&self, keys: &str) {
        let focused = self
            .client
            .active_element()
            .await
            .expect("the focused element");
        focused
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("keys {keys:?}: {e}"));
    }

    /// The page's `id` of the focused element (empty when it has none).
    pub async fn focused_id(&self) -> String {
        let id = self.eval("return document.activeElement.id").await;
        id.as_str().unwrap_or_default().to_owned()
    }

    /// Dismisses the open `confirm()`/`alert()` and returns its text.
    pub async fn dismiss_dialog(&self) -> String {
        let text = wait::until(FIND, async || self.client.get_alert_text().await.ok()).await;
        let text = text.expect("an open dialog");
        self.client
            .dismiss_alert()
            .await
            .expect("dismiss the dialog");
        text
    }

    /// Reloads the page.
    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload the page");
    }

    /// Saves a PNG of the viewport as `name.png` in [`screenshot_dir`] and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("the screenshot folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Runs `steps`; if they panic, saves a screenshot named `name` (its path is printed) and
    /// lets the panic go on.
    pub async fn or_screenshot<T>(&self, name: &str, steps: impl Future<Output = T>) -> T {
        match AssertUnwindSafe(steps).catch_unwind().await {
            Ok(value) => value,
            Err(panic) => {
                self.screenshot(name).await;
                std::panic::resume_unwind(panic)
            }
        }
    }
}

/// A PNG's width and height (from its header), `None` if `png` is not a PNG.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    let header = png.strip_prefix(b"\x89PNG\r\n\x1a\n")?;
    // The first chunk is IHDR: length (4), type (4), then width and height (4 each).
    let field = |at: usize| Some(u32::from_be_bytes(header.get(at..at + 4)?.try_into().ok()?));
    (header.get(4..8)? == b"IHDR").then_some(())?;
    Some((field(8)?, field(12)?))
}

/// Where screenshots go: `$CARGO_TARGET_DIR/screenshots`, else `ntr-screenshots` in the
/// system's temp folder.
pub fn screenshot_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) => PathBuf::from(target).join("screenshots"),
        None => std::env::temp_dir().join("ntr-screenshots"),
    }
}
