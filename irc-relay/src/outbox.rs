//! Lines waiting to be sent, per target, under flood control.
//!
//! The outbox outlives IRC connections: while the server is unreachable or the bot has not
//! (re)joined a channel, that channel's lines wait here. Each queue is bounded (the oldest
//! line goes first) and every line carries a deadline, so after a long outage the channel is
//! not flooded with stale "Now Playing" lines.

use std::collections::{HashMap, HashSet, VecDeque};

use ntr_protocol::Seq;
use tokio::time::Instant;

use crate::flood::TokenBucket;

/// One line for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub text: String,
    /// The announce this line delivers, acked to the hub once sent; `None` for replies.
    pub seq: Option<Seq>,
    /// Not sent after this.
    pub expires: Instant,
}

/// A line with its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Addressed {
    pub target: String,
    pub line: Pending,
}

/// What [`Outbox::take_due`] took out.
#[derive(Debug, Default)]
pub struct Taken {
    /// Lines that may be sent now.
    pub due: Vec<Addressed>,
    /// Lines past their deadline, dropped.
    pub expired: Vec<Addressed>,
}

#[derive(Debug)]
struct TargetQueue {
    lines: VecDeque<Pending>,
    bucket: TokenBucket,
}

#[derive(Debug)]
pub struct Outbox {
    queues: HashMap<String, TargetQueue>,
    burst: u32,
    per_second: f64,
    limit: usize,
}

impl Outbox {
    pub fn new(burst: u32, per_second: f64, limit: usize) -> Outbox {
        Outbox {
            queues: HashMap::new(),
            burst,
            per_second,
            limit: limit.max(1),
        }
    }

    /// Queues a line; returns the line dropped to make room, if any.
    pub fn push(&mut self, target: &str, line: Pending) -> Option<Pending> {
        let (burst, per_second) = (self.burst, self.per_second);
        let queue = self
            .queues
            .entry(target.to_string())
            .or_insert_with(|| TargetQueue {
                lines: VecDeque::new(),
                bucket: TokenBucket::new(burst, per_second, Instant::now()),
            });
        let dropped = if queue.lines.len() >= self.limit {
            queue.lines.pop_front()
        } else {
            None
        };
        queue.lines.push_back(line);
        dropped
    }

    /// The earliest time a line for one of `open` targets may go out.
    pub fn next_due(&mut self, now: Instant, open: &HashSet<String>) -> Option<Instant> {
        self.queues
            .iter_mut()
            .filter(|(target, queue)| !queue.lines.is_empty() && open.contains(*target))
            .map(|(_, queue)| queue.bucket.ready_at(now))
            .min()
    }

    /// Takes every line that may go out now to one of `open` targets, and drops expired lines
    /// everywhere.
    pub fn take_due(&mut self, now: Instant, open: &HashSet<String>) -> Taken {
        let mut taken = Taken::default();
        for (target, queue) in &mut self.queues {
            let (keep, old): (VecDeque<_>, VecDeque<_>) =
                queue.lines.drain(..).partition(|line| line.expires > now);
            queue.lines = keep;
            taken.expired.extend(old.into_iter().map(|line| Addressed {
                target: target.clone(),
                line,
            }));
            if !open.contains(target) {
                continue;
            }
            while !queue.lines.is_empty() && queue.bucket.try_take(now) {
                if let Some(line) = queue.lines.pop_front() {
                    taken.due.push(Addressed {
                        target: target.clone(),
                        line,
                    });
                }
            }
        }
        taken
    }

    /// Lines waiting for `target`.
    pub fn len(&self, target: &str) -> usize {
        self.queues.get(target).map_or(0, |q| q.lines.len())
    }

    /// Lines waiting, all targets together.
    pub fn total(&self) -> usize {
        self.queues.values().map(|q| q.lines.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn line(text: &str, expires_in: Duration) -> Pending {
        Pending {
            text: text.to_string(),
            seq: None,
            expires: Instant::now() + expires_in,
        }
    }

    fn open(targets: &[&str]) -> HashSet<String> {
        targets.iter().map(|t| t.to_string()).collect()
    }

    const LONG: Duration = Duration::from_secs(300);

    #[tokio::test(start_paused = true)]
    async fn paces_each_target_separately() {
        let mut outbox = Outbox::new(4, 1.0, 100);
        for i in 0..10 {
            outbox.push("#a", line(&format!("a{i}"), LONG));
            outbox.push("#b", line(&format!("b{i}"), LONG));
        }
        let open = open(&["#a", "#b"]);
        let start = Instant::now();
        let mut sent: Vec<(String, Duration)> = Vec::new();
        while sent.len() < 20 {
            let now = Instant::now();
            let taken = outbox.take_due(now, &open);
            assert!(taken.expired.is_empty());
            sent.extend(taken.due.into_iter().map(|a| (a.line.text, now - start)));
            if let Some(at) = outbox.next_due(Instant::now(), &open) {
                tokio::time::sleep_until(at).await;
            }
        }
        for target in ["a", "b"] {
            let times: Vec<_> = sent
                .iter()
                .filter(|(text, _)| text.starts_with(target))
                .collect();
            let texts: Vec<_> = times.iter().map(|(t, _)| t.clone()).collect();
            let expected: Vec<_> = (0..10).map(|i| format!("{target}{i}")).collect();
            assert_eq!(texts, expected, "in order");
            for (i, (_, at)) in times.iter().enumerate() {
                let want = Duration::from_secs(i.saturating_sub(3) as u64);
                assert!(
                    at.abs_diff(want) < Duration::from_millis(5),
                    "{target}{i} at {at:?}"
                );
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn closed_targets_wait_and_expired_lines_are_dropped() {
        let mut outbox = Outbox::new(4, 1.0, 100);
        outbox.push("#a", line("old", Duration::from_secs(10)));
        outbox.push("#a", line("new", Duration::from_secs(60)));
        let none = HashSet::new();
        assert_eq!(outbox.next_due(Instant::now(), &none), None);
        let taken = outbox.take_due(Instant::now(), &none);
        assert!(taken.due.is_empty() && taken.expired.is_empty());

        tokio::time::advance(Duration::from_secs(30)).await;
        let taken = outbox.take_due(Instant::now(), &open(&["#a"]));
        assert_eq!(taken.expired.len(), 1);
        assert_eq!(taken.expired[0].line.text, "old");
        assert_eq!(taken.due.len(), 1);
        assert_eq!(taken.due[0].line.text, "new");
    }

    #[tokio::test(start_paused = true)]
    async fn bounded_queue_drops_oldest() {
        let mut outbox = Outbox::new(4, 1.0, 3);
        for i in 0..3 {
            assert_eq!(outbox.push("#a", line(&i.to_string(), LONG)), None);
        }
        let dropped = outbox.push("#a", line("3", LONG)).expect("dropped");
        assert_eq!(dropped.text, "0");
        assert_eq!(outbox.len("#a"), 3);
    }
}
