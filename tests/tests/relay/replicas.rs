//! A station of two replicas sharing one PostgreSQL, as docs/scaling.md runs it: hub processes
//! behind the docs' nginx, the relay library in-process posting to a real ngircd through the
//! balancer, and an old-protocol subscriber that resumes with `?since=` after a close.
//!
//! - kill -9 of the replica the relay is on, mid-show: the relay and the subscriber reconnect
//!   through nginx to the other replica; every line reaches IRC and the subscriber once, in order.
//! - a rolling upgrade (SIGTERM A, start A, SIGTERM B, start B) while announcing: the same.
//! - one replica polls SoundCloud and delivers to a target (a Discord fake); kill -9 of it and
//!   the other takes over both; the fake sees each line once.
//! - the database restarted (`pg_ctl restart -m fast`) and the link to it cut for 5 s: announces
//!   during the cut are a clear 503, nothing committed is lost, and the other replica's
//!   subscriber gets what was announced once the link is back.
//!
//! Everything binds 127.0.0.1; every wait is bounded.

use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::cut_proxy::{Cut, CutProxy};
use e2e::fake_target::FakeTarget;
use e2e::hub::{ADMIN_TOKEN, RELAY_TOKEN, TestHub, TestSchedule, spawn_hub};
use e2e::ircd::{Ircd, Observer, Privmsg};
use e2e::nginx::Nginx;
use e2e::wait;
use e2e::wsclient::{self, Event};
use irc_relay::{Relay, RelayHandle};
use serde_json::{Value, json};

const CHANNEL: &str = "#ntr";
const READY: Duration = Duration::from_secs(20);
const LINE: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_secs(2);

/// One replica as a `hub` process; the [`TestHub`] it came from (stopped) keeps its data
/// directory, port, configuration and fake SoundCloud.
struct Proc {
    name: &'static str,
    hub: TestHub,
    child: Option<Child>,
}

impl Proc {
    /// Replica `name` of the station at `db`, with `extra` configuration, started and serving.
    async fn start(db: &str, name: &'static str, extra: &str) -> Proc {
        let toml = format!("[store]\nurl = \"{db}\"\nreplica = \"{name}\"\n{extra}");
        let mut hub = TestHub::start_with(TestSchedule::default(), &toml).await;
        hub.stop().await;
        let mut replica = Proc {
            name,
            hub,
            child: None,
        };
        replica.start_again().await;
        replica
    }

    async fn start_again(&mut self) {
        self.child = Some(spawn_hub(&self.hub.write_config()));
        let url = format!("{}/health", self.hub.url());
        let http = self.hub.http.clone();
        let up = wait::until(READY, async || {
            let ok = http.get(&url).send().await.is_ok_and(|r| r.status() == 200);
            ok.then_some(())
        })
        .await;
        assert!(
            up.is_some(),
            "replica {} did not serve within {READY:?}",
            self.name
        );
    }

    /// kill -9, and reaped.
    fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9");
            child.wait().expect("reaped");
        }
    }

    /// SIGTERM, and waited for (a graceful stop closes its sockets with 1001).
    fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = i32::try_from(child.id()).expect("pid");
            // SAFETY: a plain signal to our own child, which has not been reaped yet.
            assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
            let status = child.wait().expect("reaped");
            assert!(
                status.success(),
                "replica {} exited with {status}",
                self.name
            );
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Announces `text` through `base` (the balancer) with an Idempotency-Key, retrying while the
/// answer is not 200 (a replica going away mid-request): the key makes the retries safe.
async fn announce(http: &reqwest::Client, base: &str, text: &str) -> u64 {
    let key = format!("k-{text}").replace(' ', "-");
    let deadline = tokio::time::Instant::now() + LINE;
    // A plain loop rather than `wait::until`: this future runs in a spawned task.
    loop {
        let sent = http
            .post(format!("{base}/admin/announce"))
            .bearer_auth(ADMIN_TOKEN)
            .header("idempotency-key", &key)
            .json(&json!({ "text": text }))
            .send()
            .await;
        if let Ok(resp) = sent
            && resp.status() == 200
            && let Ok(body) = resp.json::<Value>().await
        {
            return body["seq"].as_u64().expect("seq");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{text}` was not announced within {LINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An old-protocol subscriber through `base` that reconnects with `?since=` after a close;
/// the seqs it received, in order, duplicates included.
fn subscriber(base: String) -> Arc<Mutex<Vec<u64>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut since = 0;
        loop {
            let query = format!("?since={since}");
            let Ok(mut ws) = wsclient::connect(
                &base,
                &query,
                &[("authorization", format!("Bearer {ADMIN_TOKEN}"))],
            )
            .await
            else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            loop {
                match wsclient::next(&mut ws, Duration::from_secs(60)).await {
                    Event::Json(v) if v["type"] == "announce" => {
                        let seq = v["seq"].as_u64().expect("seq");
                        out.lock().expect("seen").push(seq);
                        since = since.max(seq);
                    }
                    Event::Json(_) => {}
                    Event::Closed(_) | Event::Timeout => break,
                }
            }
        }
    });
    seen
}

/// Waits until `seen` holds `want` (bounded), then a little longer for anything extra.
async fn assert_got_once(seen: &Arc<Mutex<Vec<u64>>>, want: &[u64], who: &str) {
    let got = wait::until(LINE, async || {
        let now = seen.lock().expect("seen").clone();
        (now.len() >= want.len()).then_some(now)
    })
    .await;
    tokio::time::sleep(QUIET).await;
    let now = seen.lock().expect("seen").clone();
    assert!(got.is_some(), "{who}: got {now:?}, want {want:?}");
    assert_eq!(now, want, "{who}: every line once, in order");
}

/// A relay through the balancer at `base`, posting to ngircd on `port`; its state in `dir`.
fn relay(base: &str, port: u16, dir: &std::path::Path) -> RelayHandle {
    Relay::start(super::failover::config(
        &[base.to_owned()],
        RELAY_TOKEN,
        dir,
        port,
    ))
}

/// The lines the observer sees within `n` waits of [`LINE`] and a quiet time after.
async fn channel_lines(observer: &mut Observer, n: usize) -> Vec<String> {
    let mut lines: Vec<Privmsg> = Vec::new();
    while lines.len() < n {
        match observer.wait_for_privmsg(LINE).await {
            Some(line) => lines.push(line),
            None => break,
        }
    }
    lines.extend(observer.privmsgs_during(QUIET).await);
    lines.into_iter().map(|l| l.text).collect()
}

/// The replica `/admin/relays` says the relay is connected to.
async fn relay_replica(http: &reqwest::Client, base: &str) -> String {
    let found = wait::until(LINE, async || {
        let relays: Value = http
            .get(format!("{base}/admin/relays"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let relay = relays.as_array()?.iter().find(|r| r["connected"] == true)?;
        relay["replica"].as_str().map(ToOwned::to_owned)
    })
    .await;
    found.expect("the relay shows as connected to a replica")
}

/// Two replicas behind nginx, ngircd with an observer, the relay through nginx (in the
/// channel), and a resuming subscriber through nginx; `None` where a part is missing outside CI.
struct Show {
    a: Proc,
    b: Proc,
    nginx: Nginx,
    _ircd: Ircd,
    observer: Observer,
    _relay: RelayHandle,
    seen: Arc<Mutex<Vec<u64>>>,
    http: reqwest::Client,
    _state: tempfile::TempDir,
}

impl Show {
    async fn start() -> Option<Show> {
        let db = ntr_testpg::fresh_database().await?;
        let ircd = Ircd::start().await?;
        let a = Proc::start(&db, "a", "").await;
        let b = Proc::start(&db, "b", "").await;
        let nginx = Nginx::start(&[a.hub.port, b.hub.port]).await?;
        let observer = Observer::join(ircd.port(), "listener", CHANNEL).await;
        let state = tempfile::tempdir().expect("relay state");
        let relay = relay(&nginx.url(), ircd.port(), state.path());
        relay
            .wait_ready(1, READY)
            .await
            .unwrap_or_else(|s| panic!("relay not ready: {s:?}"));
        let seen = subscriber(nginx.url());
        Some(Show {
            http: a.hub.http.clone(),
            a,
            b,
            nginx,
            _ircd: ircd,
            observer,
            _relay: relay,
            seen,
            _state: state,
        })
    }

    async fn announce(&self, text: &str) -> u64 {
        announce(&self.http, &self.nginx.url(), text).await
    }
}

fn texts(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("line {i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_relays_replica_mid_show_loses_nothing() {
    let Some(mut show) = Show::start().await else {
        return;
    };
    let mut seqs = Vec::new();
    for text in texts(1..=4) {
        seqs.push(show.announce(&text).await);
    }
    assert_eq!(channel_lines(&mut show.observer, 4).await, texts(1..=4));

    let on = relay_replica(&show.http, &show.nginx.url()).await;
    let (victim, survivor) = if on == "a" {
        (&mut show.a, "b")
    } else {
        (&mut show.b, "a")
    };
    victim.kill_9();
    for text in texts(5..=8) {
        seqs.push(show.announce(&text).await);
    }
    assert_eq!(
        channel_lines(&mut show.observer, 4).await,
        texts(5..=8),
        "after the kill: {}",
        show.nginx.error_log()
    );
    assert_got_once(&show.seen, &seqs, "the resuming subscriber").await;
    assert_eq!(relay_replica(&show.http, &show.nginx.url()).await, survivor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_upgrade_while_announcing_loses_nothing() {
    let Some(mut show) = Show::start().await else {
        return;
    };
    let base = show.nginx.url();
    let http = show.http.clone();
    let announcing = tokio::spawn(async move {
        let mut seqs = Vec::new();
        for text in texts(1..=16) {
            seqs.push(announce(&http, &base, &text).await);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        seqs
    });
    for replica in [&mut show.a, &mut show.b] {
        tokio::time::sleep(Duration::from_millis(700)).await;
        replica.terminate();
        replica.start_again().await;
    }
    let seqs = announcing.await.expect("the announcer");
    assert_eq!(channel_lines(&mut show.observer, 16).await, texts(1..=16));
    assert_got_once(&show.seen, &seqs, "the resuming subscriber").await;
}

/// The first replica leads: it polls its SoundCloud and delivers to the Discord fake; the
/// second's SoundCloud hears nothing until the leader is killed, then the second polls and
/// delivers, and the fake has each line once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_polls_and_delivers_and_the_other_takes_over_after_kill_9() {
    let Some(db) = ntr_testpg::fresh_database().await else {
        return;
    };
    let discord = FakeTarget::discord().await;
    let target = format!(
        "[[targets]]\nname = \"discord\"\nkind = \"discord\"\nurl = \"{}\"\n",
        discord.url()
    );
    let mut a = Proc::start(&db, "a", &target).await;
    let b = Proc::start(&db, "b", &target).await;
    let http = a.hub.http.clone();
    let first = announce(&http, &b.hub.url(), "announced on b").await;
    discord.wait_delivered(1, LINE).await;
    assert!(
        !a.hub.soundcloud.requests().is_empty(),
        "the leader polled its SoundCloud"
    );
    tokio::time::sleep(QUIET).await;
    assert!(
        b.hub.soundcloud.requests().is_empty(),
        "a follower does not poll: {:?}",
        b.hub.soundcloud.requests()
    );

    a.kill_9();
    let second = announce(&http, &b.hub.url(), "after the leader died").await;
    let polled = wait::until(Duration::from_secs(15), async || {
        (!b.hub.soundcloud.requests().is_empty()).then_some(())
    })
    .await;
    assert!(polled.is_some(), "the other replica took the poller over");
    discord.wait_delivered(2, Duration::from_secs(30)).await;
    tokio::time::sleep(QUIET).await;
    let contents: Vec<String> = discord
        .delivered()
        .iter()
        .map(|body| body["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(contents.len(), 2, "each line once: {contents:?}");
    assert!(contents[0].contains("announced on b"), "{contents:?}");
    assert!(
        contents[1].contains("after the leader died"),
        "{contents:?}"
    );
    assert!(first < second);
}

/// The database restarted, then the link to it cut for 5 s (a proxy between the replicas and
/// PostgreSQL): announces during the cut are 503 and say what to do; nothing committed is lost;
/// the other replica's subscriber gets each committed line once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_and_a_cut_link_lose_nothing_committed() {
    let Some(cluster) = ntr_testpg::OwnCluster::start().await else {
        return;
    };
    let direct = cluster.create_database("station").await;
    let link = CutProxy::start(cluster.port()).await;
    let db = direct.replace(
        &format!(":{}/", cluster.port()),
        &format!(":{}/", link.port()),
    );
    let toml = |name: &str| format!("[store]\nurl = \"{db}\"\nreplica = \"{name}\"\n");
    let a = TestHub::start_with(TestSchedule::default(), &toml("a")).await;
    let b = TestHub::start_with(TestSchedule::default(), &toml("b")).await;
    let seen = subscriber(b.url());
    let mut seqs = vec![announce(&a.http, &a.url(), "before").await];

    cluster.restart_fast().await;
    seqs.push(announce(&a.http, &a.url(), "after the restart").await);

    link.set(Cut::Down);
    let refused = a
        .http
        .post(format!("{}/admin/announce", a.url()))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"text": "during the cut"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot be reached") && e.contains("Idempotency-Key")),
        "{body}"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    link.set(Cut::Pass);
    seqs.push(announce(&a.http, &a.url(), "after the cut").await);
    assert_got_once(&seen, &seqs, "b's subscriber").await;

    let (client, connection) = tokio_postgres::connect(&direct, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let logged: Vec<String> = client
        .query("SELECT message FROM announcements ORDER BY seq", &[])
        .await
        .expect("log")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(logged, ["before", "after the restart", "after the cut"]);
}
