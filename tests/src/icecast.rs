//! A real Icecast 2 (Debian's `icecast2`) per test, on a free 127.0.0.1 port, and the lightest
//! possible source feeding a mount: a raw-socket `PUT` followed by silent MP3 frames paced at
//! real time (Icecast 2.4 does not de-chunk a source body, so it is a plain stream).
//!
//! Icecast refuses to run as root, so as root the config drops privileges to the package's
//! `icecast2` user; it opens its logs after that, so the state dir is made traversable and the
//! log dir is handed to that user. When `icecast2` is not installed, [`Icecast::start`] returns
//! `None` after printing why, except under `CI=true`, where that is a failure (`scripts/test`
//! installs it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::binaries::system_program;
use crate::net::free_port;

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "icecast-admin-password";
pub const SOURCE_PASSWORD: &str = "icecast-source-password";

const START_TIMEOUT: Duration = Duration::from_secs(10);
/// One silent MPEG-1 Layer III frame: 128 kbit/s, 44.1 kHz, 417 bytes.
const FRAME_HEADER: [u8; 4] = [0xFF, 0xFB, 0x90, 0xC4];
const FRAME_LEN: usize = 417;
const FRAMES_PER_SECOND: f64 = 44_100.0 / 1152.0;

fn require_binary() -> Option<PathBuf> {
    match system_program(&["icecast2"], &["/usr/bin", "/usr/sbin"]) {
        Some(b) => Some(b),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("icecast2 is not installed but CI=true: scripts/test installs it")
        }
        None => {
            eprintln!("SKIPPED: icecast2 not installed (scripts/test installs it)");
            None
        }
    }
}

pub struct Icecast {
    pub port: u16,
    child: Child,
    _dir: TempDir,
    http: reqwest::Client,
}

impl Icecast {
    /// Starts Icecast and waits until it answers; `None` when it is not installed (outside CI).
    pub async fn start() -> Option<Icecast> {
        let binary = require_binary()?;
        let dir = tempfile::tempdir().expect("icecast dir");
        let port = free_port();
        let config = write_config(dir.path(), port);
        let child = Command::new(binary)
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start icecast2");
        let icecast = Icecast {
            port,
            child,
            _dir: dir,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("http client"),
        };
        icecast.wait_ready().await;
        Some(icecast)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if self.status().await.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "icecast2 did not answer on port {} within {START_TIMEOUT:?}",
            self.port
        );
    }

    async fn status(&self) -> Option<Value> {
        let resp = self
            .http
            .get(format!("{}/status-json.xsl", self.url()))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        // Icecast 2.4 may emit invalid JSON for odd titles; read it leniently.
        let text = resp.text().await.ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The mount's entry in `status-json.xsl` (a single source is an object, several a list).
    async fn source(&self, mount: &str) -> Option<Value> {
        let status = self.status().await?;
        let sources = match &status["icestats"]["source"] {
            Value::Array(list) => list.clone(),
            Value::Object(_) => vec![status["icestats"]["source"].clone()],
            _ => Vec::new(),
        };
        sources
            .into_iter()
            .find(|s| s["listenurl"].as_str().is_some_and(|u| u.ends_with(mount)))
    }

    /// The mount's current title, as listeners' players read it.
    pub async fn title(&self, mount: &str) -> Option<String> {
        self.source(mount).await?["title"]
            .as_str()
            .map(str::to_owned)
    }

    /// Sets the mount's title through the admin interface, as a source client sending its own
    /// metadata does.
    pub async fn set_title(&self, mount: &str, title: &str) {
        let resp = self
            .http
            .get(format!("{}/admin/metadata", self.url()))
            .query(&[
                ("mount", mount),
                ("mode", "updinfo"),
                ("song", title),
                ("charset", "UTF-8"),
            ])
            .basic_auth(ADMIN_USER, Some(ADMIN_PASSWORD))
            .send()
            .await
            .expect("GET /admin/metadata");
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            status.is_success() && body.contains("<return>1</return>"),
            "icecast refused the title: {status} {body}"
        );
    }

    /// Waits (bounded) until the mount's title is `expected`.
    pub async fn wait_title(&self, mount: &str, expected: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let title = self.title(mount).await;
            if title.as_deref() == Some(expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "title of {mount}: {title:?}, not {expected:?} within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts a source streaming silence to `mount` and waits until Icecast lists the mount.
    pub async fn source_for(&self, mount: &str) -> Source {
        let task = tokio::spawn(stream_silence(self.port, mount.to_owned()));
        let deadline = Instant::now() + START_TIMEOUT;
        while self.source(mount).await.is_none() {
            assert!(
                Instant::now() < deadline && !task.is_finished(),
                "the mount {mount} did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Source(task)
    }
}

impl Drop for Icecast {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running source; dropping it ends the stream (and the mount).
pub struct Source(JoinHandle<()>);

impl Drop for Source {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn stream_silence(port: u16, mount: String) {
    let mut tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to icecast as a source");
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("source:{SOURCE_PASSWORD}"));
    let head = format!(
        "PUT {mount} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: audio/mpeg\r\nIce-Name: test\r\nExpect: 100-continue\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.expect("source head");
    let mut answer = [0u8; 512];
    let n = tokio::time::timeout(START_TIMEOUT, tcp.read(&mut answer))
        .await
        .expect("icecast answers the source")
        .expect("read the answer");
    let answer = String::from_utf8_lossy(&answer[..n]).to_string();
    assert!(
        answer.starts_with("HTTP/1.1 100") || answer.starts_with("HTTP/1.0 200"),
        "icecast refused the source: {answer}"
    );
    let mut frame = vec![0u8; FRAME_LEN];
    frame[..4].copy_from_slice(&FRAME_HEADER);
    let start = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        let due = (start.elapsed().as_secs_f64() * FRAMES_PER_SECOND) as u64 + 1;
        while sent < due {
            if tcp.write_all(&frame).await.is_err() {
                return;
            }
            sent += 1;
        }
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let log = dir.join("log");
    std::fs::create_dir_all(&log).expect("log dir");
    let security = if running_as_root() {
        // The dir must be traversable by icecast2 after it drops root; its log dir writable.
        run("chmod", &["755", &dir.display().to_string()]);
        run("chown", &["icecast2", &log.display().to_string()]);
        "<security><chroot>0</chroot><changeowner><user>icecast2</user><group>icecast</group></changeowner></security>"
    } else {
        "<security><chroot>0</chroot></security>"
    };
    let d = dir.display();
    let xml = format!(
        r#"<icecast>
  <location>test</location><admin>test@localhost</admin>
  <limits><clients>20</clients><sources>4</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout><burst-size>65535</burst-size></limits>
  <authentication><source-password>{SOURCE_PASSWORD}</source-password>
    <relay-password>relay-password-unused</relay-password>
    <admin-user>{ADMIN_USER}</admin-user><admin-password>{ADMIN_PASSWORD}</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <mount type="default"><charset>UTF-8</charset></mount>
  <fileserve>1</fileserve>
  <paths><basedir>{d}</basedir><logdir>{d}/log</logdir><pidfile>{d}/icecast.pid</pidfile>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  {security}
</icecast>
"#
    );
    let path = dir.join("icecast.xml");
    std::fs::write(&path, xml).expect("write icecast.xml");
    path
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}
