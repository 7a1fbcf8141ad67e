//! The operator commands against the `hub` binary: `backup` of a hub process that is
//! announcing ~100 times a second, `restore` refused under a running hub and of bad files,
//! restore then restart with seqs that never repeat, a second hub on the same data directory,
//! `check-config` with masked secrets, and `migrate-store` into a real PostgreSQL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::binaries::binary;
use e2e::hub::{
    ADMIN_TOKEN, RELAY_TOKEN, SECRET_KEY, TestHub, announce_text_at, password_hash, spawn_hub,
};
use e2e::wait;
use tokio::sync::{mpsc, watch};

/// Exit code, stdout and stderr of one `hub` command that must finish on its own.
pub(crate) struct Outcome {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) async fn hub_command(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = tokio::process::Command::new(binary("hub"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .kill_on_drop(true);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("NTR_")) {
        cmd.env_remove(key);
    }
    cmd.envs(env.iter().copied());
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("hub {args:?} did not finish within 60 s"))
        .expect("run hub");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn sigterm(mut child: std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = wait::until(Duration::from_secs(20), async || {
        child.try_wait().expect("wait")
    })
    .await
    .expect("the hub stops within 20 s of SIGTERM");
    assert_eq!(exit.code(), Some(0), "SIGTERM is a clean stop");
}

/// A task announcing "load N" about every 10 ms (~100 a second) until stopped, and every
/// (seq, text) it got back.
struct Load {
    acked: mpsc::UnboundedReceiver<(u64, String)>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    sent: Vec<(u64, String)>,
}

impl Load {
    fn start(url: String) -> Load {
        let (tx, acked) = mpsc::unbounded_channel();
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            // Bounded even if the test stops listening: 60 s of announcing at most.
            for i in 0..6000u32 {
                if *stopped.borrow() {
                    return;
                }
                tick.tick().await;
                let text = format!("load {i}");
                let seq = announce_text_at(&http, &url, &text).await;
                if tx.send((seq, text)).is_err() {
                    return;
                }
            }
        });
        Load {
            acked,
            stop,
            task,
            sent: Vec::new(),
        }
    }

    /// Waits for `n` more acknowledged announces.
    async fn take(&mut self, n: usize) {
        for _ in 0..n {
            let acked = self.acked.recv().await.expect("the load keeps announcing");
            self.sent.push(acked);
        }
    }

    /// Collects what was acknowledged meanwhile; returns how many.
    fn drain(&mut self) -> usize {
        let before = self.sent.len();
        while let Ok(acked) = self.acked.try_recv() {
            self.sent.push(acked);
        }
        self.sent.len() - before
    }

    /// Stops announcing; returns every (seq, text) acknowledged.
    async fn finish(mut self) -> Vec<(u64, String)> {
        self.stop.send(true).expect("stop the load");
        (&mut self.task).await.expect("load task");
        self.drain();
        self.sent
    }
}

/// seq → message of every announce in a database file, after checking the file's integrity.
fn announces_in(db: &Path) -> BTreeMap<u64, String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database");
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(verdict, "ok", "{}", db.display());
    let mut stmt = conn
        .prepare("SELECT seq, message FROM announcements ORDER BY seq")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// Every file in `dir` with its bytes: what "untouched" means for a data directory. The lock
/// file is left out: whoever takes the lock writes its pid there.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file() && !p.ends_with("hub.lock"))
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read");
            (p, bytes)
        })
        .collect()
}

/// Takes a backup while `load` announces and checks it: private, intact, every announce up to
/// its last seq with no gap, each as acknowledged. Returns its announces.
async fn backup_during(load: &mut Load, config: &Path, copy: &Path) -> BTreeMap<u64, String> {
    load.take(150).await;
    let backup = hub_command(config, &["backup", copy.to_str().expect("utf-8")], &[]).await;
    let meanwhile = load.drain();
    eprintln!(
        "backup under load: {} ({meanwhile} announces acknowledged while the command ran)",
        backup.stdout.trim(),
    );
    load.take(100).await;
    assert_eq!(backup.code, Some(0), "{}", backup.stderr);
    assert_eq!(mode(copy), 0o600);

    let saved = announces_in(copy);
    let max = *saved.keys().last().expect("the backup holds announces");
    assert!(
        max >= 150,
        "everything acknowledged before the backup is in it"
    );
    assert_eq!(
        saved.keys().copied().collect::<Vec<_>>(),
        (1..=max).collect::<Vec<_>>(),
        "no gaps up to the backup's last seq"
    );
    let acked: BTreeMap<u64, String> = load.sent.iter().cloned().collect();
    for (seq, message) in &saved {
        assert_eq!(Some(message), acked.get(seq), "seq {seq}");
    }
    saved
}

/// After a restore: the backup is `hub.db` (0600, no stale WAL) and the replaced database,
/// with every announce up to `issued`, is kept aside.
fn assert_restored(data: &Path, saved: &BTreeMap<u64, String>, issued: u64) {
    let db = data.join("hub.db");
    assert_eq!(mode(&db), 0o600);
    assert!(
        !data.join("hub.db-wal").exists(),
        "no stale WAL beside the restored file"
    );
    let aside: Vec<PathBuf> = std::fs::read_dir(data)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("hub.db.before-restore-")
                    && !n.ends_with("-wal")
                    && !n.ends_with("-shm")
            })
        })
        .collect();
    assert_eq!(aside.len(), 1, "the old database is kept: {aside:?}");
    assert_eq!(
        announces_in(&aside[0]).keys().last().copied(),
        Some(issued),
        "the kept file still has every announce"
    );
    assert_eq!(
        &announces_in(&db),
        saved,
        "the restored database is the backup"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_load_then_restore_continues_the_seq() {
    let mut hub = TestHub::start().await;
    hub.stop().await;
    let config = hub.write_config();
    let data = hub.data_dir().to_path_buf();
    let backups = tempfile::tempdir().expect("dir");
    let copy = backups.path().join("hub-backup.db");
    let copy_arg = copy.to_str().expect("utf-8");
    let child = spawn_hub(&config);
    wait::until_listening(hub.port, Duration::from_secs(20)).await;

    // A second hub on the same data directory is refused by the lock, before it binds.
    let second = hub_command(&config, &[], &[]).await;
    assert_eq!(second.code, Some(1), "{}", second.stderr);
    assert!(
        second.stderr.contains("already running on data_dir"),
        "{}",
        second.stderr
    );

    let mut load = Load::start(hub.url());
    let saved = backup_during(&mut load, &config, &copy).await;

    // Restore is refused while the hub holds the data directory, and touches nothing.
    let before = snapshot(&data);
    let refused = hub_command(&config, &["restore", copy_arg], &[]).await;
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("stop it first"),
        "{}",
        refused.stderr
    );
    assert!(
        before.keys().eq(snapshot(&data).keys()),
        "no file added or removed"
    );

    let sent = load.finish().await;
    sigterm(child).await;
    let issued = sent.iter().map(|(seq, _)| *seq).max().expect("announced");
    let backed_up = *saved.keys().last().expect("announces");
    assert!(issued > backed_up, "announces went on after the backup");

    let restored = hub_command(&config, &["restore", copy_arg], &[]).await;
    assert_eq!(restored.code, Some(0), "{}", restored.stderr);
    let next_line = format!("next announce gets seq {}", issued + 1);
    assert!(restored.stdout.contains(&next_line), "{}", restored.stdout);
    assert_restored(&data, &saved, issued);

    // The restored hub serves, and seqs continue after every seq ever issued.
    let child = spawn_hub(&config);
    wait::until_listening(hub.port, Duration::from_secs(20)).await;
    let next = announce_text_at(&reqwest::Client::new(), &hub.url(), "after restore").await;
    assert_eq!(next, issued + 1);
    sigterm(child).await;
}

#[tokio::test]
async fn restore_refuses_garbage_and_newer_schemas_and_leaves_the_database_alone() {
    let mut hub = TestHub::start().await;
    hub.announce_text("kept").await;
    hub.stop().await;
    let config = hub.write_config();
    let data = hub.data_dir().to_path_buf();
    let files = tempfile::tempdir().expect("dir");

    let good = files.path().join("good.db");
    let made = hub_command(&config, &["backup", good.to_str().expect("utf-8")], &[]).await;
    assert_eq!(made.code, Some(0), "{}", made.stderr);

    let garbage = files.path().join("garbage.db");
    std::fs::write(&garbage, b"this is not a database, just words ".repeat(200)).expect("write");
    let newer = files.path().join("newer.db");
    std::fs::copy(&good, &newer).expect("copy");
    let newest = hub::schema_version();
    rusqlite::Connection::open(&newer)
        .and_then(|c| c.pragma_update(None, "user_version", newest + 1))
        .expect("bump user_version");

    let before = snapshot(&data);
    for (file, says) in [
        (&garbage, "not a readable SQLite database"),
        (&newer, "newer than this hub's"),
        (&files.path().join("missing.db"), "no backup file"),
    ] {
        let out = hub_command(&config, &["restore", file.to_str().expect("utf-8")], &[]).await;
        assert_eq!(out.code, Some(2), "{}: {}", file.display(), out.stderr);
        assert!(
            out.stderr.contains(says),
            "{}: {}",
            file.display(),
            out.stderr
        );
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        let after = snapshot(&data);
        assert!(
            before.iter().eq(after.iter()),
            "{}: the data directory is as it was",
            file.display()
        );
    }

    let nowhere = hub_command(&config, &["backup", "/nonexistent/dir/b.db"], &[]).await;
    assert_eq!(nowhere.code, Some(2), "{}", nowhere.stderr);
    assert!(
        nowhere.stderr.contains("/nonexistent/dir"),
        "{}",
        nowhere.stderr
    );
    let empty = tempfile::tempdir().expect("dir");
    let no_db = hub_command(
        &config,
        &["backup", good.to_str().expect("utf-8")],
        &[("NTR_HUB__DATA_DIR", empty.path().to_str().expect("utf-8"))],
    )
    .await;
    assert_eq!(no_db.code, Some(2), "{}", no_db.stderr);
    assert!(no_db.stderr.contains("no database at"), "{}", no_db.stderr);
}

#[tokio::test]
async fn check_config_masks_secrets_names_bad_keys_and_writes_nothing() {
    let hub = TestHub::start().await;
    let config = hub.write_config();
    let ok = hub_command(&config, &["check-config"], &[]).await;
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    for secret in [ADMIN_TOKEN, RELAY_TOKEN, SECRET_KEY, password_hash()] {
        assert!(
            !ok.stdout.contains(secret),
            "{secret} leaked: {}",
            ok.stdout
        );
    }
    assert!(
        ok.stdout.contains(&format!(
            "{}…({} chars)",
            &ADMIN_TOKEN[..4],
            ADMIN_TOKEN.len()
        )),
        "{}",
        ok.stdout
    );
    assert!(ok.stdout.contains("a hub is running"), "{}", ok.stdout);

    // A fresh data directory: secrets would be generated by a start, not by the check.
    let fresh = tempfile::tempdir().expect("dir");
    let data = fresh.path().join("data");
    let env = [("NTR_HUB__DATA_DIR", data.to_str().expect("utf-8"))];
    let empty = hub_command(&config, &["check-config"], &env).await;
    assert_eq!(empty.code, Some(0), "{}", empty.stderr);
    assert!(empty.stdout.contains("no database yet"), "{}", empty.stdout);
    assert!(!data.exists(), "check-config created nothing");

    let bad = hub.data_dir().join("bad.toml");
    for (toml, key) in [
        ("[hub]\nadmin_token = \"short\"\n", "hub.admin_token"),
        ("[show]\nhour = 24\n", "show.hour"),
        ("[hub]\nlisten_at = \"x\"\n", "listen_at"),
    ] {
        std::fs::write(&bad, toml).expect("write");
        let out = hub_command(&bad, &["check-config"], &env).await;
        assert_eq!(out.code, Some(2), "{toml}: {}", out.stderr);
        assert!(out.stderr.contains(key), "{toml}: {}", out.stderr);
        assert!(
            !out.stderr.contains("short"),
            "the bad value itself is not echoed: {}",
            out.stderr
        );
    }
    let bad_log = hub_command(&config, &["check-config"], &[("RUST_LOG", "hub=loud=")]).await;
    assert_eq!(bad_log.code, Some(2), "{}", bad_log.stderr);
    assert!(bad_log.stderr.contains("RUST_LOG"), "{}", bad_log.stderr);
}

#[tokio::test]
async fn restore_ends_every_session_even_one_live_in_the_backup() {
    let mut hub = TestHub::start().await;
    let (cookie, _) = e2e::hub::login(&hub.http, &hub.url()).await;
    let dashboard = async |hub: &TestHub| {
        hub.http
            .get(format!("{}/dashboard", hub.url()))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("dashboard")
            .status()
            .as_u16()
    };
    assert_eq!(dashboard(&hub).await, 200);
    hub.stop().await;
    let config = hub.write_config();
    let files = tempfile::tempdir().expect("dir");
    let copy = files.path().join("with-a-session.db");
    let copy_arg = copy.to_str().expect("utf-8");
    let made = hub_command(&config, &["backup", copy_arg], &[]).await;
    assert_eq!(made.code, Some(0), "{}", made.stderr);

    hub.restart().await;
    let out = hub
        .http
        .post(format!("{}/logout", hub.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 303);
    assert_eq!(dashboard(&hub).await, 303, "logged out");
    hub.stop().await;

    let restored = hub_command(&config, &["restore", copy_arg], &[]).await;
    assert_eq!(restored.code, Some(0), "{}", restored.stderr);
    hub.restart().await;
    assert_eq!(
        dashboard(&hub).await,
        303,
        "the backup's live session does not come back"
    );
    let (fresh, _) = e2e::hub::login(&hub.http, &hub.url()).await;
    let status = hub
        .http
        .get(format!("{}/dashboard", hub.url()))
        .header("cookie", &fresh)
        .send()
        .await
        .expect("dashboard")
        .status();
    assert_eq!(status, 200, "a new login works on the restored database");
}

/// `migrate-store`: refused under a running hub, then a copy of the stopped hub with each
/// table's progress, holding every announce and going on with the next seq; a second run into
/// the same database is refused. (What the copy keeps, table by table, is the store's tests'.)
#[tokio::test]
async fn migrate_store_copies_a_stopped_hub_into_postgres_once() {
    let Some(url) = ntr_testpg::fresh_database().await else {
        return;
    };
    let mut hub = TestHub::start().await;
    let mut announced = Vec::new();
    for i in 0..5 {
        let text = format!("line {i}");
        announced.push((hub.announce_text(&text).await, text));
    }
    let config = hub.write_config();
    let args = ["migrate-store", "--to", url.as_str()];
    let running = hub_command(&config, &args, &[]).await;
    assert_eq!(running.code, Some(2), "{}", running.stderr);
    assert!(
        running.stderr.contains("already running"),
        "{}",
        running.stderr
    );
    hub.stop().await;

    let copied = hub_command(&config, &args, &[]).await;
    assert_eq!(copied.code, Some(0), "{}", copied.stderr);
    let progress: Vec<Vec<&str>> = copied
        .stderr
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        progress.contains(&vec!["announcements", "5/5"]),
        "{}",
        copied.stderr
    );
    assert!(
        progress.contains(&vec!["sessions", "0/0"]),
        "{}",
        copied.stderr
    );

    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let rows = db
        .query("SELECT seq, message FROM announcements ORDER BY seq", &[])
        .await
        .expect("log");
    let log: Vec<(u64, String)> = rows
        .iter()
        .map(|r| (r.get::<_, i64>(0).unsigned_abs(), r.get(1)))
        .collect();
    assert_eq!(log, announced);
    let next: i64 = db
        .query_one(
            "SELECT nextval(pg_get_serial_sequence('announcements', 'seq'))",
            &[],
        )
        .await
        .expect("next seq")
        .get(0);
    assert_eq!(next.unsigned_abs(), announced.len() as u64 + 1);

    let again = hub_command(&config, &args, &[]).await;
    assert_eq!(again.code, Some(2), "{}", again.stderr);
    assert!(
        again.stderr.contains("already holds hub data"),
        "{}",
        again.stderr
    );
}
