//! A real IRC server (Debian's `ngircd`) per test, plus the test-side IRC pieces around it:
//! an [`Observer`] that joins a channel and reads exactly the bytes listeners would read, a
//! [`Gate`] (a TCP forwarder the test can close, to control *when* a client may reconnect),
//! and a test CA for TLS.
//!
//! ngircd runs in the foreground (`-n`) with a config written into the test's temp dir, on a
//! free 127.0.0.1 port, and is killed on drop. When ngircd is not installed, [`Ircd::start`]
//! returns `None` after printing why (tests then return early), except under `CI=true`, where
//! a missing server is a failure: `scripts/test` installs it.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use irc_proto::{Command, Message, Response};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::binaries::require_program;
use crate::net::free_port;

/// How long ngircd may take to listen after start (it needs ~0.3 s).
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an observer may take to register and to join.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

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
            let output = std::process::Command::new("openssl")
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
        let binary = require_program(&["ngircd"], &["/usr/sbin"], "ngircd")?;
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
        let child = std::process::Command::new(&self.binary)
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

impl Privmsg {
    fn of(raw: &[u8], message: &Message, at: Instant) -> Option<Privmsg> {
        let Command::PRIVMSG(target, text) = &message.command else {
            return None;
        };
        Some(Privmsg {
            raw: raw.to_vec(),
            from: message.source_nickname().unwrap_or_default().to_string(),
            target: target.clone(),
            text: text.clone(),
            at,
        })
    }
}

/// A raw IRC client that joins one channel and reports what arrives there.
pub struct Observer {
    nick: String,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// Every message read so far except PINGs (for QUIT/JOIN assertions).
    pub seen: Vec<Message>,
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
            .read_until(JOIN_TIMEOUT, |m| is_response(m, Response::RPL_WELCOME))
            .await
            .expect("observer registered");
        observer.send(&format!("JOIN {channel}\r\n")).await;
        observer
            .read_until(JOIN_TIMEOUT, |m| is_response(m, Response::RPL_ENDOFNAMES))
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

    /// The next line (raw bytes, `\r\n` included) and its message, answering PINGs on the way;
    /// `None` at the deadline or when the server closed the connection.
    async fn next_message(&mut self, deadline: Instant) -> Option<(Vec<u8>, Message)> {
        loop {
            let mut raw = Vec::new();
            let read = tokio::time::timeout_at(deadline, self.reader.read_until(b'\n', &mut raw));
            match read.await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
            let line = String::from_utf8_lossy(&raw);
            let message: Message = line
                .parse()
                .unwrap_or_else(|e| panic!("the server sent a line that is not IRC: {e}"));
            if let Command::PING(token, _) = &message.command {
                self.send(&format!("PONG :{token}\r\n")).await;
                continue;
            }
            self.seen.push(message.clone());
            return Some((raw, message));
        }
    }

    /// Reads until a message matches; returns it.
    pub async fn read_until(
        &mut self,
        timeout: Duration,
        mut matches: impl FnMut(&Message) -> bool,
    ) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        loop {
            let (_, message) = self.next_message(deadline).await?;
            if matches(&message) {
                return Some(message);
            }
        }
    }

    /// The next PRIVMSG to any target, within `timeout`.
    pub async fn wait_for_privmsg(&mut self, timeout: Duration) -> Option<Privmsg> {
        let deadline = Instant::now() + timeout;
        loop {
            let (raw, message) = self.next_message(deadline).await?;
            if let Some(privmsg) = Privmsg::of(&raw, &message, Instant::now()) {
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

    /// The next PRIVMSG from a nick starting with `nick` (`ntrbot` also matches its fallback
    /// `ntrbot_`); panics with what was seen if none comes within `timeout`.
    pub async fn next_privmsg_from(&mut self, nick: &str, timeout: Duration) -> Privmsg {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.wait_for_privmsg(left).await {
                Some(p) if p.from.starts_with(nick) => return p,
                Some(_) => {}
                None => panic!(
                    "no line from {nick} within {timeout:?}; saw {:?}",
                    self.seen
                ),
            }
        }
    }

    /// The PRIVMSGs from a nick starting with `nick` among those that arrive within `window`.
    pub async fn privmsgs_from(&mut self, nick: &str, window: Duration) -> Vec<Privmsg> {
        let mut lines = self.privmsgs_during(window).await;
        lines.retain(|p| p.from.starts_with(nick));
        lines
    }

    /// The nicks in `channel` (NAMES), without status prefixes.
    pub async fn names(&mut self, channel: &str) -> Vec<String> {
        self.send(&format!("NAMES {channel}\r\n")).await;
        let mut names = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Some((_, message)) = self.next_message(deadline).await {
            match &message.command {
                Command::Response(Response::RPL_NAMREPLY, args) => {
                    let list = args.last().map_or("", String::as_str);
                    names.extend(
                        list.split_whitespace()
                            .map(|n| n.trim_start_matches(['@', '+']).to_string()),
                    );
                }
                Command::Response(Response::RPL_ENDOFNAMES, _) => break,
                _ => {}
            }
        }
        names
    }
}

/// Whether `message` is the numeric reply `response`.
fn is_response(message: &Message, response: Response) -> bool {
    matches!(&message.command, Command::Response(r, _) if *r == response)
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
