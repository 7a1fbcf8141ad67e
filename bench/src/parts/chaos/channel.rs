//! The IRC channel's record: an observer client, connected straight to ngircd (not through the
//! proxy), that writes down every line said in the channel, in the order the server relayed
//! them, on a thread of its own until told to stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;
use irc_proto::Command;

use crate::observer::Observer;

pub struct Channel {
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<()>>,
}

impl Channel {
    /// Joins `channel` on 127.0.0.1:`port` as `nick` and starts recording.
    pub fn record(port: u16, nick: &str, channel: &str) -> Result<Channel> {
        let mut observer = Observer::join(port, nick, channel)?;
        let lines = Arc::<Mutex<Vec<String>>>::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (into, until, name) = (Arc::clone(&lines), Arc::clone(&stop), channel.to_string());
        let thread = std::thread::spawn(move || {
            while !until.load(Ordering::Relaxed) {
                let Some((message, _)) = observer.next_message(Duration::from_millis(200))? else {
                    continue;
                };
                if let Command::PRIVMSG(to, text) = message.command
                    && to == name
                {
                    into.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(text);
                }
            }
            Ok(())
        });
        Ok(Channel {
            lines,
            stop,
            thread,
        })
    }

    /// What was said so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops recording; an error if the observer lost its connection on the way.
    pub fn stop(self) -> Result<Vec<String>> {
        self.stop.store(true, Ordering::Relaxed);
        let lines = self.lines();
        match self.thread.join() {
            Ok(done) => done?,
            Err(_) => anyhow::bail!("the IRC observer thread panicked"),
        }
        Ok(lines)
    }
}
