//! The simulated show: a free-text announce every few seconds (seeded gaps), each a line the
//! sinks can tell apart ("Chaos line N of seed S"). An announce that cannot reach the hub (it
//! is down) is retried until it gets an answer; one whose request went out but whose answer
//! was lost (the hub died meanwhile) is recorded as unknown and not sent again — the hub's
//! `POST /admin/announce` takes no idempotency key, so a resend could announce it twice — and
//! is settled later against the hub's own log.

use std::time::Duration;

use e2e::hub::ADMIN_TOKEN;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::plan::millis;

/// What became of one announce.
#[derive(Debug, Clone)]
pub struct Sent {
    pub text: String,
    /// The seq the hub answered with; None when the answer was lost.
    pub seq: Option<u64>,
    /// Attempts refused before it got through (the hub was down).
    pub retries: u32,
}

/// The line of announce `i`.
pub fn text(i: u64, seed: u64) -> String {
    format!("Chaos line {i} of seed {seed}")
}

/// Announces from now until `until`, a seeded 1.5 to 5 s apart.
pub async fn run(hub: String, seed: u64, mut rng: StdRng, until: Instant) -> Vec<Sent> {
    // No pooled connections: a connection kept from before a kill is dead, and a POST on it
    // fails after being written, which would look like a lost answer.
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_default();
    let mut sent = Vec::new();
    let mut i = 0;
    loop {
        tokio::time::sleep(millis(&mut rng, 1_500, 5_000)).await;
        if Instant::now() >= until {
            return sent;
        }
        i += 1;
        sent.push(announce(&client, &hub, text(i, seed)).await);
    }
}

async fn announce(client: &reqwest::Client, hub: &str, text: String) -> Sent {
    let body = serde_json::json!({ "text": text });
    let mut retries = 0;
    loop {
        let answer = client
            .post(format!("{hub}/admin/announce"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => {
                let seq = match r.json::<ntr_protocol::Announced>().await {
                    Ok(a) => Some(a.seq.get()),
                    Err(_) => None,
                };
                return Sent { text, seq, retries };
            }
            // Not sent (nothing listening) or answered with a refusal (e.g. shutting down):
            // nothing was announced, so it is safe to try again.
            Ok(_) => {}
            Err(e) if e.is_connect() => {}
            Err(_) => {
                return Sent {
                    text,
                    seq: None,
                    retries,
                };
            }
        }
        retries += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
