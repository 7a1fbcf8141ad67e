//! The announce line templates, parsed once at start-up so a typo in a placeholder is a config
//! error rather than a broken line in the middle of a show: `show.announce_template` with
//! `{position}`, `{title}`, `{artist}` and `{url}`, and `show.correction_template` with
//! `{message}` (the line the correction would have been without it).

use crate::line::AnnounceLine;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// The placeholder at this index of the template's field list.
    Field(usize),
}

const TRACK_FIELDS: &[&str] = &["position", "title", "artist", "url"];
const CORRECTION_FIELDS: &[&str] = &["message"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceTemplate {
    pieces: Vec<Piece>,
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
    pub fn parse(s: &str) -> Result<AnnounceTemplate, String> {
        Ok(AnnounceTemplate {
            pieces: parse_pieces(s, TRACK_FIELDS)?,
        })
    }

    pub fn render(&self, f: &TrackFields<'_>) -> AnnounceLine {
        let position = f.position.to_string();
        let values = [position.as_str(), f.title, f.artist, f.url];
        let mut out = fill(&self.pieces, &values);
        if f.url.is_empty() {
            // A record that is not online would otherwise end in "by Artist - ".
            let kept = out.trim_end_matches([' ', '-', '–', '—', ':', '|']).len();
            out.truncate(kept);
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
    pub fn parse(s: &str) -> Result<CorrectionTemplate, String> {
        Ok(CorrectionTemplate {
            pieces: parse_pieces(s, CORRECTION_FIELDS)?,
        })
    }

    /// The correction's line around `message`, the line it would have been without it.
    pub fn render(&self, message: &AnnounceLine) -> AnnounceLine {
        AnnounceLine::sanitize(&fill(&self.pieces, &[message.as_str()]))
    }
}

fn fill(pieces: &[Piece], values: &[&str]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(i) => out.push_str(values.get(*i).copied().unwrap_or_default()),
        }
    }
    out
}

/// Splits a template into text and the placeholders named in `fields`; at least one
/// placeholder is required (a template without one would announce the same text every time).
fn parse_pieces(s: &str, fields: &[&str]) -> Result<Vec<Piece>, String> {
    let allowed = || {
        fields
            .iter()
            .map(|f| format!("{{{f}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
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
                    return Err(format!("`{{{name}` is not closed with `}}`"));
                }
                let index = fields.iter().position(|f| *f == name).ok_or_else(|| {
                    format!("unknown placeholder `{{{name}}}` (use {})", allowed())
                })?;
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(index));
            }
            '}' => return Err("a lone `}` (write `}}` for a literal brace)".into()),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    if !pieces.iter().any(|p| matches!(p, Piece::Field(_))) {
        return Err(format!("must contain at least one of {}", allowed()));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn rejects_bad_templates() {
        assert!(AnnounceTemplate::parse("{nope}").is_err());
        assert!(AnnounceTemplate::parse("plain text").is_err());
        assert!(AnnounceTemplate::parse("a } b {title}").is_err());
        assert!(AnnounceTemplate::parse("{title} {artist").is_err());
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
        assert!(CorrectionTemplate::parse("{title}").is_err());
        assert!(CorrectionTemplate::parse("{message").is_err());
    }
}
