//! A PostgreSQL cluster of one test's own, which the test may restart, stop and start again
//! on the same port and data: for what the hub does when its database goes away.
//!
//! Unlike the shared cluster, the server here is run by `pg_ctl` (so `pg_ctl restart` works on
//! it), and the watching shell only waits for its pipe to close, then stops whatever server
//! runs on the data directory and deletes it. `pg_ctl` runs the server in a session of its
//! own, and the shell ignores SIGINT, so a Ctrl-C to the test run still leaves them time to
//! clean up.

use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command};

use crate::server::{Initialised, as_server, free_port, initialise, required};

/// How long `pg_ctl` may wait for the server to start or stop, in seconds.
const PG_CTL_WAIT_SECONDS: &str = "30";

/// A running (or deliberately stopped) cluster; dropping it stops the server and deletes its
/// files, and so does the end of the test process.
pub struct OwnCluster {
    server: Server,
    _keeper: ChildStdin,
    _shell: Child,
}

/// What `pg_ctl` needs to act on the cluster; cloned into blocking tasks.
#[derive(Clone)]
struct Server {
    bin: PathBuf,
    dir: PathBuf,
    user: Option<(u32, u32)>,
    port: u16,
}

impl OwnCluster {
    /// Initialises and starts a cluster on a free port. `None` (with the reason printed) when
    /// there is no PostgreSQL here; under `CI=true` that panics instead.
    pub async fn start() -> Option<OwnCluster> {
        let started = tokio::task::spawn_blocking(start_blocking)
            .await
            .unwrap_or_else(|e| Err(format!("starting the cluster panicked: {e}")));
        match started {
            Ok(cluster) => Some(cluster),
            Err(reason) if required() => {
                panic!("CI=true needs PostgreSQL 15 for this test: {reason}")
            }
            Err(reason) => {
                eprintln!("SKIPPED: no PostgreSQL cluster of the test's own: {reason}");
                None
            }
        }
    }

    /// The port the server listens on, the same across restarts.
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// The URL of database `db` (`postgres` always exists) for the user `hub` (trust auth).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://hub@127.0.0.1:{}/{db}", self.server.port)
    }

    /// Creates the empty database `name` and returns its URL.
    pub async fn create_database(&self, name: &str) -> String {
        crate::create_database(self.server.port, name)
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        self.url(name)
    }

    /// `pg_ctl restart -m fast`: every connection is cut, and this returns once the server
    /// accepts connections again.
    pub async fn restart_fast(&self) {
        self.pg_ctl(&["-m", "fast", "restart"]).await;
    }

    /// Stops the server (`-m fast`); the data stays for [`OwnCluster::start_again`].
    pub async fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]).await;
    }

    /// Starts the stopped server again on the same port and data; returns once it accepts
    /// connections.
    pub async fn start_again(&self) {
        let server = self.server.clone();
        tokio::task::spawn_blocking(move || server.start())
            .await
            .expect("pg_ctl start runs")
            .unwrap_or_else(|e| panic!("{e}"));
    }

    async fn pg_ctl(&self, args: &[&str]) {
        let server = self.server.clone();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        tokio::task::spawn_blocking(move || server.pg_ctl(&args))
            .await
            .expect("pg_ctl runs")
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Initialises the data directory, puts it under the watching shell, then starts the server.
fn start_blocking() -> Result<OwnCluster, String> {
    let Initialised { bin, dir, user } = initialise()?;
    let server = Server {
        bin,
        dir,
        user,
        port: free_port()?,
    };
    let (shell, keeper) = server.watch()?;
    // The shell watches from here on: a failed start still has its files removed.
    server.start()?;
    Ok(OwnCluster {
        server,
        _keeper: keeper,
        _shell: shell,
    })
}

impl Server {
    /// The shell that, once its standard input closes, stops the server and removes the files.
    fn watch(&self) -> Result<(Child, ChildStdin), String> {
        let script = r#"
            trap '' INT HUP
            read -r _
            "$1/pg_ctl" -D "$2/data" -m immediate -w stop >/dev/null 2>&1
            rm -rf "$2"
        "#;
        let mut shell = as_server(Command::new("sh"), self.user, &self.dir);
        shell
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&self.bin)
            .arg(&self.dir);
        crate::keep(&mut shell)
    }

    /// `pg_ctl start`, with the options `pg_ctl restart` then reuses.
    fn start(&self) -> Result<(), String> {
        // `fsync=off`: a test cluster's data is thrown away, durability only costs time.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            self.port,
            self.dir.display()
        );
        self.pg_ctl(&["-o".into(), options, "start".into()])
    }

    /// Runs `pg_ctl -D data -w -l log ARGS` as the server's user; `Err` carries its output.
    fn pg_ctl(&self, args: &[String]) -> Result<(), String> {
        // Without `-l` (which `restart` does not remember) the server would write to pg_ctl's
        // output, and reading that to its end would wait for the server to exit.
        let out = as_server(Command::new(self.bin.join("pg_ctl")), self.user, &self.dir)
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-t", PG_CTL_WAIT_SECONDS])
            .args(args)
            .output()
            .map_err(|e| format!("pg_ctl: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "pg_ctl {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::OwnCluster;

    /// One query on a new connection to `url`.
    async fn one(url: &str) -> Result<i32, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let row = client
            .query_one("SELECT count(*)::int FROM kept", &[])
            .await?;
        Ok(row.get(0))
    }

    #[tokio::test]
    async fn restarts_stops_and_starts_again_on_the_same_port_and_data() {
        let Some(cluster) = OwnCluster::start().await else {
            return;
        };
        let url = cluster.create_database("own").await;
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        let connection = tokio::spawn(connection);
        client
            .batch_execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (1), (2)")
            .await
            .expect("a query works");
        assert_eq!(one(&url).await.expect("read"), 2);

        cluster.restart_fast().await;
        assert!(
            client.batch_execute("SELECT 1").await.is_err(),
            "a fast restart cuts open connections"
        );
        let _ = connection.await;
        assert_eq!(one(&url).await.expect("a new connection works"), 2);

        cluster.stop().await;
        assert!(one(&url).await.is_err(), "nothing answers while stopped");

        cluster.start_again().await;
        assert_eq!(one(&url).await.expect("the data is still there"), 2);
        assert!(
            cluster
                .url("x")
                .ends_with(&format!(":{}/x", cluster.port()))
        );
    }
}
