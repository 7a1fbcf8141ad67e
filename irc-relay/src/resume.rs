//! Where the hub stream resumes after a reconnect, and which announces are new.
//!
//! The relay remembers the last sequence number it has seen and resumes with `?since=` so that
//! a short outage loses nothing, and it skips any announce at or below that number so a replay
//! never posts a line twice.
//!
//! A seq at or below the last seen one is taken after all if its `announced_at` is newer than
//! the last seen announce's: then the hub's sequence has started over (a new database) and the
//! relay follows it instead of staying silent until the new numbers pass the old ones.
//!
//! A relay started again resumes after the last line it posted in its earlier run (see
//! `posted`), not after the last one it saw: what it had seen but not posted comes again.
//!
//! Before the first announce there is no seq to resume from, yet a hub restart can still fall
//! between the relay's first subscription and the DJ's first announce. Then the relay resumes
//! with `?since=0` and skips every announce made before its first subscription (by
//! `announced_at`): those predate this relay, and it starts live.

use jiff::Timestamp;
use ntr_protocol::Seq;

use crate::posted::Mark;

/// What the relay has seen of the hub stream.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    /// The highest announce seq seen, with its `announced_at` (hub clock).
    last_seen: Option<(Seq, Timestamp)>,
    /// When the first subscription went live (relay clock).
    first_live: Option<Timestamp>,
}

/// Where the next subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// The first subscription: live, nothing replayed.
    Live,
    /// From the start of the replay window, posting only what was announced at or after the
    /// relay first went live.
    FirstLive(Timestamp),
    /// After the last seen seq.
    After(Seq),
}

impl Start {
    /// The `since` parameter.
    pub(crate) fn since(self) -> Option<Seq> {
        match self {
            Start::Live => None,
            Start::FirstLive(_) => Some(Seq::ZERO),
            Start::After(seq) => Some(seq),
        }
    }

    /// Announces made before this are not this relay's to post.
    pub(crate) fn not_before(self) -> Option<Timestamp> {
        match self {
            Start::FirstLive(at) => Some(at),
            Start::Live | Start::After(_) => None,
        }
    }
}

impl Resume {
    /// A relay started again after posting up to `posted` in an earlier run: it resumes after
    /// it, and a hub whose seqs started over since is still recognised.
    pub(crate) fn after(posted: Mark) -> Resume {
        Resume {
            last_seen: Some((posted.seq, posted.announced_at)),
            first_live: None,
        }
    }

    pub(crate) fn start(&self) -> Start {
        match (self.last_seen, self.first_live) {
            (Some((seq, _)), _) => Start::After(seq),
            (None, Some(at)) => Start::FirstLive(at),
            (None, None) => Start::Live,
        }
    }

    /// Records that a subscription is up (only the first one counts).
    pub(crate) fn went_live(&mut self) {
        self.first_live.get_or_insert_with(Timestamp::now);
    }

    /// Whether announce `seq`, announced at `at`, is new; if so it becomes the last seen.
    pub(crate) fn take(&mut self, seq: Seq, at: Timestamp) -> bool {
        if let Some((last, last_at)) = self.last_seen
            && seq <= last
        {
            // A replay of something seen, unless it is newer than anything seen: then the
            // hub's numbering started over.
            if at <= last_at {
                return false;
            }
            tracing::warn!(
                %seq,
                %last,
                "the hub's sequence numbers started over (a new database?); following them"
            );
        }
        self.last_seen = Some((seq, at));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        text.parse().expect("time")
    }

    #[test]
    fn resumes_from_the_last_seen_seq_or_from_the_first_subscription() {
        let mut resume = Resume::default();
        assert_eq!(
            resume.start(),
            Start::Live,
            "the first subscription is live"
        );
        assert_eq!(resume.start().since(), None);
        resume.first_live = Some(t("2026-03-14T01:00:00Z"));
        let start = resume.start();
        assert_eq!(
            start.since(),
            Some(Seq::ZERO),
            "nothing seen yet: the whole window"
        );
        assert_eq!(start.not_before(), Some(t("2026-03-14T01:00:00Z")));
        assert!(resume.take(Seq::new(41), t("2026-03-14T01:01:00Z")));
        assert_eq!(resume.start(), Start::After(Seq::new(41)));
        assert_eq!(resume.start().not_before(), None);
    }

    #[test]
    fn a_restarted_relay_resumes_after_what_it_posted() {
        let posted = Mark {
            seq: Seq::new(41),
            announced_at: t("2026-03-14T01:00:00Z"),
        };
        let mut resume = Resume::after(posted);
        assert_eq!(resume.start(), Start::After(Seq::new(41)));
        assert!(!resume.take(Seq::new(41), t("2026-03-14T01:00:00Z")));
        assert!(resume.take(Seq::new(42), t("2026-03-14T01:01:00Z")));
        // A new database since: its seq 1 is newer than anything posted.
        let mut resume = Resume::after(posted);
        assert!(resume.take(Seq::new(1), t("2026-03-14T02:00:00Z")));
    }

    #[test]
    fn only_the_first_subscription_sets_first_live() {
        let mut resume = Resume::default();
        resume.went_live();
        let first = resume.first_live;
        assert!(first.is_some());
        resume.went_live();
        assert_eq!(resume.first_live, first);
    }

    #[test]
    fn skips_what_was_seen_but_follows_a_sequence_that_started_over() {
        let mut resume = Resume::default();
        assert!(resume.take(Seq::new(40), t("2026-03-14T01:00:00Z")));
        assert!(resume.take(Seq::new(41), t("2026-03-14T01:05:00Z")));
        // Replayed again (a hub that replays too much): skipped.
        assert!(!resume.take(Seq::new(41), t("2026-03-14T01:05:00Z")));
        assert!(!resume.take(Seq::new(40), t("2026-03-14T01:00:00Z")));
        assert_eq!(resume.start(), Start::After(Seq::new(41)));
        // A new database: seq 1 again, announced after everything seen.
        assert!(resume.take(Seq::new(1), t("2026-03-14T02:00:00Z")));
        assert_eq!(resume.start(), Start::After(Seq::new(1)));
        assert!(!resume.take(Seq::new(1), t("2026-03-14T02:00:00Z")));
        assert!(resume.take(Seq::new(2), t("2026-03-14T02:01:00Z")));
    }
}
