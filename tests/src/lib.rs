//! Test support shared by the end-to-end tests in `tests/tests/`: a fake SoundCloud, a hub started
//! in-process on port 0 with a fresh data directory, a real IRC server (ngircd) started per test,
//! a real IRC network with services (InspIRCd + Atheme) for SASL and NickServ, fakes of the
//! delivery targets' APIs (Discord, webhooks, Mastodon, Bluesky, Telegram, ntfy),
//! a headless Chromium for the dashboard with axe-core to check its accessibility, and the
//! small pieces they share: free ports, finding binaries, waiting for a condition with a
//! deadline, and a proxy that loses announces on purpose. `station` starts a hub of two shows;
//! `nginx` puts several hubs behind nginx with the configuration docs/scaling.md shows.
//!
//! Every helper binds 127.0.0.1 only and cleans up after itself when dropped.

pub mod axe;
pub mod binaries;
pub mod browser;
pub mod cut_proxy;
pub mod fake_api;
pub mod fake_bluesky;
pub mod fake_hub;
pub mod fake_mastodon;
pub mod fake_ntfy;
pub mod fake_soundcloud;
pub mod fake_target;
pub mod fake_telegram;
pub mod hub;
pub mod icecast;
pub mod ircd;
pub mod net;
pub mod nginx;
pub mod services;
pub mod sse;
pub mod station;
pub mod station_hub;
pub mod synapse;
pub mod wait;
pub mod wsclient;
