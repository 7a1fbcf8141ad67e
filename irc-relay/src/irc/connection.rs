//! One IRC connection, from registration to QUIT: what it reads from the server (welcome,
//! joins, SASL and NickServ answers, commands in channels) and what it writes (the lines the
//! [`Outbox`](crate::outbox::Outbox) lets through, then QUIT).
//!
//! A [`Connection`] borrows the [`IrcSide`] for its lifetime, so everything it learns that
//! must outlive it (status, queued lines, cooldowns) lands there; what it knows of ourselves
//! (nick, `user@host`, joined channels) lives and dies with it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use irc::client::ClientStream;
use irc::client::prelude::{Client, Command as IrcCommand, Message, Prefix, Response};
use ntr_common::backoff::Backoff;
use ntr_protocol::IrcState;
use tokio::time::Instant;

use super::{IrcSide, QUIT_MESSAGE, REALNAME};
use crate::commands;
use crate::handoff::Ack;
use crate::line::{self, IrcLine};
use crate::nickserv;
use crate::outbox::Addressed;
use crate::reconnect::Ended;
use crate::sasl::{Sasl, Step};

/// From TCP connect to RPL_WELCOME; a server that never finishes registration is dead to us.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long QUIT may take to reach the server on shutdown.
const QUIT_GRACE: Duration = Duration::from_secs(2);

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
pub(super) struct Connection<'a> {
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
    pub(super) fn register(
        side: &'a mut IrcSide,
        backoff: &'a mut Backoff,
        mut client: Client,
    ) -> Result<Connection<'a>, Ended> {
        let stream = client.stream()?;
        let config = Arc::clone(&side.config);
        let irc = &config.irc;
        let sasl = if let Some(password) = &irc.sasl_password {
            for command in Sasl::registration(&irc.nickname, REALNAME) {
                client.send(command)?;
            }
            Some(Sasl::new(&irc.nickname, password))
        } else {
            client.identify()?;
            None
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
    pub(super) async fn serve(mut self) -> Ended {
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
            let seq = line.announce.map(|mark| mark.seq);
            tracing::warn!(target, ?seq, "dropped a line older than the replay window");
        }
        let prefix_len = self.me.prefix_len();
        for Addressed { target, line } in taken.due {
            let Some(privmsg) = IrcLine::privmsg(&target, &line.text, prefix_len) else {
                let seq = line.announce.map(|mark| mark.seq);
                tracing::warn!(target, ?seq, "nothing printable left to post");
                continue;
            };
            self.client.send(privmsg.into_command())?;
            self.side.status.send_modify(|s| s.lines_sent += 1);
            if let Some(mark) = line.announce {
                tracing::info!(target, seq = %mark.seq, "posted");
                // Recorded before the ack: a restart must not post it again even if the hub
                // never hears of it.
                self.side.posted.record(&target, mark);
                // Acks are informational; if the hub side is backed up, skip it.
                let _ = self.side.acks.try_send(Ack {
                    seq: mark.seq,
                    target,
                });
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

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
