//! What both kinds of test cluster need: where PostgreSQL's programs are, an initialised data
//! directory owned by the user the server may run as, a free port, and a wait until the server
//! accepts connections.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where Debian's `postgresql-15` puts its programs; `NTR_PG_BIN` names another folder.
const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";
/// How long a cluster may take to accept queries (it takes about a second).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A data directory made by `initdb`, not yet served.
pub(crate) struct Initialised {
    /// PostgreSQL's programs.
    pub bin: PathBuf,
    /// The folder holding `data/`, the socket and the log; removed when the cluster ends.
    pub dir: PathBuf,
    /// The server's user when this process is root (the server refuses root).
    pub user: Option<(u32, u32)>,
}

/// Makes a folder for a cluster and runs `initdb` in it, or says why it cannot.
pub(crate) fn initialise() -> Result<Initialised, String> {
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
    Ok(Initialised { bin, dir, user })
}

/// Whether a cluster that cannot start must fail the test: under `CI=true` nothing is skipped.
pub(crate) fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Waits until the server answers queries, bounded by [`START_TIMEOUT`].
pub(crate) fn wait_ready(bin: &Path, port: u16) -> Result<(), String> {
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
pub(crate) fn as_server(mut command: Command, user: Option<(u32, u32)>, dir: &Path) -> Command {
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
pub(crate) fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}
