//! What the hub and the IRC relay binaries both need, written once.
//!
//! - [`config_error`]: a figment error as the one line an operator reads, naming the key, and
//!   how a binary reports it (`BINARY: configuration error: …`, exit code 2).
//! - [`config_report`]: what `check-config` prints for a configuration that loaded.
//! - [`environment`]: the `NTR_` variables over the file, and secrets read from `_FILE`s.
//! - [`version`]: what `--version` prints: the version and the git commit built from.
//! - [`shutdown`]: the stop signal handed to every long-running task, and the SIGTERM/SIGINT
//!   future that fires it.
//! - [`logging`]: `tracing` to stderr, filtered by `RUST_LOG`, coloured only on a terminal.
//! - [`backoff`]: exponential delays with jitter, for reconnects and retries.
//!
//! No web server, no database and no IRC here: the relay depends on this crate without
//! pulling in the hub's stack.

pub mod backoff;
pub mod config_error;
pub mod config_report;
pub mod environment;
pub mod logging;
pub mod shutdown;
pub mod version;
