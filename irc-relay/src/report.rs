//! `relay_status` reports: what the relay tells the hub about its IRC side, so the dashboard
//! can show it. One goes out right after subscribing, then one whenever the report would read
//! differently, at most every [`MIN_GAP`] (a queue draining line by line must not become a
//! message per line).

use std::time::Duration;

use ntr_protocol::{ClientMessage, RelayStatus};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::Config;
use crate::status::Status;

/// The least time between two reports.
pub const MIN_GAP: Duration = Duration::from_millis(250);

/// Turns status changes into reports, coalesced; lives as long as the hub side.
pub(crate) struct Reporter {
    status: watch::Receiver<Status>,
    server: String,
    nickname: String,
    last: Option<RelayStatus>,
    last_sent: Option<Instant>,
    /// When the next report may go, once something changed.
    due: Option<Instant>,
}

impl Reporter {
    pub(crate) fn new(config: &Config, status: watch::Receiver<Status>) -> Reporter {
        Reporter {
            status,
            server: format!("{}:{}", config.irc.server, config.irc.port),
            nickname: config.irc.nickname.clone(),
            last: None,
            last_sent: None,
            due: None,
        }
    }

    /// The report as of now. Marks the status seen as of this read, not as of the send: a
    /// change while the report is on its way must still wake [`Reporter::next`].
    pub(crate) fn current(&mut self) -> RelayStatus {
        let s = self.status.borrow_and_update();
        RelayStatus {
            irc: s.irc,
            server: self.server.clone(),
            nick: s.nickname.clone().unwrap_or_else(|| self.nickname.clone()),
            channels: s.joined.clone(),
            queued: u32::try_from(s.queued).unwrap_or(u32::MAX),
            version: env!("CARGO_PKG_VERSION").to_string(),
            error: s.irc_error.clone(),
        }
    }

    /// Notes that `report` went out.
    pub(crate) fn sent(&mut self, report: RelayStatus) {
        self.last = Some(report);
        self.last_sent = Some(Instant::now());
        self.due = None;
    }

    /// Resolves with the next report worth sending. Cancel-safe: what it learnt is kept.
    pub(crate) async fn next(&mut self) -> RelayStatus {
        loop {
            match self.due {
                None => {
                    if self.status.changed().await.is_err() {
                        // The IRC side is gone, which only happens on shutdown.
                        std::future::pending::<()>().await;
                    }
                    let earliest = self.last_sent.map_or(Instant::now(), |t| t + MIN_GAP);
                    self.due = Some(earliest.max(Instant::now()));
                }
                Some(due) => {
                    tokio::time::sleep_until(due).await;
                    self.due = None;
                    let report = self.current();
                    if self.last.as_ref() != Some(&report) {
                        return report;
                    }
                }
            }
        }
    }
}

/// The wire form of a report.
pub(crate) fn message(report: RelayStatus) -> ClientMessage {
    ClientMessage::RelayStatus(report)
}

#[cfg(test)]
mod tests {
    use ntr_protocol::IrcState;

    use super::*;

    fn reporter() -> (watch::Sender<Status>, Reporter) {
        let config = Config::from_toml(
            "[relay]\ntoken = \"0123456789abcdef\"\n[irc]\nserver = \"irc.example\"\nport = 6697\n\
             nickname = \"ntrbot\"\nchannels = [\"#ntr\"]\n",
        )
        .expect("config");
        let (tx, rx) = watch::channel(Status::default());
        (tx, Reporter::new(&config, rx))
    }

    #[tokio::test(start_paused = true)]
    async fn changes_are_reported_at_most_every_quarter_second_and_only_when_they_show() {
        let (tx, mut reporter) = reporter();
        let first = reporter.current();
        assert_eq!(
            (first.irc, first.server.as_str()),
            (IrcState::Disconnected, "irc.example:6697")
        );
        assert_eq!(first.nick, "ntrbot");
        reporter.sent(first);

        let start = Instant::now();
        tx.send_modify(|s| {
            s.irc = IrcState::Connected;
            s.joined = vec!["#ntr".into()];
        });
        let report = reporter.next().await;
        assert_eq!(report.channels, ["#ntr"]);
        assert!(
            Instant::now() - start >= MIN_GAP,
            "no sooner than the gap after the last"
        );
        reporter.sent(report);

        // Ten queue changes inside one gap make one report with the last value.
        for queued in 1..=10 {
            tx.send_modify(|s| s.queued = queued);
        }
        let report = reporter.next().await;
        assert_eq!(report.queued, 10);
        reporter.sent(report);

        // A change that does not show in the report (the hub side's own fields) sends nothing.
        tx.send_modify(|s| s.last_seq = Some(7));
        let nothing = tokio::time::timeout(Duration::from_secs(5), reporter.next()).await;
        assert!(nothing.is_err(), "{nothing:?}");
    }

    /// A change while a report is being sent (the channel joined just after the status went
    /// out at a hub reconnect) is reported next, not taken as already sent.
    #[tokio::test(start_paused = true)]
    async fn a_change_during_a_send_is_reported_next() {
        let (tx, mut reporter) = reporter();
        let connected = reporter.current();
        tx.send_modify(|s| s.joined = vec!["#ntr".into()]);
        reporter.sent(connected);
        let next = tokio::time::timeout(Duration::from_secs(5), reporter.next()).await;
        assert_eq!(next.expect("a report").channels, ["#ntr"]);
    }
}
