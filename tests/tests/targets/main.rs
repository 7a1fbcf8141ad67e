//! The hub's delivery targets (`[[targets]]`) end to end: the hub in-process or as a process,
//! against fake Discord and webhook servers that behave as documented, a real Icecast 2 fed by a
//! tiny source, and a real Synapse homeserver. Every wait is bounded.

mod api;
mod discord;
mod drills;
mod icecast;
mod matrix;
mod support;
mod webhook;
