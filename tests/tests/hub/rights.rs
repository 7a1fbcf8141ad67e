//! Who may act on which show, over real HTTP and WebSocket: DJs (a session or a scoped token)
//! act on their own shows and get 403 naming what is missing on another show, on relays and
//! on targets; the station admin acts on everything; a password change ends that user's
//! sessions only; and a v2 single-user configuration is the station admin as before.

use std::time::Duration;

use e2e::hub::{ADMIN_TOKEN, TestHub};
use e2e::station_hub::{BOSS, JAZZ_TOKEN, JO, NICK, StationHub};
use e2e::wsclient::{self, Event};
use reqwest::Method;
use serde_json::{Value, json};

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// A session cookie pair, sent from the hub's own origin (as the dashboard does).
    Cookie(&'a str),
    Bearer(&'a str),
}

async fn call(
    hub: &StationHub,
    auth: Auth<'_>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = hub.http.request(method, format!("{}{path}", hub.url()));
    req = match auth {
        Auth::Cookie(pair) => req.header("cookie", pair).header("origin", hub.url()),
        Auth::Bearer(token) => req.bearer_auth(token),
    };
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Asserts a 403 whose error names `missing`.
fn forbidden(answer: (u16, Value), missing: &str, what: &str) {
    let (status, body) = answer;
    assert_eq!(status, 403, "{what}: {body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains(missing), "{what}: {error:?} names {missing}");
}

/// `auth`, whose only show is `mine`, may act on `mine` and gets 403 on `other`, on the
/// relays and on the targets.
async fn acts_on_its_show_only(hub: &StationHub, auth: Auth<'_>, mine: &str, other: &str) {
    let (my_week, other_week) = (hub.week_id(mine).await, hub.week_id(other).await);
    let record = json!({"title": "Song", "artist": "Artist"});
    let add = |id: i64| format!("/admin/shows/{id}/tracks");
    let (status, show) = call(hub, auth, Method::POST, &add(my_week), Some(record.clone())).await;
    assert_eq!(status, 200, "edit its own show: {show}");
    let own = json!({"show": mine, "position": 1});
    let (status, answer) = call(hub, auth, Method::POST, "/admin/announce", Some(own)).await;
    assert_eq!(status, 200, "announce on its own show: {answer}");
    let text = json!({"show": mine, "text": "hello"});
    let (status, _) = call(hub, auth, Method::POST, "/admin/announce", Some(text)).await;
    assert_eq!(status, 200, "a free text for its own show");
    let log = format!("/admin/shows/{my_week}/log");
    assert_eq!(call(hub, auth, Method::GET, &log, None).await.0, 200);
    let theirs = json!({"show": other, "text": "their line"});
    let admin = Auth::Bearer(ADMIN_TOKEN);
    let (_, answer) = call(hub, admin, Method::POST, "/admin/announce", Some(theirs)).await;
    let their_seq = answer["seq"].as_u64().expect("seq");

    let post = |body: Value| call(hub, auth, Method::POST, "/admin/announce", Some(body));
    forbidden(
        post(json!({"show": other, "text": "x"})).await,
        other,
        "text",
    );
    forbidden(
        post(json!({"show_id": other_week, "position": 1})).await,
        other,
        "announce by week",
    );
    forbidden(
        call(hub, auth, Method::POST, &add(other_week), Some(record)).await,
        other,
        "edit",
    );
    let log = format!("/admin/shows/{other_week}/log");
    forbidden(call(hub, auth, Method::GET, &log, None).await, other, "log");
    let correction = json!({"show": mine, "text": "fixed", "corrects": their_seq});
    forbidden(post(correction).await, other, "a correction of their line");
    let deliveries = format!("/admin/deliveries?seq={their_seq}");
    forbidden(
        call(hub, auth, Method::GET, &deliveries, None).await,
        other,
        "deliveries of their line",
    );
    for admin_only in ["/admin/relays", "/admin/targets"] {
        let answer = call(hub, auth, Method::GET, admin_only, None).await;
        forbidden(answer, admin_only, admin_only);
    }
}

#[tokio::test]
async fn a_dj_session_acts_on_its_own_show_only() {
    let hub = StationHub::start().await;
    let nick = hub.login(NICK).await;
    acts_on_its_show_only(&hub, Auth::Cookie(&nick), "ntr", "jazz").await;
    // Also a text without "show": a DJ of one show means that show.
    let (status, _) = call(
        &hub,
        Auth::Cookie(&nick),
        Method::POST,
        "/admin/announce",
        Some(json!({"text": "back after the news"})),
    )
    .await;
    assert_eq!(status, 200, "defaults to nick's only show");
    let jazz = hub.week_id("jazz").await;
    let fragment = hub
        .http
        .get(format!("{}/dashboard/shows/{jazz}", hub.url()))
        .header("cookie", &nick)
        .send()
        .await
        .expect("fragment");
    assert_eq!(fragment.status(), 403, "another show's dashboard section");
}

#[tokio::test]
async fn a_scoped_token_acts_on_its_own_show_only() {
    let hub = StationHub::start().await;
    acts_on_its_show_only(&hub, Auth::Bearer(JAZZ_TOKEN), "jazz", "ntr").await;
}

#[tokio::test]
async fn the_station_admin_acts_on_every_show() {
    let hub = StationHub::start().await;
    let boss = hub.login(BOSS).await;
    for auth in [Auth::Cookie(&boss), Auth::Bearer(ADMIN_TOKEN)] {
        for show in ["ntr", "jazz"] {
            let text = json!({"show": show, "text": "station ident"});
            let (status, body) =
                call(&hub, auth, Method::POST, "/admin/announce", Some(text)).await;
            assert_eq!(status, 200, "{show}: {body}");
        }
        for path in ["/admin/relays", "/admin/targets"] {
            assert_eq!(
                call(&hub, auth, Method::GET, path, None).await.0,
                200,
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn a_djs_socket_gets_only_its_shows_lines() {
    let hub = StationHub::start().await;
    let mut jazz = wsclient::bearer(&hub.url(), "", JAZZ_TOKEN).await;
    let mut admin = wsclient::bearer(&hub.url(), "", ADMIN_TOKEN).await;
    for show in ["ntr", "jazz"] {
        let text = json!({"show": show, "text": format!("{show} line")});
        let (status, _) = call(
            &hub,
            Auth::Bearer(ADMIN_TOKEN),
            Method::POST,
            "/admin/announce",
            Some(text),
        )
        .await;
        assert_eq!(status, 200);
    }
    let limit = Duration::from_secs(5);
    let first = wsclient::next_of(&mut admin, "announce", limit).await;
    let second = wsclient::next_of(&mut admin, "announce", limit).await;
    assert_eq!(
        (first["show"].as_str(), second["show"].as_str()),
        (Some("ntr"), Some("jazz"))
    );
    let got = wsclient::next_of(&mut jazz, "announce", limit).await;
    assert_eq!(got["show"], "jazz", "the ntr line was not sent: {got}");
    // Nothing else arrives for a while: no ntr line, no relay states.
    loop {
        match wsclient::next(&mut jazz, Duration::from_millis(500)).await {
            Event::Timeout => break,
            Event::Json(v) => {
                assert_ne!(v["type"], "announce", "{v}");
                assert_ne!(v["type"], "relays", "relays are the admin's: {v}");
            }
            Event::Closed(code) => panic!("closed: {code:?}"),
        }
    }
}

#[tokio::test]
async fn a_password_change_ends_that_users_sessions_only() {
    let mut hub = StationHub::start().await;
    let (nick, jo) = (hub.login(NICK).await, hub.login(JO).await);
    hub.restart_with("nick's new password").await;
    let dashboard = |cookie: String| {
        let req = hub.http.get(format!("{}/dashboard", hub.url()));
        async move {
            req.header("cookie", cookie)
                .send()
                .await
                .expect("dashboard")
                .status()
        }
    };
    assert_eq!(
        dashboard(nick).await,
        303,
        "nick's password changed: logged out"
    );
    assert_eq!(dashboard(jo).await, 200, "jo's session stays");
    hub.login(("nick", "nick's new password")).await;
}

#[tokio::test]
async fn a_v2_single_user_is_the_station_admin() {
    let hub = TestHub::start().await;
    let (cookie, _) = e2e::hub::login(&hub.http, &hub.url()).await;
    for path in ["/admin/relays", "/admin/targets"] {
        let status = hub
            .http
            .get(format!("{}{path}", hub.url()))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("GET")
            .status();
        assert_eq!(status, 200, "{path}");
    }
    let status = hub
        .http
        .post(format!("{}/admin/announce", hub.url()))
        .header("cookie", &cookie)
        .header("origin", hub.url())
        .json(&json!({"text": "station-wide, as in v2"}))
        .send()
        .await
        .expect("announce")
        .status();
    assert_eq!(status, 200);
}
