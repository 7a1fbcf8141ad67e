//! Generic webhooks: `POST {url}` with the announce frame's JSON, exactly as `/ws/announce`
//! sends it, signed with HMAC-SHA256 over the body when a `secret` is set
//! (`X-Announce-Signature: sha256=<hex>`). `Idempotency-Key: announce-{seq}` lets a receiver
//! drop the rare repeat (a hub killed between the receiver's answer and the ledger's write).

use std::time::Duration;

use crate::store::Announcement;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::attempt::{self, Attempt};
use super::config::{Secret, WebhookTarget};

pub const SIGNATURE_HEADER: &str = "x-announce-signature";

pub async fn send(
    http: &reqwest::Client,
    target: &WebhookTarget,
    announce: &Announcement,
    timeout: Duration,
) -> Attempt {
    // The very frame `/ws/announce` sends, so receivers parse one shape.
    let body = announce.to_message().to_json();
    let mut request = http
        .post(target.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", format!("announce-{}", announce.seq));
    if let Some(secret) = &target.secret {
        request = request.header(SIGNATURE_HEADER, signature(secret, body.as_bytes()));
    }
    attempt::send(request.body(body), timeout, |a| a.judge(None)).await
}

/// `sha256=<lower-case hex HMAC-SHA256 of body>`.
pub fn signature(secret: &Secret, body: &[u8]) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
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
