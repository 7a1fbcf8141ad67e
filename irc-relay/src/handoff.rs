//! What passes between the relay's two sides: the hub side hands the IRC side each announce to
//! post ([`Post`]), and the IRC side hands back an [`Ack`] for each line it posted.
//!
//! Both sides import this module and not each other.

use ntr_protocol::Seq;
use tokio::time::Instant;

use crate::posted::Mark;

/// An announce accepted for posting in every channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub announce: Mark,
    pub message: String,
    /// Past this the line is too old to post (the end of the replay window).
    pub expires: Instant,
}

/// "Announce `seq` was posted to `target`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub seq: Seq,
    pub target: String,
}
