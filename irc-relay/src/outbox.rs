//! Lines waiting to be sent, per target, under flood control.
//!
//! The outbox outlives IRC connections: while the server is unreachable or the bot has not
//! (re)joined a channel, that channel's lines wait here. Each target has two queues under one
//! token bucket: announces, always sent first, and command replies, sent only when no
//! announce waits. So listeners asking questions can neither delay an announce nor push one
//! out. Each queue is bounded (when full, its own oldest line goes) and every line carries a
//! deadline, so after a long outage the channel is not flooded with stale "Now Playing" lines.

use std::collections::{HashMap, HashSet, VecDeque};

use tokio::time::Instant;

use crate::flood::TokenBucket;
use crate::posted::Mark;

/// One line for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub text: String,
    /// The announce this line delivers, acked to the hub and recorded as posted once sent;
    /// `None` for command replies. It also decides the line's queue.
    pub announce: Option<Mark>,
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
    announces: VecDeque<Pending>,
    replies: VecDeque<Pending>,
    /// One bucket for both queues: flood control counts every line to the target.
    bucket: TokenBucket,
}

impl TargetQueue {
    fn is_empty(&self) -> bool {
        self.announces.is_empty() && self.replies.is_empty()
    }

    fn len(&self) -> usize {
        self.announces.len() + self.replies.len()
    }

    /// The next line to send: an announce if one waits.
    fn pop(&mut self) -> Option<Pending> {
        self.announces
            .pop_front()
            .or_else(|| self.replies.pop_front())
    }

    /// Removes the lines past their deadline from both queues.
    fn drain_expired(&mut self, now: Instant) -> Vec<Pending> {
        let mut expired = Vec::new();
        for queue in [&mut self.announces, &mut self.replies] {
            let (keep, old): (VecDeque<_>, VecDeque<_>) =
                queue.drain(..).partition(|line| line.expires > now);
            *queue = keep;
            expired.extend(old);
        }
        expired
    }
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

    /// Queues a line, an announce if it has a seq, else a reply; returns the line dropped to
    /// make room, if any: always one of the same kind.
    pub fn push(&mut self, target: &str, line: Pending) -> Option<Pending> {
        let (burst, per_second) = (self.burst, self.per_second);
        let target = self
            .queues
            .entry(target.to_string())
            .or_insert_with(|| TargetQueue {
                announces: VecDeque::new(),
                replies: VecDeque::new(),
                bucket: TokenBucket::new(burst, per_second, Instant::now()),
            });
        let queue = match line.announce {
            Some(_) => &mut target.announces,
            None => &mut target.replies,
        };
        let dropped = if queue.len() >= self.limit {
            queue.pop_front()
        } else {
            None
        };
        queue.push_back(line);
        dropped
    }

    /// The earliest time a line for one of `open` targets may go out.
    pub fn next_due(&mut self, now: Instant, open: &HashSet<String>) -> Option<Instant> {
        self.queues
            .iter_mut()
            .filter(|(target, queue)| !queue.is_empty() && open.contains(*target))
            .map(|(_, queue)| queue.bucket.ready_at(now))
            .min()
    }

    /// Takes every line that may go out now to one of `open` targets, and drops expired lines
    /// everywhere.
    pub fn take_due(&mut self, now: Instant, open: &HashSet<String>) -> Taken {
        let mut taken = Taken::default();
        for (target, queue) in &mut self.queues {
            taken
                .expired
                .extend(queue.drain_expired(now).into_iter().map(|line| Addressed {
                    target: target.clone(),
                    line,
                }));
            if !open.contains(target) {
                continue;
            }
            while !queue.is_empty() && queue.bucket.try_take(now) {
                if let Some(line) = queue.pop() {
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
        self.queues.get(target).map_or(0, TargetQueue::len)
    }

    /// Lines waiting, all targets together.
    pub fn total(&self) -> usize {
        self.queues.values().map(TargetQueue::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ntr_protocol::Seq;

    use super::*;

    fn line(text: &str, expires_in: Duration) -> Pending {
        Pending {
            text: text.to_string(),
            announce: None,
            expires: Instant::now() + expires_in,
        }
    }

    fn announce(text: &str, seq: u64) -> Pending {
        Pending {
            announce: Some(Mark {
                seq: Seq::new(seq),
                announced_at: jiff::Timestamp::UNIX_EPOCH,
            }),
            ..line(text, LONG)
        }
    }

    fn open(targets: &[&str]) -> HashSet<String> {
        targets.iter().map(ToString::to_string).collect()
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

    /// Sends what `outbox` lets through to `#a`, as fast as it allows, until `n` lines are out;
    /// returns their texts and send times since the start.
    async fn drain(outbox: &mut Outbox, n: usize) -> Vec<(String, Duration)> {
        let open = open(&["#a"]);
        let start = Instant::now();
        let mut sent = Vec::new();
        while sent.len() < n {
            let now = Instant::now();
            let taken = outbox.take_due(now, &open);
            sent.extend(taken.due.into_iter().map(|a| (a.line.text, now - start)));
            match outbox.next_due(Instant::now(), &open) {
                Some(at) => tokio::time::sleep_until(at).await,
                None => break,
            }
        }
        sent
    }

    #[tokio::test(start_paused = true)]
    async fn an_announce_goes_ahead_of_waiting_replies() {
        let mut outbox = Outbox::new(4, 1.0, 100);
        for i in 0..15 {
            outbox.push("#a", line(&format!("reply {i}"), LONG));
        }
        let burst = drain(&mut outbox, 4).await;
        assert_eq!(burst.len(), 4, "{burst:?}");
        outbox.push("#a", announce("announce", 1));
        let next = drain(&mut outbox, 1).await;
        assert_eq!(next[0].0, "announce", "{next:?}");
        assert_eq!(outbox.len("#a"), 11, "the replies still wait");
    }

    #[tokio::test(start_paused = true)]
    async fn replies_never_push_out_an_announce() {
        let mut outbox = Outbox::new(4, 1.0, 100);
        assert_eq!(outbox.push("#a", announce("announce", 1)), None);
        let dropped: Vec<_> = (0..150)
            .filter_map(|i| outbox.push("#a", line(&format!("reply {i}"), LONG)))
            .collect();
        assert_eq!(dropped.len(), 50);
        assert!(
            dropped.iter().all(|line| line.announce.is_none()),
            "{dropped:?}"
        );
        assert_eq!(dropped[0].text, "reply 0", "the oldest reply goes");
        let first = drain(&mut outbox, 1).await;
        assert_eq!(first[0].0, "announce");
    }

    /// Burst 4, then 1 line/s, counting announces and replies together.
    #[tokio::test(start_paused = true)]
    async fn flood_control_covers_both_queues() {
        let mut outbox = Outbox::new(4, 1.0, 100);
        for i in 0..5 {
            outbox.push("#a", line(&format!("reply {i}"), LONG));
            outbox.push("#a", announce(&format!("announce {i}"), i + 1));
        }
        let sent = drain(&mut outbox, 10).await;
        let texts: Vec<_> = sent.iter().map(|(text, _)| text.as_str()).collect();
        let announces = (0..5).map(|i| format!("announce {i}"));
        let replies = (0..5).map(|i| format!("reply {i}"));
        let expected: Vec<_> = announces.chain(replies).collect();
        assert_eq!(texts, expected, "announces first, each queue in order");
        for (i, (text, at)) in sent.iter().enumerate() {
            let want = Duration::from_secs(i.saturating_sub(3) as u64);
            assert!(
                at.abs_diff(want) < Duration::from_millis(5),
                "{text} at {at:?}"
            );
        }
    }
}
