//! Logging for both binaries: `tracing` to stderr, filtered by `RUST_LOG` (default `info`).
//!
//! Colour codes only when stderr is a terminal and `NO_COLOR` is unset or empty
//! (<https://no-color.org>): journald, log files and pipes get plain text, not escape codes.

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("RUST_LOG: `{value}` is not a log filter ({reason})")]
    BadFilter { value: String, reason: String },
    #[error("RUST_LOG is not valid UTF-8")]
    NotUnicode,
    #[error("logging was already set up")]
    AlreadySet,
}

/// Installs the global subscriber. Call once, at the start of `main`.
pub fn init() -> Result<(), LogError> {
    let rust_log = match std::env::var("RUST_LOG") {
        Ok(value) => Some(value),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => return Err(LogError::NotUnicode),
    };
    let filter = filter(rust_log.as_deref())?;
    let ansi = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    tracing_subscriber::util::SubscriberInitExt::try_init(subscriber(filter, ansi, std::io::stderr))
        .map_err(|_| LogError::AlreadySet)
}

/// The filter for a `RUST_LOG` value; unset or blank means `info`.
pub fn filter(rust_log: Option<&str>) -> Result<EnvFilter, LogError> {
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(EnvFilter::new("info")),
        Some(value) => EnvFilter::try_new(value).map_err(|e| LogError::BadFilter {
            value: value.to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Whether to write colour codes.
pub fn colour(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

fn subscriber<W>(filter: EnvFilter, ansi: bool, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
    }

    #[test]
    fn filter_defaults_to_info_and_rejects_nonsense() {
        assert_eq!(filter(None).expect("default").to_string(), "info");
        assert_eq!(filter(Some("  ")).expect("blank").to_string(), "info");
        assert_eq!(
            filter(Some("hub=debug")).expect("valid").to_string(),
            "hub=debug"
        );
        let err = filter(Some("hub=loud")).expect_err("bad level").to_string();
        assert!(
            err.contains("RUST_LOG") && err.contains("hub=loud"),
            "{err}"
        );
    }

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(ansi: bool) -> String {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = subscriber(EnvFilter::new("info"), ansi, move || sink.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(seq = 42, "posted");
            tracing::debug!("filtered out");
        });
        let bytes = buffer.0.lock().expect("buffer").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn plain_text_has_no_escape_codes() {
        let plain = logged(false);
        assert!(
            plain.contains("posted") && plain.contains("seq=42"),
            "{plain}"
        );
        assert!(!plain.contains('\u{1b}'), "{plain:?}");
        assert!(!plain.contains("filtered out"));
        assert!(logged(true).contains('\u{1b}'), "colour when asked for");
    }
}
