//! `irc-relay`: an IRC bot that posts the hub's announcements into IRC channels.
//!
//! The binary (`main.rs`) only parses `--config`, sets up logging and waits for a signal;
//! everything else is this library, so tests run the real relay in-process:
//!
//! ```no_run
//! # async fn example() -> Result<(), irc_relay::config::ConfigError> {
//! let config = irc_relay::Config::load(Some("config.toml".as_ref()))?;
//! let relay = irc_relay::Relay::start(config);
//! // …
//! relay.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules, each with one job: [`config`] (the `[relay]`/`[irc]` sections), [`hub`] (the
//! WebSocket subscription), `irc` (the IRC connection), [`line`] (the sanitiser: the only way
//! to build a PRIVMSG), [`flood`] (token buckets), [`outbox`] (per-channel queues),
//! [`commands`] (`!np`, `!song`, …), [`backoff`], [`shutdown`], `relay` (the wiring) and
//! [`check`] (`irc-relay check-config`).

pub mod backoff;
pub mod check;
pub mod commands;
pub mod config;
pub mod flood;
pub mod hub;
mod irc;
pub mod line;
pub mod outbox;
mod relay;
pub mod shutdown;

pub use config::{Config, ConfigError};
pub use irc::{QUIT_MESSAGE, sasl_plain_payload};
pub use relay::{Relay, RelayHandle, Status, run};
