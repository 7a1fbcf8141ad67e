//! A blocking IRC client that joins one channel and reads what is said there. It runs on the
//! coordinator thread, so a line is stamped when that thread reads it, with no runtime between
//! the socket and the clock. Lines are parsed with `irc-proto` after the stamp.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use irc_proto::{Command, Message, Response};

pub struct Observer {
    reader: BufReader<TcpStream>,
    /// What a read that ran out of time left of a line, completed by the next read.
    partial: String,
}

impl Observer {
    /// Registers as `nick` on 127.0.0.1:`port` and joins `channel` (returns after the NAMES end).
    pub fn join(port: u16, nick: &str, channel: &str) -> Result<Observer> {
        let stream = TcpStream::connect(("127.0.0.1", port)).context("observer connect")?;
        stream.set_nodelay(true)?;
        let mut observer = Observer {
            reader: BufReader::new(stream),
            partial: String::new(),
        };
        observer.send(&format!(
            "NICK {nick}\r\nUSER {nick} 0 * :bench observer\r\n"
        ))?;
        observer.wait_message(Duration::from_secs(10), |m| {
            is_response(m, Response::RPL_WELCOME)
        })?;
        observer.send(&format!("JOIN {channel}\r\n"))?;
        observer.wait_message(Duration::from_secs(10), |m| {
            is_response(m, Response::RPL_ENDOFNAMES)
        })?;
        Ok(observer)
    }

    fn send(&mut self, raw: &str) -> Result<()> {
        self.reader.get_mut().write_all(raw.as_bytes())?;
        Ok(())
    }

    /// Reads messages (answering PINGs) until one matches; returns it and when its line was
    /// read.
    pub fn wait_message(
        &mut self,
        limit: Duration,
        mut matches: impl FnMut(&Message) -> bool,
    ) -> Result<(Message, Instant)> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_message(left)? {
                Some((message, at)) if matches(&message) => return Ok((message, at)),
                Some(_) => {}
                None => bail!("no matching IRC line within {limit:?}"),
            }
        }
    }

    /// The next message other than a PING (which it answers), or None when `limit` passes
    /// without one.
    pub fn next_message(&mut self, limit: Duration) -> Result<Option<(Message, Instant)>> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.reader.get_ref().set_read_timeout(Some(left))?;
            match self.reader.read_line(&mut self.partial) {
                Ok(0) => bail!("the IRC server closed the connection"),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Ok(None),
                Err(e) => return Err(e).context("IRC read"),
            }
            let at = Instant::now();
            let line = std::mem::take(&mut self.partial);
            let message: Message = line
                .parse()
                .with_context(|| format!("not an IRC line: {line:?}"))?;
            if let Command::PING(token, _) = &message.command {
                self.send(&format!("PONG :{token}\r\n"))?;
                continue;
            }
            return Ok(Some((message, at)));
        }
    }
}

/// A read that ran out of time (the kind depends on the platform).
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Whether `message` is the numeric reply `response`.
fn is_response(message: &Message, response: Response) -> bool {
    matches!(&message.command, Command::Response(r, _) if *r == response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_replies_it_waits_for() {
        let welcome: Message = ":irc.test 001 bench :Welcome\r\n".parse().expect("IRC");
        assert!(is_response(&welcome, Response::RPL_WELCOME));
        assert!(!is_response(&welcome, Response::RPL_ENDOFNAMES));
        let said: Message = ":bot!u@h PRIVMSG #c :hi: there\r\n".parse().expect("IRC");
        assert_eq!(said.source_nickname(), Some("bot"));
        assert_eq!(
            said.command,
            Command::PRIVMSG("#c".into(), "hi: there".into())
        );
    }
}
