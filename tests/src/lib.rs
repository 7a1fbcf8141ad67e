//! Test support shared by the end-to-end tests in `tests/tests/`: a fake SoundCloud, a hub started
//! in-process on port 0 with a fresh data directory, a real IRC server (ngircd) started per test,
//! and a headless Chromium for the dashboard.
//!
//! Every helper binds 127.0.0.1 only and cleans up after itself when dropped.

pub mod browser;
pub mod fake_hub;
pub mod fake_soundcloud;
pub mod fake_target;
pub mod hub;
pub mod icecast;
pub mod ircd;
pub mod synapse;
pub mod wsclient;
