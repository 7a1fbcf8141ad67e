//! A fake SoundCloud on 127.0.0.1 that serves the same JSON shapes as api-v2 (resolve, paged
//! `track_likes` newest first with `next_href`), a home page whose scripts hold a `client_id`,
//! and, on demand, the failures the real one has: 401/403, 429, 5xx, garbage, slow answers.
//!
//! Tests change its state through [`FakeSoundcloud`]'s methods and read back what was asked
//! (`requests()`), so "an unchanged poll costs one request" is checked, not assumed.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Value, json};

pub const USER: &str = "testdj";
pub const USER_ID: i64 = 4242;
pub const CLIENT_ID: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";

/// A failure to serve instead of the next api request.
#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16),
    Garbage,
    /// Starts a body and breaks the connection mid-way.
    BrokenBody,
    Slow(Duration),
    /// Waits until the test releases the gate, to hold a request while something else runs.
    Hold(Arc<tokio::sync::Notify>),
}

/// One like as SoundCloud lists it.
#[derive(Debug, Clone)]
pub struct FakeLike {
    pub created_at: Timestamp,
    /// `None` serves `"track": null` (a deleted track).
    pub track: Option<Value>,
}

/// A track object in SoundCloud's shape.
pub fn track(id: i64, title: &str, artist: &str) -> Value {
    json!({
        "id": id,
        "kind": "track",
        "title": title,
        "permalink_url": format!("https://soundcloud.com/{}/track-{id}", artist.to_lowercase().replace(' ', "-")),
        "artwork_url": format!("https://i1.sndcdn.com/artworks-{id}-large.jpg"),
        "duration": 180_000 + id,
        "license": "all-rights-reserved",
        "user": {"id": id + 1_000_000, "username": artist, "permalink_url": "https://soundcloud.com/x"},
    })
}

#[derive(Default)]
struct Inner {
    /// Newest first, as SoundCloud serves them.
    likes: Vec<FakeLike>,
    page_size: usize,
    /// Which client_id the API accepts now (rotated to test re-scraping).
    valid_client_id: String,
    /// Which client_id the scripts advertise, and in which form (`:` or `=`).
    advertised_client_id: String,
    equals_form: bool,
    faults: VecDeque<Fault>,
    requests: Vec<String>,
    base: String,
}

#[derive(Clone)]
pub struct FakeSoundcloud {
    inner: Arc<Mutex<Inner>>,
    addr: SocketAddr,
    _server: Arc<tokio::task::JoinHandle<()>>,
}

impl FakeSoundcloud {
    pub async fn start() -> FakeSoundcloud {
        let inner = Arc::new(Mutex::new(Inner {
            page_size: 200,
            valid_client_id: CLIENT_ID.into(),
            advertised_client_id: CLIENT_ID.into(),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/", get(home))
            .route("/assets/{file}", get(asset))
            .route("/resolve", get(resolve))
            .route("/users/{id}/track_likes", get(likes))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake SoundCloud");
        let addr = listener.local_addr().expect("fake SoundCloud address");
        inner.lock().expect("fake state").base = format!("http://{addr}");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeSoundcloud {
            inner,
            addr,
            _server: Arc::new(server),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().expect("fake state"))
    }

    /// Replaces all likes; the list may be in any order (it is served newest first).
    pub fn set_likes(&self, mut likes: Vec<FakeLike>) {
        likes.sort_by_key(|l| std::cmp::Reverse(l.created_at));
        self.with(|i| i.likes = likes);
    }

    pub fn set_page_size(&self, n: usize) {
        self.with(|i| i.page_size = n.max(1));
    }

    /// The API starts refusing the old client_id; the scripts advertise `id` (in `=` form if
    /// `equals_form`).
    pub fn rotate_client_id(&self, id: &str, equals_form: bool) {
        self.with(|i| {
            i.valid_client_id = id.into();
            i.advertised_client_id = id.into();
            i.equals_form = equals_form;
        });
    }

    /// Serves these faults, one per api request, before answering normally again.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.with(|i| i.faults.extend(faults));
    }

    /// Paths (with query) of every request received so far.
    pub fn requests(&self) -> Vec<String> {
        self.with(|i| i.requests.clone())
    }

    pub fn clear_requests(&self) {
        self.with(|i| i.requests.clear());
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

fn log(state: &Arc<Mutex<Inner>>, what: String) {
    if let Ok(mut i) = state.lock() {
        i.requests.push(what);
    }
}

async fn home(State(state): Shared) -> Response {
    log(&state, "/".into());
    axum::response::Html(
        r#"<!doctype html><html><head>
        <script crossorigin src="/assets/vendor.js"></script>
        <script crossorigin src="/assets/app.js"></script>
        <script crossorigin src="/assets/missing.js"></script>
        </head><body>SoundCloud</body></html>"#,
    )
    .into_response()
}

async fn asset(State(state): Shared, Path(file): Path<String>) -> Response {
    log(&state, format!("/assets/{file}"));
    let (id, equals) = match state.lock() {
        Ok(i) => (i.advertised_client_id.clone(), i.equals_form),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    match file.as_str() {
        "app.js" if equals => format!(r#"var a=1;o.client_id="{id}",o.x=2;"#).into_response(),
        "app.js" => format!(r#"({{env:"prod",client_id:"{id}",q:1}})"#).into_response(),
        "vendor.js" => "function v(){return 1}".into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Applies auth and the next fault, shared by every api route.
async fn gate(
    state: &Arc<Mutex<Inner>>,
    query: &[(String, String)],
    what: String,
) -> Option<Response> {
    log(state, what);
    let (fault, valid) = match state.lock() {
        Ok(mut i) => (i.faults.pop_front(), i.valid_client_id.clone()),
        Err(_) => return Some(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    };
    match fault {
        Some(Fault::Status(code)) => {
            return Some(
                StatusCode::from_u16(code)
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                    .into_response(),
            );
        }
        Some(Fault::Garbage) => return Some("{\"collection\": [ oops".into_response()),
        Some(Fault::BrokenBody) => {
            let chunks: [Result<&'static str, std::io::Error>; 2] = [
                Ok("{\"collection\": ["),
                Err(std::io::Error::other("connection cut by the test")),
            ];
            let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
            return Some(body.into_response());
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        Some(Fault::Hold(gate)) => gate.notified().await,
        None => {}
    }
    let client_id = query
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.as_str());
    if client_id != Some(valid.as_str()) {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                "{\"error\":\"invalid client_id\"}",
            )
                .into_response(),
        );
    }
    None
}

fn describe(path: &str, query: &[(String, String)]) -> String {
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{path}?{}", q.join("&"))
}

async fn resolve(State(state): Shared, Query(query): Query<Vec<(String, String)>>) -> Response {
    if let Some(r) = gate(&state, &query, describe("/resolve", &query)).await {
        return r;
    }
    let url = query
        .iter()
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if url.ends_with(&format!("/{USER}")) {
        return axum::Json(
            json!({"id": USER_ID, "kind": "user", "username": USER, "permalink": USER}),
        )
        .into_response();
    }
    // A track URL: /artist/track-ID
    if let Some(id) = url
        .rsplit_once("/track-")
        .and_then(|(_, id)| id.parse::<i64>().ok())
    {
        return axum::Json(track(id, &format!("Resolved {id}"), "Resolver")).into_response();
    }
    (StatusCode::NOT_FOUND, "{}").into_response()
}

async fn likes(
    State(state): Shared,
    Path(user): Path<i64>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = gate(
        &state,
        &query,
        describe(&format!("/users/{user}/track_likes"), &query),
    )
    .await
    {
        return r;
    }
    if user != USER_ID {
        return (StatusCode::NOT_FOUND, "{}").into_response();
    }
    let offset: usize = query
        .iter()
        .find(|(k, _)| k == "offset")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let (page, more, page_size, end, base) = match state.lock() {
        Ok(i) => {
            let end = (offset + i.page_size).min(i.likes.len());
            let page: Vec<Value> = i.likes[offset.min(end)..end]
                .iter()
                .map(|l| json!({"created_at": l.created_at.to_string(), "kind": "like", "track": l.track}))
                .collect();
            (page, end < i.likes.len(), i.page_size, end, i.base.clone())
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let next_href = more.then(|| {
        format!(
            "{base}/users/{user}/track_likes?offset={end}&limit={page_size}&linked_partitioning=1"
        )
    });
    axum::Json(json!({"collection": page, "next_href": next_href, "query_urn": null}))
        .into_response()
}
