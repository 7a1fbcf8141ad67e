//! The announce line templates, parsed once at start-up so a typo in a placeholder is a config
//! error rather than a broken line in the middle of a show: `show.announce_template` with
//! `{position}`, `{title}`, `{artist}` and `{url}`, and `show.correction_template` with
//! `{message}` (the line the correction would have been without it); and the go-live alerts'
//! `live_template` (`{show}`, `{url}`) and `reminder_template` (`{show}`, `{minutes}`, `{url}`).

use crate::line::AnnounceLine;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// The placeholder at this index of the template's [`Fields`].
    Field(usize),
}

/// The placeholders a kind of template may use, and how an error message lists them.
struct Fields {
    names: &'static [&'static str],
    listing: &'static str,
}

const TRACK_FIELDS: Fields = Fields {
    names: &["position", "title", "artist", "url"],
    listing: "{position}, {title}, {artist}, {url}",
};
/// Where `{url}` is in [`TRACK_FIELDS`].
const URL: usize = 3;

const CORRECTION_FIELDS: Fields = Fields {
    names: &["message"],
    listing: "{message}",
};

const LIVE_FIELDS: Fields = Fields {
    names: &["show", "url"],
    listing: "{show}, {url}",
};

const REMINDER_FIELDS: Fields = Fields {
    names: &["show", "url", "minutes"],
    listing: "{show}, {minutes}, {url}",
};

/// What may join `{url}` to the text before it, dropped with an empty url.
const SEPARATORS: [char; 6] = [' ', '-', '–', '—', ':', '|'];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceTemplate {
    pieces: Vec<Piece>,
}

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{{{0}` is not closed with `}}`")]
    Unclosed(String),
    #[error("unknown placeholder `{{{name}}}` (use {allowed})")]
    UnknownPlaceholder { name: String, allowed: &'static str },
    #[error("a lone `}}` (write `}}}}` for a literal brace)")]
    LoneBrace,
    #[error("must contain at least one of {0}")]
    NoPlaceholder(&'static str),
}

/// What one announce line is made from.
pub struct TrackFields<'a> {
    pub position: u32,
    pub title: &'a str,
    pub artist: &'a str,
    pub url: &'a str,
}

impl AnnounceTemplate {
    pub const DEFAULT: &'static str = "Now Playing: Song #{position}: {title} by {artist} - {url}";

    /// Parses a template; `{{` and `}}` stand for literal braces.
    pub fn parse(s: &str) -> Result<AnnounceTemplate, TemplateError> {
        Ok(AnnounceTemplate {
            pieces: parse_pieces(s, &TRACK_FIELDS)?,
        })
    }

    pub fn render(&self, f: &TrackFields<'_>) -> AnnounceLine {
        let position = f.position.to_string();
        let values = [position.as_str(), f.title, f.artist, f.url];
        let mut out = String::new();
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                // A record that is not online would otherwise read "by Artist - ": an empty
                // {url} drops the separator the template put right before it. Only that text
                // is trimmed, never a field, so a title ending in " -" keeps it.
                Piece::Text(t)
                    if f.url.is_empty() && self.pieces.get(i + 1) == Some(&Piece::Field(URL)) =>
                {
                    out.push_str(t.trim_end_matches(SEPARATORS));
                }
                Piece::Text(t) => out.push_str(t),
                Piece::Field(n) => out.push_str(values.get(*n).copied().unwrap_or_default()),
            }
        }
        AnnounceLine::sanitize(&out)
    }
}

/// `show.correction_template`: how a correction's line is written around the normal one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionTemplate {
    pieces: Vec<Piece>,
}

impl CorrectionTemplate {
    pub const DEFAULT: &'static str = "Correction: {message}";

    /// Parses a template whose one placeholder is `{message}`; `{{` and `}}` are literal braces.
    pub fn parse(s: &str) -> Result<CorrectionTemplate, TemplateError> {
        Ok(CorrectionTemplate {
            pieces: parse_pieces(s, &CORRECTION_FIELDS)?,
        })
    }

    /// The correction's line around `message`, the line it would have been without it.
    pub fn render(&self, message: &AnnounceLine) -> AnnounceLine {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(_) => out.push_str(message.as_str()),
            }
        }
        AnnounceLine::sanitize(&out)
    }
}

/// A go-live alert's text: `live_template` or `reminder_template` of a show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertTemplate {
    pieces: Vec<Piece>,
}

/// What an alert's line is made from; `minutes` is only in a reminder's.
pub struct AlertFields<'a> {
    pub show: &'a str,
    pub url: &'a str,
    pub minutes: i64,
}

impl AlertTemplate {
    pub const LIVE_DEFAULT: &'static str = "{show} is live now: {url}";
    pub const REMINDER_DEFAULT: &'static str = "{show} starts in {minutes} minutes: {url}";

    /// `live_template`: `{show}` and `{url}`.
    pub fn parse_live(s: &str) -> Result<AlertTemplate, TemplateError> {
        Ok(AlertTemplate {
            pieces: parse_pieces(s, &LIVE_FIELDS)?,
        })
    }

    /// `reminder_template`: `{show}`, `{minutes}` and `{url}`.
    pub fn parse_reminder(s: &str) -> Result<AlertTemplate, TemplateError> {
        Ok(AlertTemplate {
            pieces: parse_pieces(s, &REMINDER_FIELDS)?,
        })
    }

    pub fn render(&self, f: &AlertFields<'_>) -> AnnounceLine {
        let minutes = f.minutes.to_string();
        // The order of LIVE_FIELDS and REMINDER_FIELDS: one index means one field in both.
        let values = [f.show, f.url, minutes.as_str()];
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(n) => out.push_str(values.get(*n).copied().unwrap_or_default()),
            }
        }
        AnnounceLine::sanitize(&out)
    }
}

/// Splits a template into text and the placeholders of `fields`; at least one placeholder is
/// required (a template without one would announce the same text every time).
fn parse_pieces(s: &str, fields: &Fields) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if !closed {
                    return Err(TemplateError::Unclosed(name));
                }
                let Some(index) = fields.names.iter().position(|f| *f == name) else {
                    return Err(TemplateError::UnknownPlaceholder {
                        name,
                        allowed: fields.listing,
                    });
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(index));
            }
            '}' => return Err(TemplateError::LoneBrace),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    if !pieces.iter().any(|p| matches!(p, Piece::Field(_))) {
        return Err(TemplateError::NoPlaceholder(fields.listing));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_templates_render_and_refuse_foreign_fields() {
        let fields = AlertFields {
            show: "Night Transit",
            url: "https://radio.example/s/night",
            minutes: 30,
        };
        let live = AlertTemplate::parse_live(AlertTemplate::LIVE_DEFAULT).expect("default");
        assert_eq!(
            live.render(&fields).as_str(),
            "Night Transit is live now: https://radio.example/s/night"
        );
        let reminder =
            AlertTemplate::parse_reminder(AlertTemplate::REMINDER_DEFAULT).expect("default");
        assert_eq!(
            reminder.render(&fields).as_str(),
            "Night Transit starts in 30 minutes: https://radio.example/s/night"
        );
        assert_eq!(
            AlertTemplate::parse_live("{show} in {minutes}")
                .expect_err("no minutes in a live alert")
                .to_string(),
            "unknown placeholder `{minutes}` (use {show}, {url})"
        );
    }

    #[test]
    fn renders_the_default() {
        let t = AnnounceTemplate::parse(AnnounceTemplate::DEFAULT).expect("default parses");
        let line = t.render(&TrackFields {
            position: 3,
            title: "Song",
            artist: "Someone",
            url: "https://soundcloud.com/x/y",
        });
        assert_eq!(
            line.as_str(),
            "Now Playing: Song #3: Song by Someone - https://soundcloud.com/x/y"
        );
    }

    #[test]
    fn control_characters_in_fields_never_reach_the_line() {
        let t = AnnounceTemplate::parse("{title}|{artist}").expect("parses");
        let line = t.render(&TrackFields {
            position: 1,
            title: "a\r\nQUIT :x\0b",
            artist: "\u{3}4red\u{2}bold",
            url: "",
        });
        assert_eq!(line.as_str(), "aQUIT :xb|4redbold");
    }

    #[test]
    fn no_dangling_dash_without_a_url() {
        let t = AnnounceTemplate::parse(AnnounceTemplate::DEFAULT).expect("default parses");
        let f = TrackFields {
            position: 2,
            title: "Vinyl",
            artist: "Box",
            url: "",
        };
        assert_eq!(t.render(&f).as_str(), "Now Playing: Song #2: Vinyl by Box");
    }

    #[test]
    fn an_empty_url_takes_only_its_own_separator_never_the_title() {
        let line = |template: &str, title: &str| {
            AnnounceTemplate::parse(template)
                .expect("parses")
                .render(&TrackFields {
                    position: 1,
                    title,
                    artist: "Box",
                    url: "",
                })
                .as_str()
                .to_owned()
        };
        assert_eq!(line("{title} - {url}", "Intro -"), "Intro -");
        assert_eq!(line("{title} | {url}", "Part 1:"), "Part 1:");
        assert_eq!(line("{title} by {artist} - {url}", "Vinyl"), "Vinyl by Box");
        assert_eq!(line("{title}{url}", "Outro |"), "Outro |");
    }

    #[test]
    fn rejects_bad_templates() {
        let err = |t: &str| AnnounceTemplate::parse(t).expect_err("refused");
        assert_eq!(
            err("{nope}").to_string(),
            "unknown placeholder `{nope}` (use {position}, {title}, {artist}, {url})"
        );
        assert_eq!(
            err("plain text").to_string(),
            "must contain at least one of {position}, {title}, {artist}, {url}"
        );
        assert_eq!(
            err("a } b {title}").to_string(),
            "a lone `}` (write `}}` for a literal brace)"
        );
        assert_eq!(
            err("{title} {artist").to_string(),
            "`{artist` is not closed with `}`"
        );
        assert_eq!(
            AnnounceTemplate::parse("{{x}} {title}")
                .expect("escapes")
                .render(&TrackFields {
                    position: 1,
                    title: "t",
                    artist: "",
                    url: ""
                })
                .as_str(),
            "{x} t"
        );
    }

    #[test]
    fn correction_wraps_the_normal_line() {
        let t = CorrectionTemplate::parse(CorrectionTemplate::DEFAULT).expect("default parses");
        let line = AnnounceLine::sanitize("Now Playing: Song #2: Vinyl by Box");
        assert_eq!(
            t.render(&line).as_str(),
            "Correction: Now Playing: Song #2: Vinyl by Box"
        );
        let braces = CorrectionTemplate::parse("{{fix}} {message}").expect("escapes");
        assert_eq!(
            braces.render(&line).as_str(),
            "{fix} Now Playing: Song #2: Vinyl by Box"
        );
        assert!(CorrectionTemplate::parse("Correction!").is_err());
        assert_eq!(
            CorrectionTemplate::parse("{title}")
                .expect_err("refused")
                .to_string(),
            "unknown placeholder `{title}` (use {message})"
        );
        assert!(CorrectionTemplate::parse("{message").is_err());
    }
}
