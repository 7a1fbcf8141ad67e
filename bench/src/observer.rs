//! A blocking IRC client that joins one channel and reads what is said there. It runs on the
//! coordinator thread, so a line is stamped when that thread reads it, with no runtime between
//! the socket and the clock.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub struct Observer {
    reader: BufReader<TcpStream>,
}

impl Observer {
    /// Registers as `nick` on 127.0.0.1:`port` and joins `channel` (returns after the NAMES end).
    pub fn join(port: u16, nick: &str, channel: &str) -> Result<Observer> {
        let stream = TcpStream::connect(("127.0.0.1", port)).context("observer connect")?;
        stream.set_nodelay(true)?;
        let mut observer = Observer {
            reader: BufReader::new(stream),
        };
        observer.send(&format!(
            "NICK {nick}\r\nUSER {nick} 0 * :bench observer\r\n"
        ))?;
        observer.wait_line(Duration::from_secs(10), |l| command(l) == "001")?;
        observer.send(&format!("JOIN {channel}\r\n"))?;
        observer.wait_line(Duration::from_secs(10), |l| command(l) == "366")?;
        Ok(observer)
    }

    fn send(&mut self, raw: &str) -> Result<()> {
        self.reader.get_mut().write_all(raw.as_bytes())?;
        Ok(())
    }

    /// Reads lines (answering PINGs) until one matches; returns it and when it was read.
    pub fn wait_line(
        &mut self,
        limit: Duration,
        mut matches: impl FnMut(&str) -> bool,
    ) -> Result<(String, Instant)> {
        let deadline = Instant::now() + limit;
        let mut line = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("no matching IRC line within {limit:?}");
            }
            self.reader.get_ref().set_read_timeout(Some(left))?;
            line.clear();
            if self.reader.read_line(&mut line).context("IRC read")? == 0 {
                bail!("the IRC server closed the connection");
            }
            let at = Instant::now();
            let text = line.trim_end();
            if let Some(token) = text.strip_prefix("PING ") {
                let pong = format!("PONG {token}\r\n");
                self.send(&pong)?;
                continue;
            }
            if matches(text) {
                return Ok((text.to_string(), at));
            }
        }
    }
}

/// The command (or numeric) of a raw IRC line.
pub fn command(line: &str) -> &str {
    let rest = match line.strip_prefix(':') {
        Some(rest) => rest.split_once(' ').map_or("", |(_, r)| r),
        None => line,
    };
    rest.split(' ').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::command;

    #[test]
    fn finds_the_command() {
        assert_eq!(command(":irc.test 001 bench :Welcome"), "001");
        assert_eq!(command(":bot!u@h PRIVMSG #c :hi"), "PRIVMSG");
        assert_eq!(command("PING :x"), "PING");
    }
}
