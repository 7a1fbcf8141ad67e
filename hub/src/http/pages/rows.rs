//! A show as the pages draw it: its rows with times already on the show's clock, which track is
//! on air now and which comes next, and its log. Announces are matched to tracks by what the
//! track is (SoundCloud id, or title, artist and link for a record), not by position, so moving
//! a track after it was announced keeps its mark on it.

use ntr_protocol::Track;

use jiff::Timestamp;

use crate::clock::Clock;
use crate::next_track::{now_and_next, standing};
use crate::store::{Ack, Announcement, CORRECTABLE_FOR, Show};
use crate::web_url::WebUrl;

/// Which of the listed shows this is, for its heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The show the DJ announces from: on air during the live window, else this week's.
    Current,
    Previous,
    Other,
}

pub struct ShowRows {
    pub id: i64,
    pub heading: String,
    pub range: String,
    pub on_air: bool,
    /// The week is over: no more likes join it.
    pub ended: bool,
    /// The show the "Announce next" button works on.
    pub primary: bool,
    pub tracks: Vec<TrackRow>,
    /// Everything announced for the show, oldest first.
    pub log: Vec<LogRow>,
    /// When the DJ marked "recording started", if they did.
    pub mark: Option<Stamp>,
    /// The console's "We're live" button.
    pub go_live: GoLive,
}

/// The console's "We're live": offered while the show is on air and some target takes live
/// alerts, until this week's alert went out (then its time is shown instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoLive {
    Hidden,
    Ready,
    /// Sent at this time, on the show's clock.
    Sent(String),
}

pub struct TrackRow {
    pub position: u32,
    pub title: String,
    pub artist: String,
    /// Only an http(s) link is ever rendered as one.
    pub url: Option<WebUrl>,
    pub duration: String,
    /// A SoundCloud track (re-added by its URL), not a record typed in by hand.
    pub soundcloud: bool,
    /// The id the admin API's `track_id` takes: the SoundCloud id, 0 for a record. Every tap
    /// sends it, so an edit never lands on a track a poll moved into this position.
    pub track_id: i64,
    /// Its last announce that was not corrected.
    pub seq: Option<u64>,
    pub announced_at: Option<Stamp>,
    pub targets: Vec<String>,
    /// The show's last standing announce is this track.
    pub now: bool,
    /// The track the "Announce next" button announces.
    pub next: bool,
}

/// One announce of the show's log.
pub struct LogRow {
    pub seq: u64,
    pub at: Stamp,
    pub message: String,
    /// The position it had when announced; `None` for a free text.
    pub position: Option<u32>,
    pub targets: Vec<String>,
    /// The announce this one corrects.
    pub corrects: Option<u64>,
    /// The announce that corrected this one: its track counts as not announced.
    pub corrected_by: Option<u64>,
    /// Not corrected yet, and young enough to be.
    pub correctable: bool,
}

/// A time as drawn ("22:41:07 New York") and as a machine reads it (RFC 3339).
pub struct Stamp {
    pub text: String,
    pub iso: String,
}

impl Stamp {
    pub fn new(clock: &Clock, t: Timestamp) -> Stamp {
        Stamp {
            text: clock.time(t),
            iso: t.to_string(),
        }
    }
}

/// What a show page is drawn from besides the show itself.
pub struct ShowContext<'a> {
    pub clock: &'a Clock,
    pub slot: Slot,
    pub on_air: bool,
    pub ended: bool,
    pub now: Timestamp,
    /// The show's announces with their acks, oldest first, corrected ones included.
    pub log: &'a [(Announcement, Vec<Ack>)],
    pub mark: Option<Timestamp>,
}

impl ShowRows {
    pub fn new(show: &Show, cx: &ShowContext<'_>) -> ShowRows {
        let mut tracks: Vec<TrackRow> = show.tracks.iter().map(|t| track_row(t, cx)).collect();
        mark_now_and_next(&mut tracks);
        ShowRows {
            id: show.id,
            heading: heading(cx.slot, cx.on_air, show, cx.clock),
            range: cx.clock.range(show.week.start, show.week.end),
            on_air: cx.on_air,
            ended: cx.ended,
            primary: cx.slot == Slot::Current,
            tracks,
            log: cx
                .log
                .iter()
                .map(|(a, acks)| log_row(a, acks, cx))
                .collect(),
            mark: cx.mark.map(|t| Stamp::new(cx.clock, t)),
            go_live: GoLive::Hidden,
        }
    }

    pub fn go_live_ready(&self) -> bool {
        self.go_live == GoLive::Ready
    }

    /// When this week's live alert went out, if it did and the console shows it.
    pub fn go_live_sent(&self) -> Option<&str> {
        match &self.go_live {
            GoLive::Sent(at) => Some(at),
            _ => None,
        }
    }

    pub fn now_track(&self) -> Option<&TrackRow> {
        self.tracks.iter().find(|t| t.now)
    }

    pub fn next_track(&self) -> Option<&TrackRow> {
        self.tracks.iter().find(|t| t.next)
    }

    /// What an empty show says: a running week still collects likes, an ended one will not.
    pub fn empty_text(&self) -> &'static str {
        if self.ended {
            "No tracks: nothing was liked on SoundCloud that week."
        } else {
            "No tracks yet: likes on SoundCloud during this week appear here."
        }
    }
}

fn heading(slot: Slot, on_air: bool, show: &Show, clock: &Clock) -> String {
    match slot {
        Slot::Current if on_air => "On air now".into(),
        Slot::Current => "This week's show".into(),
        Slot::Previous => "Previous show".into(),
        Slot::Other => format!("Show of {}", clock.day_time(show.week.end)),
    }
}

fn track_row(t: &Track, cx: &ShowContext<'_>) -> TrackRow {
    let last = standing(t, cx.log);
    TrackRow {
        position: t.position,
        title: t.title.clone(),
        artist: t.artist.clone(),
        url: WebUrl::link(&t.permalink_url),
        duration: t.duration_ms.map(format_duration).unwrap_or_default(),
        soundcloud: t.id.is_some(),
        track_id: t.id.unwrap_or(0),
        seq: last.map(|(a, _)| a.seq.get()),
        announced_at: last.map(|(a, _)| Stamp::new(cx.clock, a.announced_at)),
        targets: last.map(|(_, acks)| targets(acks)).unwrap_or_default(),
        now: false,
        next: false,
    }
}

fn log_row(a: &Announcement, acks: &[Ack], cx: &ShowContext<'_>) -> LogRow {
    LogRow {
        seq: a.seq.get(),
        at: Stamp::new(cx.clock, a.announced_at),
        message: a.message.as_str().to_string(),
        position: a.position,
        targets: targets(acks),
        corrects: a.corrects.map(ntr_protocol::Seq::get),
        corrected_by: a.corrected_by.map(ntr_protocol::Seq::get),
        correctable: a.corrected_by.is_none() && a.announced_at >= cx.now - CORRECTABLE_FOR,
    }
}

fn targets(acks: &[Ack]) -> Vec<String> {
    acks.iter().map(|a| a.target.clone()).collect()
}

/// Marks the track on air and the next one, by the rule Announce next follows.
fn mark_now_and_next(tracks: &mut [TrackRow]) {
    let order: Vec<Option<u64>> = tracks.iter().map(|t| t.seq).collect();
    let (now, next) = now_and_next(&order);
    if let Some(i) = now {
        tracks[i].now = true;
    }
    if let Some(i) = next {
        tracks[i].next = true;
    }
}

fn format_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(position: u32, seq: Option<u64>) -> TrackRow {
        TrackRow {
            position,
            title: format!("t{position}"),
            artist: String::new(),
            url: None,
            duration: String::new(),
            soundcloud: true,
            track_id: i64::from(position),
            seq,
            announced_at: None,
            targets: Vec::new(),
            now: false,
            next: false,
        }
    }

    fn marks(seqs: &[Option<u64>]) -> (Option<u32>, Option<u32>) {
        let mut rows: Vec<TrackRow> = seqs
            .iter()
            .enumerate()
            .map(|(i, s)| row(i as u32 + 1, *s))
            .collect();
        mark_now_and_next(&mut rows);
        let find = |f: fn(&TrackRow) -> bool| rows.iter().find(|r| f(r)).map(|r| r.position);
        (find(|r| r.now), find(|r| r.next))
    }

    #[test]
    fn next_follows_the_track_on_air_and_wraps_to_skipped_ones() {
        assert_eq!(marks(&[None, None, None]), (None, Some(1)));
        assert_eq!(marks(&[Some(1), None, None]), (Some(1), Some(2)));
        // Track 2 was skipped: after 3 comes 4, not 2.
        assert_eq!(marks(&[Some(1), None, Some(2), None]), (Some(3), Some(4)));
        // Nothing after the one on air: back to the skipped one.
        assert_eq!(marks(&[Some(1), None, Some(2)]), (Some(3), Some(2)));
        // Announced out of order: the newest announce is on air.
        assert_eq!(marks(&[Some(5), Some(3), None]), (Some(1), Some(3)));
        assert_eq!(marks(&[Some(1), Some(2)]), (Some(2), None));
    }

    #[test]
    fn an_empty_week_says_what_fits_it() {
        let show = |ended| ShowRows {
            id: 1,
            heading: String::new(),
            range: String::new(),
            on_air: false,
            ended,
            primary: true,
            tracks: Vec::new(),
            log: Vec::new(),
            mark: None,
            go_live: GoLive::Hidden,
        };
        assert!(show(false).empty_text().contains("appear here"));
        assert!(!show(true).empty_text().contains("appear here"));
    }
}
