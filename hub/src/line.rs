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
    /// codes such as bold `\x02` and colour `\x03`), Unicode line and paragraph separators, and
    /// collapses the whitespace left behind; cuts over-long text on a character boundary.
    pub fn sanitize(text: &str) -> AnnounceLine {
        let mut out = String::with_capacity(text.len().min(MAX_LINE_BYTES));
        let mut last_space = true;
        for c in text.chars() {
            let c = if c == '\t' { ' ' } else { c };
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') {
                continue;
            }
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
        let trimmed = out.trim_end().len();
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

    #[test]
    fn cuts_on_a_character_boundary() {
        let long = "é".repeat(MAX_LINE_BYTES);
        let line = AnnounceLine::sanitize(&long);
        assert!(line.as_str().len() <= MAX_LINE_BYTES);
        assert!(line.as_str().chars().all(|c| c == 'é'));
    }
}
