//! A real IRC network with services, per test: InspIRCd 3 with Atheme 7 linked to it (Debian's
//! `inspircd` and `atheme-services`), on free 127.0.0.1 ports with a temp folder of their own,
//! so SASL PLAIN and NickServ IDENTIFY are tested against what Libera.Chat runs, not a script.
//!
//! Both run in the foreground as children and are killed on drop. InspIRCd's limits are
//! raised (no fake lag, no flood kills, no DNS or ident lookups) so the tests measure the
//! relay, not the server's politeness. [`Services::register`] makes an account the way a
//! person would: `NickServ REGISTER` from a plain client. A [`CountingProxy`] in front of the
//! server tells how often a client connected.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::binaries::require_program;
use crate::net::free_port;
use crate::wait;

/// How long each server may take to come up (InspIRCd listens in ~0.1 s, Atheme links in ~0.2 s).
const START: Duration = Duration::from_secs(15);
/// The services server's name, as InspIRCd links it.
const SERVICES_NAME: &str = "services.localhost";
const LINK_PASSWORD_TO_SERVICES: &str = "insp-to-atheme";
const LINK_PASSWORD_TO_IRCD: &str = "atheme-to-insp";

/// A running InspIRCd with Atheme linked.
pub struct Services {
    dir: TempDir,
    port: u16,
    link_port: u16,
    inspircd: Option<Child>,
    atheme: Option<Child>,
}

impl Services {
    /// Starts both and waits until the client port offers SASL (that is, Atheme is linked);
    /// `None` (after a SKIPPED line) when the packages are missing outside CI.
    pub async fn start() -> Option<Services> {
        let inspircd = require_program(&["inspircd"], &["/usr/sbin"], "inspircd")?;
        let atheme = require_program(&["atheme-services"], &["/usr/sbin"], "atheme-services")?;
        let dir = tempfile::tempdir().expect("temp dir for the IRC network");
        std::fs::create_dir(dir.path().join("atheme-data")).expect("atheme data dir");
        let mut services = Services {
            dir,
            port: free_port(),
            link_port: free_port(),
            inspircd: None,
            atheme: None,
        };
        services.write_configs();
        services.spawn_inspircd(&inspircd).await;
        services.spawn_atheme(&atheme).await;
        Some(services)
    }

    /// The plaintext client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_configs(&self) {
        std::fs::write(self.path("motd"), "ntr test network\n").expect("motd");
        std::fs::write(self.path("inspircd.conf"), self.inspircd_conf()).expect("inspircd.conf");
        std::fs::write(self.path("atheme.conf"), self.atheme_conf()).expect("atheme.conf");
    }

    fn inspircd_conf(&self) -> String {
        let dir = self.dir.path().display();
        format!(
            r#"<config format="xml">
<server name="irc.localhost" description="ntr test server" network="NtrTest">
<admin name="test" nick="test" email="test@localhost">
<bind address="127.0.0.1" port="{port}" type="clients">
<bind address="127.0.0.1" port="{link}" type="servers">
<connect name="main" allow="*" timeout="60" threshold="1000000" commandrate="1000000" fakelag="no" resolvehostnames="no" useident="no" recvq="1M" softsendq="1M" hardsendq="4M" localmax="1000" globalmax="1000" pingfreq="120">
<performance netbuffersize="65534">
<dns server="127.0.0.1" timeout="1">
<pid file="{dir}/inspircd.pid">
<files motd="{dir}/motd">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{dir}/inspircd.log">
<module name="spanningtree">
<module name="services_account">
<module name="cap">
<module name="sasl">
<module name="chghost">
<module name="cban">
<module name="svshold">
<sasl target="{SERVICES_NAME}">
<link name="{SERVICES_NAME}" ipaddr="127.0.0.1" port="{link}" allowmask="127.0.0.0/8" sendpass="{LINK_PASSWORD_TO_SERVICES}" recvpass="{LINK_PASSWORD_TO_IRCD}">
<uline server="{SERVICES_NAME}" silent="yes">
"#,
            port = self.port,
            link = self.link_port,
        )
    }

    fn atheme_conf(&self) -> String {
        let modules = [
            "protocol/inspircd",
            "backend/opensex",
            "crypto/pbkdf2v2",
            "nickserv/main",
            "nickserv/register",
            "nickserv/identify",
            "saslserv/main",
            "saslserv/plain",
        ];
        let mut conf: String = modules
            .iter()
            .map(|m| format!("loadmodule \"modules/{m}\";\n"))
            .collect();
        conf.push_str(&format!(
            r#"serverinfo {{
    name = "{SERVICES_NAME}"; desc = "ntr test services"; numeric = "00A"; recontime = 1;
    netname = "NtrTest"; hidehostsuffix = "users.localhost"; adminname = "test";
    adminemail = "test@localhost"; registeremail = "noreply@localhost";
    loglevel = {{ error; info; admin; network; }};
    maxlogins = 50; maxusers = 0; mdlimit = 30; emaillimit = 10; emailtime = 300;
    auth = none; casemapping = rfc1459;
}};
uplink "irc.localhost" {{
    host = "127.0.0.1"; port = {link};
    send_password = "{LINK_PASSWORD_TO_IRCD}"; receive_password = "{LINK_PASSWORD_TO_SERVICES}";
}};
nickserv {{ nick = "NickServ"; user = "NickServ"; host = "{SERVICES_NAME}"; real = "Nickname Services"; maxnicks = 5; expire = 30; }};
saslserv {{ nick = "SaslServ"; user = "SaslServ"; host = "{SERVICES_NAME}"; real = "SASL Authentication Agent"; }};
general {{ flood_msgs = 0; flood_time = 10; kline_time = 7; commit_interval = 5; uplink_sendq_limit = 1048576; language = "en"; immune_level = immune; }};
"#,
            link = self.link_port,
        ));
        conf
    }

    fn log_file(&self, name: &str) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(name))
            .expect("log file")
    }

    async fn spawn_inspircd(&mut self, binary: &Path) {
        let out = self.log_file("inspircd.out");
        let child = Command::new(binary)
            .arg("--config")
            .arg(self.path("inspircd.conf"))
            .args(["--nofork", "--runasroot"])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        self.inspircd = Some(child);
        wait::until_listening(self.port, START).await;
    }

    async fn spawn_atheme(&mut self, binary: &Path) {
        let out = self.log_file("atheme.out");
        let child = Command::new(binary)
            .arg("-n")
            .arg("-c")
            .arg(self.path("atheme.conf"))
            .arg("-D")
            .arg(self.path("atheme-data"))
            .arg("-l")
            .arg(self.path("atheme.log"))
            .arg("-p")
            .arg(self.path("atheme.pid"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        self.atheme = Some(child);
        let port = self.port;
        // InspIRCd offers the `sasl` capability only while services are linked.
        let linked = wait::until(START, async || offers_sasl(port).await.then_some(())).await;
        assert!(linked.is_some(), "Atheme did not link:\n{}", self.logs());
    }

    /// The servers' own output, for a failing assertion's message.
    pub fn logs(&self) -> String {
        ["inspircd.out", "atheme.out", "atheme.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.path(name)).unwrap_or_default();
                format!("--- {name}\n{text}")
            })
            .collect()
    }

    /// Registers `account` with `password` through `NickServ REGISTER`, as a person would,
    /// and waits for services to log the new account in (numeric 900).
    pub async fn register(&self, account: &str, password: &str) {
        let mut client = RawClient::connect(self.port).await;
        client
            .send(&format!("NICK {account}\r\nUSER {account} 0 * :test\r\n"))
            .await;
        client.until(" 001 ").await;
        client
            .send(&format!(
                "PRIVMSG NickServ :REGISTER {password} {account}@example.org\r\n"
            ))
            .await;
        client.until(" 900 ").await;
        client.send("QUIT\r\n").await;
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for child in [self.atheme.take(), self.inspircd.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether the server at `port` lists `sasl` in `CAP LS`.
async fn offers_sasl(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let mut client = RawClient::new(stream);
    client.send("CAP LS 302\r\n").await;
    let line = client.line_with(" LS ", Duration::from_secs(2)).await;
    line.is_some_and(|l| {
        l.split([' ', ':'])
            .any(|cap| cap == "sasl" || cap.starts_with("sasl="))
    })
}

/// A plain line-based IRC client for set-up steps.
struct RawClient {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl RawClient {
    async fn connect(port: u16) -> RawClient {
        RawClient::new(
            TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect to the ircd"),
        )
    }

    fn new(stream: TcpStream) -> RawClient {
        let (read, writer) = stream.into_split();
        RawClient {
            reader: BufReader::new(read),
            writer,
        }
    }

    async fn send(&mut self, raw: &str) {
        self.writer
            .write_all(raw.as_bytes())
            .await
            .expect("write to the ircd");
    }

    /// The next line containing `needle` within `limit`, answering PINGs meanwhile.
    async fn line_with(&mut self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout_at(deadline, self.reader.read_line(&mut line)).await;
            match read {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
            if let Some(token) = line.strip_prefix("PING ") {
                self.send(&format!("PONG {token}")).await;
            } else if line.contains(needle) {
                return Some(line);
            }
        }
    }

    async fn until(&mut self, needle: &str) {
        let found = self.line_with(needle, START).await;
        assert!(found.is_some(), "no line with {needle:?} from the ircd");
    }
}

/// A TCP forwarder to 127.0.0.1:`upstream` that counts the connections made through it.
pub struct CountingProxy {
    port: u16,
    count: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl CountingProxy {
    pub async fn start(upstream: u16) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let count = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&count);
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        CountingProxy { port, count, task }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
