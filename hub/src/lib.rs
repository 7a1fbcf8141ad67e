//! The announce hub: polls a DJ's SoundCloud likes into weekly shows (SQLite), serves the
//! dashboard and a JSON API, and broadcasts each announce line to WebSocket subscribers such as
//! the IRC relay.
//!
//! Reading order: `config` → `startup` (how the parts are built and wired) → `server` (the
//! accept loop and its connection limits) → `openapi` (every route, documented) → `api` and
//! `dashboard` (the handlers) → the domain modules they call (`announce`, `store`, `poller`,
//! `soundcloud`, `week`, `broadcast`, `acks` (one path for every ack), `ws`, `relays` (named
//! relays: cursors, reported states, the dashboard panel), `targets` (the hub's own deliveries),
//! `web_url`).

pub mod acks;
pub mod announce;
pub mod api;
pub mod assets;
pub mod auth;
pub mod broadcast;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod feeds;
pub mod line;
pub mod lock;
pub mod metrics;
pub mod nowplaying;
pub mod openapi;
pub mod ops;
pub mod poller;
pub mod relays;
pub mod secrets;
pub mod server;
pub mod soundcloud;
pub mod startup;
pub mod state;
pub mod store;
pub mod targets;
pub mod template;
pub mod tracklist;
pub mod web_url;
pub mod week;
pub mod ws;

/// The stop signal every long-running task holds (shared with the relay).
pub use ntr_common::shutdown;
