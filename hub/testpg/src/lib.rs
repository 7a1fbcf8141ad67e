//! Throwaway PostgreSQL 15 clusters for tests (the hub's store tests and the end-to-end tests),
//! on free ports of 127.0.0.1:
//!
//! - one shared cluster per test process, started on first use, with an empty database per
//!   test ([`fresh_database`]);
//! - a cluster of a test's own ([`OwnCluster`]) for tests that restart or stop the server,
//!   which must not pull the shared one out from under other tests.
//!
//! Each server is watched by a small shell that holds the read end of a pipe whose write end
//! this process keeps: when the test process ends, however it ends, the pipe closes, and the
//! shell stops the server and deletes its files. A static is never dropped, so nothing in this
//! process could be relied on to do that.
//!
//! PostgreSQL refuses to run as root: a root test process (as in CI) runs it as the `postgres`
//! user, which Debian's package creates. Under `CI=true` a cluster that cannot start fails the
//! test; elsewhere the caller skips PostgreSQL and says why.

mod own;
mod server;

pub use own::OwnCluster;

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use server::{as_server, free_port, initialise, required, wait_ready};

/// The running shared cluster, kept alive by the pipe in `_keeper`.
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
        Err(reason) if required() => {
            panic!("CI=true needs PostgreSQL 15 for the store tests: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping the PostgreSQL store: {reason}");
            return None;
        }
    };
    let n = DATABASES.fetch_add(1, Ordering::Relaxed);
    let name = format!("t_{n}");
    create_database(port, &name)
        .await
        .expect("create a test database");
    Some(format!("postgres://hub@127.0.0.1:{port}/{name}"))
}

/// Creates the empty database `name` on the cluster at `port`.
pub(crate) async fn create_database(port: u16, name: &str) -> Result<(), tokio_postgres::Error> {
    let admin = format!("postgres://hub@127.0.0.1:{port}/postgres");
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    let created = client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await;
    drop(client);
    let _ = connection.await;
    created
}

/// Starts the shared cluster, or says why it cannot.
fn start() -> Result<Cluster, String> {
    let init = initialise()?;
    let port = free_port()?;
    let (shell, keeper) = serve(&init.bin, init.user, &init.dir, port)?;
    wait_ready(&init.bin, port)?;
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
    let mut shell = as_server(Command::new("sh"), user, dir);
    shell
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(bin)
        .arg(dir)
        .arg(port.to_string());
    keep(&mut shell)
}

/// Spawns `shell` with a pipe on its standard input and returns the pipe's write end, whose
/// closing tells the shell to clean up.
pub(crate) fn keep(shell: &mut Command) -> Result<(Child, ChildStdin), String> {
    let mut child = shell
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start postgres: {e}"))?;
    let mut keeper = child.stdin.take().ok_or("no pipe to the server's shell")?;
    // Nothing is ever written; a flush only proves the pipe is open.
    keeper.flush().map_err(|e| format!("pipe: {e}"))?;
    Ok((child, keeper))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn each_fresh_database_is_new_and_empty() {
        let Some(first) = super::fresh_database().await else {
            return;
        };
        let second = super::fresh_database()
            .await
            .expect("the cluster is up already");
        assert_ne!(first, second);
        let (client, connection) = tokio_postgres::connect(&second, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
                &[],
            )
            .await
            .expect("a query works");
        assert_eq!(row.get::<_, i64>(0), 0, "no tables yet");
    }
}
