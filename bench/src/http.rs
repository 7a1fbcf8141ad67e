//! A minimal blocking HTTP/1.1 keep-alive client for the control requests (announce, refresh,
//! health, the floor's trigger). Blocking on purpose: it runs on the coordinator thread, so its
//! timing never waits on the subscriber runtime, however busy that is.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};

const IO_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Http {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

/// Status and body of a response.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).context("response body is not JSON")
    }
}

impl Http {
    pub fn new(addr: SocketAddr) -> Http {
        Http { addr, conn: None }
    }

    pub fn get(&mut self, path: &str) -> Result<Response> {
        self.request("GET", path, None, b"")
    }

    /// POST with a JSON body and, when given, `Authorization: Bearer <token>`.
    pub fn post(&mut self, path: &str, token: Option<&str>, body: &[u8]) -> Result<Response> {
        self.request("POST", path, token, body)
    }

    /// Sends one request; reconnects once if a kept-alive connection turned out to be closed.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> Result<Response> {
        let mut raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(token) = token {
            raw.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        raw.push_str("\r\n");
        let mut raw = raw.into_bytes();
        raw.extend_from_slice(body);
        let reused = self.conn.is_some();
        match self.exchange(&raw) {
            Ok(r) => Ok(r),
            Err(_) if reused => {
                self.conn = None;
                self.exchange(&raw)
            }
            Err(e) => Err(e),
        }
    }

    fn exchange(&mut self, raw: &[u8]) -> Result<Response> {
        if self.conn.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT)
                .with_context(|| format!("connect to {}", self.addr))?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(IO_TIMEOUT))?;
            stream.set_write_timeout(Some(IO_TIMEOUT))?;
            self.conn = Some(BufReader::new(stream));
        }
        let Some(conn) = self.conn.as_mut() else {
            bail!("no connection");
        };
        let result = write_and_read(conn, raw);
        match &result {
            Ok((_, keep)) if *keep => {}
            _ => self.conn = None,
        }
        result.map(|(r, _)| r)
    }
}

/// Writes the request and reads one response; the flag says whether the connection stays open.
fn write_and_read(conn: &mut BufReader<TcpStream>, raw: &[u8]) -> Result<(Response, bool)> {
    conn.get_mut().write_all(raw).context("write request")?;
    let mut line = String::new();
    conn.read_line(&mut line).context("read status line")?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {line:?}"))?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut keep = true;
    loop {
        line.clear();
        if conn.read_line(&mut line).context("read header")? == 0 {
            bail!("connection closed in the headers");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => keep = !value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let body = if chunked {
        read_chunked(conn)?
    } else if let Some(n) = length {
        let mut body = vec![0; n];
        conn.read_exact(&mut body).context("read body")?;
        body
    } else {
        keep = false;
        let mut body = Vec::new();
        conn.read_to_end(&mut body).context("read body to close")?;
        body
    };
    Ok((Response { status, body }, keep))
}

fn read_chunked(conn: &mut BufReader<TcpStream>) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    for _ in 0..100_000 {
        line.clear();
        conn.read_line(&mut line).context("read chunk size")?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .with_context(|| format!("bad chunk size {line:?}"))?;
        if size == 0 {
            line.clear();
            conn.read_line(&mut line).context("read last CRLF")?;
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size + 2, 0);
        conn.read_exact(&mut body[start..]).context("read chunk")?;
        body.truncate(start + size);
    }
    bail!("too many chunks")
}
