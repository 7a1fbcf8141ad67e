//! What every kind of target provides — its keys' parser, its endpoint and secrets for logs, its
//! send, optionally a read-back of what it sent — and [`TargetKind`], a validated target's kind
//! as the worker holds it.
//!
//! A new kind is one module implementing [`Kind`] plus one line in `kinds::KINDS`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::attempt::Attempt;
use super::block::{Block, TargetConfigError};
use super::readback::ReadBack;
use crate::store::Outgoing;

/// One kind of target: its validated keys, and what the worker and the logs need of them.
pub trait Kind: fmt::Debug + Send + Sync + 'static {
    /// Takes the kind's keys out of `block`, checked; errors name the key.
    fn parse(block: &mut Block) -> Result<Self, TargetConfigError>
    where
        Self: Sized;

    /// Where the target sends, with every secret left out: for logs and the dashboard.
    fn endpoint(&self) -> String;

    /// Every credential the target holds (a URL's query and password included), so error texts
    /// can be scrubbed of them.
    fn secrets(&self) -> Vec<&str>;

    /// One attempt at delivering `item` (an announce or a go-live alert).
    fn send<'a>(
        &'a self,
        http: &'a reqwest::Client,
        item: &'a Outgoing,
        timeout: Duration,
    ) -> BoxFuture<'a, Attempt>;

    /// For a kind whose receiver shows what it was sent (an Icecast stream title): the text a
    /// sent `item` put there and how to read it back. The default: nothing to read back.
    fn read_back(&self, _item: &Outgoing) -> Option<ReadBack> {
        None
    }
}

/// A kind's name as written in `kind = "…"` and its parser.
pub struct Registration {
    pub name: &'static str,
    parse: fn(&mut Block) -> Result<TargetKind, TargetConfigError>,
}

impl Registration {
    pub const fn of<K: Kind>(name: &'static str) -> Registration {
        Registration {
            name,
            parse: parse_as::<K>,
        }
    }

    /// Lets the kind take its keys out of `block`.
    pub fn parse(&self, block: &mut Block) -> Result<TargetKind, TargetConfigError> {
        (self.parse)(block)
    }
}

fn parse_as<K: Kind>(block: &mut Block) -> Result<TargetKind, TargetConfigError> {
    Ok(TargetKind {
        name: block.kind(),
        target: Arc::new(K::parse(block)?),
    })
}

/// A validated target's kind and kind-specific settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TargetKind {
    name: &'static str,
    target: Arc<dyn Kind>,
}

impl TargetKind {
    /// The name written in `kind = "…"` (`discord`, `mastodon`, …).
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn endpoint(&self) -> String {
        self.target.endpoint()
    }

    /// Every secret, without empty ones, longest first (so a secret containing another is
    /// replaced whole when scrubbing).
    pub fn secrets(&self) -> Vec<&str> {
        let mut out = self.target.secrets();
        out.retain(|s| !s.is_empty());
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out
    }

    pub async fn send(
        &self,
        http: &reqwest::Client,
        item: &Outgoing,
        timeout: Duration,
    ) -> Attempt {
        self.target.send(http, item, timeout).await
    }

    pub fn read_back(&self, item: &Outgoing) -> Option<ReadBack> {
        self.target.read_back(item)
    }
}
