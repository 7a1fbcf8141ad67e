//! The announce hub: polls a DJ's SoundCloud likes into weekly shows, serves the dashboard and a
//! JSON API, broadcasts each announce line to WebSocket and SSE subscribers (such as the IRC
//! relay) and delivers it to targets (Discord, Matrix, Icecast, webhooks).
//!
//! The crate is three layers that import downward only (the architecture document draws
//! them):
//!
//! - **top**: `cli` (the binary's commands), `startup` (builds every part from the `config` and
//!   wires them), `ops` (backup, restore, check-config), and `http` — everything that speaks
//!   HTTP: the accept loop, handlers, pages, the WebSocket, the OpenAPI document.
//! - **engine**: `announce` (one announce, start to end), `alerts` (go-live alerts and
//!   reminders), `broadcast` (the fan-out), `acks`,
//!   `relays` (named relays and their cursors), `targets` (delivery workers), `poller` and
//!   `soundcloud`, `nowplaying`, `tracklist`, `feeds`, `metrics`, `show_filter` (which shows a
//!   relay, target or stream gets), `auth` (tokens, passwords,
//!   session keys, the login limiter), `secrets`.
//! - **base**: `store` (the database behind one face), `week` (the DST-aware schedule), `line`
//!   and `line_template` (the sanitised announce line), `clock`, `web_url`, `lock`, `log_throttle`.
//!
//! Modules are private; what the binaries, tests and bench use is re-exported below.

mod acks;
mod alerts;
mod announce;
mod auth;
mod broadcast;
pub mod cli;
mod clock;
mod config;
mod feeds;
mod holds;
mod http;
mod leadership;
mod line;
mod line_template;
mod lock;
mod log_throttle;
mod metrics;
mod next_track;
mod nowplaying;
mod ops;
mod poller;
mod relays;
mod replica;
mod secrets;
mod show_filter;
mod soundcloud;
mod startup;
mod station;
mod store;
mod targets;
mod tracklist;
mod web_url;
mod week;

/// The stop signal every long-running task holds (shared with the relay).
pub use ntr_common::shutdown;

pub use auth::password;
pub use config::Config;
pub use feeds::ics::calendar;
pub use http::server::deadline::Timeouts;
pub use http::state::AppState;
pub use poller::{PollIntervals, next_poll_wait};
pub use soundcloud::RetryPolicy;
pub use startup::{Application, Options};
pub use store::schema_version;
pub use targets::Timings;
pub use week::{Schedule, Week};
