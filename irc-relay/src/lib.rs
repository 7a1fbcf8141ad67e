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
//! Reading order: `relay` (the wiring) starts two sides, each kept up by the one `reconnect`
//! loop: [`hub`] (the WebSocket subscription, with `resume` deciding what is new and `report`
//! sending the IRC side's state as `relay_status`) and `irc` (the IRC side, serving one
//! `irc::connection` at a time, with `sasl`, `nickserv` and `connect_error`, which words
//! connection failures for the operator). They share only `handoff` (the announces to post
//! and the acks back), [`posted`] (what each channel was sent, kept on disk for a restart)
//! and [`Status`]. Below them: [`config`] (the `[relay]`/`[irc]`
//! sections), [`line`] (the sanitiser: the only way to build a PRIVMSG), [`flood`] (token
//! buckets), [`outbox`] (per-channel queues) and [`commands`] (`!np`, `!song`, …). The wire
//! protocol is `ntr-protocol`'s; backoff, shutdown and logging are `ntr-common`'s. [`check`]
//! is `irc-relay check-config`'s summary.

pub mod check;
pub mod commands;
pub mod config;
mod connect_error;
pub mod flood;
mod handoff;
pub mod hub;
mod irc;
pub mod line;
mod nickserv;
pub mod outbox;
pub mod posted;
mod reconnect;
mod relay;
mod report;
mod resume;
mod sasl;
mod status;

pub use config::{Config, ConfigError};
pub use irc::QUIT_MESSAGE;
pub use relay::{Relay, RelayHandle, run};
pub use sasl::plain_payload as sasl_plain_payload;
pub use status::Status;
