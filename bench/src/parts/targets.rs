//! Part 11: delivery targets must not slow the POST answer or the WebSocket fan-out. With N
//! subscribers, the same hub config with four `[[targets]]` of kind `webhook` (three local
//! receivers answering 204 at once, one that accepts and never answers) against none, hub
//! processes alternating in blocks: POST answer time, fan-out last arrival, and the time from
//! sending the announce until each receiver has its body.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::task::JoinHandle;

use super::{Ctx, GAP, Rounds, progress};
use crate::report::{Row, Summary, ms};
use crate::servers::{HubSetup, Server};
use crate::subscribers::{Round, announce_seq};

/// Fast receivers; one more target hangs.
const FAST: usize = 3;
/// The POST's p99 with targets may exceed the one without by this factor or by [`SLACK`],
/// whichever is larger, and never [`LIMIT`].
const MAX_FACTOR: f64 = 1.5;
const SLACK: Duration = Duration::from_millis(2);
const LIMIT: Duration = Duration::from_millis(5);
const MAX_FANOUT_RATIO: f64 = 1.15;
/// How long a block waits after its last round for the webhooks still on their way.
const WEBHOOK_WAIT: Duration = Duration::from_secs(5);

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let n = ctx.size(10_000, 1_000);
    // 200 POSTs per configuration: with fewer, p99 is the slowest one or two and says more
    // about this machine than about the targets.
    let rounds = ctx.size(50, 10);
    let blocks = ctx.size(4, 1);
    let receivers = Receivers::start(ctx)?;
    let toml = receivers.targets_toml();
    let (mut none, mut with) = (Vec::new(), Vec::new());
    let mut webhook = Vec::new();
    let mut webhook_missing = 0;
    for block in 1..=blocks {
        progress(&format!(
            "targets: no targets, {n} subscribers, block {block}/{blocks}: {rounds} rounds"
        ));
        let setup = HubSetup::new(&ctx.rt, 0)?;
        none.extend(measure(ctx, &setup, (n, rounds), None)?.0);
        progress(&format!(
            "targets: 4 webhook targets (1 hung), {n} subscribers, block {block}/{blocks}: {rounds} rounds"
        ));
        let setup = HubSetup::with_toml(&ctx.rt, 0, &toml)?;
        receivers.clear();
        let (done, (got, missing)) = measure(ctx, &setup, (n, rounds), Some(&receivers))?;
        with.extend(done);
        webhook.extend(got);
        webhook_missing += missing;
    }
    receivers.stop();
    Ok(rows(
        n,
        &Rounds::of(&none),
        &Rounds::of(&with),
        (Summary::of(webhook), webhook_missing),
    ))
}

/// Starts a hub on `setup`, connects `n` subscribers, runs `rounds` announces; with
/// `receivers`, waits for their webhooks before the hub stops and returns their latencies and
/// how many never came.
fn measure(
    ctx: &Ctx,
    setup: &HubSetup,
    (n, rounds): (usize, usize),
    receivers: Option<&Receivers>,
) -> Result<(Vec<Round>, Webhooks)> {
    let mut hub = Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?;
    let fleet = hub.subscribe(&ctx.rt, n)?;
    hub.warm_up(&fleet, "bench warm-up")?;
    let mut done = Vec::with_capacity(rounds);
    let mut sent = HashMap::with_capacity(rounds);
    for i in 0..rounds {
        let text = format!(
            "Now Playing: Song #{i}: Bench track by Bench Artist - https://soundcloud.com/bench/track-{i:05}"
        );
        sent.insert(hub.next_seq(), Instant::now());
        done.push(hub.announce(&fleet, &text, Duration::from_secs(10))?);
        std::thread::sleep(GAP);
    }
    let webhooks = receivers.map_or((Vec::new(), 0), |r| r.latencies(&sent, WEBHOOK_WAIT));
    drop(fleet);
    hub.proc.stop();
    Ok((done, webhooks))
}

/// Webhook latencies, and how many webhooks never came.
type Webhooks = (Vec<Duration>, usize);

/// When each fast receiver got each announce's body: (receiver, seq, instant).
type Arrivals = Arc<Mutex<Vec<(usize, u64, Instant)>>>;

/// The local HTTP receivers the targets point at, served by the bench's runtime.
struct Receivers {
    fast: Vec<SocketAddr>,
    hung: SocketAddr,
    arrivals: Arrivals,
    tasks: Vec<JoinHandle<()>>,
}

impl Receivers {
    fn start(ctx: &Ctx) -> Result<Receivers> {
        let arrivals: Arrivals = Arc::default();
        let mut tasks = Vec::new();
        let mut fast = Vec::new();
        for idx in 0..FAST {
            let listener = ctx
                .rt
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
            fast.push(listener.local_addr()?);
            let app = Router::new()
                .route("/", post(receive))
                .with_state((idx, Arc::clone(&arrivals)));
            tasks.push(ctx.rt.spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
        }
        let listener = ctx
            .rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let hung = listener.local_addr()?;
        tasks.push(ctx.rt.spawn(hang(listener)));
        Ok(Receivers {
            fast,
            hung,
            arrivals,
            tasks,
        })
    }

    fn targets_toml(&self) -> String {
        let mut toml = String::new();
        for (i, addr) in self.fast.iter().enumerate() {
            toml.push_str(&format!(
                "[[targets]]\nname = \"hook{i}\"\nkind = \"webhook\"\nurl = \"http://{addr}/\"\nsecret = \"bench-secret-{i}\"\n\n"
            ));
        }
        toml.push_str(&format!(
            "[[targets]]\nname = \"hung\"\nkind = \"webhook\"\nurl = \"http://{}/\"\n",
            self.hung
        ));
        toml
    }

    fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, u64, Instant)>> {
        self.arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Per fast receiver and measured announce: from its POST until the receiver had the body.
    /// Waits up to `wait` for all of them; also returns how many never came.
    fn latencies(&self, sent: &HashMap<u64, Instant>, wait: Duration) -> Webhooks {
        let expected = sent.len() * FAST;
        let deadline = Instant::now() + wait;
        loop {
            let got: Vec<Duration> = self
                .lock()
                .iter()
                .filter_map(|(_, seq, at)| sent.get(seq).map(|t| at.saturating_duration_since(*t)))
                .collect();
            if got.len() >= expected || Instant::now() >= deadline {
                let missing = expected.saturating_sub(got.len());
                return (got, missing);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A fast receiver: stamps the body's announce at once and answers 204.
async fn receive(State((idx, arrivals)): State<(usize, Arrivals)>, body: String) -> StatusCode {
    let at = Instant::now();
    if let Some(seq) = announce_seq(&body) {
        arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((idx, seq, at));
    }
    StatusCode::NO_CONTENT
}

/// The hung target: accepts and never reads or answers. Hand-written rather than an axum
/// handler that never returns, so aborting this one task closes every socket it holds.
async fn hang(listener: tokio::net::TcpListener) {
    let mut held = Vec::new();
    while let Ok((stream, _)) = listener.accept().await {
        held.push(stream);
    }
}

fn rows(n: usize, none: &Rounds, with: &Rounds, webhook: (Summary, usize)) -> Vec<Row> {
    let (t, z) = (&with.response, &none.response);
    let bound = z.p99.mul_f64(MAX_FACTOR).max(z.p99 + SLACK);
    let post_ok = t.p99 <= bound && t.p99 <= LIMIT;
    let ratio = with.last.p50.as_secs_f64() / none.last.p50.as_secs_f64().max(1e-9);
    let (w, w_missing) = webhook;
    let mut w_text = format!(
        "p50 {}, p99 {}, max {} (n={}; {FAST} receivers × {} announces)",
        ms(w.p50),
        ms(w.p99),
        ms(w.max),
        w.n,
        with.rounds
    );
    if w_missing > 0 {
        w_text.push_str(&format!("; {w_missing} MISSING after {WEBHOOK_WAIT:?}"));
    }
    vec![
        Row::new(
            "11. POST announce with 4 targets (1 hung) vs none: p50/p99",
            format!(
                "targets p50 {} p99 {} vs none p50 {} p99 {} ({n} subscribers, {} rounds each)",
                ms(t.p50),
                ms(t.p99),
                ms(z.p50),
                ms(z.p99),
                with.rounds
            ),
            "p99 ≤ max(1.5 × none, none + 2 ms) and ≤ 5 ms",
            post_ok,
        ),
        Row::new(
            "11. fan-out last arrival with targets vs none",
            format!(
                "p50 {} vs {} (= {ratio:.2} ×); with targets: {}",
                ms(with.last.p50),
                ms(none.last.p50),
                with.describe()
            ),
            "≤ 1.15 × none",
            ratio <= MAX_FANOUT_RATIO && with.missing == 0 && none.missing == 0,
        ),
        Row::info(
            "11. announce → webhook received: p50/p99",
            w_text,
            "(context)",
        ),
    ]
}
