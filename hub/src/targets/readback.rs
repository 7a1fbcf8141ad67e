//! Reading a receiver back after a delivery: for a kind whose receiver shows what it was sent
//! (an Icecast mount's stream title), the hub reads it about 1 s and 5 s after each delivery and
//! records in the ledger what it showed and whether that was the text sent. A source client
//! that sets its own metadata right after the hub's is the case to catch: the delivery worked,
//! yet listeners see another title.
//!
//! A kind opts in through [`super::kind::Kind::read_back`], which gives the text it sent and a
//! [`Probe`] that reads what the receiver shows now; everything else — when to read, the
//! verdict, the ledger — is here, in a task of its own, so the worker's next send never waits
//! for it.

use std::time::Duration;

use futures_util::future::BoxFuture;
use ntr_protocol::Seq;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::store::{Store, StreamCheck};
use ntr_common::shutdown::Shutdown;

/// When the receiver is read, after the delivery: soon, and again once a source client that
/// overwrites the title on its own schedule has had time to.
pub const READS_AFTER: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];

/// What one read of the receiver found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// The text the receiver shows now (empty when it shows none).
    Shows(String),
    /// No answer, an error status, an answer that cannot be parsed, or no such mount: says
    /// nothing either way. The text is for the log.
    Unreadable(String),
}

/// How to read what a kind's receiver shows now.
pub trait Probe: Send + Sync + 'static {
    /// One bounded read; never fails, an unusable answer is [`Read::Unreadable`].
    fn read<'a>(&'a self, http: &'a reqwest::Client, timeout: Duration) -> BoxFuture<'a, Read>;
}

/// What a kind gives to have a delivery read back: the text it sent and how to read the
/// receiver.
pub struct ReadBack {
    pub expected: String,
    pub probe: Box<dyn Probe>,
}

/// The verdict over the reads made so far.
#[derive(Debug, Default)]
struct Verdict {
    matched: usize,
    mismatched: bool,
}

impl Verdict {
    /// Takes one read into account and says what the ledger should record after it: true once
    /// every read showed the text sent, false as soon as one showed another, else unknown.
    fn add(&mut self, expected: &str, read: &Read) -> StreamCheck {
        let stream_title = match read {
            Read::Shows(shown) => {
                if shown == expected {
                    self.matched += 1;
                } else {
                    self.mismatched = true;
                }
                Some(shown.clone())
            }
            Read::Unreadable(_) => None,
        };
        let verified = if self.mismatched {
            Some(false)
        } else if self.matched == READS_AFTER.len() {
            Some(true)
        } else {
            None
        };
        StreamCheck {
            stream_title,
            verified,
        }
    }
}

/// One delivery's read-back and what it uses: the ledger row to record into, the HTTP client
/// and its budget per read, and the shutdown signal that ends it.
pub struct Checker {
    pub seq: Seq,
    pub target: String,
    pub store: Store,
    pub http: reqwest::Client,
    pub timeout: Duration,
    pub shutdown: Shutdown,
}

impl Checker {
    /// Starts the reads in a task of their own; the handle stops them (a later line was sent,
    /// so the receiver will show that one's text).
    pub fn spawn(self, read_back: ReadBack) -> AbortHandle {
        tokio::spawn(self.run(read_back)).abort_handle()
    }

    async fn run(mut self, read_back: ReadBack) {
        let start = Instant::now();
        let mut verdict = Verdict::default();
        for after in READS_AFTER {
            let read = async {
                tokio::time::sleep_until(start + after).await;
                read_back.probe.read(&self.http, self.timeout).await
            };
            let read = tokio::select! {
                read = read => read,
                _ = self.shutdown.wait() => return,
            };
            let check = verdict.add(&read_back.expected, &read);
            self.log(&read_back.expected, &read, &check);
            let recorded = self
                .store
                .record_stream_check(self.seq, self.target.clone(), check)
                .await;
            if let Err(e) = recorded {
                tracing::warn!(target_name = %self.target, seq = self.seq.get(), error = %e, "cannot record a read-back");
            }
        }
    }

    fn log(&self, expected: &str, read: &Read, check: &StreamCheck) {
        let (name, seq) = (&self.target, self.seq.get());
        match (read, check.verified) {
            (Read::Unreadable(why), _) => {
                tracing::info!(target_name = %name, seq, reason = %why, "cannot read the stream title back");
            }
            (Read::Shows(shown), Some(false)) => {
                tracing::warn!(target_name = %name, seq, sent = %expected, shown = %shown,
                    "the stream shows another title than the one sent: does the source client send its own metadata?");
            }
            (Read::Shows(_), Some(true)) => {
                tracing::info!(target_name = %name, seq, "stream title verified");
            }
            (Read::Shows(_), None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shows(text: &str) -> Read {
        Read::Shows(text.into())
    }

    fn verdicts(reads: &[Read]) -> Vec<(Option<bool>, Option<String>)> {
        let mut verdict = Verdict::default();
        reads
            .iter()
            .map(|r| verdict.add("A - B", r))
            .map(|c| (c.verified, c.stream_title))
            .collect()
    }

    #[test]
    fn both_reads_showing_the_sent_text_verify_it() {
        let got = verdicts(&[shows("A - B"), shows("A - B")]);
        let title = Some("A - B".to_string());
        assert_eq!(got, [(None, title.clone()), (Some(true), title)]);
    }

    #[test]
    fn another_text_in_any_read_is_a_mismatch_for_good() {
        let got = verdicts(&[shows("A - B"), shows("Other")]);
        assert_eq!(got[1], (Some(false), Some("Other".into())));
        let got = verdicts(&[shows("Other"), shows("A - B")]);
        assert_eq!(got[0].0, Some(false));
        assert_eq!(got[1], (Some(false), Some("A - B".into())));
    }

    #[test]
    fn an_unreadable_read_verifies_nothing_and_keeps_the_last_title() {
        let got = verdicts(&[shows("A - B"), Read::Unreadable("invalid JSON".into())]);
        assert_eq!(got[1], (None, None), "no new title: the ledger keeps A - B");
    }
}
