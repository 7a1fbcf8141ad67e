//! A figment error as the one line an operator reads: the key as they wrote it in the file
//! (`irc.port`, `hub.listen_addr`), what is wrong, and where the value came from.
//!
//! figment's own `Display` spans several lines for TOML syntax errors, prefixes keys with its
//! profile name (`default.`) and words unknown keys as "unknown field"; both binaries print
//! config errors as their whole diagnostic, so they rebuild it here.
//!
//! [`report`] prints that diagnostic the one way both binaries do:
//! `BINARY: configuration error: WHAT` on stderr, and exit code 2, so scripts and service
//! managers can tell "fix the file" from a crash.

use std::fmt::Display;
use std::process::ExitCode;

use figment::error::Kind;

/// What a binary exits with on a configuration error.
pub const EXIT_CODE: u8 = 2;

/// The line a binary prints for a configuration error. Errors quote the values they refuse,
/// and a value can hold a line break or a terminal escape: every control character is written
/// as its escape (`\n`, `\u{1b}`), so the diagnostic stays one line and prints as text.
pub fn line(binary: &str, error: &dyn Display) -> String {
    let mut text = format!("{binary}: configuration error: ");
    for c in error.to_string().chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            text.extend(c.escape_default());
        } else {
            text.push(c);
        }
    }
    text
}

/// Prints [`line`] on stderr; returns the exit code for it.
pub fn report(binary: &str, error: impl Display) -> ExitCode {
    eprintln!("{}", line(binary, &error));
    ExitCode::from(EXIT_CODE)
}

/// Every error in `error` (figment may collect several), each on one line, joined by "; ".
pub fn one_line(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| describe(&e))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `KEY: WHAT (from SOURCE)`, or `WHAT (from SOURCE)` when no key is involved (a syntax error).
fn describe(error: &figment::Error) -> String {
    let mut parts: Vec<&str> = error.path.iter().map(String::as_str).collect();
    if let Kind::UnknownField(field, _) = &error.kind
        && parts.last() != Some(&field.as_str())
    {
        parts.push(field);
    }
    let key = parts.join(".");
    let what = match &error.kind {
        Kind::UnknownField(field, _) => format!("unknown key `{field}`"),
        other => other.to_string(),
    };
    let source = match &error.metadata {
        Some(metadata) => match &metadata.source {
            Some(source) => format!(" (from {source})"),
            None => format!(" (from {})", metadata.name),
        },
        None => String::new(),
    };
    let text = if key.is_empty() {
        format!("{what}{source}")
    } else {
        format!("{key}: {what}{source}")
    };
    words(&text)
}

/// Collapses line breaks and runs of spaces, and drops the source excerpt a TOML syntax error
/// carries (`1 | [relay` and the `^` marker lines).
fn words(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('|') && !line.contains(" | "))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Toml};
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Raw {
        #[serde(default)]
        irc: Option<Irc>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Irc {
        port: Option<u16>,
        nickname: Option<String>,
    }

    fn error(toml: &str) -> String {
        let err = Figment::from(Toml::string(toml))
            .extract::<Raw>()
            .expect_err(toml);
        one_line(err)
    }

    #[test]
    fn a_valid_file_parses() {
        let raw: Raw = Figment::from(Toml::string("[irc]\nport = 6667\nnickname = \"b\""))
            .extract()
            .expect("valid");
        let irc = raw.irc.expect("irc");
        assert_eq!((irc.port, irc.nickname.as_deref()), (Some(6667), Some("b")));
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = error("[irc]\nport = \"six\"");
        assert!(err.starts_with("irc.port: invalid type"), "{err}");
        assert!(!err.contains("default."), "{err}");
    }

    #[test]
    fn unknown_key_is_named_with_its_section() {
        let err = error("[irc]\nnick_name = \"x\"");
        assert!(
            err.starts_with("irc.nick_name: unknown key `nick_name`"),
            "{err}"
        );
    }

    #[test]
    fn the_line_names_the_binary() {
        let err = error("[irc]\nport = \"six\"");
        let line = line("irc-relay", &err);
        assert!(
            line.starts_with("irc-relay: configuration error: irc.port: invalid type"),
            "{line}"
        );
    }

    #[test]
    fn a_quoted_value_cannot_break_the_line() {
        let line = line(
            "irc-relay",
            &"irc.ca_file: a\nb\u{1b}[2J\u{2028} is not a readable file",
        );
        assert_eq!(
            line,
            "irc-relay: configuration error: irc.ca_file: a\\nb\\u{1b}[2J\\u{2028} is not a readable file"
        );
    }

    #[test]
    fn syntax_error_is_one_line() {
        let err = error("[irc\nport = 1");
        assert!(err.contains("TOML"), "{err}");
        assert!(!err.contains('\n') && !err.contains(" | "), "{err:?}");
    }
}
