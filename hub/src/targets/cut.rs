//! Fitting a line into a kind's length limit: cut on a character (or, for Bluesky, a grapheme)
//! boundary, marked with `…`, and never through a link — when the line ends in a URL, the text
//! before it is shortened and the URL kept whole, so the post still points at the track.
//!
//! Also where the links of a line are found ([`links`]), for kinds that mark them up.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

/// What a kind's limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Unicode scalar values (Rust `char`s): Mastodon, Telegram.
    Char,
    /// User-perceived characters (extended grapheme clusters): Bluesky.
    Grapheme,
}

impl Unit {
    fn count(self, text: &str) -> usize {
        match self {
            Unit::Char => text.chars().count(),
            Unit::Grapheme => text.graphemes(true).count(),
        }
    }

    /// The byte length of the first `n` units of `text` (all of it when shorter).
    fn prefix_len(self, text: &str, n: usize) -> usize {
        let end = match self {
            Unit::Char => text.char_indices().nth(n).map(|(i, _)| i),
            Unit::Grapheme => text.grapheme_indices(true).nth(n).map(|(i, _)| i),
        };
        end.unwrap_or(text.len())
    }
}

/// The marker of a cut line.
const ELLIPSIS: &str = "…";

/// `line` if it has at most `max` units, else a shorter form of at most `max` units.
pub fn fit(line: &str, max: usize, unit: Unit) -> String {
    if unit.count(line) <= max {
        return line.to_owned();
    }
    if let Some(kept) = keep_last_link(line, max, unit) {
        return kept;
    }
    let mut end = unit.prefix_len(line, max.saturating_sub(1));
    // A link cut short points somewhere else: drop it whole instead.
    if let Some(link) = links(line)
        .into_iter()
        .find(|l| l.start < end && end < l.end)
    {
        end = link.start;
    }
    format!("{}{ELLIPSIS}", line[..end].trim_end())
}

/// `head… URL[rest]` when the last link and what follows it fit with room to spare.
fn keep_last_link(line: &str, max: usize, unit: Unit) -> Option<String> {
    let link = links(line).pop()?;
    let tail = &line[link.start..];
    // The marker and one space sit between the shortened head and the link.
    let budget = max.checked_sub(unit.count(tail) + 2)?;
    let head = line[..link.start].trim_end();
    let head = head[..unit.prefix_len(head, budget)].trim_end();
    Some(format!("{head}{ELLIPSIS} {tail}"))
}

/// The byte ranges of the http(s) URLs in `text`: whitespace-separated words that start with
/// `http://` or `https://` and have something after it.
pub fn links(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                if is_link(&text[s..i]) {
                    out.push(s..i);
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn is_link(word: &str) -> bool {
    ["https://", "http://"]
        .iter()
        .any(|p| word.strip_prefix(p).is_some_and(|rest| !rest.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const URL: &str = "https://soundcloud.com/artist/track";

    #[test]
    fn short_lines_are_kept() {
        assert_eq!(fit("Now Playing: x", 500, Unit::Char), "Now Playing: x");
    }

    #[test]
    fn a_trailing_link_stays_whole() {
        let line = format!("Now Playing: {} by A - {URL}", "é".repeat(600));
        let cut = fit(&line, 500, Unit::Char);
        assert_eq!(cut.chars().count(), 500);
        assert!(cut.ends_with(&format!("… {URL}")), "{cut}");
        assert!(cut.starts_with("Now Playing: éé"));
    }

    #[test]
    fn a_cut_never_ends_inside_a_link() {
        let line = format!("{URL} {}", "a ".repeat(400));
        let cut = fit(&format!("x {line}"), 20, Unit::Char);
        assert_eq!(cut, "x…");
        let cut = fit(&line, 100, Unit::Char);
        assert!(cut.starts_with(URL) && cut.ends_with('…'), "{cut}");
        assert!(cut.chars().count() <= 100);
    }

    #[test]
    fn graphemes_are_not_split() {
        // A family emoji is one grapheme of seven chars.
        let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦";
        let line = family.repeat(400);
        let cut = fit(&line, 300, Unit::Grapheme);
        assert_eq!(cut.graphemes(true).count(), 300);
        assert_eq!(cut, format!("{}…", family.repeat(299)));
    }

    #[test]
    fn links_are_found_by_byte_range() {
        let text = format!("Ünïcödé 日本 - {URL} and http:// alone");
        let found = links(&text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].clone()], URL);
    }

    proptest! {
        #[test]
        fn fits_on_a_boundary_and_keeps_a_prefix(
            words in proptest::collection::vec("[a-zé日👍 ]{0,12}", 0..60),
            max in 3usize..120,
            grapheme in any::<bool>(),
        ) {
            let unit = if grapheme { Unit::Grapheme } else { Unit::Char };
            let line = format!("{} - {URL}", words.concat());
            let cut = fit(&line, max, unit);
            prop_assert!(unit.count(&cut) <= max);
            if unit.count(&line) <= max {
                prop_assert_eq!(&cut, &line);
            } else {
                let head = cut.split('…').next().unwrap_or_default();
                prop_assert!(line.starts_with(head));
                // A link in the cut line is one of the line's links, whole.
                for l in links(&cut) {
                    prop_assert_eq!(&cut[l], URL);
                }
            }
        }
    }
}
