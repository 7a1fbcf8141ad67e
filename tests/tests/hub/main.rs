//! Hub tests against the real `Application` (in-process or as a process), a fake SoundCloud,
//! real SQLite files, real HTTP/WebSocket connections on 127.0.0.1 and a real browser.

mod accessibility;
mod announce_next;
mod api;
mod auth;
mod balancer;
mod browser;
mod console;
mod dashboard;
mod drills;
mod edits;
mod events;
mod feeds;
mod hardening;
mod holds;
mod idempotency;
mod metrics;
mod openapi;
mod ops;
mod poller;
mod process;
mod public_page;
mod relays;
mod replicas;
mod rights;
mod schemathesis;
mod secret_files;
mod station_djs;
mod station_pages;
mod tracklist;
mod upgrade;
mod websocket;
