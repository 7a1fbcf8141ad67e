//! A lean HTTP/1.1 load generator: `connections` keep-alive connections over tokio TcpStreams,
//! each with one request in flight (like wrk), for a warm-up and then a measured window.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

/// What a load run gave.
pub struct Load {
    /// Requests started inside the measured window and answered 200.
    pub ok: usize,
    pub errors: usize,
    pub window: Duration,
    pub latencies: Vec<Duration>,
}

impl Load {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }
}

pub fn run(
    rt: &Runtime,
    addr: SocketAddr,
    path: &str,
    connections: usize,
    warm_up: Duration,
    window: Duration,
) -> Result<Load> {
    let request: Arc<[u8]> =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n")
            .into_bytes()
            .into();
    rt.block_on(async {
        let start = Instant::now() + Duration::from_millis(100);
        let measure_from = start + warm_up;
        let end = measure_from + window;
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                tokio::spawn(connection(
                    addr,
                    Arc::clone(&request),
                    start,
                    measure_from,
                    end,
                ))
            })
            .collect();
        let mut load = Load {
            ok: 0,
            errors: 0,
            window,
            latencies: Vec::new(),
        };
        for task in tasks {
            let (ok, errors, latencies) = task.await.context("load task")??;
            load.ok += ok;
            load.errors += errors;
            load.latencies.extend(latencies);
        }
        Ok(load)
    })
}

type ConnResult = Result<(usize, usize, Vec<Duration>)>;

async fn connection(
    addr: SocketAddr,
    request: Arc<[u8]>,
    start: Instant,
    measure_from: Instant,
    end: Instant,
) -> ConnResult {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    tokio::time::sleep_until(start.into()).await;
    let mut buf = Vec::with_capacity(32 * 1024);
    let (mut ok, mut errors, mut latencies) = (0, 0, Vec::new());
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        stream.write_all(&request).await?;
        let status = tokio::time::timeout(
            Duration::from_secs(10),
            read_response(&mut stream, &mut buf),
        )
        .await
        .context("no response within 10 s")??;
        if sent >= measure_from {
            if status == 200 {
                ok += 1;
                latencies.push(sent.elapsed());
            } else {
                errors += 1;
            }
        }
    }
    Ok((ok, errors, latencies))
}

/// Reads one response with a Content-Length body; returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let (head, length) = loop {
        if let Some(at) = find(buf, b"\r\n\r\n") {
            let head = &buf[..at];
            break (at + 4, content_length(head)?);
        }
        read_more(stream, buf, &mut chunk).await?;
    };
    while buf.len() < head + length {
        read_more(stream, buf, &mut chunk).await?;
    }
    if buf.len() > head + length {
        bail!("more bytes than one response: the server answered out of turn");
    }
    let status = std::str::from_utf8(buf.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .context("bad status line")?;
    Ok(status)
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>, chunk: &mut [u8]) -> Result<()> {
    let n = stream.read(chunk).await?;
    if n == 0 {
        bail!("connection closed");
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Result<usize> {
    let head = std::str::from_utf8(head).context("header is not UTF-8")?;
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .context("response without Content-Length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_content_length() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1234";
        assert_eq!(content_length(head).ok(), Some(1234));
        assert!(content_length(b"HTTP/1.1 200 OK\r\n").is_err());
        assert_eq!(find(b"ab\r\n\r\ncd", b"\r\n\r\n"), Some(2));
    }
}
