//! Hub tests against the real `Application` (in-process or as a process), a fake SoundCloud,
//! real SQLite files and real HTTP/WebSocket connections on 127.0.0.1.

mod api;
mod poller;
mod process;
