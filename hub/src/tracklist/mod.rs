//! Tracklists of a show for the DJ's upload (YouTube or Mixcloud chapters, a CUE sheet, a
//! spreadsheet, a Markdown table, JSON): the tracks that were announced, in announce order, each
//! at its first announce that still stands, timed from the show's "recording started" mark or,
//! without one, from its first announce.

mod formats;

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;

use crate::line::AnnounceLine;
use crate::store::Played;

/// One track of a tracklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub position: u32,
    pub title: String,
    pub artist: String,
    pub url: String,
    pub announced_at: Timestamp,
    /// From the recording's start; a track announced before the mark is at zero (it was
    /// already playing when the recording began).
    pub offset: Duration,
}

impl Entry {
    /// The start as `MM:SS`, or `H:MM:SS` from an hour on: the chapter times YouTube and
    /// Mixcloud read.
    pub fn clock(&self) -> String {
        let s = self.offset.as_secs();
        if s >= 3600 {
            format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        } else {
            format!("{:02}:{:02}", s / 60, s % 60)
        }
    }

    /// `Artist - Title` on one line (just the title when there is no artist).
    pub fn label(&self) -> String {
        let artist = AnnounceLine::sanitize(&self.artist);
        let title = AnnounceLine::sanitize(&self.title);
        if artist.is_empty() {
            title.as_str().to_owned()
        } else {
            format!("{} - {}", artist.as_str(), title.as_str())
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracklist {
    pub show_id: i64,
    /// A name for the recording, such as "Show of 2026-03-11" (CUE's TITLE).
    pub title: String,
    pub entries: Vec<Entry>,
}

/// How a track is recognised when it is announced twice: SoundCloud's id, or for a record that
/// is not on SoundCloud, what the DJ typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum TrackKey {
    SoundCloud(i64),
    Record(String, String, String),
}

impl Tracklist {
    /// `played` is the show's standing track announces in announce order.
    pub fn build(
        show_id: i64,
        title: String,
        played: &[Played],
        mark: Option<Timestamp>,
    ) -> Tracklist {
        let mut seen = HashSet::new();
        let first: Vec<&Played> = played
            .iter()
            .filter(|p| {
                seen.insert(match p.track.id {
                    Some(id) => TrackKey::SoundCloud(id),
                    None => TrackKey::Record(
                        p.track.title.clone(),
                        p.track.artist.clone(),
                        p.track.permalink_url.clone(),
                    ),
                })
            })
            .collect();
        let start = mark.or_else(|| first.first().map(|p| p.announced_at));
        let entries = first
            .into_iter()
            .map(|p| Entry {
                position: p.position,
                title: p.track.title.clone(),
                artist: p.track.artist.clone(),
                url: p.track.permalink_url.clone(),
                announced_at: p.announced_at,
                offset: start
                    .and_then(|s| Duration::try_from(p.announced_at.duration_since(s)).ok())
                    .unwrap_or(Duration::ZERO),
            })
            .collect();
        Tracklist {
            show_id,
            title,
            entries,
        }
    }

    /// The tracklist written in `format`.
    pub fn render(&self, format: Format) -> Result<String, TracklistError> {
        match format {
            Format::Text => Ok(formats::text(self)),
            Format::Cue => formats::cue(self),
            Format::Csv => formats::csv(self),
            Format::Markdown => Ok(formats::markdown(self)),
            Format::Json => formats::json(self),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TracklistError {
    #[error("a CUE sheet holds at most 99 tracks and this show has {0}; use another format")]
    TooManyForCue(usize),
    #[error("cannot write the CSV: {0}")]
    Csv(String),
    #[error("cannot write the JSON: {0}")]
    Json(#[from] serde_json::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Cue,
    Csv,
    Markdown,
    Json,
}

impl Format {
    pub const NAMES: &'static str = "text, cue, csv, md or json";

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; charset=utf-8",
            Format::Cue => "application/x-cue; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// The file name extension for a download.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Cue => "cue",
            Format::Csv => "csv",
            Format::Markdown => "md",
            Format::Json => "json",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "text" => Ok(Format::Text),
            "cue" => Ok(Format::Cue),
            "csv" => Ok(Format::Csv),
            "md" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            other => Err(format!(
                "unknown tracklist format `{other}`; use {}",
                Format::NAMES
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Track;

    fn played(seq: u64, position: u32, id: Option<i64>, title: &str, at: &str) -> Played {
        Played {
            seq: ntr_protocol::Seq::new(seq),
            show_id: 7,
            position,
            track: Track {
                position,
                id,
                title: title.into(),
                artist: "A".into(),
                permalink_url: String::new(),
                artwork_url: None,
                duration_ms: None,
                license: None,
                liked_at: None,
            },
            announced_at: at.parse().expect("time"),
        }
    }

    #[test]
    fn first_announce_counts_and_offsets_start_at_the_mark_or_the_first() {
        let log = [
            played(1, 1, Some(10), "One", "2026-03-12T03:00:00Z"),
            played(2, 2, None, "Two", "2026-03-12T03:04:30.500Z"),
            played(3, 1, Some(10), "One", "2026-03-12T03:09:00Z"),
            played(4, 2, None, "Two", "2026-03-12T03:10:00Z"),
        ];
        let list = Tracklist::build(7, "t".into(), &log, None);
        let offsets: Vec<_> = list.entries.iter().map(|e| e.offset.as_millis()).collect();
        assert_eq!(offsets, [0, 270_500]);
        let marked = Tracklist::build(7, "t".into(), &log, "2026-03-12T03:01:00Z".parse().ok());
        let offsets: Vec<_> = marked
            .entries
            .iter()
            .map(|e| e.offset.as_millis())
            .collect();
        assert_eq!(offsets, [0, 210_500], "before the mark is zero");
    }

    #[test]
    fn formats_parse() {
        assert_eq!("md".parse(), Ok(Format::Markdown));
        assert!("xml".parse::<Format>().unwrap_err().contains("text, cue"));
    }
}
