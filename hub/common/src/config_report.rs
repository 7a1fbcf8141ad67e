//! What `check-config` prints in both binaries for a configuration that loaded: a header that
//! names where it came from, then one aligned `key  value` row per setting, with tokens masked
//! the same way everywhere.

use std::fmt::Write as _;
use std::path::Path;

/// The report being written.
pub struct Report {
    out: String,
}

impl Report {
    /// `configuration OK (FILE or "no file, defaults"NOTE)`; `note` is appended as given
    /// (e.g. `, overridden by NTR_HUB__LISTEN`).
    pub fn new(file: Option<&Path>, note: &str) -> Report {
        let source = file.map_or_else(
            || "no file, defaults".to_owned(),
            |p| p.display().to_string(),
        );
        Report {
            out: format!("configuration OK ({source}{note})\n"),
        }
    }

    pub fn row(&mut self, key: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.out, "  {key:<13} {value}");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// `abcd…(43 chars)`: enough to tell two tokens apart, far too little to use one. Short
/// values show nothing at all.
pub fn mask_token(token: &str) -> String {
    let chars = token.chars().count();
    if chars < 12 {
        return "***".into();
    }
    let head: String = token.chars().take(4).collect();
    format!("{head}…({chars} chars)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_line_up_and_tokens_are_masked() {
        let mut report = Report::new(None, ", overridden by NTR_X");
        report.row("admin token", mask_token("0123456789abcdefghij"));
        report.row("short", mask_token("short-one"));
        assert_eq!(
            report.finish(),
            "configuration OK (no file, defaults, overridden by NTR_X)\n  \
             admin token   0123…(20 chars)\n  short         ***\n"
        );
    }
}
