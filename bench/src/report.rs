//! The result table (what | measured | target | result) and the small statistics it needs.

use std::time::Duration;

/// Whether a row met its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// A figure given for context, with no target of its own.
    Info,
}

impl Verdict {
    pub fn from_bool(ok: bool) -> Verdict {
        if ok { Verdict::Pass } else { Verdict::Fail }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Info => "-",
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub what: String,
    pub measured: String,
    pub target: String,
    pub verdict: Verdict,
}

impl Row {
    pub fn new(
        what: impl Into<String>,
        measured: impl Into<String>,
        target: &str,
        ok: bool,
    ) -> Row {
        Row {
            what: what.into(),
            measured: measured.into(),
            target: target.into(),
            verdict: Verdict::from_bool(ok),
        }
    }

    pub fn info(what: impl Into<String>, measured: impl Into<String>, target: &str) -> Row {
        Row {
            what: what.into(),
            measured: measured.into(),
            target: target.into(),
            verdict: Verdict::Info,
        }
    }
}

/// Renders the rows as one Markdown-style table (readable in a terminal, pasteable in docs).
pub fn table(rows: &[Row]) -> String {
    let header = ["what", "measured", "target", "result"];
    let cells: Vec<[&str; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.what.as_str(),
                r.measured.as_str(),
                r.target.as_str(),
                r.verdict.label(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: [&str; 4]| {
        let padded: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header);
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&format!("|-{}-|\n", dashes.join("-|-")));
    for row in cells {
        out.push_str(&line(row));
    }
    out
}

/// Nearest-rank percentile of a sorted slice (`p` in 0..=100); zero for an empty slice.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50, p99 and max of some samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Summary {
    pub fn of(mut samples: Vec<Duration>) -> Summary {
        samples.sort_unstable();
        Summary {
            n: samples.len(),
            p50: percentile(&samples, 50.0),
            p99: percentile(&samples, 99.0),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// A byte count in MB (10^6) or KB (10^3), as the targets are written.
pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

pub fn kb(bytes: f64) -> String {
    format!("{:.1} KB", bytes / 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        let s = Summary::of(vec![Duration::from_millis(3), Duration::from_millis(1)]);
        assert_eq!(
            (s.p50, s.max),
            (Duration::from_millis(1), Duration::from_millis(3))
        );
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&[
            Row::new("a", "1 ms", "≤ 5 ms", true),
            Row::info("bb", "2", "-"),
        ]);
        let widths: Vec<usize> = t.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{t}");
        assert!(t.contains("pass") && t.contains("| -"));
    }
}
