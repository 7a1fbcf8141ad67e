//! Which track of a show is on air and which comes next: the one rule the console's Announce
//! next button and `POST /admin/announce/next` share, so a hardware button announces exactly
//! what the DJ sees on the big button.

use ntr_protocol::Track;

use crate::store::{Ack, Announcement};

/// A SoundCloud track is itself wherever it sits; a record typed in by hand is what was typed.
pub fn same_track(a: &Track, b: &Track) -> bool {
    match (a.id, b.id) {
        (Some(x), Some(y)) => x == y,
        (None, None) => {
            a.title == b.title && a.artist == b.artist && a.permalink_url == b.permalink_url
        }
        _ => false,
    }
}

/// The last announce of `track` in a show's log that still stands: a corrected one does not
/// count.
pub fn standing<'a>(
    track: &Track,
    log: &'a [(Announcement, Vec<Ack>)],
) -> Option<&'a (Announcement, Vec<Ack>)> {
    log.iter().rev().find(|(a, _)| {
        a.corrected_by.is_none() && a.track.as_ref().is_some_and(|a| same_track(a, track))
    })
}

/// On air and next, as indexes into a show's tracks, from `order`: for each track, where its
/// standing announce comes in the show (its seq; a held announce after every seq), or `None`
/// when it is not announced. On air: the track announced last. Next: the first unannounced
/// track after it (the DJ skipped the ones before on purpose), else the first unannounced one.
pub fn now_and_next(order: &[Option<u64>]) -> (Option<usize>, Option<usize>) {
    let now = order
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.map(|o| (o, i)))
        .max()
        .map(|(_, i)| i);
    let after = now.map_or(0, |i| i + 1);
    let next = order
        .iter()
        .skip(after)
        .position(Option::is_none)
        .map(|i| i + after)
        .or_else(|| order.iter().position(Option::is_none));
    (now, next)
}
