//! The JSON API's contract: shapes, and a clear JSON error for every kind of bad request.

use e2e::hub::{RELAY_TOKEN, TestHub};
use serde_json::{Value, json};

async fn raw(req: reqwest::RequestBuilder) -> (u16, String, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.text().await.unwrap_or_default();
    (
        status,
        ctype,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[tokio::test]
async fn health_and_empty_playlist() {
    let hub = TestHub::start().await;
    let (status, health) = hub.get_json("/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["subscribers"], 0);
    assert_eq!(health["last_poll"]["ok"], false, "no poll yet");
    assert_eq!(health["last_poll"]["at"], Value::Null);
    assert_eq!(health["last_poll"]["error"], "not polled yet");
    let (status, show) = hub.get_json("/playlist").await;
    assert_eq!(status, 200);
    for key in ["id", "week_start", "week_end", "on_air", "tracks"] {
        assert!(show.get(key).is_some(), "{key} in {show}");
    }
    assert_eq!(show["tracks"], json!([]));
    let page = hub
        .http
        .get(format!("{}/", hub.url()))
        .send()
        .await
        .expect("GET /");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("This week"), "{html}");
    assert!(html.contains("/static/pico.min.css"));
    let css = hub
        .http
        .get(format!("{}/static/pico.min.css", hub.url()))
        .send()
        .await
        .expect("css");
    assert_eq!(css.status(), 200);
    assert!(
        css.text().await.expect("css").len() > 80_000,
        "Pico is vendored, not linked"
    );
}

#[tokio::test]
async fn bad_requests_get_clear_json_errors() {
    let hub = TestHub::start().await;
    let url = hub.url();
    let show_id = hub.get_json("/playlist").await.1["id"]
        .as_i64()
        .expect("id");
    let big = "x".repeat(70 * 1024);
    let cases: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (hub.http.get(format!("{url}/playlist/0")), 400),
        (hub.http.get(format!("{url}/playlist/abc")), 400),
        (hub.http.get(format!("{url}/playlist/-1")), 400),
        (hub.http.get(format!("{url}/playlist/99999999999")), 400),
        (hub.http.get(format!("{url}/playlist/5")), 404),
        (hub.http.get(format!("{url}/shows?limit=-1")), 400),
        (hub.http.get(format!("{url}/shows?limit=0")), 400),
        (hub.http.get(format!("{url}/shows?limit=101")), 400),
        (hub.http.get(format!("{url}/shows?limit=ten")), 400),
        (hub.http.get(format!("{url}/shows/abc")), 400),
        (hub.http.get(format!("{url}/shows/424242")), 404),
        (hub.http.get(format!("{url}/no/such/thing")), 404),
        (hub.http.delete(format!("{url}/playlist")), 405),
        (hub.http.get(format!("{url}/admin/announce")), 405),
        (
            hub.http
                .post(format!("{url}/admin/announce"))
                .json(&json!({"text": "hi"})),
            401,
        ),
        (
            hub.http
                .post(format!("{url}/admin/announce"))
                .bearer_auth("wrong-token-0123456789")
                .json(&json!({"text": "hi"})),
            401,
        ),
        (
            hub.http
                .post(format!("{url}/admin/announce"))
                .bearer_auth(RELAY_TOKEN)
                .json(&json!({"text": "hi"})),
            403,
        ),
        (
            hub.http
                .post(format!("{url}/admin/refresh"))
                .bearer_auth(RELAY_TOKEN),
            403,
        ),
        (
            hub.admin(hub.http.post(format!("{url}/admin/announce")))
                .header("content-type", "application/json")
                .body("{not json"),
            400,
        ),
        (
            hub.admin(hub.http.post(format!("{url}/admin/announce")))
                .body("text=hi"),
            400,
        ),
        (
            hub.admin(hub.http.post(format!("{url}/admin/announce")))
                .json(&json!({"text": 5})),
            422,
        ),
        (
            hub.admin(hub.http.post(format!("{url}/admin/announce")))
                .json(&json!({})),
            422,
        ),
        (
            hub.admin(hub.http.post(format!("{url}/admin/announce")))
                .json(&json!({"text": "a", "position": 1})),
            422,
        ),
        (
            hub.admin(hub.http.post(format!("{url}/admin/announce")))
                .json(&json!({"position": 0})),
            422,
        ),
        (
            hub.admin(hub.http.post(format!("{url}/admin/announce")))
                .json(&json!({"position": 3})),
            404,
        ),
        (
            hub.admin(hub.http.post(format!("{url}/admin/announce")))
                .json(&json!({"show_id": 999, "position": 1})),
            404,
        ),
        (
            hub.admin(hub.http.post(format!("{url}/admin/announce")))
                .json(&json!({"text": "\r\n\0"})),
            422,
        ),
        (
            hub.admin(hub.http.post(format!("{url}/admin/announce")))
                .json(&json!({"text": big})),
            413,
        ),
        (
            hub.admin(
                hub.http
                    .delete(format!("{url}/admin/shows/{show_id}/tracks/1")),
            ),
            404,
        ),
        (
            hub.admin(
                hub.http
                    .delete(format!("{url}/admin/shows/{show_id}/tracks/x")),
            ),
            400,
        ),
    ];
    for (i, (req, expected)) in cases.into_iter().enumerate() {
        let (status, ctype, body) = raw(req).await;
        assert_eq!(status, expected, "case {i}: {body}");
        assert!(
            ctype.starts_with("application/json"),
            "case {i}: content-type {ctype}"
        );
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "case {i}: {body}"
        );
    }
    // Nothing above was announced.
    assert_eq!(
        hub.state().store.last_seq().await.expect("seq"),
        ntr_protocol::Seq::ZERO
    );
}

#[tokio::test]
async fn announce_answers_with_seq_and_message() {
    let hub = TestHub::start().await;
    let (status, body) = hub
        .post_admin("/admin/announce", json!({"text": "Back after the news"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "announced");
    assert_eq!(body["seq"], 1);
    assert_eq!(body["message"], "Back after the news");
    assert_eq!(body["subscribers"], 0);
    let seq = hub
        .announce_track("Record", "Crate Digger", "https://example.com/r")
        .await;
    assert_eq!(seq, 2);
}
