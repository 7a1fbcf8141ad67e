//! [`AnnounceLine`]: the only type a broadcast message can be made of. It can only be built by
//! [`AnnounceLine::sanitize`], so no code path can put a CR, LF, NUL, another control character
//! or an IRC formatting code into a WebSocket message (and from there into IRC).

use serde::Serialize;

/// Longest announce line the hub emits, in bytes. IRC's own limit is 512 bytes including the
/// prefix, so relays cut further; this only bounds what a hostile title can make the hub store.
pub const MAX_LINE_BYTES: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AnnounceLine(String);

impl AnnounceLine {
    /// Removes control characters (C0, DEL, C1 — which covers CR, LF, NUL and IRC's formatting
    /// codes such as bold `\x02` and colour `\x03`), Unicode line and paragraph separators, turns
    /// every other blank into a space and collapses them; cuts over-long text on a character
    /// boundary.
    pub fn sanitize(text: &str) -> AnnounceLine {
        let mut out = String::with_capacity(text.len().min(MAX_LINE_BYTES));
        let mut last_space = true;
        for c in text.chars() {
            if c != '\t' && (c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')) {
                continue;
            }
            // Every other blank (tab, no-break space, em space…) is a plain space, so runs of
            // them collapse and none is left at either end.
            let c = if c.is_whitespace() { ' ' } else { c };
            if c == ' ' {
                if last_space {
                    continue;
                }
                last_space = true;
            } else {
                last_space = false;
            }
            if out.len() + c.len_utf8() > MAX_LINE_BYTES {
                break;
            }
            out.push(c);
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        AnnounceLine(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_every_control_character() {
        let nasty: String = (0u32..0x20)
            .chain(0x7f..0xa0)
            .filter_map(char::from_u32)
            .filter(|c| *c != '\t')
            .collect();
        let line = AnnounceLine::sanitize(&format!("a{nasty}b\u{2028}c"));
        assert_eq!(line.as_str(), "abc");
        assert_eq!(
            AnnounceLine::sanitize("a\tb").as_str(),
            "a b",
            "a tab is a space"
        );
    }

    #[test]
    fn keeps_unicode_and_collapses_spaces() {
        let line = AnnounceLine::sanitize("  Ünïcødé \t 日本  🎵 ");
        assert_eq!(line.as_str(), "Ünïcødé 日本 🎵");
    }

    /// Found by the property test: a no-break space was trimmed at the end but kept at the start.
    #[test]
    fn every_blank_is_a_space() {
        let line = AnnounceLine::sanitize("\u{a0}a\u{a0}\u{2003}b\u{a0}");
        assert_eq!(line.as_str(), "a b");
    }

    #[test]
    fn cuts_on_a_character_boundary() {
        let long = "é".repeat(MAX_LINE_BYTES);
        let line = AnnounceLine::sanitize(&long);
        assert!(line.as_str().len() <= MAX_LINE_BYTES);
        assert!(line.as_str().chars().all(|c| c == 'é'));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Any character, with the troublesome ones (controls, IRC formatting, separators, spaces,
    /// multi-byte) far more often than uniform sampling would give them.
    fn nasty_char() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => any::<char>(),
            2 => prop::char::range('\0', '\x1f'),
            1 => prop::char::range('\x7f', '\u{9f}'),
            2 => prop::sample::select(vec![' ', ' ', '\t', '\u{2028}', '\u{2029}', '\u{feff}']),
            2 => prop::sample::select(vec!['a', 'é', '日', '🎵', '0', ',']),
        ]
    }

    /// Up to 4,800 characters, so the length cut is reached often: a random run repeated
    /// (generating thousands of independent characters per case would make the test slow).
    fn text() -> impl Strategy<Value = String> {
        (prop::collection::vec(nasty_char(), 0..300), 1..16usize)
            .prop_map(|(v, n)| v.into_iter().collect::<String>().repeat(n))
    }

    /// What the sanitiser promises to keep: the printable characters, every blank as a space,
    /// runs of spaces as one, no space at either end; written independently of the
    /// implementation.
    fn cleaned(input: &str) -> String {
        let kept: String = input
            .chars()
            .filter(|&c| {
                c == '\t' || !(c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
            })
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        kept.split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    proptest! {
        #[test]
        fn any_input_becomes_one_clean_line(input in text()) {
            // Valid UTF-8 holds by type: the line is a `String` built from whole characters.
            let line = AnnounceLine::sanitize(&input);
            let out = line.as_str();
            prop_assert!(out.len() <= MAX_LINE_BYTES);
            prop_assert!(
                !out.chars().any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')),
                "control, formatting or separator left in {out:?}"
            );
            prop_assert!(!out.contains("  ") && out.trim() == out);
        }

        #[test]
        fn the_line_is_a_prefix_of_the_cleaned_input(input in text()) {
            let out = AnnounceLine::sanitize(&input);
            let clean = cleaned(&input);
            if clean.len() <= MAX_LINE_BYTES {
                prop_assert_eq!(out.as_str(), clean.as_str());
            } else {
                prop_assert!(clean.starts_with(out.as_str()));
                // Cut only for want of room: a character (up to 4 bytes) and a trailing space.
                prop_assert!(out.as_str().len() >= MAX_LINE_BYTES - 5);
            }
        }
    }
}
