//! The one way text becomes an IRC PRIVMSG.
//!
//! [`IrcLine`] can only be built by [`IrcLine::privmsg`], which sanitises and sizes the text, and
//! the connection sends PRIVMSGs only from an `IrcLine`. So no title from SoundCloud, no hub
//! message and no command reply can inject a second IRC command (`\r\nQUIT :x`), switch on
//! colours, or be cut off by the server in the middle of a UTF-8 character.
//!
//! Size: the server relays our line to listeners as `:nick!user@host PRIVMSG #chan :text\r\n`
//! and drops whatever goes past 512 bytes, so that whole line must fit. The prefix length is
//! the real one once the server has shown it (the echo of our JOIN) and a safe estimate before.

use irc::proto::Command;

/// The IRC line limit, CR LF included (RFC 1459 §2.3).
pub const MAX_LINE: usize = 512;
/// Marks a line that was cut.
pub const ELLIPSIS: &str = "…";
/// Upper bounds used before the server has shown our real `user@host`.
const ESTIMATED_USER_LEN: usize = 10;
const ESTIMATED_HOST_LEN: usize = 63;

/// A PRIVMSG whose text is free of control characters and fits the 512-byte limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrcLine {
    target: String,
    text: String,
}

impl IrcLine {
    /// Sanitises `text` and cuts it to fit `:PREFIX PRIVMSG target :text\r\n` into 512 bytes,
    /// where `prefix_len` is the length of `:nick!user@host` including the colon.
    ///
    /// `None` when nothing printable is left or the target is not a plain IRC target.
    pub fn privmsg(target: &str, text: &str, prefix_len: usize) -> Option<IrcLine> {
        if target.is_empty()
            || target
                .chars()
                .any(|c| c == ' ' || c == ',' || c.is_control())
        {
            return None;
        }
        let budget = text_budget(prefix_len, target)?;
        let clean = sanitize(text);
        if clean.trim().is_empty() {
            return None;
        }
        Some(IrcLine {
            target: target.to_string(),
            text: fit(&clean, budget),
        })
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Length of the line listeners receive, given the sender's prefix length.
    pub fn relayed_len(&self, prefix_len: usize) -> usize {
        overhead(prefix_len, &self.target) + self.text.len()
    }

    pub(crate) fn into_command(self) -> Command {
        Command::PRIVMSG(self.target, self.text)
    }
}

/// Length of `:nick!user@host` as the server will write it, before we have seen it.
pub fn estimated_prefix_len(nick: &str) -> usize {
    1 + nick.len() + 1 + ESTIMATED_USER_LEN + 1 + ESTIMATED_HOST_LEN
}

/// Length of `:nick!user@host` for known parts.
pub fn prefix_len(nick: &str, user: &str, host: &str) -> usize {
    1 + nick.len() + 1 + user.len() + 1 + host.len()
}

/// Everything in the relayed line except the text.
fn overhead(prefix_len: usize, target: &str) -> usize {
    prefix_len + " PRIVMSG ".len() + target.len() + " :".len() + "\r\n".len()
}

/// Bytes left for the text; `None` when not even a cut marker would fit.
pub fn text_budget(prefix_len: usize, target: &str) -> Option<usize> {
    MAX_LINE
        .checked_sub(overhead(prefix_len, target))
        .filter(|budget| *budget > ELLIPSIS.len())
}

/// Removes every control character (C0, DEL, C1: CR, LF and NUL among them), the Unicode line
/// and paragraph separators, and mIRC formatting including the digits of colour codes.
pub fn sanitize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            // Colour: \x03 then up to two digits, optionally ",bg" with up to two digits.
            '\x03' => rest = skip_colour(rest, |c| c.is_ascii_digit(), 2),
            // Hex colour: \x04 then up to six hex digits, optionally ",RRGGBB".
            '\x04' => rest = skip_colour(rest, |c| c.is_ascii_hexdigit(), 6),
            '\u{2028}' | '\u{2029}' => {}
            // The other formatting codes (\x02 \x0f \x11 \x16 \x1d \x1e \x1f) are C0 controls.
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn skip_colour(rest: &str, digit: fn(char) -> bool, max: usize) -> &str {
    let fg = count_leading(rest, digit, max);
    let rest = &rest[fg..];
    if fg > 0
        && let Some(after_comma) = rest.strip_prefix(',')
    {
        let bg = count_leading(after_comma, digit, max);
        // A comma not followed by a colour is text ("\x034,5" vs "\x034, hello").
        if bg > 0 {
            return &after_comma[bg..];
        }
    }
    rest
}

/// Number of leading ASCII bytes matching `digit`, at most `max`.
fn count_leading(s: &str, digit: fn(char) -> bool, max: usize) -> usize {
    s.chars().take(max).take_while(|c| digit(*c)).count()
}

/// Cuts `text` to at most `budget` bytes on a character boundary, marking the cut with `…`:
/// at the last space when it lies within the final fifth of the budget, else mid-word.
pub fn fit(text: &str, budget: usize) -> String {
    if text.len() <= budget {
        return text.to_string();
    }
    let room = budget.saturating_sub(ELLIPSIS.len());
    let mut cut = floor_char_boundary(text, room);
    let final_fifth_starts = budget - budget / 5;
    // A space right at the cut is a word boundary too.
    let space = if text[cut..].starts_with(' ') {
        Some(cut)
    } else {
        text[..cut].rfind(' ')
    };
    if let Some(space) = space.filter(|s| *s >= final_fifth_starts) {
        cut = space;
    }
    let mut out = String::with_capacity(cut + ELLIPSIS.len());
    out.push_str(text[..cut].trim_end_matches(' '));
    out.push_str(ELLIPSIS);
    out
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    (0..=index)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_line_breaks_nul_and_controls() {
        assert_eq!(sanitize("a\r\nQUIT :x\0b"), "aQUIT :xb");
        assert_eq!(sanitize("tab\there\x07\x7f\u{85}\u{9f}"), "tabhere");
        assert_eq!(sanitize("line\u{2028}sep\u{2029}"), "linesep");
        assert_eq!(sanitize("plain ünïcödé 日本 🎵"), "plain ünïcödé 日本 🎵");
    }

    #[test]
    fn strips_formatting_codes_and_colour_digits() {
        assert_eq!(
            sanitize("\x02bold\x02 \x1ditalic\x1d \x1funder\x1f \x1estrike \x16rev\x0f ok"),
            "bold italic under strike rev ok"
        );
        assert_eq!(sanitize("\x0304red\x03 \x034,12both\x03"), "red both");
        assert_eq!(
            sanitize("\x03123"),
            "3",
            "only two digits belong to the colour"
        );
        assert_eq!(
            sanitize("\x034, hello"),
            ", hello",
            "comma without colour is text"
        );
        assert_eq!(
            sanitize("\x03,5x"),
            ",5x",
            "no foreground means no background either"
        );
        assert_eq!(sanitize("\x04FF00FFpink\x04"), "pink");
    }

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(fit("hello world", 11), "hello world");
        assert_eq!(fit("", 10), "");
    }

    #[test]
    fn exact_boundary_is_not_cut_and_one_more_byte_is() {
        let text = "x".repeat(100);
        assert_eq!(fit(&text, 100), text);
        let cut = fit(&"x".repeat(101), 100);
        assert_eq!(cut.len(), 100);
        assert!(cut.ends_with(ELLIPSIS));
        assert_eq!(cut, format!("{}{ELLIPSIS}", "x".repeat(97)));
    }

    #[test]
    fn cuts_at_space_in_final_fifth() {
        // budget 100: final fifth starts at byte 80; the space at 90 is used.
        let text = format!("{} {}", "a".repeat(90), "b".repeat(50));
        assert_eq!(fit(&text, 100), format!("{}{ELLIPSIS}", "a".repeat(90)));
    }

    #[test]
    fn cuts_mid_word_when_last_space_is_earlier() {
        // The only space is at byte 50, before the final fifth: cut mid-word at 97.
        let text = format!("{} {}", "a".repeat(50), "b".repeat(100));
        let cut = fit(&text, 100);
        assert_eq!(cut.len(), 100);
        assert_eq!(
            cut,
            format!("{} {}{ELLIPSIS}", "a".repeat(50), "b".repeat(46))
        );
    }

    #[test]
    fn space_exactly_at_the_cut_is_a_word_boundary() {
        let text = format!("{} {}", "a".repeat(97), "b".repeat(10));
        assert_eq!(fit(&text, 100), format!("{}{ELLIPSIS}", "a".repeat(97)));
    }

    #[test]
    fn space_at_start_of_final_fifth_counts() {
        let text = format!("{} {}", "a".repeat(80), "b".repeat(50));
        assert_eq!(fit(&text, 100), format!("{}{ELLIPSIS}", "a".repeat(80)));
        let text = format!("{} {}", "a".repeat(79), "b".repeat(50));
        assert_eq!(
            fit(&text, 100).len(),
            100,
            "space at 79 is outside the final fifth"
        );
    }

    #[test]
    fn multibyte_cut_stays_on_char_boundary() {
        // "日" is 3 bytes; budget 100 leaves 97 for text: 32 chars = 96 bytes.
        let text = "日".repeat(200);
        let cut = fit(&text, 100);
        assert!(cut.len() <= 100);
        assert_eq!(cut, format!("{}{ELLIPSIS}", "日".repeat(32)));
        // 4-byte emoji: 97 / 4 = 24 emoji.
        let cut = fit(&"🎵".repeat(100), 100);
        assert_eq!(cut, format!("{}{ELLIPSIS}", "🎵".repeat(24)));
        for budget in 4..60 {
            let cut = fit(&"aé日🎵".repeat(30), budget);
            assert!(cut.len() <= budget, "budget {budget}: {}", cut.len());
        }
    }

    #[test]
    fn privmsg_fits_512_with_the_prefix() {
        let prefix = prefix_len("ntrbot", "~ntrbot", "127.0.0.1");
        let text = format!("Now Playing: {}", "ä".repeat(600));
        let line = IrcLine::privmsg("#ntr", &text, prefix).expect("line");
        assert!(line.relayed_len(prefix) <= MAX_LINE);
        assert!(
            line.relayed_len(prefix) >= MAX_LINE - 1,
            "uses the whole budget"
        );
        assert!(line.text().ends_with(ELLIPSIS));
        let wire = format!(
            ":ntrbot!~ntrbot@127.0.0.1 PRIVMSG #ntr :{}\r\n",
            line.text()
        );
        assert_eq!(wire.len(), line.relayed_len(prefix));
    }

    #[test]
    fn privmsg_sanitises_and_refuses_empty_or_bad_targets() {
        let line = IrcLine::privmsg("#ntr", "hi\r\nQUIT :x\0", 30).expect("line");
        assert_eq!(line.text(), "hiQUIT :x");
        assert_eq!(line.target(), "#ntr");
        assert_eq!(IrcLine::privmsg("#ntr", "\r\n\x02", 30), None);
        assert_eq!(IrcLine::privmsg("#a b", "hi", 30), None);
        assert_eq!(IrcLine::privmsg("#a\r\n", "hi", 30), None);
        assert_eq!(IrcLine::privmsg("#ntr", "hi", 600), None);
    }

    #[test]
    fn estimate_is_at_least_a_typical_real_prefix() {
        assert!(estimated_prefix_len("ntrbot") >= prefix_len("ntrbot", "~ntrbot", "127.0.0.1"));
        assert_eq!(estimated_prefix_len("nick"), 1 + 4 + 1 + 10 + 1 + 63);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Any character, with controls, mIRC formatting and colour digits, separators, spaces and
    /// multi-byte characters far more often than uniform sampling would give them.
    fn nasty_char() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => any::<char>(),
            2 => prop::char::range('\0', '\x1f'),
            1 => prop::char::range('\x7f', '\u{9f}'),
            2 => prop::sample::select(vec!['\x02', '\x03', '\x04', '\x0f', '\x16', '\x1d', '\x1f']),
            2 => prop::sample::select(vec!['0', '4', '9', 'F', ',', ' ', ' ', '\u{2028}', '\u{2029}']),
            2 => prop::sample::select(vec!['a', 'é', '日', '🎵', '\r', '\n']),
        ]
    }

    /// Up to ~2,000 characters: a random run repeated, so the 512-byte cut is reached often.
    fn text() -> impl Strategy<Value = String> {
        (prop::collection::vec(nasty_char(), 0..200), 1..10usize)
            .prop_map(|(v, n)| v.into_iter().collect::<String>().repeat(n))
    }

    /// A nick, user and host as a server could show them (user may carry the `~`).
    fn prefix() -> impl Strategy<Value = (String, String, String)> {
        (
            "[a-zA-Z][a-zA-Z0-9_-]{0,29}",
            "~?[a-z]{1,10}",
            "[a-z0-9.-]{1,63}",
        )
    }

    /// Whether `sub`'s characters all occur in `full`, in order.
    fn is_subsequence(sub: &str, full: &str) -> bool {
        let mut rest = full.chars();
        sub.chars().all(|c| rest.any(|d| d == c))
    }

    proptest! {
        #[test]
        fn sanitising_only_removes_and_leaves_no_control_or_formatting(input in text()) {
            let clean = sanitize(&input);
            prop_assert!(
                !clean.chars().any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')),
                "control or formatting left in {clean:?}"
            );
            prop_assert!(is_subsequence(&clean, &input));
        }

        #[test]
        fn a_privmsg_is_one_line_of_at_most_512_bytes_with_the_real_prefix(
            input in text(),
            (nick, user, host) in prefix(),
            channel in "#[a-z0-9_-]{1,30}",
        ) {
            let prefix = prefix_len(&nick, &user, &host);
            let clean = sanitize(&input);
            let Some(line) = IrcLine::privmsg(&channel, &input, prefix) else {
                prop_assert!(clean.trim().is_empty(), "refused printable text {clean:?}");
                return Ok(());
            };
            let wire = format!(":{nick}!{user}@{host} PRIVMSG {channel} :{}\r\n", line.text());
            prop_assert!(wire.len() <= MAX_LINE, "{} bytes", wire.len());
            prop_assert_eq!(wire.len(), line.relayed_len(prefix));
            prop_assert_eq!(wire.matches(['\r', '\n']).count(), 2, "one line: {:?}", wire);
            // Valid UTF-8 holds by type; what matters is that the cut fell between characters.
            match line.text().strip_suffix(ELLIPSIS) {
                Some(kept) if line.text() != clean => {
                    prop_assert!(clean.starts_with(kept), "{kept:?} is not a prefix of {clean:?}");
                }
                _ => prop_assert_eq!(line.text(), clean.as_str()),
            }
        }
    }
}
