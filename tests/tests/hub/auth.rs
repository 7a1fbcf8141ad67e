//! Sessions and security over real HTTP: the login form, the signed `ntr_session` cookie and its
//! server-side row, the same-origin rule for cookie POSTs, and login throttling.

use e2e::hub::{PASSWORD, TestHub, USERNAME};
use serde_json::json;

async fn login(hub: &TestHub) -> (String, String) {
    e2e::hub::login(&hub.http, &hub.url()).await
}

async fn dashboard_status(hub: &TestHub, cookie: &str) -> u16 {
    hub.http
        .get(format!("{}/dashboard", hub.url()))
        .header("cookie", cookie)
        .send()
        .await
        .expect("dashboard")
        .status()
        .as_u16()
}

async fn cookie_announce(hub: &TestHub, cookie: &str, origin: Option<&str>) -> u16 {
    let mut req = hub
        .http
        .post(format!("{}/admin/announce", hub.url()))
        .header("cookie", cookie)
        .json(&json!({"text": "from the dashboard"}));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    req.send().await.expect("announce").status().as_u16()
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_opens_the_dashboard() {
    let hub = TestHub::start().await;
    let form = hub
        .http
        .get(format!("{}/login", hub.url()))
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), 200);
    assert!(
        form.text()
            .await
            .expect("html")
            .contains("name=\"password\"")
    );
    assert_eq!(
        dashboard_status(&hub, "").await,
        303,
        "no session: to /login"
    );

    let (cookie, set_cookie) = login(&hub).await;
    assert!(cookie.starts_with("ntr_session="));
    for attr in ["HttpOnly", "SameSite=Strict", "Max-Age=86400", "Path=/"] {
        assert!(set_cookie.contains(attr), "{attr} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "public_url is http");
    let page = hub
        .http
        .get(format!("{}/dashboard", hub.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("dashboard");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("Refresh from SoundCloud")
    );

    let (again, _) = login(&hub).await;
    assert_ne!(again, cookie, "every login gets a fresh session id");
}

#[tokio::test]
async fn wrong_credentials_re_show_the_form() {
    let hub = TestHub::start().await;
    for (user, pass) in [(USERNAME, "wrong"), ("nobody", PASSWORD), ("", "")] {
        let resp = hub
            .http
            .post(format!("{}/login", hub.url()))
            .form(&[("username", user), ("password", pass)])
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status(), 401);
        assert!(resp.headers().get("set-cookie").is_none());
        assert!(
            resp.text()
                .await
                .expect("html")
                .contains("Invalid username or password")
        );
    }
    let garbage = hub
        .http
        .post(format!("{}/login", hub.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("%%%&&&=\u{0}")
        .send()
        .await
        .expect("login");
    assert!(garbage.status().is_client_error());
}

#[tokio::test]
async fn cookie_posts_must_be_same_origin() {
    let hub = TestHub::start().await;
    let (cookie, _) = login(&hub).await;
    assert_eq!(cookie_announce(&hub, &cookie, None).await, 403, "no Origin");
    assert_eq!(
        cookie_announce(&hub, &cookie, Some("https://evil.example")).await,
        403
    );
    assert_eq!(
        cookie_announce(&hub, &cookie, Some("http://127.0.0.1:1")).await,
        403,
        "another port is another origin"
    );
    assert_eq!(cookie_announce(&hub, &cookie, Some(&hub.url())).await, 200);
    let by_referer = hub
        .http
        .post(format!("{}/admin/announce", hub.url()))
        .header("cookie", &cookie)
        .header("referer", format!("{}/dashboard", hub.url()))
        .json(&json!({"text": "x"}))
        .send()
        .await
        .expect("announce");
    assert_eq!(
        by_referer.status(),
        200,
        "Referer is accepted when Origin is absent"
    );
    let cross_login = hub
        .http
        .post(format!("{}/login", hub.url()))
        .header("origin", "https://evil.example")
        .form(&[("username", USERNAME), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(cross_login.status(), 403);
}

/// A DJ who typed `http://localhost:PORT` logs in and announces although `public_url` says
/// 127.0.0.1: the origin the request was addressed to counts as same-origin. A foreign origin
/// is still refused, with a 403 that says where to open the dashboard.
#[tokio::test]
async fn login_and_announce_work_at_the_local_name_the_dj_typed() {
    let hub = TestHub::start().await;
    let local = hub.url().replacen("127.0.0.1", "localhost", 1);
    let typed = hub
        .http
        .post(format!("{local}/login"))
        .header("origin", &local)
        .form(&[("username", USERNAME), ("password", PASSWORD)])
        .send()
        .await
        .expect("login at localhost");
    assert_eq!(typed.status(), 303, "login at localhost succeeds");
    let cookie = typed.headers()["set-cookie"].to_str().expect("cookie");
    let cookie = cookie.split(';').next().expect("pair").to_owned();
    let announce = |origin: &'static str| {
        let (http, local, cookie) = (hub.http.clone(), local.clone(), cookie.clone());
        async move {
            let origin = if origin == "self" {
                local.clone()
            } else {
                origin.to_owned()
            };
            http.post(format!("{local}/admin/announce"))
                .header("cookie", cookie)
                .header("origin", origin)
                .json(&json!({"text": "from localhost"}))
                .send()
                .await
                .expect("announce")
        }
    };
    assert_eq!(announce("self").await.status(), 200);
    let refused = announce("https://evil.example").await;
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.expect("json error");
    let hint = body["error"].as_str().expect("error text");
    assert!(
        hint.contains(&format!("{}/dashboard", hub.url())),
        "the 403 says where to go: {hint}"
    );
}

#[tokio::test]
async fn forged_tampered_expired_and_logged_out_cookies_are_refused() {
    let hub = TestHub::start().await;
    let (cookie, _) = login(&hub).await;
    let value = cookie.trim_start_matches("ntr_session=").to_owned();
    let (id, mac) = value.rsplit_once('.').expect("id.mac");
    let origin = hub.url();

    let mut flipped = mac.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let tampered = format!(
        "ntr_session={id}.{}",
        String::from_utf8(flipped).expect("ascii")
    );
    let forged = format!("ntr_session=someone-elses-id.{mac}");
    for bad in [
        tampered.as_str(),
        forged.as_str(),
        "ntr_session=",
        "ntr_session=abc",
        "ntr_session=a.b.c",
    ] {
        assert_eq!(dashboard_status(&hub, bad).await, 303, "{bad}");
        assert_eq!(
            cookie_announce(&hub, bad, Some(&origin)).await,
            401,
            "{bad}"
        );
    }

    // Logout ends the session on the server: replaying the cookie no longer works.
    let out = hub
        .http
        .post(format!("{}/logout", hub.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .contains("Max-Age=0")
    );
    assert_eq!(dashboard_status(&hub, &cookie).await, 303);
    assert_eq!(cookie_announce(&hub, &cookie, Some(&origin)).await, 401);

    // Expiry is enforced by the row, whatever the browser does with Max-Age.
    let (cookie, _) = login(&hub).await;
    assert_eq!(dashboard_status(&hub, &cookie).await, 200);
    let db = rusqlite::Connection::open(hub.data_dir().join("hub.db")).expect("db");
    db.execute("UPDATE sessions SET expires_at = 0", [])
        .expect("expire");
    assert_eq!(dashboard_status(&hub, &cookie).await, 303);
}

#[tokio::test]
async fn ten_failed_logins_then_429_and_spoofed_forwarding_does_not_help() {
    let hub = TestHub::start().await;
    let attempt = |pass: &'static str, xff: Option<&'static str>| {
        let mut req = hub
            .http
            .post(format!("{}/login", hub.url()))
            .form(&[("username", USERNAME), ("password", pass)]);
        if let Some(x) = xff {
            req = req.header("x-forwarded-for", x);
        }
        async move { req.send().await.expect("login").status().as_u16() }
    };
    for _ in 0..10 {
        assert_eq!(attempt("wrong", None).await, 401);
    }
    assert_eq!(
        attempt(PASSWORD, None).await,
        429,
        "locked even with the right password"
    );
    // 127.0.0.1 is not a trusted proxy here, so a made-up X-Forwarded-For changes nothing.
    assert_eq!(attempt(PASSWORD, Some("203.0.113.5")).await, 429);
    let resp = hub
        .http
        .post(format!("{}/login", hub.url()))
        .form(&[("username", USERNAME), ("password", "x")])
        .send()
        .await
        .expect("login");
    assert!(
        resp.text()
            .await
            .expect("html")
            .contains("Too many failed attempts")
    );
}

#[tokio::test]
async fn forty_concurrent_wrong_passwords_get_at_most_ten_password_checks() {
    let hub = TestHub::start().await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let req = hub
            .http
            .post(format!("{}/login", hub.url()))
            .form(&[("username", USERNAME), ("password", "wrong")]);
        attempts.spawn(async move { req.send().await.expect("login").status().as_u16() });
    }
    let statuses = attempts.join_all().await;
    // A 401 is an answer after a password check, a 429 one refused before it.
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, refused),
        (10, 30),
        "the limit counts attempts before the password is checked: {statuses:?}"
    );
}

/// A client that does not follow redirects, fresh for each hub process (a pooled connection
/// dies with the process that accepted it).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// Logs in with `password` through the form; returns the `ntr_session=…` pair.
async fn login_with(url: &str, password: &str) -> String {
    let resp = client()
        .post(format!("{url}/login"))
        .form(&[("username", USERNAME), ("password", password)])
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 303, "login redirects");
    let set_cookie = resp.headers()["set-cookie"].to_str().expect("cookie");
    set_cookie.split(';').next().expect("pair").to_owned()
}

/// What a cookie still opens on the hub at `url`: the dashboard's status and a same-origin
/// cookie announce's status.
async fn cookie_reach(url: &str, cookie: &str) -> (u16, u16) {
    let http = client();
    let page = http
        .get(format!("{url}/dashboard"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("dashboard")
        .status()
        .as_u16();
    let post = http
        .post(format!("{url}/admin/announce"))
        .header("cookie", cookie)
        .header("origin", url)
        .json(&json!({"text": "from an old session"}))
        .send()
        .await
        .expect("announce")
        .status()
        .as_u16();
    (page, post)
}

/// A hub process on `config`, serving once this returns.
async fn serve(config: &std::path::Path, port: u16) -> std::process::Child {
    let child = e2e::hub::spawn_hub(config);
    e2e::wait::until_listening(port, std::time::Duration::from_secs(20)).await;
    child
}

fn stop(mut child: std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert_eq!(child.wait().expect("wait").code(), Some(0), "a clean stop");
}

#[tokio::test]
async fn a_changed_dashboard_password_ends_every_session_and_an_unchanged_one_keeps_them() {
    let mut hub = TestHub::start().await;
    hub.stop().await;
    let hashed = hub.config_toml();
    let hash_line = hashed
        .lines()
        .find(|l| l.starts_with("password_hash = "))
        .expect("the test config sets a hash")
        .to_owned();
    let config = hub.data_dir().join("config.toml");
    let (url, port) = (hub.url(), hub.port);
    let with =
        |line: &str| std::fs::write(&config, hashed.replace(&hash_line, line)).expect("config");

    // A plain password is hashed afresh (new salt) at each start: the same password must not
    // end the sessions.
    with(&format!("password = \"{PASSWORD}\""));
    let child = serve(&config, port).await;
    let cookie = login_with(&url, PASSWORD).await;
    assert_eq!(cookie_reach(&url, &cookie).await, (200, 200));
    stop(child);
    let child = serve(&config, port).await;
    assert_eq!(
        cookie_reach(&url, &cookie).await,
        (200, 200),
        "same password"
    );
    stop(child);

    with("password = \"a different password\"");
    let child = serve(&config, port).await;
    assert_eq!(
        cookie_reach(&url, &cookie).await,
        (303, 401),
        "the session made under the old plain password ended"
    );
    login_with(&url, "a different password").await;
    stop(child);

    // The same password as an argon2 hash in the config: a change of the configured secret.
    with(&hash_line);
    let child = serve(&config, port).await;
    let hashed_cookie = login_with(&url, PASSWORD).await;
    stop(child);
    let other = hub::password::hash("yet another password").expect("hash");
    with(&format!("password_hash = \"{other}\""));
    let child = serve(&config, port).await;
    assert_eq!(
        cookie_reach(&url, &hashed_cookie).await,
        (303, 401),
        "the session made under the old hash ended"
    );
    stop(child);
}

#[tokio::test]
async fn reset_password_ends_every_session() {
    let mut hub = TestHub::start().await;
    hub.stop().await;
    let text = hub.config_toml();
    let hash_line = text
        .lines()
        .find(|l| l.starts_with("password_hash = "))
        .expect("the test config sets a hash");
    // No password in the config: the generated one in secrets.toml is used, and reset.
    let config = hub.data_dir().join("config.toml");
    std::fs::write(&config, text.replace(hash_line, "")).expect("config");
    let (url, port) = (hub.url(), hub.port);
    let stored_password = || {
        let secrets = std::fs::read_to_string(hub.data_dir().join("secrets.toml")).expect("file");
        secrets
            .lines()
            .find_map(|l| l.strip_prefix("dashboard_password = \""))
            .map(|l| l.trim_end_matches('"').to_owned())
            .expect("a generated password")
    };

    let child = serve(&config, port).await;
    let cookie = login_with(&url, &stored_password()).await;
    assert_eq!(cookie_reach(&url, &cookie).await, (200, 200));
    stop(child);
    let child = serve(&config, port).await;
    assert_eq!(
        cookie_reach(&url, &cookie).await,
        (200, 200),
        "a plain restart"
    );
    stop(child);

    let reset = std::process::Command::new(e2e::binaries::binary("hub"))
        .arg("--config")
        .arg(&config)
        .arg("reset-password")
        .output()
        .expect("reset-password");
    assert!(reset.status.success(), "{reset:?}");
    let child = serve(&config, port).await;
    assert_eq!(cookie_reach(&url, &cookie).await, (303, 401));
    let fresh = login_with(&url, &stored_password()).await;
    assert_eq!(cookie_reach(&url, &fresh).await, (200, 200));
    stop(child);
}

#[tokio::test]
async fn logout_closes_the_sessions_websockets() {
    let hub = TestHub::start().await;
    let (cookie, _) = login(&hub).await;
    let (other, _) = login(&hub).await;
    let url = hub.url();
    let connect = async |cookie: String| {
        e2e::wsclient::connect(&url, "", &[("cookie", cookie), ("origin", url.clone())]).await
    };
    let mut page = connect(cookie.clone()).await.expect("cookie upgrade");
    let mut other_page = connect(other).await.expect("cookie upgrade");
    let t = std::time::Duration::from_secs(5);
    e2e::wsclient::next_of(&mut page, "relays", t).await;
    e2e::wsclient::next_of(&mut other_page, "relays", t).await;

    let out = hub
        .http
        .post(format!("{}/logout", hub.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 303);
    let seq = hub.announce_text("after the logout").await;
    loop {
        match e2e::wsclient::next(&mut page, t).await {
            e2e::wsclient::Event::Closed(code) => {
                assert_eq!(code, Some(1008), "closed as logged out");
                break;
            }
            e2e::wsclient::Event::Json(v) => {
                assert_ne!(v["type"], "announce", "an announce after the logout: {v}");
            }
            e2e::wsclient::Event::Timeout => panic!("the socket stayed open after logout"),
        }
    }
    // Another session's page is not touched.
    let announce = e2e::wsclient::next_of(&mut other_page, "announce", t).await;
    assert_eq!(announce["seq"], seq);
}

/// The dashboard takes only its cookie: a bearer token is redirected to `/login` like no
/// credentials at all, and a show id that is not a 64-bit number is a 400 before the session
/// is looked at (it was a 303, which the API document did not allow for a malformed id).
#[tokio::test]
async fn the_dashboard_redirects_a_bearer_and_refuses_a_malformed_id_first() {
    let hub = TestHub::start().await;
    let get = |path: &str| {
        hub.admin(hub.http.get(format!("{}{path}", hub.url())))
            .send()
    };
    let page = get("/dashboard").await.expect("dashboard");
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login");
    for id in ["9223372036854775808", "abc"] {
        let fragment = get(&format!("/dashboard/shows/{id}"))
            .await
            .expect("fragment");
        assert_eq!(fragment.status(), 400, "{id}");
    }
    let fragment = get("/dashboard/shows/1").await.expect("fragment");
    assert_eq!(fragment.status(), 303);
}
