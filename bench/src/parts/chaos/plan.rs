//! The seeded schedule of a chaos run: when each process is killed and for how long it stays
//! down, when each proxy cuts or slows its connections. Every actor draws from its own random
//! stream derived from the seed, so one actor's draws never shift another's: the same seed
//! gives the same moments whatever the processes did.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The actors, each with its own stream of the seed.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    Announcer = 1,
    HubKiller = 2,
    RelayKiller = 3,
    WebhookProxy = 4,
    DiscordProxy = 5,
    IrcProxy = 6,
    Plugins = 7,
}

/// The random stream of `actor` for `seed`.
pub fn rng(seed: u64, actor: Actor) -> StdRng {
    // Multiplying by an odd constant spreads neighbouring seeds over the whole range.
    StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ actor as u64)
}

/// `n` independent streams for the lanes of one actor.
pub fn lanes(seed: u64, actor: Actor, n: usize) -> Vec<StdRng> {
    let mut base = rng(seed, actor);
    (0..n)
        .map(|_| StdRng::seed_from_u64(base.random()))
        .collect()
}

/// A duration drawn uniformly between `lo` and `hi` milliseconds.
pub fn millis(rng: &mut StdRng, lo: u64, hi: u64) -> Duration {
    Duration::from_millis(rng.random_range(lo..=hi))
}

/// One kill -9: when (from the start of the run) and how long the process stays down.
#[derive(Debug, Clone, Copy)]
pub struct Kill {
    pub at: Duration,
    pub pause: Duration,
}

/// `count` kills spread over `length`: one at a random point of the middle of each of `count`
/// equal slots, so that two kills never come back to back and each incarnation lives a while.
pub fn kills(rng: &mut StdRng, length: Duration, count: u32) -> Vec<Kill> {
    let slot = length / count;
    (0..count)
        .map(|i| Kill {
            at: slot * i + slot.mul_f64(rng.random_range(0.3..0.8)),
            pause: millis(rng, 300, 3_000),
        })
        .collect()
}

/// What a proxy does to its connections for a while.
#[derive(Debug, Clone, Copy)]
pub enum FaultKind {
    /// Closes every open connection now, then closes each new one at once for `refuse`.
    Cut { refuse: Duration },
    /// Holds every chunk `latency` before passing it on, for `during`.
    Delay { latency: Duration, during: Duration },
}

#[derive(Debug, Clone, Copy)]
pub struct Fault {
    pub at: Duration,
    pub kind: FaultKind,
}

/// About one fault per `every` over `length`, one per slot, cuts and delays at random; each
/// ends well inside its slot, so faults of one proxy never overlap.
pub fn faults(rng: &mut StdRng, length: Duration, every: Duration) -> Vec<Fault> {
    let count = (length.as_secs() / every.as_secs().max(1)).max(3) as u32;
    let slot = length / count;
    (0..count)
        .map(|i| {
            let at = slot * i + slot.mul_f64(rng.random_range(0.1..0.4));
            let kind = if rng.random_bool(0.5) {
                FaultKind::Cut {
                    refuse: millis(rng, 0, 3_000),
                }
            } else {
                FaultKind::Delay {
                    latency: millis(rng, 100, 1_500),
                    during: millis(rng, 1_000, 6_000),
                }
            };
            Fault { at, kind }
        })
        .collect()
}

/// Every seeded moment of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub length: Duration,
    pub hub_kills: Vec<Kill>,
    pub relay_kills: Vec<Kill>,
    pub webhook_faults: Vec<Fault>,
    pub discord_faults: Vec<Fault>,
    pub irc_faults: Vec<Fault>,
}

/// At least this many kills of each process, more on a long run (one per 40 s).
const MIN_KILLS: u32 = 10;
/// About one fault per proxy this often.
const FAULT_EVERY: Duration = Duration::from_secs(15);

impl Plan {
    pub fn draw(seed: u64, length: Duration) -> Plan {
        let count = MIN_KILLS.max((length.as_secs() / 40) as u32);
        let faults = |actor| faults(&mut rng(seed, actor), length, FAULT_EVERY);
        Plan {
            seed,
            length,
            hub_kills: kills(&mut rng(seed, Actor::HubKiller), length, count),
            relay_kills: kills(&mut rng(seed, Actor::RelayKiller), length, count),
            webhook_faults: faults(Actor::WebhookProxy),
            discord_faults: faults(Actor::DiscordProxy),
            irc_faults: faults(Actor::IrcProxy),
        }
    }
}

/// (cuts, delays) among `faults`.
pub fn count_faults(faults: &[Fault]) -> (usize, usize) {
    let cuts = faults
        .iter()
        .filter(|f| matches!(f.kind, FaultKind::Cut { .. }))
        .count();
    (cuts, faults.len() - cuts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_moments_and_kills_stay_in_their_slots() {
        let length = Duration::from_secs(600);
        let a = kills(&mut rng(1, Actor::HubKiller), length, 12);
        let b = kills(&mut rng(1, Actor::HubKiller), length, 12);
        let other = kills(&mut rng(2, Actor::HubKiller), length, 12);
        assert_eq!(a.len(), 12);
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.at == y.at && x.pause == y.pause)
        );
        assert!(a.iter().zip(&other).any(|(x, y)| x.at != y.at));
        for (i, k) in a.iter().enumerate() {
            let slot = length / 12;
            assert!(k.at >= slot * i as u32 && k.at < slot * (i as u32 + 1));
        }
    }

    #[test]
    fn faults_of_one_proxy_never_overlap() {
        let length = Duration::from_secs(120);
        let f = faults(
            &mut rng(7, Actor::IrcProxy),
            length,
            Duration::from_secs(15),
        );
        assert_eq!(f.len(), 8);
        for pair in f.windows(2) {
            let end = pair[0].at
                + match pair[0].kind {
                    FaultKind::Cut { refuse } => refuse,
                    FaultKind::Delay { latency, during } => latency + during,
                };
            assert!(end < pair[1].at, "{pair:?}");
        }
    }
}
