//! The verdict: what the hub's log says was announced (the truth) against what each sink got.
//! Every logged seq must reach every sink, in seq order, none lost; a repeat is allowed only as
//! a resend after a crash or a cut connection mid-send (at most one per such fault), and is
//! counted apart. The bench's own record of its announces is reconciled with the log too: an
//! answered announce missing from the log is a loss, and each announce whose answer was lost
//! is settled as announced or not.

use std::collections::{BTreeSet, HashMap};

use super::announcer::Sent;

/// One logged announce.
#[derive(Debug, Clone)]
pub struct Logged {
    pub seq: u64,
    pub message: String,
}

/// What one sink got, against the log.
#[derive(Debug, Clone)]
pub struct SinkTally {
    pub name: &'static str,
    /// Arrivals of any kind.
    pub arrivals: usize,
    /// Distinct logged seqs that arrived.
    pub delivered: usize,
    pub lost: Vec<u64>,
    /// Arrivals of a seq that had already arrived.
    pub resends: usize,
    /// Seqs that arrived three times or more (one resend per fault at most).
    pub repeated: Vec<u64>,
    /// First arrivals of a seq lower than one that had arrived before it.
    pub out_of_order: Vec<u64>,
    /// Arrivals that match no logged announce (or carry a wrong idempotency key).
    pub strangers: usize,
    /// How many resends the faults this sink lived through can explain.
    pub resend_budget: usize,
}

impl SinkTally {
    /// `arrivals`: the seq each arrival stands for, None when it matches nothing logged.
    pub fn of(
        name: &'static str,
        arrivals: &[Option<u64>],
        log: &[Logged],
        resend_budget: usize,
    ) -> SinkTally {
        let mut seen = BTreeSet::new();
        let mut resent = BTreeSet::new();
        let mut repeated = BTreeSet::new();
        let (mut resends, mut strangers, mut highest) = (0, 0, 0);
        let mut out_of_order = Vec::new();
        for arrival in arrivals {
            let Some(seq) = *arrival else {
                strangers += 1;
                continue;
            };
            if !seen.insert(seq) {
                resends += 1;
                if !resent.insert(seq) {
                    repeated.insert(seq);
                }
                continue;
            }
            if seq < highest {
                out_of_order.push(seq);
            }
            highest = highest.max(seq);
        }
        let lost: Vec<u64> = log
            .iter()
            .map(|l| l.seq)
            .filter(|s| !seen.contains(s))
            .collect();
        SinkTally {
            name,
            arrivals: arrivals.len(),
            delivered: log.iter().filter(|l| seen.contains(&l.seq)).count(),
            lost,
            resends,
            repeated: repeated.into_iter().collect(),
            out_of_order,
            strangers,
            resend_budget,
        }
    }

    pub fn passed(&self) -> bool {
        self.lost.is_empty()
            && self.out_of_order.is_empty()
            && self.strangers == 0
            && self.repeated.is_empty()
            && self.resends <= self.resend_budget
    }
}

/// The seq of each line of text, by the log's messages (every announce's text is unique).
pub fn by_text<'a>(log: &[Logged], texts: impl IntoIterator<Item = &'a str>) -> Vec<Option<u64>> {
    let index: HashMap<&str, u64> = log.iter().map(|l| (l.message.as_str(), l.seq)).collect();
    texts.into_iter().map(|t| index.get(t).copied()).collect()
}

/// The bench's announces against the log.
#[derive(Debug, Clone, Default)]
pub struct Reconciled {
    pub answered: usize,
    /// Answered, but the seq is not in the log (or holds another text): lost by the hub.
    pub answered_missing: Vec<u64>,
    pub unknown: usize,
    /// Of the unknown ones, those the log holds (the hub announced them, the answer was lost).
    pub unknown_announced: usize,
    /// Logged announces the bench never made (or made twice).
    pub unexplained: Vec<u64>,
    /// Attempts refused while the hub was down, all announces together.
    pub retries: u64,
}

pub fn reconcile(sent: &[Sent], log: &[Logged]) -> Reconciled {
    let logged: HashMap<u64, &str> = log.iter().map(|l| (l.seq, l.message.as_str())).collect();
    let mut r = Reconciled::default();
    let mut explained = BTreeSet::new();
    for s in sent {
        r.retries += u64::from(s.retries);
        if let Some(seq) = s.seq {
            r.answered += 1;
            if logged.get(&seq) == Some(&s.text.as_str()) {
                explained.insert(seq);
            } else {
                r.answered_missing.push(seq);
            }
        } else {
            r.unknown += 1;
            if let Some(l) = log.iter().find(|l| l.message == s.text) {
                r.unknown_announced += 1;
                explained.insert(l.seq);
            }
        }
    }
    r.unexplained = log
        .iter()
        .map(|l| l.seq)
        .filter(|s| !explained.contains(s))
        .collect();
    r
}

impl Reconciled {
    /// The warm-up announce is the bench's too but made before the show: `extra` logged seqs
    /// are expected outside `sent`.
    pub fn passed(&self, extra: usize) -> bool {
        self.answered_missing.is_empty() && self.unexplained.len() <= extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: u64) -> Vec<Logged> {
        (1..=n)
            .map(|seq| Logged {
                seq,
                message: format!("line {seq}"),
            })
            .collect()
    }

    #[test]
    fn counts_losses_resends_disorder_and_strangers() {
        let log = log(5);
        let t = SinkTally::of(
            "x",
            &[Some(1), Some(3), Some(2), Some(3), None, Some(4)],
            &log,
            1,
        );
        assert_eq!(t.lost, vec![5]);
        assert_eq!(t.out_of_order, vec![2]);
        assert_eq!(
            (t.resends, t.strangers, t.delivered, t.arrivals),
            (1, 1, 4, 6)
        );
        assert!(!t.passed());
        let clean = SinkTally::of(
            "y",
            &[Some(1), Some(2), Some(2), Some(3), Some(4), Some(5)],
            &log,
            1,
        );
        assert!(clean.passed());
        let too_many = SinkTally::of(
            "z",
            &[
                Some(1),
                Some(1),
                Some(1),
                Some(2),
                Some(3),
                Some(4),
                Some(5),
            ],
            &log,
            1,
        );
        assert!(!too_many.passed());
        assert_eq!(too_many.repeated, vec![1]);
        // The same two resends spread over two seqs fit a budget of two.
        let spread = SinkTally::of(
            "w",
            &[
                Some(1),
                Some(1),
                Some(2),
                Some(2),
                Some(3),
                Some(4),
                Some(5),
            ],
            &log,
            2,
        );
        assert!(spread.passed());
    }

    #[test]
    fn settles_lost_answers_against_the_log() {
        let log = log(3);
        let sent = |text: &str, seq| Sent {
            text: text.into(),
            seq,
            retries: 1,
        };
        let r = reconcile(
            &[
                sent("line 1", Some(1)),
                sent("line 2", None),
                sent("never", None),
                sent("line 9", Some(9)),
            ],
            &log,
        );
        assert_eq!((r.answered, r.unknown, r.unknown_announced), (2, 2, 1));
        assert_eq!(r.answered_missing, vec![9]);
        assert_eq!(r.unexplained, vec![3]);
        assert_eq!(r.retries, 4);
        assert!(!r.passed(1));
        assert_eq!(by_text(&log, ["line 2", "nope"]), vec![Some(2), None]);
    }
}
