//! The IRC side: one connection at a time, kept up by the [`reconnect`](crate::reconnect)
//! loop independently of the hub.
//!
//! The `irc` crate gives us a connected socket, PING answers, the alternative nicknames and
//! the auto-join. It has no flood control, no reconnect, no SASL and a NickServ IDENTIFY that
//! many servers do not understand, so those are here: flood control through the [`Outbox`],
//! the reconnect loop, SASL in [`crate::sasl`], IDENTIFY in [`crate::nickserv`]; and a PRIVMSG
//! leaves only as an [`IrcLine`].
//!
//! [`IrcSide`] holds what outlives a connection (the outbox, the last announce, the command
//! cooldown), so lines that arrive while the server is down wait for the next connection
//! (until their replay window ends). [`Connection`] holds one connection and what we know of
//! ourselves on it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use irc::client::ClientStream;
use irc::client::prelude::{Client, Command as IrcCommand, Message, Prefix, Response};
use ntr_common::backoff::Backoff;
use ntr_common::shutdown::Shutdown;
use ntr_protocol::IrcState;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::commands::{self, Answerer, Command, Cooldown};
use crate::config::Config;
use crate::connect_error;
use crate::handoff::{Ack, Post};
use crate::line::{self, IrcLine};
use crate::nickserv;
use crate::outbox::{Addressed, Outbox, Pending};
use crate::reconnect::{Ended, Link};
use crate::sasl::{Sasl, Step};
use crate::status::Status;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// From TCP connect to RPL_WELCOME; a server that never finishes registration is dead to us.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);
/// A command reply later than this (e.g. after a reconnect) is no longer an answer.
const REPLY_LIFETIME: Duration = Duration::from_secs(30);
/// How long QUIT may take to reach the server on shutdown.
const QUIT_GRACE: Duration = Duration::from_secs(2);
pub const QUIT_MESSAGE: &str = "Relay shutting down";
const REALNAME: &str = "Now Playing relay";

impl From<irc::error::Error> for Ended {
    fn from(error: irc::error::Error) -> Ended {
        Ended::Lost(error.to_string())
    }
}

/// A command answer ready to go out.
#[derive(Debug)]
struct Reply {
    target: String,
    text: String,
}

/// Lines to queue: announces from the hub side and command answers from their tasks.
enum Input {
    Post(Post),
    Reply(Reply),
}

struct Inbox {
    posts: mpsc::Receiver<Post>,
    replies: mpsc::Receiver<Reply>,
    /// Cloned into each command's task; holding it keeps `replies` open.
    reply_tx: mpsc::Sender<Reply>,
}

impl Inbox {
    /// The next line to queue; never completes once the hub side is gone and no answer is due.
    async fn recv(&mut self) -> Input {
        tokio::select! {
            Some(post) = self.posts.recv() => Input::Post(post),
            Some(reply) = self.replies.recv() => Input::Reply(reply),
            else => std::future::pending().await,
        }
    }
}

/// The IRC side's state across connections.
pub(crate) struct IrcSide {
    config: Arc<Config>,
    inbox: Inbox,
    outbox: Outbox,
    /// The last announce, for `!np`.
    last_announce: Option<String>,
    cooldown: Cooldown,
    answerer: Answerer,
    acks: mpsc::Sender<Ack>,
    status: watch::Sender<Status>,
    shutdown: Shutdown,
}

impl IrcSide {
    pub(crate) fn new(
        config: Arc<Config>,
        posts: mpsc::Receiver<Post>,
        acks: mpsc::Sender<Ack>,
        status: watch::Sender<Status>,
        shutdown: Shutdown,
    ) -> IrcSide {
        let (irc, relay) = (&config.irc, &config.relay);
        let (reply_tx, replies) = mpsc::channel(64);
        IrcSide {
            inbox: Inbox {
                posts,
                replies,
                reply_tx,
            },
            outbox: Outbox::new(irc.flood_burst, irc.flood_lines_per_second, irc.queue_limit),
            last_announce: None,
            cooldown: Cooldown::new(irc.command_cooldown),
            answerer: Answerer::new(
                relay.hub_url.clone(),
                relay.public_url.clone(),
                irc.command_prefix.clone(),
            ),
            config,
            acks,
            status,
            shutdown,
        }
    }

    fn accept(&mut self, input: Input) {
        self.take(input);
        self.report_queue();
    }

    fn take(&mut self, input: Input) {
        match input {
            Input::Post(post) => self.queue_announce(post),
            Input::Reply(reply) => {
                let pending = Pending {
                    text: reply.text,
                    seq: None,
                    expires: Instant::now() + REPLY_LIFETIME,
                };
                self.outbox.push(&reply.target, pending);
            }
        }
    }

    fn queue_announce(&mut self, post: Post) {
        for channel in &self.config.irc.channels {
            let pending = Pending {
                text: post.message.clone(),
                seq: Some(post.seq),
                expires: post.expires,
            };
            if let Some(dropped) = self.outbox.push(channel, pending) {
                tracing::warn!(channel, seq = ?dropped.seq, "queue full; dropped the oldest line");
            }
        }
        self.last_announce = Some(post.message);
    }

    /// Tells the status how many lines wait, when that changed.
    fn report_queue(&self) {
        let queued = self.outbox.total();
        self.status
            .send_if_modified(|s| std::mem::replace(&mut s.queued, queued) != queued);
    }

    /// Connects, taking in lines meanwhile.
    async fn connect(&mut self) -> Result<Client, Ended> {
        let irc = &self.config.irc;
        tracing::info!(server = %irc.server, port = irc.port, tls = irc.tls, "connecting to IRC");
        self.status.send_modify(|s| s.irc = IrcState::Connecting);
        let connect = tokio::time::timeout(
            CONNECT_TIMEOUT,
            Client::from_config(client_config(&self.config)),
        );
        tokio::pin!(connect);
        loop {
            tokio::select! {
                _ = self.shutdown.wait() => return Err(Ended::Shutdown),
                result = &mut connect => return match result {
                    Err(_) => Err(Ended::Lost(connect_error::timed_out(
                        &self.config.irc,
                        CONNECT_TIMEOUT,
                    ))),
                    Ok(Err(e)) => Err(Ended::Lost(connect_error::explain(&e, &self.config.irc))),
                    Ok(Ok(client)) => Ok(client),
                },
                input = self.inbox.recv() => self.accept(input),
            }
        }
    }

    /// Answers `command` from `nick` in `channel`, unless the user is cooling down. The answer
    /// may need the hub's API, so it is made in a task of its own and comes back as a reply.
    fn answer(&mut self, nick: &str, channel: String, command: Command) {
        if !self.cooldown.allow(nick, Instant::now()) {
            tracing::debug!(nick, ?command, "command ignored (cooldown)");
            return;
        }
        tracing::info!(nick, %channel, ?command, "command");
        let answerer = self.answerer.clone();
        let last = self.last_announce.clone();
        let reply_tx = self.inbox.reply_tx.clone();
        tokio::spawn(async move {
            let text = answerer.answer(command, last).await;
            let reply = Reply {
                target: channel,
                text,
            };
            // A closed channel means the relay is shutting down; the answer is moot.
            let _ = reply_tx.send(reply).await;
        });
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
}

impl Link for IrcSide {
    const PEER: &'static str = "IRC";

    async fn connect_and_serve(&mut self, backoff: &mut Backoff) -> Ended {
        let client = match self.connect().await {
            Ok(client) => client,
            Err(end) => return end,
        };
        match Connection::register(self, backoff, client) {
            Ok(connection) => connection.serve().await,
            Err(end) => end,
        }
    }

    fn disconnected(&mut self, end: &Ended) {
        self.status.send_modify(|s| {
            s.irc = IrcState::Disconnected;
            s.irc_registered = false;
            s.joined.clear();
            if let Ended::Lost(reason) = end {
                s.irc_error = Some(reason.clone());
            }
        });
    }

    async fn meanwhile(&mut self) {
        let input = self.inbox.recv().await;
        self.accept(input);
    }
}

/// `user@host` as the server shows it on our lines.
struct UserHost {
    user: String,
    host: String,
}

/// What we know of ourselves on the current connection.
struct Me {
    nick: String,
    /// Known once the server has shown it.
    user_host: Option<UserHost>,
    registered: bool,
    joined: HashSet<String>,
}

impl Me {
    fn prefix_len(&self) -> usize {
        match &self.user_host {
            Some(shown) => line::prefix_len(&self.nick, &shown.user, &shown.host),
            None => line::estimated_prefix_len(&self.nick),
        }
    }

    fn is(&self, nick: &str) -> bool {
        nick.eq_ignore_ascii_case(&self.nick)
    }
}

/// One IRC connection, from registration to QUIT.
struct Connection<'a> {
    side: &'a mut IrcSide,
    backoff: &'a mut Backoff,
    client: Client,
    stream: ClientStream,
    me: Me,
    /// `None` without a SASL password.
    sasl: Option<Sasl>,
}

impl<'a> Connection<'a> {
    /// Starts registration on a connected client: NICK/USER, preceded by `CAP REQ :sasl` when
    /// SASL is configured.
    fn register(
        side: &'a mut IrcSide,
        backoff: &'a mut Backoff,
        mut client: Client,
    ) -> Result<Connection<'a>, Ended> {
        let stream = client.stream()?;
        let config = Arc::clone(&side.config);
        let irc = &config.irc;
        let sasl = match &irc.sasl_password {
            Some(password) => {
                for command in Sasl::registration(&irc.nickname, REALNAME) {
                    client.send(command)?;
                }
                Some(Sasl::new(&irc.nickname, password))
            }
            None => {
                client.identify()?;
                None
            }
        };
        let me = Me {
            nick: irc.nickname.clone(),
            user_host: None,
            registered: false,
            joined: HashSet::new(),
        };
        Ok(Connection {
            side,
            backoff,
            client,
            stream,
            me,
            sasl,
        })
    }

    /// Serves the connection until it ends; on shutdown, says QUIT.
    async fn serve(mut self) -> Ended {
        let deadline = Instant::now() + REGISTRATION_TIMEOUT;
        let end = loop {
            if let Err(end) = self.step(deadline).await {
                break end;
            }
        };
        if let Ended::Shutdown = end {
            self.quit().await;
        }
        end
    }

    async fn step(&mut self, registration_deadline: Instant) -> Result<(), Ended> {
        let due = self.side.outbox.next_due(Instant::now(), &self.me.joined);
        tokio::select! {
            _ = self.side.shutdown.wait() => Err(Ended::Shutdown),
            message = self.stream.next() => match message {
                None => Err(Ended::lost("the server closed the connection")),
                Some(message) => self.on_message(message?),
            },
            input = self.side.inbox.recv() => {
                self.side.accept(input);
                Ok(())
            }
            _ = sleep_until_some(due) => self.flush(),
            _ = tokio::time::sleep_until(registration_deadline), if !self.me.registered => {
                Err(Ended::lost("registration timed out"))
            }
        }
    }

    fn on_message(&mut self, message: Message) -> Result<(), Ended> {
        if let Some(sasl) = &mut self.sasl
            && let Some(step) = sasl.answer(&message.command)
        {
            return match step {
                Step::Send(commands) => {
                    for command in commands {
                        self.client.send(command)?;
                    }
                    Ok(())
                }
                Step::Refused(reason) => Err(Ended::Lost(reason)),
            };
        }
        let source = message.source_nickname();
        let mine = source.is_some_and(|nick| self.me.is(nick));
        match &message.command {
            IrcCommand::Response(Response::RPL_WELCOME, args) => {
                self.welcomed(args.first());
                self.identify()?;
            }
            IrcCommand::NOTICE(_, text) => self.on_notice(source, text),
            IrcCommand::JOIN(channel, _, _) if mine => self.joined(channel, &message.prefix),
            IrcCommand::PART(channel, _) if mine => self.left(channel),
            IrcCommand::KICK(channel, nick, reason) if self.me.is(nick) => {
                tracing::warn!(%channel, ?reason, "kicked from channel; not rejoining until reconnect");
                self.left(channel);
            }
            IrcCommand::NICK(new) if mine => self.renamed(new),
            IrcCommand::CHGHOST(user, host) if mine => {
                self.me.user_host = Some(UserHost {
                    user: user.clone(),
                    host: host.clone(),
                });
            }
            // "<nick> <host> :is now your displayed host" (cloaks applied after identifying).
            IrcCommand::Response(Response::RPL_HOSTHIDDEN, args) => {
                if let (Some(host), Some(shown)) = (args.get(1), &mut self.me.user_host) {
                    shown.host = host.clone();
                }
            }
            IrcCommand::Response(
                code @ (Response::ERR_BANNEDFROMCHAN
                | Response::ERR_INVITEONLYCHAN
                | Response::ERR_BADCHANNELKEY
                | Response::ERR_CHANNELISFULL
                | Response::ERR_CANNOTSENDTOCHAN),
                args,
            ) => tracing::warn!(?code, ?args, "the server refused a channel operation"),
            IrcCommand::ERROR(reason) => tracing::warn!(%reason, "the server sent ERROR"),
            IrcCommand::PRIVMSG(target, text) => self.on_privmsg(source, target, text),
            _ => {}
        }
        Ok(())
    }

    fn welcomed(&mut self, nick: Option<&String>) {
        if let Some(nick) = nick {
            self.me.nick = nick.clone();
        }
        self.me.registered = true;
        self.backoff.connected();
        tracing::info!(nick = %self.me.nick, "registered on IRC");
        let nick = self.me.nick.clone();
        self.side.status.send_modify(|s| {
            s.irc = IrcState::Connected;
            s.irc_registered = true;
            s.irc_error = None;
            s.nickname = Some(nick);
        });
    }

    /// NickServ IDENTIFY, when configured and SASL is not (SASL already logged us in).
    fn identify(&mut self) -> Result<(), Ended> {
        let irc = &self.side.config.irc;
        if let (Some(password), None) = (&irc.nickserv_password, &irc.sasl_password) {
            self.client
                .send(nickserv::identify(&irc.nickname, password))?;
        }
        Ok(())
    }

    fn on_notice(&mut self, source: Option<&str>, text: &str) {
        let account = &self.side.config.irc.nickname;
        if let Some(error) = nickserv::refusal(source, text, account) {
            tracing::error!(account = %account, "{error}");
            self.side.status.send_modify(|s| s.irc_error = Some(error));
        }
    }

    fn joined(&mut self, channel: &str, prefix: &Option<Prefix>) {
        // The echo of our own JOIN shows the prefix the server puts on our lines.
        if let Some(Prefix::Nickname(_, user, host)) = prefix
            && !user.is_empty()
            && !host.is_empty()
        {
            self.me.user_host = Some(UserHost {
                user: user.clone(),
                host: host.clone(),
            });
        }
        let channel = self.side.configured(channel);
        tracing::info!(%channel, "joined");
        self.me.joined.insert(channel.clone());
        self.side.status.send_modify(|s| {
            if !s.joined.contains(&channel) {
                s.joined.push(channel);
            }
        });
    }

    fn left(&mut self, channel: &str) {
        let channel = self.side.configured(channel);
        self.me.joined.remove(&channel);
        self.side
            .status
            .send_modify(|s| s.joined.retain(|c| *c != channel));
    }

    fn renamed(&mut self, nick: &str) {
        self.me.nick = nick.to_string();
        let nick = nick.to_string();
        self.side.status.send_modify(|s| s.nickname = Some(nick));
    }

    fn on_privmsg(&mut self, source: Option<&str>, target: &str, text: &str) {
        let channel = self.side.configured(target);
        if !self.me.joined.contains(&channel) {
            return;
        }
        let command = commands::parse(text, &self.side.config.irc.command_prefix);
        if let (Some(nick), Some(command)) = (source, command) {
            self.side.answer(nick, channel, command);
        }
    }

    /// Sends every line the flood control lets through now.
    fn flush(&mut self) -> Result<(), Ended> {
        let taken = self.side.outbox.take_due(Instant::now(), &self.me.joined);
        for Addressed { target, line } in taken.expired {
            tracing::warn!(target, seq = ?line.seq, "dropped a line older than the replay window");
        }
        let prefix_len = self.me.prefix_len();
        for Addressed { target, line } in taken.due {
            let Some(privmsg) = IrcLine::privmsg(&target, &line.text, prefix_len) else {
                tracing::warn!(target, seq = ?line.seq, "nothing printable left to post");
                continue;
            };
            self.client.send(privmsg.into_command())?;
            self.side.status.send_modify(|s| s.lines_sent += 1);
            if let Some(seq) = line.seq {
                tracing::info!(target, %seq, "posted");
                // Acks are informational; if the hub side is backed up, skip it.
                let _ = self.side.acks.try_send(Ack { seq, target });
            }
        }
        self.side.report_queue();
        Ok(())
    }

    /// Sends QUIT and keeps polling the stream so it is written, until the server closes the
    /// connection or the grace period ends.
    async fn quit(&mut self) {
        if self.client.send_quit(QUIT_MESSAGE).is_err() {
            return;
        }
        let stream = &mut self.stream;
        let _ = tokio::time::timeout(QUIT_GRACE, async {
            while let Some(Ok(_)) = stream.next().await {}
        })
        .await;
        tracing::info!("quit IRC");
    }
}

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
        // The crate joins these after the MOTD, and again on every connection.
        channels: irc.channels.clone(),
        encoding: Some("UTF-8".into()),
        version: Some(concat!("ntr irc-relay ", env!("CARGO_PKG_VERSION")).into()),
        ping_time: Some(60),
        ping_timeout: Some(30),
        ..Default::default()
    }
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
    fn client_config_maps_tls_and_nicks() {
        let config = Config::from_toml(
            r##"
            [relay]
            token = "0123456789abcdef"
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
        assert_eq!(irc.nick_password, None, "the relay identifies by itself");
        assert_eq!(irc.channels, ["#ntr"]);
    }
}
