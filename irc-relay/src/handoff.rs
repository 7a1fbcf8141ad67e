//! What passes between the relay's two sides: the hub side hands the IRC side each announce to
//! post ([`Post`]), and the IRC side hands back an [`Ack`] for each line it posted.
//!
//! Both sides import this module and not each other.

use ntr_protocol::Seq;
use tokio::time::Instant;

use crate::posted::Mark;

/// An announce accepted for posting in its show's channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub announce: Mark,
    pub message: String,
    /// The show's slug; `None` for a station-wide line.
    pub show: Option<String>,
    /// Past this the line is too old to post (the end of the replay window).
    pub expires: Instant,
}

/// "Announce `seq` was posted to `target`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub seq: Seq,
    pub target: String,
}
