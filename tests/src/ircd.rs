//! A real IRC server (Debian's `ngircd`) per test, plus the test-side IRC pieces around it:
//! an [`Observer`] that joins a channel and reads exactly the bytes listeners would read, a
//! [`Gate`] (a TCP forwarder the test can close, to control *when* a client may reconnect),
//! and a test CA for TLS.
//!
//! ngircd runs in the foreground (`-n`) with a config written into the test's temp dir, on a
//! free 127.0.0.1 port, and is killed on drop. When ngircd is not installed, [`Ircd::start`]
//! returns `None` after printing why (tests then return early), except under `CI=true`, where
//! a missing server is a failure: `scripts/test` installs it.

use std::net::TcpListener as StdTcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long ngircd may take to listen after start (it needs ~0.3 s).
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The ngircd binary: `/usr/sbin/ngircd`, else the first `ngircd` on `PATH`.
pub fn ngircd_binary() -> Option<PathBuf> {
    let sbin = PathBuf::from("/usr/sbin/ngircd");
    if sbin.is_file() {
        return Some(sbin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("ngircd"))
            .find(|candidate| candidate.is_file())
    })
}

/// `None` (with a SKIPPED line) when ngircd is missing outside CI; panics under `CI=true`.
fn require_ngircd() -> Option<PathBuf> {
    match ngircd_binary() {
        Some(binary) => Some(binary),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "ngircd is not installed but CI=true: the relay tests must run (scripts/test installs it)"
            )
        }
        None => {
            eprintln!("SKIPPED: ngircd not installed (scripts/test installs it)");
            None
        }
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0 to find a free port")
}

/// Files of a throwaway CA and a `localhost`/`127.0.0.1` server certificate it signed.
#[derive(Debug, Clone)]
pub struct TestCa {
    pub ca_pem: PathBuf,
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    pub dh_pem: PathBuf,
}

impl TestCa {
    /// Generates the CA and leaf with the `openssl` CLI. rustls rejects a bare self-signed
    /// certificate (CaUsedAsEndEntity), hence the two levels.
    pub fn generate(dir: &Path) -> TestCa {
        let run = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .unwrap_or_else(|e| panic!("running openssl (is it installed?): {e}"));
            assert!(
                output.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let ext = dir.join("leaf.ext");
        std::fs::write(
            &ext,
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .expect("writing leaf.ext");
        run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=ntr test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ]);
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ]);
        // A standard group: without a DHFile ngircd spends seconds generating parameters.
        run(&[
            "genpkey",
            "-genparam",
            "-algorithm",
            "DH",
            "-pkeyopt",
            "group:ffdhe2048",
            "-out",
            "dh.pem",
        ]);
        TestCa {
            ca_pem: dir.join("ca.pem"),
            cert_pem: dir.join("leaf.pem"),
            key_pem: dir.join("leaf.key"),
            dh_pem: dir.join("dh.pem"),
        }
    }
}

/// A running ngircd.
pub struct Ircd {
    binary: PathBuf,
    dir: TempDir,
    port: u16,
    tls: Option<(u16, TestCa)>,
    child: Option<Child>,
}

impl Ircd {
    /// Starts a plaintext ngircd; `None` when ngircd is missing (outside CI).
    pub async fn start() -> Option<Ircd> {
        Self::launch(false).await
    }

    /// Starts ngircd with a plaintext port and a TLS port using a fresh test CA.
    pub async fn start_tls() -> Option<Ircd> {
        Self::launch(true).await
    }

    async fn launch(tls: bool) -> Option<Ircd> {
        let binary = require_ngircd()?;
        let dir = tempfile::tempdir().expect("temp dir for ngircd");
        std::fs::create_dir(dir.path().join("include")).expect("include dir");
        let tls = tls.then(|| (free_port(), TestCa::generate(dir.path())));
        let mut ircd = Ircd {
            binary,
            dir,
            port: free_port(),
            tls,
            child: None,
        };
        ircd.write_config();
        ircd.spawn().await;
        Some(ircd)
    }

    /// The plaintext port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS port, for [`Ircd::start_tls`].
    pub fn tls_port(&self) -> Option<u16> {
        self.tls.as_ref().map(|(port, _)| *port)
    }

    /// The CA that signed the TLS certificate, for [`Ircd::start_tls`].
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|(_, ca)| ca.ca_pem.as_path())
    }

    /// ngircd's own log (stdout and stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ngircd.log")).unwrap_or_default()
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("ngircd.conf")
    }

    fn write_config(&self) {
        let include = self.dir.path().join("include");
        let mut conf = format!(
            "[Global]\nName = irc.test.local\nInfo = ntr test server\nListen = 127.0.0.1\n\
             Ports = {port}\nMotdPhrase = test server\n\
             AdminInfo1 = test\nAdminInfo2 = test\nAdminEMail = test@localhost\n\
             [Limits]\nMaxConnectionsIP = 0\nMaxNickLength = 30\nMaxPenaltyTime = 0\n\
             [Options]\nDNS = no\nIdent = no\nPAM = no\nIncludeDir = {include}\n",
            port = self.port,
            include = include.display(),
        );
        if let Some((tls_port, ca)) = &self.tls {
            conf.push_str(&format!(
                "[SSL]\nPorts = {tls_port}\nCertFile = {}\nKeyFile = {}\nDHFile = {}\n",
                ca.cert_pem.display(),
                ca.key_pem.display(),
                ca.dh_pem.display(),
            ));
        }
        std::fs::write(self.config_path(), conf).expect("writing ngircd.conf");
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("ngircd.log"))
            .expect("ngircd log file");
        let child = Command::new(&self.binary)
            .arg("-n")
            .arg("-f")
            .arg(self.config_path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        let ports = std::iter::once(self.port).chain(self.tls_port());
        for port in ports.collect::<Vec<_>>() {
            while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                if let Some(child) = self.child.as_mut()
                    && let Ok(Some(status)) = child.try_wait()
                {
                    panic!("ngircd exited with {status}:\n{}", self.log());
                }
                assert!(
                    Instant::now() < deadline,
                    "ngircd did not listen on {port}:\n{}",
                    self.log()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Kills the server (every client sees its connection drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same ports after [`Ircd::stop`].
    pub async fn start_again(&mut self) {
        self.stop();
        self.spawn().await;
    }

    /// Kills the server and starts it again on the same ports.
    pub async fn restart(&mut self) {
        self.start_again().await;
    }
}

impl Drop for Ircd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PRIVMSG as a listener received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privmsg {
    /// The whole line as received, `\r\n` included.
    pub raw: Vec<u8>,
    pub from: String,
    pub target: String,
    pub text: String,
    /// When the observer read it.
    pub at: Instant,
}

/// A raw IRC client that joins one channel and reports what arrives there.
pub struct Observer {
    nick: String,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// Every line read so far except PINGs (for QUIT/JOIN assertions).
    pub seen: Vec<String>,
}

impl Observer {
    /// Connects to `127.0.0.1:port`, registers as `nick` and joins `channel` (waits for the
    /// end of the NAMES list, so the observer is in the channel when this returns).
    pub async fn join(port: u16, nick: &str, channel: &str) -> Observer {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("observer connect");
        let (read, writer) = stream.into_split();
        let mut observer = Observer {
            nick: nick.to_string(),
            reader: BufReader::new(read),
            writer,
            seen: Vec::new(),
        };
        observer
            .send(&format!("NICK {nick}\r\nUSER {nick} 0 * :observer\r\n"))
            .await;
        observer
            .read_until(Duration::from_secs(10), |line| command_of(line) == "001")
            .await
            .expect("observer registered");
        observer.send(&format!("JOIN {channel}\r\n")).await;
        observer
            .read_until(Duration::from_secs(10), |line| command_of(line) == "366")
            .await
            .expect("observer joined");
        observer
    }

    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// Sends raw IRC (include the `\r\n`).
    pub async fn send(&mut self, raw: &str) {
        self.writer
            .write_all(raw.as_bytes())
            .await
            .expect("observer write");
    }

    /// Says `text` in `target`.
    pub async fn say(&mut self, target: &str, text: &str) {
        self.send(&format!("PRIVMSG {target} :{text}\r\n")).await;
    }

    /// The next line (raw bytes, `\r\n` included), answering PINGs on the way.
    pub async fn next_line(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut raw = Vec::new();
            let read = tokio::time::timeout_at(deadline, self.reader.read_until(b'\n', &mut raw));
            match read.await {
                Err(_) | Ok(Err(_)) => return None,
                Ok(Ok(0)) => return None,
                Ok(Ok(_)) => {}
            }
            let line = String::from_utf8_lossy(&raw).trim_end().to_string();
            if let Some(token) = line.strip_prefix("PING ") {
                self.send(&format!("PONG {token}\r\n")).await;
                continue;
            }
            self.seen.push(line);
            return Some(raw);
        }
    }

    /// Reads until a line matches; returns it.
    pub async fn read_until(
        &mut self,
        timeout: Duration,
        mut matches: impl FnMut(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let raw = self.next_line(left).await?;
            let line = String::from_utf8_lossy(&raw).trim_end().to_string();
            if matches(&line) {
                return Some(line);
            }
        }
    }

    /// The next PRIVMSG to any target, within `timeout`.
    pub async fn wait_for_privmsg(&mut self, timeout: Duration) -> Option<Privmsg> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let raw = self.next_line(left).await?;
            if let Some(privmsg) = parse_privmsg(&raw) {
                return Some(privmsg);
            }
        }
    }

    /// Every PRIVMSG that arrives within `window`.
    pub async fn privmsgs_during(&mut self, window: Duration) -> Vec<Privmsg> {
        let deadline = Instant::now() + window;
        let mut out = Vec::new();
        while let Some(p) = self
            .wait_for_privmsg(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            out.push(p);
        }
        out
    }

    /// The nicks in `channel` (NAMES), without status prefixes.
    pub async fn names(&mut self, channel: &str) -> Vec<String> {
        self.send(&format!("NAMES {channel}\r\n")).await;
        let mut names = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(raw) = self.next_line(left).await else {
                return names;
            };
            let line = String::from_utf8_lossy(&raw).trim_end().to_string();
            match command_of(&line) {
                "353" => {
                    if let Some((_, list)) = line[1..].split_once(" :") {
                        names.extend(
                            list.split_whitespace()
                                .map(|n| n.trim_start_matches(['@', '+']).to_string()),
                        );
                    }
                }
                "366" => return names,
                _ => {}
            }
        }
    }
}

/// The command (or numeric) of a raw line.
pub fn command_of(line: &str) -> &str {
    let rest = if line.starts_with(':') {
        line.split_once(' ').map_or("", |(_, rest)| rest)
    } else {
        line
    };
    rest.split(' ').next().unwrap_or("")
}

/// Parses `:nick!user@host PRIVMSG target :text\r\n`.
pub fn parse_privmsg(raw: &[u8]) -> Option<Privmsg> {
    let line = std::str::from_utf8(raw).ok()?;
    let line = line
        .strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))?;
    let rest = line.strip_prefix(':')?;
    let (prefix, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix("PRIVMSG ")?;
    let (target, text) = rest.split_once(' ')?;
    let text = text.strip_prefix(':').unwrap_or(text);
    Some(Privmsg {
        raw: raw.to_vec(),
        from: prefix.split('!').next().unwrap_or(prefix).to_string(),
        target: target.to_string(),
        text: text.to_string(),
        at: Instant::now(),
    })
}

/// A TCP forwarder in front of a server. While closed it accepts and at once drops every
/// connection, like a server that is down; while open it forwards bytes both ways. Closing it
/// does not cut connections already forwarded.
pub struct Gate {
    port: u16,
    open: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Gate {
    pub async fn start(upstream_port: u16) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("gate bind");
        let port = listener.local_addr().expect("gate addr").port();
        let open = Arc::new(AtomicBool::new(true));
        let is_open = Arc::clone(&open);
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !is_open.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        Gate { port, open, task }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A scripted IRC server for what ngircd cannot do (SASL): accepts one client and hands the
/// test its lines.
pub struct ScriptedPeer {
    listener: TcpListener,
}

/// One accepted client of a [`ScriptedPeer`].
pub struct PeerClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// Every line received, in order.
    pub received: Vec<String>,
}

impl ScriptedPeer {
    pub async fn bind() -> ScriptedPeer {
        ScriptedPeer {
            listener: TcpListener::bind("127.0.0.1:0").await.expect("peer bind"),
        }
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().expect("peer addr").port()
    }

    pub async fn accept(&self, timeout: Duration) -> PeerClient {
        let (stream, _) = tokio::time::timeout(timeout, self.listener.accept())
            .await
            .expect("client connected in time")
            .expect("accept");
        let (read, writer) = stream.into_split();
        PeerClient {
            reader: BufReader::new(read),
            writer,
            received: Vec::new(),
        }
    }
}

impl PeerClient {
    /// Reads lines until one satisfies `matches`; panics on timeout with what was received.
    pub async fn expect(
        &mut self,
        timeout: Duration,
        mut matches: impl FnMut(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let mut line = String::new();
            match tokio::time::timeout_at(deadline, self.reader.read_line(&mut line)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => panic!("expected line not received; got {:?}", self.received),
            }
            let line = line.trim_end().to_string();
            self.received.push(line.clone());
            if matches(&line) {
                return line;
            }
        }
    }

    pub async fn send(&mut self, raw: &str) {
        self.writer
            .write_all(raw.as_bytes())
            .await
            .expect("peer write");
        let _ = self.writer.flush().await;
    }
}
