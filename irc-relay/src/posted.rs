//! What the relay has posted to IRC, per channel, kept in a file so that a relay started again
//! (even after a kill -9) resumes right after it.
//!
//! The hub's cursor moves by acks only, and an ack waits in memory while the hub is down: a
//! relay killed then would, left to the cursor, post those lines a second time. So each time a
//! line has been handed to the IRC connection the relay writes the announce's seq (and its
//! `announced_at`, for the "new database" rule in `resume`) for that channel, and the next
//! process resumes with `?since=` the lowest of them. A line seen but not yet posted (queued
//! while IRC is down) is above that mark, so the hub sends it again: none is lost. Channels
//! keep marks of their own because one channel may post while another still waits to join.
//!
//! The file is replaced atomically (a temporary file in the same directory, then a rename), so
//! a kill mid-write leaves the old marks. A file that cannot be read or parsed is treated as
//! absent, with a warning: the relay then starts as if for the first time.

use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use ntr_protocol::Seq;
use serde::{Deserialize, Serialize};

/// An announce as far as posting is concerned: its seq and when the hub announced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub seq: Seq,
    pub announced_at: Timestamp,
}

impl Mark {
    /// Whether `other` is this announce or an earlier one. A lower seq announced later is not:
    /// it comes from a hub whose numbering started over.
    fn covers(self, other: Mark) -> bool {
        other.seq <= self.seq && other.announced_at <= self.announced_at
    }
}

/// The file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Marks {
    /// The last announce posted to each channel.
    channels: BTreeMap<String, Mark>,
}

/// The last announce posted to each channel, and the file that keeps them.
#[derive(Debug)]
pub(crate) struct Posted {
    path: PathBuf,
    marks: Marks,
}

impl Posted {
    /// Reads `path`; a missing, unreadable or torn file counts as nothing posted yet.
    pub(crate) fn open(path: PathBuf) -> Posted {
        let marks = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e,
                    "ignoring an unreadable posted-lines file; starting as if for the first time");
                Marks::default()
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Marks::default(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e,
                    "cannot read the posted-lines file; starting as if for the first time");
                Marks::default()
            }
        };
        Posted { path, marks }
    }

    /// Where a restarted relay resumes: the lowest mark among `channels`, so every channel gets
    /// what it has not posted; `None` when none of them has posted anything.
    pub(crate) fn resume_point(&self, channels: &[String]) -> Option<Mark> {
        channels
            .iter()
            .filter_map(|channel| self.marks.channels.get(channel))
            .min_by_key(|mark| mark.seq)
            .copied()
    }

    /// Whether `mark` was already posted to `channel` (a replay after a restart).
    pub(crate) fn was_posted(&self, channel: &str, mark: Mark) -> bool {
        self.marks
            .channels
            .get(channel)
            .is_some_and(|last| last.covers(mark))
    }

    /// Records that `mark` was handed to the IRC connection for `channel`, and saves. A failed
    /// save is a warning: posting goes on, and a restart may then post the line again.
    pub(crate) fn record(&mut self, channel: &str, mark: Mark) {
        if self.was_posted(channel, mark) {
            return;
        }
        self.marks.channels.insert(channel.to_owned(), mark);
        if let Err(e) = self.save() {
            tracing::warn!(path = %self.path.display(), error = %e,
                "cannot save the posted-lines file; a restart may post this line again");
        }
    }

    fn save(&self) -> io::Result<()> {
        let json = serde_json::to_vec(&self.marks).map_err(io::Error::other)?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(&json)?;
        file.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Creates `dir` if needed and checks that a file can be written in it, as a start needs.
pub fn prepare(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    tempfile::NamedTempFile::new_in(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(seq: u64, at: &str) -> Mark {
        Mark {
            seq: Seq::new(seq),
            announced_at: at.parse().expect("time"),
        }
    }

    fn channels(names: &[&str]) -> Vec<String> {
        names.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn marks_survive_a_restart_and_resume_from_the_lowest_channel() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("posted.json");
        let mut posted = Posted::open(path.clone());
        assert_eq!(posted.resume_point(&channels(&["#a"])), None, "no file");
        posted.record("#a", mark(41, "2026-03-14T01:00:00Z"));
        posted.record("#a", mark(42, "2026-03-14T01:01:00Z"));
        posted.record("#b", mark(41, "2026-03-14T01:00:00Z"));

        let again = Posted::open(path);
        assert_eq!(
            again.resume_point(&channels(&["#a", "#b"])),
            Some(mark(41, "2026-03-14T01:00:00Z")),
            "#b has not posted 42 yet"
        );
        assert_eq!(
            again.resume_point(&channels(&["#a", "#new"])),
            Some(mark(42, "2026-03-14T01:01:00Z"))
        );
        assert!(again.was_posted("#a", mark(42, "2026-03-14T01:01:00Z")));
        assert!(!again.was_posted("#b", mark(42, "2026-03-14T01:01:00Z")));
        assert!(!again.was_posted("#new", mark(1, "2026-03-14T00:00:00Z")));
    }

    #[test]
    fn a_hub_whose_seqs_started_over_is_not_taken_for_a_replay() {
        let dir = tempfile::tempdir().expect("dir");
        let mut posted = Posted::open(dir.path().join("posted.json"));
        posted.record("#a", mark(41, "2026-03-14T01:00:00Z"));
        let new_database = mark(1, "2026-03-14T02:00:00Z");
        assert!(!posted.was_posted("#a", new_database));
        posted.record("#a", new_database);
        assert_eq!(posted.resume_point(&channels(&["#a"])), Some(new_database));
    }

    #[test]
    fn a_torn_or_garbage_file_counts_as_absent() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("posted.json");
        for garbage in [&b"{\"channels\":{\"#a\":{\"seq\":4"[..], b"\x00\xff", b""] {
            std::fs::write(&path, garbage).expect("write");
            let mut posted = Posted::open(path.clone());
            assert_eq!(posted.resume_point(&channels(&["#a"])), None);
            // And the next post replaces it with a good file.
            posted.record("#a", mark(7, "2026-03-14T01:00:00Z"));
            let again = Posted::open(path.clone());
            assert_eq!(
                again.resume_point(&channels(&["#a"])),
                Some(mark(7, "2026-03-14T01:00:00Z"))
            );
        }
    }

    #[test]
    fn a_directory_that_cannot_hold_files_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").expect("write");
        assert!(prepare(&file.join("state")).is_err());
        assert!(prepare(&dir.path().join("new/state")).is_ok());
        assert!(dir.path().join("new/state").is_dir());
    }
}
