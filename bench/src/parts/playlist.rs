//! Part 5: `GET /playlist` throughput and p99 with 64 keep-alive connections (the issue's
//! figure; the target table says 50) for ~5 s, the current show holding 20 tracks from the fake
//! SoundCloud after a refresh.

use std::time::Duration;

use anyhow::{Result, bail};

use super::{Ctx, progress};
use crate::http::Http;
use crate::report::{Row, Summary, ms};
use crate::servers::HubSetup;

const CONNECTIONS: usize = 64;
const TRACKS: i64 = 20;

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let window = ctx.size(Duration::from_secs(5), Duration::from_secs(2));
    progress(&format!(
        "playlist: {CONNECTIONS} connections for {window:?} against a show of {TRACKS} tracks"
    ));
    let setup = HubSetup::new(&ctx.rt, TRACKS)?;
    let hub = setup.start(ctx.cpus.server)?;
    let mut http = Http::new(setup.addr())?;
    let refresh = http.post("/admin/refresh", Some(e2e::hub::ADMIN_TOKEN), b"{}")?;
    if refresh.status != 200 {
        bail!("refresh answered {}", refresh.status);
    }
    let show = http.get("/playlist")?;
    let tracks = show.json::<ntr_protocol::Show>()?.tracks.len();
    let bytes = show.body.len();
    let load = crate::loadgen::run(
        &ctx.rt,
        setup.addr(),
        "/playlist",
        CONNECTIONS,
        Duration::from_millis(500),
        window,
    )?;
    hub.stop();
    let rate = load.per_second();
    let errors = load.errors;
    let s = Summary::of(load.latencies);
    let what = format!("5. GET /playlist, {CONNECTIONS} connections ({tracks} tracks, {bytes} B)");
    let mut measured = format!("{rate:.0} req/s over {window:?}");
    if errors > 0 {
        measured.push_str(&format!(", {errors} non-200"));
    }
    Ok(vec![
        Row::new(
            format!("{what}: throughput"),
            measured,
            "≥ 20,000 req/s (target: at 50 connections)",
            rate >= 20_000.0 && errors == 0,
        ),
        Row::new(
            format!("{what}: latency"),
            format!("p50 {}, p99 {}, max {}", ms(s.p50), ms(s.p99), ms(s.max)),
            "p99 ≤ 5 ms",
            s.p99 <= Duration::from_millis(5),
        ),
    ])
}
