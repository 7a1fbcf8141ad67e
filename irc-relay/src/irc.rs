//! The IRC side: one connection at a time, in its own reconnect loop.
//!
//! The `irc` crate gives us a connected socket, PING answers, NickServ IDENTIFY, the
//! alternative nicknames and the auto-join; everything else is here (see STACK-NOTES): the
//! reconnect loop, SASL PLAIN by hand, flood control through the [`Outbox`], and the rule that
//! a PRIVMSG leaves only as an [`IrcLine`].
//!
//! The outbox and the last announce live outside a connection, so lines that arrive while the
//! server is down wait for the next connection (until their replay window ends).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures_util::StreamExt;
use irc::client::prelude::{Client, Command as IrcCommand, Message, Prefix, Response};
use irc::client::{ClientStream, Sender};
use irc::proto::CapSubCommand;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::commands::{self, Answerer, Command, Cooldown};
use crate::config::Config;
use crate::hub::{Ack, Announce};
use crate::line::{self, IrcLine};
use crate::outbox::{Outbox, Pending};
use crate::relay::Status;
use crate::shutdown::Shutdown;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// From TCP connect to RPL_WELCOME; a server that never finishes registration is dead to us.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);
/// A command reply later than this (e.g. after a reconnect) is no longer an answer.
const REPLY_LIFETIME: Duration = Duration::from_secs(30);
/// How long QUIT may take to reach the server on shutdown.
const QUIT_GRACE: Duration = Duration::from_secs(2);
pub const QUIT_MESSAGE: &str = "Relay shutting down";
/// SASL splits its base64 payload into lines of this many bytes (IRCv3 sasl-3.1).
const SASL_CHUNK: usize = 400;

/// A command answer ready to go out.
#[derive(Debug)]
struct Reply {
    target: String,
    text: String,
}

#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error("shutting down")]
    Shutdown,
    #[error(transparent)]
    Irc(#[from] irc::error::Error),
    #[error("{0}")]
    Lost(String),
}

/// State that survives reconnects.
struct Carry {
    outbox: Outbox,
    last_announce: Option<String>,
    cooldown: Cooldown,
}

impl Carry {
    fn accept_announce(&mut self, channels: &[String], announce: Announce) {
        self.last_announce = Some(announce.message.clone());
        for channel in channels {
            let pending = Pending {
                text: announce.message.clone(),
                seq: Some(announce.seq),
                expires: announce.expires,
            };
            if let Some(dropped) = self.outbox.push(channel, pending) {
                tracing::warn!(channel, seq = ?dropped.seq, "queue full; dropped the oldest line");
            }
        }
    }

    fn accept_reply(&mut self, reply: Reply) {
        let pending = Pending {
            text: reply.text,
            seq: None,
            expires: Instant::now() + REPLY_LIFETIME,
        };
        self.outbox.push(&reply.target, pending);
    }
}

/// What we know of ourselves on the current connection.
struct Session {
    sender: Sender,
    nick: String,
    /// `user` and `host` as the server shows them, once it has.
    user_host: Option<(String, String)>,
    registered: bool,
    joined: HashSet<String>,
    sasl_done: bool,
}

impl Session {
    fn prefix_len(&self) -> usize {
        match &self.user_host {
            Some((user, host)) => line::prefix_len(&self.nick, user, host),
            None => line::estimated_prefix_len(&self.nick),
        }
    }

    fn is_me(&self, nick: &str) -> bool {
        nick.eq_ignore_ascii_case(&self.nick)
    }
}

pub(crate) struct IrcTask {
    pub config: Arc<Config>,
    pub announces: mpsc::Receiver<Announce>,
    pub acks: mpsc::Sender<Ack>,
    pub status: Arc<watch::Sender<Status>>,
    pub shutdown: Shutdown,
}

impl IrcTask {
    pub async fn run(mut self) {
        let irc = &self.config.irc;
        let relay = &self.config.relay;
        let mut backoff = Backoff::new(relay.reconnect_initial, relay.reconnect_max);
        let mut carry = Carry {
            outbox: Outbox::new(irc.flood_burst, irc.flood_lines_per_second, irc.queue_limit),
            last_announce: None,
            cooldown: Cooldown::new(irc.command_cooldown),
        };
        let answerer = Answerer::new(
            relay.hub_url.clone(),
            relay.public_url.clone(),
            irc.command_prefix.clone(),
        );
        let (reply_tx, mut reply_rx) = mpsc::channel::<Reply>(64);

        loop {
            let end = self
                .connection(
                    &mut carry,
                    &mut backoff,
                    &answerer,
                    &reply_tx,
                    &mut reply_rx,
                )
                .await;
            self.status.send_modify(|s| {
                s.irc_registered = false;
                s.joined.clear();
            });
            match end {
                SessionEnd::Shutdown => return,
                other => tracing::warn!(reason = %other, "IRC connection failed or lost"),
            }
            let delay = backoff.next_delay();
            tracing::info!(?delay, "reconnecting to IRC");
            let wake = Instant::now() + delay;
            // Keep taking announces while waiting, so the hub side never blocks on us.
            loop {
                tokio::select! {
                    _ = self.shutdown.recv() => return,
                    _ = tokio::time::sleep_until(wake) => break,
                    Some(a) = self.announces.recv() => carry.accept_announce(&self.config.irc.channels, a),
                    Some(r) = reply_rx.recv() => carry.accept_reply(r),
                }
            }
        }
    }

    /// Connects, registers and serves one connection until it ends.
    async fn connection(
        &mut self,
        carry: &mut Carry,
        backoff: &mut Backoff,
        answerer: &Answerer,
        reply_tx: &mpsc::Sender<Reply>,
        reply_rx: &mut mpsc::Receiver<Reply>,
    ) -> SessionEnd {
        let irc_config = client_config(&self.config);
        tracing::info!(
            server = %self.config.irc.server,
            port = self.config.irc.port,
            tls = self.config.irc.tls,
            "connecting to IRC"
        );
        let connect = tokio::time::timeout(CONNECT_TIMEOUT, Client::from_config(irc_config));
        tokio::pin!(connect);
        let mut client = loop {
            tokio::select! {
                _ = self.shutdown.recv() => return SessionEnd::Shutdown,
                result = &mut connect => match result {
                    Err(_) => return SessionEnd::Lost("connect timed out".into()),
                    Ok(Err(e)) => return SessionEnd::Irc(e),
                    Ok(Ok(client)) => break client,
                },
                Some(a) = self.announces.recv() => carry.accept_announce(&self.config.irc.channels, a),
                Some(r) = reply_rx.recv() => carry.accept_reply(r),
            }
        };
        let mut stream = match client.stream() {
            Ok(stream) => stream,
            Err(e) => return SessionEnd::Irc(e),
        };
        let mut session = Session {
            sender: client.sender(),
            nick: self.config.irc.nickname.clone(),
            user_host: None,
            registered: false,
            joined: HashSet::new(),
            sasl_done: self.config.irc.sasl_password.is_none(),
        };
        if let Err(e) = self.register(&client) {
            return SessionEnd::Irc(e);
        }
        let end = self
            .serve(
                &mut stream,
                &mut session,
                carry,
                backoff,
                answerer,
                reply_tx,
                reply_rx,
            )
            .await;
        if let SessionEnd::Shutdown = end {
            quit(&mut stream, &session.sender).await;
        }
        end
    }

    /// NICK/USER, preceded by `CAP REQ :sasl` when SASL is configured. `identify()` would send
    /// `CAP END` first and so skip SASL (see STACK-NOTES).
    fn register(&self, client: &Client) -> Result<(), irc::error::Error> {
        if self.config.irc.sasl_password.is_none() {
            return client.identify();
        }
        client.send(IrcCommand::CAP(
            None,
            CapSubCommand::REQ,
            None,
            Some("sasl".into()),
        ))?;
        client.send(IrcCommand::NICK(self.config.irc.nickname.clone()))?;
        client.send(IrcCommand::USER(
            self.config.irc.nickname.clone(),
            "0".into(),
            REALNAME.into(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    async fn serve(
        &mut self,
        stream: &mut ClientStream,
        session: &mut Session,
        carry: &mut Carry,
        backoff: &mut Backoff,
        answerer: &Answerer,
        reply_tx: &mpsc::Sender<Reply>,
        reply_rx: &mut mpsc::Receiver<Reply>,
    ) -> SessionEnd {
        let registration_deadline = Instant::now() + REGISTRATION_TIMEOUT;
        loop {
            let due = carry.outbox.next_due(Instant::now(), &session.joined);
            tokio::select! {
                _ = self.shutdown.recv() => return SessionEnd::Shutdown,
                message = stream.next() => match message {
                    None => return SessionEnd::Lost("server closed the connection".into()),
                    Some(Err(e)) => return SessionEnd::Irc(e),
                    Some(Ok(message)) => {
                        if let Err(e) = self.handle(message, session, carry, backoff, answerer, reply_tx) {
                            return e;
                        }
                    }
                },
                Some(a) = self.announces.recv() => carry.accept_announce(&self.config.irc.channels, a),
                Some(r) = reply_rx.recv() => carry.accept_reply(r),
                _ = sleep_until_some(due) => {
                    if let Err(e) = self.flush(session, carry) {
                        return e;
                    }
                }
                _ = tokio::time::sleep_until(registration_deadline), if !session.registered => {
                    return SessionEnd::Lost("registration timed out".into());
                }
            }
        }
    }

    /// Sends every line the flood control lets through now.
    fn flush(&self, session: &Session, carry: &mut Carry) -> Result<(), SessionEnd> {
        let (due, expired) = carry.outbox.take_due(Instant::now(), &session.joined);
        for (target, line) in expired {
            tracing::warn!(target, seq = ?line.seq, "dropped a line older than the replay window");
        }
        let prefix_len = session.prefix_len();
        for (target, pending) in due {
            let Some(line) = IrcLine::privmsg(&target, &pending.text, prefix_len) else {
                tracing::warn!(target, seq = ?pending.seq, "nothing printable left to post");
                continue;
            };
            session.sender.send(line.into_command())?;
            self.status.send_modify(|s| s.lines_sent += 1);
            if let Some(seq) = pending.seq {
                tracing::info!(target, seq, "posted");
                // Acks are informational; if the hub side is backed up, skip it.
                let _ = self.acks.try_send(Ack { seq, target });
            }
        }
        Ok(())
    }

    fn handle(
        &mut self,
        message: Message,
        session: &mut Session,
        carry: &mut Carry,
        backoff: &mut Backoff,
        answerer: &Answerer,
        reply_tx: &mpsc::Sender<Reply>,
    ) -> Result<(), SessionEnd> {
        let source = message.source_nickname().map(str::to_string);
        match &message.command {
            IrcCommand::Response(Response::RPL_WELCOME, args) => {
                if let Some(nick) = args.first() {
                    session.nick = nick.clone();
                }
                session.registered = true;
                backoff.connected();
                tracing::info!(nick = %session.nick, "registered on IRC");
                let nick = session.nick.clone();
                self.status.send_modify(|s| {
                    s.irc_registered = true;
                    s.nickname = Some(nick);
                });
            }
            IrcCommand::JOIN(channel, _, _)
                if source.as_deref().is_some_and(|n| session.is_me(n)) =>
            {
                // The echo of our own JOIN shows the prefix the server puts on our lines.
                if let Some(Prefix::Nickname(_, user, host)) = &message.prefix
                    && !user.is_empty()
                    && !host.is_empty()
                {
                    session.user_host = Some((user.clone(), host.clone()));
                }
                let channel = self.configured(channel);
                tracing::info!(%channel, "joined");
                session.joined.insert(channel.clone());
                self.status.send_modify(|s| {
                    if !s.joined.contains(&channel) {
                        s.joined.push(channel);
                    }
                });
            }
            IrcCommand::PART(channel, _) if source.as_deref().is_some_and(|n| session.is_me(n)) => {
                self.left(session, channel);
            }
            IrcCommand::KICK(channel, nick, reason) if session.is_me(nick) => {
                tracing::warn!(%channel, ?reason, "kicked from channel; not rejoining until reconnect");
                self.left(session, channel);
            }
            IrcCommand::NICK(new) if source.as_deref().is_some_and(|n| session.is_me(n)) => {
                session.nick = new.clone();
                let nick = new.clone();
                self.status.send_modify(|s| s.nickname = Some(nick));
            }
            IrcCommand::CHGHOST(user, host)
                if source.as_deref().is_some_and(|n| session.is_me(n)) =>
            {
                session.user_host = Some((user.clone(), host.clone()));
            }
            // "<nick> <host> :is now your displayed host" (cloaks applied after identifying).
            IrcCommand::Response(Response::RPL_HOSTHIDDEN, args) => {
                if let (Some(host), Some((user, _))) = (args.get(1), session.user_host.clone()) {
                    session.user_host = Some((user, host.clone()));
                }
            }
            IrcCommand::Response(Response::ERR_BANNEDFROMCHAN, args)
            | IrcCommand::Response(Response::ERR_INVITEONLYCHAN, args)
            | IrcCommand::Response(Response::ERR_BADCHANNELKEY, args)
            | IrcCommand::Response(Response::ERR_CHANNELISFULL, args)
            | IrcCommand::Response(Response::ERR_CANNOTSENDTOCHAN, args) => {
                tracing::warn!(?args, "the server refused a channel operation");
            }
            IrcCommand::CAP(_, CapSubCommand::ACK, a, b) if mentions_sasl(a, b) => {
                session
                    .sender
                    .send(IrcCommand::AUTHENTICATE("PLAIN".into()))?;
            }
            IrcCommand::CAP(_, CapSubCommand::NAK, a, b) if mentions_sasl(a, b) => {
                tracing::error!("the server does not offer SASL; continuing without it");
                self.end_sasl(session)?;
            }
            IrcCommand::AUTHENTICATE(data) if data == "+" && !session.sasl_done => {
                let password = self.config.irc.sasl_password.clone().unwrap_or_default();
                for chunk in sasl_plain_payload(&self.config.irc.nickname, &password) {
                    session.sender.send(IrcCommand::AUTHENTICATE(chunk))?;
                }
            }
            IrcCommand::Response(Response::RPL_SASLSUCCESS, _) => {
                tracing::info!("SASL authentication succeeded");
                self.end_sasl(session)?;
            }
            IrcCommand::Response(
                code @ (Response::ERR_SASLFAIL
                | Response::ERR_SASLTOOLONG
                | Response::ERR_SASLABORT
                | Response::ERR_SASLALREADY
                | Response::ERR_NICKLOCKED),
                args,
            ) => {
                tracing::error!(
                    ?code,
                    ?args,
                    "SASL authentication failed; continuing unauthenticated"
                );
                self.end_sasl(session)?;
            }
            IrcCommand::ERROR(reason) => {
                tracing::warn!(%reason, "server sent ERROR");
            }
            IrcCommand::PRIVMSG(target, text) => {
                let channel = self.configured(target);
                if session.joined.contains(&channel)
                    && let (Some(nick), Some(command)) = (
                        source.as_deref(),
                        commands::parse(text, &self.config.irc.command_prefix),
                    )
                {
                    self.command(nick, channel, command, carry, answerer, reply_tx);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end_sasl(&self, session: &mut Session) -> Result<(), SessionEnd> {
        if !session.sasl_done {
            session.sasl_done = true;
            session
                .sender
                .send(IrcCommand::CAP(None, CapSubCommand::END, None, None))?;
        }
        Ok(())
    }

    fn left(&self, session: &mut Session, channel: &str) {
        let channel = self.configured(channel);
        session.joined.remove(&channel);
        self.status
            .send_modify(|s| s.joined.retain(|c| *c != channel));
    }

    /// The configured spelling of `channel` (servers may echo another case).
    fn configured(&self, channel: &str) -> String {
        self.config
            .irc
            .channels
            .iter()
            .find(|c| c.eq_ignore_ascii_case(channel))
            .cloned()
            .unwrap_or_else(|| channel.to_string())
    }

    fn command(
        &self,
        nick: &str,
        channel: String,
        command: Command,
        carry: &mut Carry,
        answerer: &Answerer,
        reply_tx: &mpsc::Sender<Reply>,
    ) {
        if !carry.cooldown.allow(nick, Instant::now()) {
            tracing::debug!(nick, ?command, "command ignored (cooldown)");
            return;
        }
        tracing::info!(nick, %channel, ?command, "command");
        let answerer = answerer.clone();
        let last = carry.last_announce.clone();
        let reply_tx = reply_tx.clone();
        tokio::spawn(async move {
            let text = answerer.answer(command, last).await;
            // A closed channel means the relay is shutting down; the answer is moot.
            let _ = reply_tx
                .send(Reply {
                    target: channel,
                    text,
                })
                .await;
        });
    }
}

const REALNAME: &str = "Now Playing relay";

fn client_config(config: &Config) -> irc::client::data::Config {
    let irc = &config.irc;
    irc::client::data::Config {
        nickname: Some(irc.nickname.clone()),
        alt_nicks: irc.alt_nicknames.clone(),
        username: Some(irc.nickname.clone()),
        realname: Some(REALNAME.into()),
        server: Some(irc.server.clone()),
        port: Some(irc.port),
        use_tls: Some(irc.tls),
        cert_path: irc
            .ca_file
            .as_ref()
            .map(|path| path.to_string_lossy().into_owned()),
        nick_password: irc.nickserv_password.clone(),
        // The crate joins these after the MOTD, and again on every connection.
        channels: irc.channels.clone(),
        encoding: Some("UTF-8".into()),
        version: Some(concat!("ntr irc-relay ", env!("CARGO_PKG_VERSION")).into()),
        ping_time: Some(60),
        ping_timeout: Some(30),
        ..Default::default()
    }
}

fn mentions_sasl(a: &Option<String>, b: &Option<String>) -> bool {
    [a, b].into_iter().flatten().any(|caps| {
        caps.split_whitespace()
            .any(|c| c.eq_ignore_ascii_case("sasl"))
    })
}

/// `AUTHENTICATE` arguments for SASL PLAIN with `account` as both authzid and authcid.
pub fn sasl_plain_payload(account: &str, password: &str) -> Vec<String> {
    let raw = format!("{account}\0{account}\0{password}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
    let mut chunks: Vec<String> = encoded
        .as_bytes()
        .chunks(SASL_CHUNK)
        // base64 is ASCII, so every chunk is valid UTF-8.
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    // A payload that ends exactly on a chunk boundary is terminated by "+".
    if encoded.len() % SASL_CHUNK == 0 {
        chunks.push("+".into());
    }
    chunks
}

/// Sends QUIT and keeps polling the stream so it is written, until the server closes the
/// connection or the grace period ends.
async fn quit(stream: &mut ClientStream, sender: &Sender) {
    if sender.send_quit(QUIT_MESSAGE).is_err() {
        return;
    }
    let _ = tokio::time::timeout(QUIT_GRACE, async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
    tracing::info!("quit IRC");
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_plain_payload_is_base64_of_account_account_password() {
        assert_eq!(
            sasl_plain_payload("ntrbot", "s3cret"),
            vec!["bnRyYm90AG50cmJvdABzM2NyZXQ=".to_string()]
        );
    }

    #[test]
    fn long_sasl_payload_is_chunked_and_terminated() {
        // 3 · 100 raw bytes → exactly 400 base64 bytes → one chunk plus "+".
        let chunks = sasl_plain_payload(&"a".repeat(100), &"b".repeat(98));
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].len(), 400);
        assert_eq!(chunks[1], "+");
        let chunks = sasl_plain_payload(&"a".repeat(200), "pw");
        assert!(chunks.len() == 2 && chunks[0].len() == 400 && chunks[1] != "+");
    }

    #[test]
    fn client_config_maps_tls_and_nicks() {
        let config = Config::from_toml(
            r##"
            [relay]
            token = "t"
            [irc]
            server = "127.0.0.1"
            tls = false
            nickname = "ntrbot"
            channels = ["#ntr"]
            nickserv_password = "pw"
            "##,
        )
        .expect("config");
        let irc = client_config(&config);
        assert_eq!(irc.use_tls, Some(false));
        assert_eq!(irc.port, Some(6667));
        assert_eq!(irc.alt_nicks, ["ntrbot_", "ntrbot__"]);
        assert_eq!(irc.nick_password.as_deref(), Some("pw"));
        assert_eq!(irc.channels, ["#ntr"]);
    }
}
