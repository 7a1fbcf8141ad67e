//! A throwaway PostgreSQL 15 cluster for tests (the hub's store tests and the end-to-end
//! tests): started once per test process on a free port of 127.0.0.1, with an empty database
//! per test (`fresh_database`).
//!
//! The server runs under a small shell that holds the read end of a pipe whose write end this
//! process keeps: when the test process ends, however it ends, the pipe closes, and the shell
//! stops the server and deletes its files. A static is never dropped, so nothing in this
//! process could be relied on to do that.
//!
//! PostgreSQL refuses to run as root: a root test process (as in CI) runs it as the `postgres`
//! user, which Debian's package creates. Under `CI=true` a cluster that cannot start fails the
//! test; elsewhere the caller skips PostgreSQL and says why.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where Debian's `postgresql-15` puts its programs; `NTR_PG_BIN` names another folder.
const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";
/// How long a cluster may take to accept queries (it takes about a second).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The running cluster, kept alive by the pipe in `_keeper`.
struct Cluster {
    port: u16,
    _keeper: ChildStdin,
    _shell: Child,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static DATABASES: AtomicU64 = AtomicU64::new(0);

/// The URL of a new, empty database on the test cluster, or `None` (with the reason printed)
/// when there is no PostgreSQL here and CI does not require one.
pub async fn fresh_database() -> Option<String> {
    let port = match CLUSTER.get_or_init(start) {
        Ok(cluster) => cluster.port,
        Err(reason) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true needs PostgreSQL 15 for the store tests: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping the PostgreSQL store: {reason}");
            return None;
        }
    };
    let n = DATABASES.fetch_add(1, Ordering::Relaxed);
    let name = format!("t_{n}");
    let admin = format!("postgres://hub@127.0.0.1:{port}/postgres");
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .expect("connect to the test cluster");
    let connection = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    drop(client);
    let _ = connection.await;
    Some(format!("postgres://hub@127.0.0.1:{port}/{name}"))
}

/// Starts the cluster, or says why it cannot.
fn start() -> Result<Cluster, String> {
    let bin =
        std::env::var_os("NTR_PG_BIN").map_or_else(|| PathBuf::from(DEFAULT_BIN), PathBuf::from);
    if !bin.join("initdb").exists() {
        return Err(format!(
            "{} not found (Debian: apt-get install postgresql)",
            bin.join("initdb").display()
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("ntr-pg-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?
        .keep();
    let user = server_user()?;
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| format!("chown: {e}"))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod: {e}"))?;
    }
    let initdb = as_server(Command::new(bin.join("initdb")), user, &dir)
        .args([
            "-A",
            "trust",
            "-U",
            "hub",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "-D",
        ])
        .arg(dir.join("data"))
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }
    let port = free_port()?;
    let (shell, keeper) = serve(&bin, user, &dir, port)?;
    wait_ready(&bin, port)?;
    Ok(Cluster {
        port,
        _keeper: keeper,
        _shell: shell,
    })
}

/// Runs the server under a shell that stops it and removes `dir` once its standard input
/// closes, which happens when this process ends.
fn serve(
    bin: &Path,
    user: Option<(u32, u32)>,
    dir: &Path,
    port: u16,
) -> Result<(Child, ChildStdin), String> {
    // `fsync=off`: a test cluster's data is thrown away, durability only costs time.
    let script = r#"
        "$1/postgres" -D "$2/data" -p "$3" -k "$2" -c listen_addresses=127.0.0.1 \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c max_connections=300 >"$2/log" 2>&1 &
        pid=$!
        read -r _
        kill -INT "$pid"
        wait "$pid"
        rm -rf "$2"
    "#;
    let mut shell = as_server(Command::new("sh"), user, dir)
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(bin)
        .arg(dir)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start postgres: {e}"))?;
    let mut keeper = shell.stdin.take().ok_or("no pipe to the server's shell")?;
    // Nothing is ever written; a flush only proves the pipe is open.
    keeper.flush().map_err(|e| format!("pipe: {e}"))?;
    Ok((shell, keeper))
}

/// Waits until the server answers queries, bounded by [`START_TIMEOUT`].
fn wait_ready(bin: &Path, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        let ready = Command::new(bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "postgres did not accept connections on port {port} within 30 s"
    ))
}

/// `command` set to run as the server's user (if it is not this process's) in `dir`.
fn as_server(mut command: Command, user: Option<(u32, u32)>, dir: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command.current_dir(dir);
    command
}

/// The uid and gid of `postgres` when this process is root (the server refuses root); `None`
/// to run it as this process's user.
fn server_user() -> Result<Option<(u32, u32)>, String> {
    if id(&["-u"])? != 0 {
        return Ok(None);
    }
    Ok(Some((id(&["-u", "postgres"])?, id(&["-g", "postgres"])?)))
}

/// What `id ARGS` prints, as a number.
fn id(args: &[&str]) -> Result<u32, String> {
    let out = Command::new("id")
        .args(args)
        .output()
        .map_err(|e| format!("id: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| {
            format!(
                "`id {}` printed no number (no postgres user?)",
                args.join(" ")
            )
        })
}

/// A port of 127.0.0.1 that nothing listens on now.
fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}
