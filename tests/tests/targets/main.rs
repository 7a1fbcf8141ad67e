//! The hub's delivery targets (`[[targets]]`) end to end: the hub in-process or as a process,
//! against fake Discord, webhook, Mastodon, Bluesky, Telegram and ntfy servers that behave as
//! documented, a real Icecast 2 fed by a
//! tiny source, and a real Synapse homeserver. Every wait is bounded.

mod alerts;
mod api;
mod bluesky;
mod discord;
mod drills;
mod icecast;
mod mastodon;
mod matrix;
mod ntfy;
mod support;
mod telegram;
mod webhook;
