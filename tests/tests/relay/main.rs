//! Relay tests against real IRC servers and the real hub on 127.0.0.1: the relay against ngircd
//! (delivery, flood control, reconnects, commands, TLS), a list of hub URLs with failover, and
//! named relays against InspIRCd with Atheme (SASL, NickServ, status on the dashboard, the
//! kill -9 drill).

mod failover;
mod named;
mod ngircd;
mod replicas;
mod secret_files;
mod sopel;
mod stations;
