//! Part 3: one stalled subscriber among 1,000. The same hub runs rounds with 1,000 reading
//! subscribers, then again after one more subscriber joins that never reads (its receive
//! buffer shrunk to the minimum, so the hub's socket to it fills fast). Lines are long (~2 KB,
//! near the hub's 2,048-byte limit) so that 150 of them (~300 KB) overflow the stalled socket's
//! kernel buffers (the hub asks for 64 KiB of send buffer) well within the rounds. The others must get every line,
//! with latency like before.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::{Ctx, GAP, Rounds, progress};
use crate::report::Row;
use crate::servers::{HubSetup, Server};
use crate::subscribers::{Fleet, Round};

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let n = ctx.size(1_000, 200);
    let rounds = ctx.size(150, 20);
    progress(&format!(
        "stalled: hub with {n} subscribers, {rounds} rounds without and {rounds} with a stalled one"
    ));
    let pad = "x".repeat(1900);
    let setup = HubSetup::new(&ctx.rt, 0)?;
    let mut hub = Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?;
    let fleet = hub.subscribe(&ctx.rt, n)?;
    hub.warm_up(&fleet, "bench warm-up")?;
    let without = series(&mut hub, &fleet, rounds, "without", &pad)?;

    let url = hub.ws_url();
    let mut stalled = ctx.rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(10),
            stalled_subscriber(&url, hub.token()),
        )
        .await
        .context("the stalled subscriber's handshake took over 10 s")?
    })?;
    hub.wait_count(n as u64 + 1)?;
    std::thread::sleep(Duration::from_millis(1500));
    let with = series(&mut hub, &fleet, rounds, "with", &pad)?;

    // Every reading subscriber: the warm-up and every round of both series, no seq jump.
    let expected = 1 + 2 * rounds as u32;
    let (lines, gaps) = fleet.lines();
    let short: u32 = lines.iter().map(|l| expected.saturating_sub(*l)).sum();
    let ended = fleet.ended();
    let dropped = if ctx.quick {
        "not checked (--quick)".to_string()
    } else {
        ctx.rt
            .block_on(dropped_after(&mut stalled, Duration::from_secs(15)))
    };
    drop(fleet);
    hub.proc.stop();

    let without = Rounds::of(&without);
    let with = Rounds::of(&with);
    let allowed = (without.last.p50.mul_f64(1.15)).max(without.last.p50 + Duration::from_millis(1));
    let ok = with.missing == 0 && short == 0 && gaps == 0 && ended == 0 && with.last.p50 <= allowed;
    Ok(vec![
        Row::info(
            format!("3. {n} subscribers, none stalled (~2 KB lines)"),
            without.describe(),
            "(the reference)",
        ),
        Row::new(
            format!("3. {n} subscribers + 1 stalled"),
            format!(
                "{}; lines missed by the others: {short}, with a seq gap: {gaps}, closed: {ended}; stalled socket: {dropped}",
                with.describe()
            ),
            "all lines; last arrival p50 within 15 % (or 1 ms) of none stalled",
            ok,
        ),
    ])
}

fn series(
    hub: &mut Server,
    fleet: &Fleet,
    rounds: usize,
    name: &str,
    pad: &str,
) -> Result<Vec<Round>> {
    let mut done = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let text = format!("bench stalled {name} {i:05} {pad}");
        done.push(hub.announce(fleet, &text, Duration::from_secs(10))?);
        std::thread::sleep(GAP);
    }
    Ok(done)
}

/// A subscriber that completes the handshake and then never reads.
async fn stalled_subscriber(url: &str, token: Option<&str>) -> Result<TcpStream> {
    let rest = url.strip_prefix("ws://").context("ws URL")?;
    let (host, path) = rest.split_once('/').context("ws URL path")?;
    let socket = TcpSocket::new_v4()?;
    // The kernel rounds this up to its minimum (a few KB).
    socket.set_recv_buffer_size(1)?;
    let mut stream = socket.connect(host.parse()?).await?;
    let mut request = format!(
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    // Read the 101 response byte by byte so that no frame after it is consumed.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 4096 || stream.read(&mut byte).await? == 0 {
            bail!("no handshake answer: {}", String::from_utf8_lossy(&head));
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        bail!("handshake refused: {}", String::from_utf8_lossy(&head));
    }
    Ok(stream)
}

/// Drains the stalled socket for at most `limit` and says whether and when the hub closed it.
async fn dropped_after(stream: &mut TcpStream, limit: Duration) -> String {
    let start = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0usize;
    loop {
        match tokio::time::timeout_at((start + limit).into(), stream.read(&mut buf)).await {
            Err(_) => {
                return format!("still open {limit:?} after the rounds ({bytes} bytes queued)");
            }
            Ok(Ok(0) | Err(_)) => {
                let after = start.elapsed();
                return if after < Duration::from_millis(100) {
                    format!(
                        "already closed by the hub when the rounds ended ({bytes} bytes were queued)"
                    )
                } else {
                    format!(
                        "closed by the hub {:.1} s after the rounds ({bytes} bytes were queued)",
                        after.as_secs_f64()
                    )
                };
            }
            Ok(Ok(n)) => bytes += n,
        }
    }
}
