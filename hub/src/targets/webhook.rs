//! Generic webhooks: `POST {url}` with the announce frame's JSON, exactly as `/ws/announce`
//! sends it — or for a go-live alert `{"type":"live"|"reminder","show","message","at"}` —
//! signed with HMAC-SHA256 over the body when a `secret` is set
//! (`X-Announce-Signature: sha256=<hex>`). `Idempotency-Key: announce-{seq}` (`live-{show_id}`,
//! `reminder-{show_id}`) lets a receiver drop the rare repeat (a hub killed between the
//! receiver's answer and the ledger's write).
//!
//! Keys: `url` (which may carry a key in its query or userinfo, so only its redacted form is
//! shown) and the optional `secret`.

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Url;

use super::attempt::{self, Attempt};
use super::block::{Block, Secret, TargetConfigError, url_parts, without_query};
use super::kind::Kind;
use crate::store::Outgoing;

pub const SIGNATURE_HEADER: &str = "x-announce-signature";

/// A generic webhook. Its URL may carry a key in the query or the userinfo (many services
/// work that way), so `Debug` shows only the redacted endpoint.
#[derive(Clone)]
pub struct WebhookTarget {
    pub url: Url,
    /// HMAC-SHA256 key for `X-Announce-Signature`; no header without one.
    pub secret: Option<Secret>,
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &without_query(&self.url))
            .field("secret", &self.secret)
            .finish()
    }
}

impl Kind for WebhookTarget {
    fn parse(block: &mut Block) -> Result<WebhookTarget, TargetConfigError> {
        let url = block.take_url("url", |r| &mut r.url)?;
        let secret = match block.take(|r| &mut r.secret) {
            Some(s) if s.is_empty() => return Err(block.err("secret", "must not be empty")),
            other => other.map(Secret::new),
        };
        Ok(WebhookTarget { url, secret })
    }

    fn endpoint(&self) -> String {
        without_query(&self.url)
    }

    fn secrets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.secret.iter().map(Secret::expose).collect();
        out.extend(url_parts(&self.url).into_iter().flatten());
        out
    }

    fn send<'a>(
        &'a self,
        http: &'a reqwest::Client,
        item: &'a Outgoing,
        timeout: Duration,
    ) -> BoxFuture<'a, Attempt> {
        Box::pin(send(http, self, item, timeout))
    }
}

async fn send(
    http: &reqwest::Client,
    target: &WebhookTarget,
    item: &Outgoing,
    timeout: Duration,
) -> Attempt {
    let body = body(item);
    let mut request = http
        .post(target.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", item.idempotency_key());
    if let Some(secret) = &target.secret {
        request = request.header(SIGNATURE_HEADER, signature(secret, body.as_bytes()));
    }
    attempt::send(request.body(body), timeout, |a| a.judge(None)).await
}

/// An announce is the very frame `/ws/announce` sends, so receivers parse one shape; an alert
/// says what it is, whose show, and when it fired.
fn body(item: &Outgoing) -> String {
    match item {
        Outgoing::Announce(announce) => announce.to_message().to_json(),
        Outgoing::Event(event) => serde_json::json!({
            "type": event.kind.as_str(),
            "show": event.show,
            "message": event.message.as_str(),
            "at": event.at.to_string(),
        })
        .to_string(),
    }
}

/// `sha256=<lower-case hex HMAC-SHA256 of body>`.
pub fn signature(secret: &Secret, body: &[u8]) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail here.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        let sig = signature(&Secret::new("Jefe"), b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
