//! `/openapi.json` against the hub that serves it: the document parses as OpenAPI 3.1, every
//! operation it lists is served at its path and method, and real answers (successes and
//! errors) match the schemas it gives for them, with no field left undocumented.

use e2e::fake_soundcloud::{FakeLike, track};
use std::time::{Duration, Instant};

use e2e::hub::{ADMIN_TOKEN, RELAY_TOKEN, TestHub, TestSchedule};
use e2e::wsclient::{bearer, send_json};
use jiff::{Timestamp, ToSpan};
use reqwest::Method;
use serde_json::{Value, json};

/// The routes the hub serves: each must be in the document.
const SERVED: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/playlist"),
    ("GET", "/playlist/{position}"),
    ("GET", "/shows"),
    ("GET", "/shows/{id}"),
    ("GET", "/shows/{id}/tracklist"),
    ("GET", "/events"),
    ("GET", "/nowplaying.json"),
    ("GET", "/nowplaying.txt"),
    ("GET", "/shows.rss"),
    ("GET", "/schedule.ics"),
    ("POST", "/admin/announce"),
    ("POST", "/admin/announce/next"),
    ("DELETE", "/admin/announce/held/{held_id}"),
    ("POST", "/admin/refresh"),
    ("POST", "/admin/shows/{id}/tracks"),
    ("DELETE", "/admin/shows/{id}/tracks/{position}"),
    ("POST", "/admin/shows/{id}/tracks/{position}/move"),
    ("POST", "/admin/shows/{id}/mark"),
    ("GET", "/admin/shows/{id}/log"),
    ("GET", "/admin/deliveries"),
    ("GET", "/admin/targets"),
    ("GET", "/admin/relays"),
    ("POST", "/admin/shows/{id}/live"),
    ("GET", "/admin/events"),
    ("GET", "/"),
    ("GET", "/s/{slug}"),
    ("GET", "/dashboard"),
    ("GET", "/dashboard/shows/{id}"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/metrics"),
    ("GET", "/static/{file}"),
    ("GET", "/ws/announce"),
    ("GET", "/openapi.json"),
];

/// The document as the hub serves it, raw and parsed by an independent OpenAPI 3.1 reader.
async fn fetch_document(hub: &TestHub) -> (Value, oas3::Spec) {
    let resp = hub
        .http
        .get(format!("{}/openapi.json", hub.url()))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().expect("ascii");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let text = resp.text().await.expect("body");
    let spec = oas3::from_json(&text).expect("an OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3.1."), "version {}", spec.openapi);
    (serde_json::from_str(&text).expect("json"), spec)
}

/// A webhook target that cannot be reached (nothing listens on the discard port), so its
/// deliveries stay pending with an error.
const DEAD_TARGET: &str =
    "[[targets]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n";

/// A hub with a delivery target and a current show of two liked tracks, and that show's id.
pub(super) async fn hub_with_show() -> (TestHub, i64) {
    let hub = TestHub::start_with(TestSchedule::default(), DEAD_TARGET).await;
    let now = Timestamp::now();
    hub.soundcloud.set_likes(vec![
        FakeLike {
            created_at: now - 2.hours(),
            track: Some(track(2, "Second", "Artist B")),
        },
        FakeLike {
            created_at: now - 3.hours(),
            track: Some(track(1, "First", "Artist A")),
        },
    ]);
    hub.refresh().await;
    let (_, show) = hub.get_json("/playlist").await;
    assert_eq!(show["tracks"].as_array().map(Vec::len), Some(2), "{show}");
    let id = show["id"].as_i64().expect("show id");
    (hub, id)
}

/// A value for each path parameter, so that a request reaches its handler.
fn concrete_path(template: &str, show_id: i64) -> String {
    let path = match template {
        "/admin/deliveries" => "/admin/deliveries?seq=1",
        other => other,
    };
    path.replace("{id}", &show_id.to_string())
        .replace("{position}", "1")
        .replace("{file}", "dashboard/live.js")
        .replace("{slug}", "main")
}

/// Every documented operation, with the statuses it documents.
fn operations(spec: &oas3::Spec) -> Vec<(String, Method, Vec<String>)> {
    spec.operations()
        .map(|(path, method, op)| {
            let method = Method::from_bytes(method.as_str().as_bytes()).expect("method");
            let statuses = op
                .responses
                .as_ref()
                .map(|r| r.keys().cloned().collect())
                .unwrap_or_default();
            (path, method, statuses)
        })
        .collect()
}

/// Sends `method path` with the admin token; the status and, unless it is an event stream
/// (which does not end), the body.
async fn call(hub: &TestHub, method: &Method, path: &str) -> (u16, String) {
    let resp = hub
        .http
        .request(method.clone(), format!("{}{path}", hub.url()))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let streams = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if streams {
        return (status, String::new());
    }
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let (hub, show_id) = hub_with_show().await;
    let (_, spec) = fetch_document(&hub).await;
    let mut operations = operations(&spec);
    for (method, path) in SERVED {
        assert!(
            operations
                .iter()
                .any(|(p, m, _)| p == path && m.as_str() == *method),
            "{method} {path} is not documented"
        );
    }
    assert_eq!(operations.len(), SERVED.len(), "an operation missing above");
    // Deletions last, so the other operations still find track 1.
    operations.sort_by_key(|(_, m, _)| *m == Method::DELETE);
    for (path, method, documented) in &operations {
        let (status, body) = call(&hub, method, &concrete_path(path, show_id)).await;
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !(status == 404 && body.contains("no such endpoint")),
            "{method} {path} is documented but not served"
        );
        assert!(
            documented.contains(&status.to_string()),
            "{method} {path} answered {status}, which its documentation does not list: {body}"
        );
    }
}

/// Each `/admin/…` operation takes either credential and lists their failures; every JSON
/// error is `ErrorBody`.
fn check_operation(doc: &Value, path: &str, method: &str) {
    let op = &doc["paths"][path][method];
    let responses = op["responses"].as_object().expect("responses object");
    if path.starts_with("/admin/") {
        assert_eq!(
            op["security"],
            json!([{"bearer": []}, {"cookie": []}]),
            "{method} {path}"
        );
        for status in ["401", "403"] {
            assert!(responses.contains_key(status), "{method} {path}: {status}");
        }
    }
    for (status, response) in responses {
        let schema = &response["content"]["application/json"]["schema"];
        if status.starts_with(['4', '5']) && !schema.is_null() {
            assert_eq!(
                schema["$ref"], "#/components/schemas/ErrorBody",
                "{method} {path} {status}"
            );
        }
    }
}

#[tokio::test]
async fn operations_declare_auth_and_errors() {
    let hub = TestHub::start().await;
    let (doc, spec) = fetch_document(&hub).await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["cookie"]["type"], "apiKey");
    assert_eq!(schemes["cookie"]["in"], "cookie");
    assert_eq!(schemes["cookie"]["name"], "ntr_session");
    assert_eq!(
        doc["components"]["schemas"]["ErrorBody"]["required"],
        json!(["error"])
    );
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, method, op) in spec.operations() {
        // Client generators name their methods after these.
        let id = op.operation_id.clone().expect("an operationId");
        assert!(operation_ids.insert(id.clone()), "{id} twice");
        assert!(op.summary.is_some(), "{method} {path} has no summary");
        check_operation(&doc, &path, &method.as_str().to_lowercase());
    }
    // Each schema is itself valid JSON Schema (2020-12, the dialect of OpenAPI 3.1).
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for (name, schema) in schemas {
        assert!(
            jsonschema::draft202012::meta::is_valid(schema),
            "{name}: {schema}"
        );
    }
}

/// A validator for the JSON body the document gives for `method path` answering `status`.
/// Objects are closed (`additionalProperties: false` where the document says nothing), so a
/// field the hub sends but the document omits fails too.
fn validator(doc: &Value, method: &str, path: &str, status: u16) -> jsonschema::Validator {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    let schema = response["content"]["application/json"]["schema"].clone();
    assert!(
        !schema.is_null(),
        "no JSON schema for {method} {path} {status}"
    );
    let mut root = json!({ "allOf": [schema], "components": doc["components"].clone() });
    close_objects(&mut root);
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .expect("schema builds")
}

fn close_objects(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// A hub with a show, its document, and requests whose answers are checked against it.
struct Checker {
    hub: TestHub,
    show_id: i64,
    doc: Value,
}

impl Checker {
    async fn start() -> Checker {
        let (hub, show_id) = hub_with_show().await;
        let (doc, _) = fetch_document(&hub).await;
        Checker { hub, show_id, doc }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.hub
            .http
            .request(method, format!("{}{path}", self.hub.url()))
    }

    fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request(method, path).bearer_auth(ADMIN_TOKEN)
    }

    /// Sends `req` (made for the operation `method documented`), expects `status`, and checks
    /// the JSON answer against the document's schema for it.
    async fn expect(
        &self,
        req: reqwest::RequestBuilder,
        documented: (&str, &str),
        status: u16,
    ) -> Value {
        let (method, path) = documented;
        let resp = req.send().await.expect("request");
        let got = resp.status().as_u16();
        let answer: Value = resp.json().await.expect("a JSON answer");
        assert_eq!(got, status, "{method} {path}: {answer}");
        let validator = validator(&self.doc, method, path, status);
        let errors: Vec<String> = validator
            .iter_errors(&answer)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {status}: {errors:?} in {answer}"
        );
        answer
    }
}

#[tokio::test]
async fn public_answers_match_their_schemas() {
    let c = Checker::start().await;
    let id = c.show_id;
    for (path, documented) in [
        ("/health".to_string(), "/health"),
        ("/playlist".into(), "/playlist"),
        ("/playlist/2".into(), "/playlist/{position}"),
        ("/shows".into(), "/shows"),
        (format!("/shows/{id}"), "/shows/{id}"),
        ("/nowplaying.json".into(), "/nowplaying.json"),
        (
            format!("/shows/{id}/tracklist?format=json"),
            "/shows/{id}/tracklist",
        ),
    ] {
        c.expect(c.request(Method::GET, &path), ("get", documented), 200)
            .await;
    }
}

#[tokio::test]
async fn error_answers_match_their_schemas() {
    let c = Checker::start().await;
    let announce = ("post", "/admin/announce");
    for (req, documented, status) in [
        (
            c.request(Method::GET, "/shows/999999"),
            ("get", "/shows/{id}"),
            404,
        ),
        (
            c.request(Method::GET, "/shows/x"),
            ("get", "/shows/{id}"),
            400,
        ),
        (
            c.request(Method::GET, "/playlist/9"),
            ("get", "/playlist/{position}"),
            404,
        ),
        (
            c.request(Method::GET, "/shows?limit=0"),
            ("get", "/shows"),
            400,
        ),
        (
            c.request(Method::POST, "/admin/announce")
                .json(&json!({"position": 1})),
            announce,
            401,
        ),
        (
            c.request(Method::POST, "/admin/announce")
                .bearer_auth(e2e::hub::RELAY_TOKEN),
            announce,
            403,
        ),
        (
            c.admin(Method::POST, "/admin/announce")
                .json(&json!({"position": 0})),
            announce,
            422,
        ),
        (
            c.admin(Method::POST, "/admin/announce").body("not json"),
            announce,
            400,
        ),
        (
            c.request(Method::GET, "/shows/1/tracklist?format=xml"),
            ("get", "/shows/{id}/tracklist"),
            400,
        ),
    ] {
        c.expect(req, documented, status).await;
    }
}

#[tokio::test]
async fn admin_answers_match_their_schemas() {
    let c = Checker::start().await;
    let id = c.show_id;
    let announce = ("post", "/admin/announce");
    let first = c
        .expect(
            c.admin(Method::POST, "/admin/announce")
                .json(&json!({"position": 1})),
            announce,
            200,
        )
        .await;
    let correction = json!({"position": 2, "corrects": first["seq"]});
    c.expect(
        c.admin(Method::POST, "/admin/announce").json(&correction),
        announce,
        200,
    )
    .await;
    c.expect(
        c.admin(Method::POST, "/admin/announce")
            .json(&json!({"text": "hello"})),
        announce,
        200,
    )
    .await;
    let nowplaying = c
        .expect(
            c.request(Method::GET, "/nowplaying.json"),
            ("get", "/nowplaying.json"),
            200,
        )
        .await;
    assert_eq!(nowplaying["now_playing"]["position"], 2, "{nowplaying}");
    let log = format!("/admin/shows/{id}/log");
    let log = c
        .expect(
            c.admin(Method::GET, &log),
            ("get", "/admin/shows/{id}/log"),
            200,
        )
        .await;
    assert_eq!(log[0]["corrected_by"], log[1]["seq"], "{log}");
    let tracklist = format!("/shows/{id}/tracklist?format=json");
    let tracklist = c
        .expect(
            c.request(Method::GET, &tracklist),
            ("get", "/shows/{id}/tracklist"),
            200,
        )
        .await;
    assert_eq!(tracklist.as_array().map(Vec::len), Some(1), "{tracklist}");
    let mark = format!("/admin/shows/{id}/mark");
    c.expect(
        c.admin(Method::POST, &mark).json(&json!({})),
        ("post", "/admin/shows/{id}/mark"),
        200,
    )
    .await;
    c.expect(
        c.admin(Method::POST, "/admin/refresh"),
        ("post", "/admin/refresh"),
        200,
    )
    .await;
    // Not on air: "We're live" is refused, and no alert is listed.
    let live = format!("/admin/shows/{id}/live");
    c.expect(
        c.admin(Method::POST, &live),
        ("post", "/admin/shows/{id}/live"),
        409,
    )
    .await;
    let events = c
        .expect(
            c.admin(Method::GET, "/admin/events"),
            ("get", "/admin/events"),
            200,
        )
        .await;
    assert_eq!(events, json!([]));
    check_targets(&c, &first).await;
}

/// The dead target's ledger row of `announced`, and the target's own view.
async fn check_targets(c: &Checker, announced: &Value) {
    let deliveries = format!("/admin/deliveries?seq={}", announced["seq"]);
    let rows = c
        .expect(
            c.admin(Method::GET, &deliveries),
            ("get", "/admin/deliveries"),
            200,
        )
        .await;
    assert_eq!(rows[0]["target"], "hook", "{rows}");
    let targets = c
        .expect(
            c.admin(Method::GET, "/admin/targets"),
            ("get", "/admin/targets"),
            200,
        )
        .await;
    assert_eq!(targets[0]["kind"], "webhook", "{targets}");
    c.expect(
        c.admin(Method::GET, "/admin/deliveries?seq=999"),
        ("get", "/admin/deliveries"),
        404,
    )
    .await;
}

#[tokio::test]
async fn edit_answers_match_their_schemas() {
    let c = Checker::start().await;
    let id = c.show_id;
    let tracks = format!("/admin/shows/{id}/tracks");
    let record = json!({"title": "Windowlicker", "artist": "Aphex Twin"});
    c.expect(
        c.admin(Method::POST, &tracks).json(&record),
        ("post", "/admin/shows/{id}/tracks"),
        200,
    )
    .await;
    let show = c
        .expect(
            c.admin(Method::POST, &format!("{tracks}/3/move"))
                .json(&json!({"to": 1})),
            ("post", "/admin/shows/{id}/tracks/{position}/move"),
            200,
        )
        .await;
    assert_eq!(show["tracks"][0]["title"], "Windowlicker");
    c.expect(
        c.admin(Method::DELETE, &format!("{tracks}/1")),
        ("delete", "/admin/shows/{id}/tracks/{position}"),
        200,
    )
    .await;
}

/// `/admin/relays` with a connected relay that reported its state and acked an announce, so
/// that every nested object is in the answer checked.
#[tokio::test]
async fn relays_answer_matches_its_schema() {
    let c = Checker::start().await;
    let mut relay = bearer(&c.hub.url(), "", RELAY_TOKEN).await;
    let status = json!({"type": "relay_status", "irc": "connected", "server": "irc.example:6697",
        "nick": "ntrbot", "channels": ["#ntr"], "queued": 0, "version": "0.2.0"});
    send_json(&mut relay, status).await;
    let seq = c.hub.announce_text("hello").await;
    send_json(
        &mut relay,
        json!({"type": "ack", "seq": seq, "target": "#ntr"}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let relays = c
            .expect(
                c.admin(Method::GET, "/admin/relays"),
                ("get", "/admin/relays"),
                200,
            )
            .await;
        let relay = &relays[0];
        if !relay["status"].is_null() && !relay["last_ack"].is_null() {
            assert_eq!(relay["connected"], true, "{relay}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relay's state never showed: {relay}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_mistyped_answer_fails_validation() {
    let (hub, _) = hub_with_show().await;
    let (doc, _) = fetch_document(&hub).await;
    let (_, mut show) = hub.get_json("/playlist").await;
    let validator = validator(&doc, "get", "/playlist", 200);
    assert!(validator.is_valid(&show));
    show["week_start"] = json!("last Tuesday");
    assert!(!validator.is_valid(&show), "date-time formats are checked");
    show["week_start"] = json!("2026-03-05T03:00:00Z");
    show["surprise"] = json!(1);
    assert!(!validator.is_valid(&show), "undocumented fields are caught");
}
