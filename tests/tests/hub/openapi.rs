//! `/openapi.json` against the hub that serves it: the document parses as OpenAPI 3.1, every
//! operation it lists is served at its path and method, and real answers (successes and
//! errors) match the schemas it gives for them, with no field left undocumented.

use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{ADMIN_TOKEN, TestHub};
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

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

/// A hub with a current show of two liked tracks, and that show's id.
async fn hub_with_show() -> (TestHub, i64) {
    let hub = TestHub::start().await;
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
    template
        .replace("{id}", &show_id.to_string())
        .replace("{position}", "1")
        .replace("{file}", "app.css")
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let (hub, show_id) = hub_with_show().await;
    let (_, spec) = fetch_document(&hub).await;
    let operations: Vec<(String, oas3::spec::Operation, reqwest::Method)> = spec
        .operations()
        .map(|(path, method, op)| {
            let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("method");
            (path, op.clone(), method)
        })
        .collect();
    assert!(operations.len() >= 17, "{} operations", operations.len());
    // The routes every hub has served since before this document existed: each must be in it.
    for (method, path) in [
        ("GET", "/health"),
        ("GET", "/playlist"),
        ("GET", "/playlist/{position}"),
        ("GET", "/shows"),
        ("GET", "/shows/{id}"),
        ("POST", "/admin/announce"),
        ("POST", "/admin/refresh"),
        ("POST", "/admin/shows/{id}/tracks"),
        ("DELETE", "/admin/shows/{id}/tracks/{position}"),
        ("POST", "/admin/shows/{id}/tracks/{position}/move"),
        ("GET", "/"),
        ("GET", "/dashboard"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("GET", "/metrics"),
        ("GET", "/static/{file}"),
        ("GET", "/ws/announce"),
        ("GET", "/openapi.json"),
    ] {
        assert!(
            operations
                .iter()
                .any(|(p, _, m)| p == path && m.as_str() == method),
            "{method} {path} is not documented"
        );
    }
    // Deletions last, so the other operations still find track 1.
    let mut ordered = operations;
    ordered.sort_by_key(|(_, _, m)| *m == reqwest::Method::DELETE);
    for (path, op, method) in &ordered {
        let url = format!("{}{}", hub.url(), concrete_path(path, show_id));
        let resp = hub
            .http
            .request(method.clone(), &url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !(status == 404 && body.contains("no such endpoint")),
            "{method} {path} is documented but not served"
        );
        let documented = op.responses.as_ref().expect("responses");
        assert!(
            documented.contains_key(&status.to_string()),
            "{method} {path} answered {status}, which its documentation does not list: {body}"
        );
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
        let responses = &doc["paths"][&path][method.as_str().to_lowercase()]["responses"];
        let responses = responses.as_object().expect("responses object");
        if path.starts_with("/admin/") {
            let security = serde_json::to_value(&op.security).expect("security");
            assert_eq!(
                security,
                json!([{"bearer": []}, {"cookie": []}]),
                "{method} {path}"
            );
            for status in ["401", "403"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
        }
        // Every JSON error answer is the one error shape.
        for (status, response) in responses {
            let json_schema = &response["content"]["application/json"]["schema"];
            if status.starts_with(['4', '5']) && !json_schema.is_null() {
                assert_eq!(
                    json_schema["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
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

fn assert_matches(doc: &Value, method: &str, path: &str, status: u16, answer: &Value) {
    let validator = validator(doc, method, path, status);
    let errors: Vec<String> = validator
        .iter_errors(answer)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {errors:?} in {answer}"
    );
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn real_answers_match_their_schemas() {
    let (hub, show_id) = hub_with_show().await;
    let (doc, _) = fetch_document(&hub).await;
    let url = hub.url();
    let admin = |req: reqwest::RequestBuilder| req.bearer_auth(ADMIN_TOKEN);
    let cases: Vec<(&str, &str, reqwest::RequestBuilder)> = vec![
        ("get", "/health", hub.http.get(format!("{url}/health"))),
        ("get", "/playlist", hub.http.get(format!("{url}/playlist"))),
        (
            "get",
            "/playlist/{position}",
            hub.http.get(format!("{url}/playlist/2")),
        ),
        ("get", "/shows", hub.http.get(format!("{url}/shows"))),
        (
            "get",
            "/shows/{id}",
            hub.http.get(format!("{url}/shows/{show_id}")),
        ),
        // Errors: each in the one error shape, under the status the document lists.
        (
            "get",
            "/shows/{id}",
            hub.http.get(format!("{url}/shows/999999")),
        ),
        ("get", "/shows/{id}", hub.http.get(format!("{url}/shows/x"))),
        (
            "get",
            "/playlist/{position}",
            hub.http.get(format!("{url}/playlist/9")),
        ),
        (
            "get",
            "/shows",
            hub.http.get(format!("{url}/shows?limit=0")),
        ),
        (
            "post",
            "/admin/announce",
            hub.http
                .post(format!("{url}/admin/announce"))
                .json(&json!({"position": 1})),
        ),
        (
            "post",
            "/admin/announce",
            hub.http
                .post(format!("{url}/admin/announce"))
                .bearer_auth("wrong-token-0123456789abcdef"),
        ),
        (
            "post",
            "/admin/announce",
            admin(hub.http.post(format!("{url}/admin/announce"))).json(&json!({"position": 0})),
        ),
        (
            "post",
            "/admin/announce",
            admin(hub.http.post(format!("{url}/admin/announce"))).body("not json"),
        ),
        // Successes that change things.
        (
            "post",
            "/admin/announce",
            admin(hub.http.post(format!("{url}/admin/announce"))).json(&json!({"position": 1})),
        ),
        (
            "post",
            "/admin/announce",
            admin(hub.http.post(format!("{url}/admin/announce"))).json(&json!({"text": "hello"})),
        ),
        (
            "post",
            "/admin/refresh",
            admin(hub.http.post(format!("{url}/admin/refresh"))),
        ),
        (
            "post",
            "/admin/shows/{id}/tracks",
            admin(hub.http.post(format!("{url}/admin/shows/{show_id}/tracks")))
                .json(&json!({"title": "Windowlicker", "artist": "Aphex Twin"})),
        ),
        (
            "post",
            "/admin/shows/{id}/tracks/{position}/move",
            admin(
                hub.http
                    .post(format!("{url}/admin/shows/{show_id}/tracks/3/move")),
            )
            .json(&json!({"to": 1})),
        ),
        (
            "delete",
            "/admin/shows/{id}/tracks/{position}",
            admin(
                hub.http
                    .delete(format!("{url}/admin/shows/{show_id}/tracks/1")),
            ),
        ),
    ];
    let mut statuses = Vec::new();
    for (method, path, req) in cases {
        let (status, answer) = send(req).await;
        assert_matches(&doc, method, path, status, &answer);
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [
            200, 200, 200, 200, 200, 404, 400, 404, 400, 401, 401, 422, 400, 200, 200, 200, 200,
            200, 200
        ]
    );
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
