//! nginx in front of several hubs, as docs/scaling.md tells a station to run it: the test takes
//! the ```nginx block out of that page, points its `upstream` at the test's hubs and its
//! `listen` at a free 127.0.0.1 port, so the configuration the docs show is the one tested.
//!
//! nginx (Debian's `nginx-light`) runs in the foreground as one process (`master_process off`,
//! so killing it leaves no workers behind) with a prefix, pid file, logs and every temp folder
//! of its own under a temp dir: it never touches /etc/nginx or /var/lib/nginx, even as root.
//! Like the test PostgreSQL, it runs under a shell that holds a pipe from this process and
//! stops nginx when the pipe closes, so a test process killed outright leaves no nginx behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::binaries::require_program;
use crate::net::free_port;

/// How long nginx may take to listen (it takes a few milliseconds).
const START: Duration = Duration::from_secs(10);
/// The placeholder port of the docs' `listen` line.
const DOCS_LISTEN: &str = "listen 80;";

/// A running nginx; dropping it stops it.
pub struct Nginx {
    dir: TempDir,
    port: u16,
    shell: Child,
    keeper: Option<ChildStdin>,
}

impl Nginx {
    /// Starts nginx with the docs' configuration, balancing over hubs on 127.0.0.1 at
    /// `upstream_ports`. `None` (after a SKIPPED line) when nginx is not installed outside CI.
    pub async fn start(upstream_ports: &[u16]) -> Option<Nginx> {
        let program = require_program(&["nginx"], &["/usr/sbin"], "nginx-light")?;
        let dir = tempfile::tempdir().expect("temp dir for nginx");
        let port = free_port();
        let site = site_config(&docs_config(), port, upstream_ports);
        std::fs::write(
            dir.path().join("nginx.conf"),
            main_config(dir.path(), &site),
        )
        .expect("write nginx.conf");
        let (shell, keeper) = spawn(&program, dir.path());
        let mut nginx = Nginx {
            dir,
            port,
            shell,
            keeper: Some(keeper),
        };
        nginx.wait_listening().await;
        Some(nginx)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, the balancer's address.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// nginx's error log so far (upstream failures show here), for failure messages.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    async fn wait_listening(&mut self) {
        let addr = format!("127.0.0.1:{}", self.port);
        let deadline = tokio::time::Instant::now() + START;
        while tokio::time::Instant::now() < deadline {
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.shell.try_wait() {
                panic!("nginx exited ({status}): {}", self.error_log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "nginx did not listen within {START:?}: {}",
            self.error_log()
        );
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Closing the pipe makes the shell stop nginx; wait (bounded) so the port is free.
        drop(self.keeper.take());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if !matches!(self.shell.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.shell.kill();
    }
}

/// The ```nginx block of docs/scaling.md.
pub fn docs_config() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/scaling.md");
    let page = std::fs::read_to_string(&path).expect("read docs/scaling.md");
    page.split_once("```nginx\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block.to_owned())
        .expect("docs/scaling.md has a ```nginx block")
}

/// The `proxy_read_timeout` of the `location` block whose head is `location {path} {`, if it
/// sets one: how long nginx keeps a socket that carries nothing.
pub fn read_timeout(config: &str, path: &str) -> Option<Duration> {
    let (_, block) = config.split_once(&format!("location {path} {{"))?;
    let (block, _) = block.split_once('}')?;
    let value = block
        .lines()
        .find_map(|line| line.trim().strip_prefix("proxy_read_timeout "))?;
    let value = value.split(';').next()?.trim();
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits.parse().ok()?;
    let unit = match &value[digits.len()..] {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n * unit))
}

/// `docs` with its `listen 80;` on 127.0.0.1:`port` and its `upstream`'s servers replaced by
/// one per port of `upstreams` (each keeping the docs' parameters, such as `max_fails`).
pub fn site_config(docs: &str, port: u16, upstreams: &[u16]) -> String {
    assert_eq!(
        docs.matches(DOCS_LISTEN).count(),
        1,
        "the docs' nginx block has one `{DOCS_LISTEN}`"
    );
    let mut out = String::new();
    let mut in_upstream = false;
    let mut servers_written = false;
    for line in docs.lines() {
        let trimmed = line.trim_start();
        in_upstream = (in_upstream || trimmed.starts_with("upstream ")) && trimmed != "}";
        if let Some(rest) = trimmed.strip_prefix("server ").filter(|_| in_upstream) {
            // `server ADDRESS PARAMS;`: the test's addresses, the docs' parameters.
            let params = rest.split_once(' ').map_or(";", |(_, params)| params);
            if !servers_written {
                for upstream in upstreams {
                    out.push_str(&format!("    server 127.0.0.1:{upstream} {params}\n"));
                }
                servers_written = true;
            }
            continue;
        }
        out.push_str(&line.replace(DOCS_LISTEN, &format!("listen 127.0.0.1:{port};")));
        out.push('\n');
    }
    assert!(servers_written, "the docs' nginx block has an upstream");
    out
}

/// The whole nginx.conf: the process settings a test needs around the docs' `site`, which
/// goes where Debian's nginx.conf includes conf.d/*.conf (inside `http`). The hub's
/// `X-Accel-Buffering: no` is ignored here so that the docs' own `proxy_buffering off` is what
/// the `/events` test checks.
fn main_config(dir: &Path, site: &str) -> String {
    let d = dir.display();
    format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n\
         access_log {d}/access.log;\nproxy_ignore_headers X-Accel-Buffering;\n\
         client_body_temp_path {d}/client_body;\nproxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
         {site}\n}}\n"
    )
}

/// Runs nginx under a shell that stops it once its standard input closes.
fn spawn(program: &Path, dir: &Path) -> (Child, ChildStdin) {
    let script = r#"
        trap '' INT HUP
        "$1" -p "$2" -c "$2/nginx.conf" -e "$2/error.log" &
        pid=$!
        read -r _
        kill -TERM "$pid"
        wait "$pid"
    "#;
    let mut shell = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(program)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let mut keeper = shell.stdin.take().expect("a pipe to nginx's shell");
    // Nothing is ever written; a flush only proves the pipe is open.
    keeper.flush().expect("pipe to nginx's shell");
    (shell, keeper)
}
