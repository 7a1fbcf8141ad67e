//! The IRC side: one connection at a time, kept up by the [`reconnect`](crate::reconnect)
//! loop independently of the hub.
//!
//! The `irc` crate gives us a connected socket, PING answers, the alternative nicknames and
//! the auto-join. It has no flood control, no reconnect, no SASL and a NickServ IDENTIFY that
//! many servers do not understand, so those are here: flood control through the [`Outbox`],
//! the reconnect loop, SASL in [`crate::sasl`], IDENTIFY in [`crate::nickserv`]; and a PRIVMSG
//! leaves only as an [`IrcLine`]. Its CTCP answers are off (no `ctcp` feature): it sends them
//! as requests come in, to a channel when asked there, outside flood control.
//!
//! Each line goes to the channels of its show's `[[irc.routes]]` entry, else to `[irc]
//! channels`; commands answer for the show routed to the channel they are asked in.
//!
//! [`IrcSide`] holds what outlives a connection (the outbox, the last announces, the command
//! cooldown), so lines that arrive while the server is down wait for the next connection
//! (until their replay window ends). Each connection is a [`connection::Connection`], which
//! borrows the `IrcSide` while it lasts.

mod connection;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use irc::client::prelude::Client;
use ntr_common::backoff::Backoff;
use ntr_common::shutdown::Shutdown;
use ntr_protocol::IrcState;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::commands::{Answerer, ChannelLimit, Command, Cooldown};
use crate::config::Config;
use crate::connect_error;
use crate::handoff::{Ack, Post};
use crate::outbox::{Outbox, Pending};
use crate::posted::Posted;
use crate::reconnect::{Ended, Link};
use crate::status::Status;
use connection::Connection;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A command reply later than this (e.g. after a reconnect) is no longer an answer.
const REPLY_LIFETIME: Duration = Duration::from_secs(30);
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
    /// The last announce of the station, for `!np` where no show is routed.
    last_announce: Option<String>,
    /// The last announce of each show, for `!np` in its routed channels.
    last_of_show: HashMap<String, String>,
    cooldown: Cooldown,
    channel_limit: ChannelLimit,
    answerer: Answerer,
    acks: mpsc::Sender<Ack>,
    /// What each channel has been sent, on disk.
    posted: Posted,
    status: watch::Sender<Status>,
    shutdown: Shutdown,
}

impl IrcSide {
    pub(crate) fn new(
        config: Arc<Config>,
        posts: mpsc::Receiver<Post>,
        acks: mpsc::Sender<Ack>,
        posted: Posted,
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
            last_of_show: HashMap::new(),
            cooldown: Cooldown::new(irc.command_cooldown),
            channel_limit: ChannelLimit::new(
                irc.command_replies_per_channel,
                irc.command_replies_window,
            ),
            answerer: Answerer::new(
                relay.hub_urls.clone(),
                relay.public_url.clone(),
                irc.command_prefix.clone(),
            ),
            config,
            acks,
            posted,
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
                    announce: None,
                    expires: Instant::now() + REPLY_LIFETIME,
                };
                if self.outbox.push(&reply.target, pending).is_some() {
                    tracing::warn!(
                        target = reply.target,
                        "reply queue full; dropped the oldest reply"
                    );
                }
            }
        }
    }

    fn queue_announce(&mut self, post: Post) {
        for channel in self.config.irc.channels_for(post.show.as_deref()) {
            // After a restart the hub replays from the channel that posted least; the others
            // already have some of those lines.
            if self.posted.was_posted(channel, post.announce) {
                tracing::info!(channel, seq = %post.announce.seq, "already posted before a restart");
                continue;
            }
            let pending = Pending {
                text: post.message.clone(),
                announce: Some(post.announce),
                expires: post.expires,
            };
            if let Some(dropped) = self.outbox.push(channel, pending) {
                let seq = dropped.announce.map(|mark| mark.seq);
                tracing::warn!(channel, ?seq, "announce queue full; dropped the oldest");
            }
        }
        if let Some(show) = post.show {
            self.last_of_show.insert(show, post.message.clone());
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

    /// Answers `command` from `nick` in `channel`, unless the user is cooling down or the
    /// channel has had its share of answers. The answer may need the hub's API, so it is made
    /// in a task of its own and comes back as a reply.
    fn answer(&mut self, nick: &str, channel: String, command: Command) {
        let now = Instant::now();
        if !self.channel_limit.has_room(&channel, now) {
            tracing::debug!(nick, %channel, ?command, "command ignored (channel limit)");
            return;
        }
        if !self.cooldown.allow(nick, now) {
            tracing::debug!(nick, ?command, "command ignored (cooldown)");
            return;
        }
        self.channel_limit.record(&channel, now);
        tracing::info!(nick, %channel, ?command, "command");
        let answerer = self.answerer.clone();
        let show = self.config.irc.show_of(&channel).map(str::to_owned);
        let last = match &show {
            Some(show) => self.last_of_show.get(show).cloned(),
            None => self.last_announce.clone(),
        };
        let reply_tx = self.inbox.reply_tx.clone();
        tokio::spawn(async move {
            let text = answerer.answer(command, show.as_deref(), last).await;
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
        let irc = &self.config.irc;
        let routed = irc.routes.iter().flat_map(|r| r.channels.iter());
        irc.channels
            .iter()
            .chain(routed)
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
        channels: irc.all_channels(),
        encoding: Some("UTF-8".into()),
        ping_time: Some(60),
        ping_timeout: Some(30),
        ..Default::default()
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
