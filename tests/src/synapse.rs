//! A real Matrix homeserver (Synapse from PyPI) per test, from the virtualenv `scripts/test`
//! creates under the target directory (`<target>/synapse-venv`), plus a [`ResponseCutter`]: a
//! TCP proxy that forwards a request and then cuts the connection before the answer, the
//! "lost response" a retry must survive without posting twice.
//!
//! Synapse runs with a config written into the test's temp dir: one plain-HTTP listener on a
//! free 127.0.0.1 port, SQLite, no federation, relaxed rate limits. A test gets a user (with an
//! access token) and a room. Without the virtualenv, [`Synapse::start`] returns `None` after
//! printing why, except under `CI=true`, where that is a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::net::free_port;

const START_TIMEOUT: Duration = Duration::from_secs(60);
const SHARED_SECRET: &str = "registration-shared-secret-for-tests";
pub const USER: &str = "announcer";
const PASSWORD: &str = "announcer-password";

/// `<target dir>/synapse-venv`: beside the `debug`/`release` folder this test runs from.
pub fn venv() -> PathBuf {
    crate::binaries::target_dir().join("synapse-venv")
}

fn require_venv() -> Option<PathBuf> {
    let venv = venv();
    if venv.join("bin/python").is_file() && venv.join("bin/register_new_matrix_user").is_file() {
        return Some(venv);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "no Synapse virtualenv at {} but CI=true: scripts/test creates it",
            venv.display()
        );
    }
    eprintln!(
        "SKIPPED: no Synapse at {} (scripts/test creates it)",
        venv.display()
    );
    None
}

pub struct Synapse {
    pub port: u16,
    /// The test user's access token.
    pub token: String,
    child: Child,
    _dir: TempDir,
    http: reqwest::Client,
}

impl Synapse {
    /// Starts Synapse and registers and logs in the test user.
    pub async fn start() -> Option<Synapse> {
        let venv = require_venv()?;
        let dir = tempfile::tempdir().expect("synapse dir");
        let port = free_port();
        let config = write_config(dir.path(), port);
        let python = venv.join("bin/python");
        let keys = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config)
            .arg("--generate-keys")
            .current_dir(dir.path())
            .output()
            .expect("synapse --generate-keys");
        assert!(
            keys.status.success(),
            "generate keys: {}",
            String::from_utf8_lossy(&keys.stderr)
        );
        let child = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start synapse");
        let mut synapse = Synapse {
            port,
            token: String::new(),
            child,
            _dir: dir,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("http client"),
        };
        synapse.wait_ready().await;
        synapse.register(&venv).await;
        Some(synapse)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let ok = self
                .http
                .get(format!("{}/_matrix/client/versions", self.url()))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "synapse did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn register(&mut self, venv: &Path) {
        let out = Command::new(venv.join("bin/register_new_matrix_user"))
            .args([
                "-u",
                USER,
                "-p",
                PASSWORD,
                "--no-admin",
                "-k",
                SHARED_SECRET,
            ])
            .arg(self.url())
            .output()
            .expect("register_new_matrix_user");
        assert!(
            out.status.success(),
            "register: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let login = self
            .call(
                reqwest::Method::POST,
                "/_matrix/client/v3/login",
                json!({"type": "m.login.password",
                       "identifier": {"type": "m.id.user", "user": USER},
                       "password": PASSWORD}),
            )
            .await;
        self.token = login["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("login: {login}"))
            .to_owned();
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.url()));
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("synapse request");
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    /// A new room the test user is in.
    pub async fn create_room(&self) -> String {
        let room = self
            .call(
                reqwest::Method::POST,
                "/_matrix/client/v3/createRoom",
                json!({}),
            )
            .await;
        room["room_id"].as_str().expect("room_id").to_owned()
    }

    /// Every `m.room.message` in the room, oldest first.
    pub async fn messages(&self, room_id: &str) -> Vec<Value> {
        let mut url = reqwest::Url::parse(&self.url()).expect("url");
        url.path_segments_mut()
            .expect("base")
            .extend(["_matrix", "client", "v3", "rooms", room_id, "messages"]);
        url.set_query(Some("dir=b&limit=200"));
        let page: Value = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("messages")
            .json()
            .await
            .expect("messages json");
        let mut out: Vec<Value> = page["chunk"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter(|e| e["type"] == "m.room.message")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        out.reverse();
        out
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let d = dir.display();
    let limit = "{per_second: 1000, burst_count: 1000}";
    let log_config = dir.join("log.yaml");
    std::fs::write(
        &log_config,
        format!(
            "version: 1\nformatters:\n  precise:\n    format: '%(asctime)s %(name)s %(levelname)s %(message)s'\n\
             handlers:\n  file:\n    class: logging.FileHandler\n    formatter: precise\n    filename: {d}/homeserver.log\n\
             root:\n  level: WARNING\n  handlers: [file]\ndisable_existing_loggers: false\n"
        ),
    )
    .expect("write log config");
    let yaml = format!(
        "server_name: localhost\npid_file: {d}/homeserver.pid\n\
         listeners:\n  - port: {port}\n    bind_addresses: ['127.0.0.1']\n    type: http\n    tls: false\n    x_forwarded: false\n    resources:\n      - names: [client]\n        compress: false\n\
         database:\n  name: sqlite3\n  args:\n    database: {d}/homeserver.db\n\
         log_config: {d}/log.yaml\nmedia_store_path: {d}/media\nsigning_key_path: {d}/localhost.signing.key\n\
         registration_shared_secret: {SHARED_SECRET}\nmacaroon_secret_key: macaroon-secret-for-tests\nform_secret: form-secret-for-tests\n\
         report_stats: false\nenable_registration: false\ntrusted_key_servers: []\nsuppress_key_server_warning: true\n\
         federation_domain_whitelist: []\npresence:\n  enabled: false\n\
         rc_message: {limit}\nrc_registration: {limit}\nrc_joins:\n  local: {limit}\n  remote: {limit}\n\
         rc_login:\n  address: {limit}\n  account: {limit}\n  failed_attempts: {limit}\n"
    );
    let path = dir.join("homeserver.yaml");
    std::fs::write(&path, yaml).expect("write homeserver.yaml");
    path
}

/// A TCP proxy to `127.0.0.1:upstream` that, for its first `cut` connections, forwards the
/// client's request, waits until the server starts answering, and then closes both sides
/// without passing the answer on: the server did the work, the client never heard.
pub struct ResponseCutter {
    pub port: u16,
    left: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ResponseCutter {
    pub async fn start(upstream: u16, cut: usize) -> ResponseCutter {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let left = Arc::new(AtomicUsize::new(cut));
        let counter = Arc::clone(&left);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let cut_this = counter
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                tokio::spawn(forward(client, upstream, cut_this));
            }
        });
        ResponseCutter { port, left, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many connections are still to be cut.
    pub fn cuts_left(&self) -> usize {
        self.left.load(Ordering::SeqCst)
    }
}

impl Drop for ResponseCutter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(client: TcpStream, upstream: u16, cut: bool) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upload = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    if cut {
        // The first bytes of the answer mean the server has handled the request.
        let mut first = [0u8; 1];
        let _ = tokio::time::timeout(Duration::from_secs(30), server_read.read(&mut first)).await;
        upload.abort();
        let _ = client_write.shutdown().await;
        return;
    }
    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    upload.abort();
}
