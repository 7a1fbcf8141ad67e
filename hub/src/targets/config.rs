//! `[[targets]]`: what every block has in common — its name, `enabled`, `delay_seconds`, the
//! checks of names and URLs, the redaction of URLs — and the walk over the blocks at start-up.
//! A kind's own keys are checked by its module (see [`super::kind`]); the pieces they share are
//! in [`super::block`].
//!
//! Every block is checked once at start-up, so a worker only ever sees a complete, valid target:
//! each kind takes exactly the keys it needs, and a key that belongs to another kind is an error
//! rather than silently ignored. Errors name the block and the key on one line
//! (`targets[1].room_id: …`).

use std::collections::HashSet;

use super::block::{Block, RawTarget, ShowTitles, TargetConfigError, check_name};
use super::kind::TargetKind;
use super::kinds::{self, KINDS};
use crate::show_filter::ShowFilter;
use crate::station::Station;
use crate::store::AlertKind;

/// The longest hold-back a target may ask for (ten minutes covers any stream delay).
pub const MAX_DELAY_SECONDS: u64 = 600;

/// One validated target.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// 1–32 of `[A-Za-z0-9._-]`, unique; used in acks, the ledger and `/metrics`.
    pub name: String,
    /// Seconds each line is held back before its first attempt (0–600).
    pub delay_seconds: u64,
    pub enabled: bool,
    /// Whose announces it gets (station-wide lines always).
    pub shows: ShowFilter,
    /// What it is sent: announces, go-live alerts, reminders.
    pub events: Events,
    pub kind: TargetKind,
}

/// `events = ["announce", "live", "reminder"]`: which of them a target is sent. Never empty
/// (a target sent nothing is `enabled = false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Events {
    pub announce: bool,
    pub live: bool,
    pub reminder: bool,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            announce: true,
            live: false,
            reminder: false,
        }
    }
}

impl Events {
    const NAMES: &'static str = "\"announce\", \"live\", \"reminder\"";

    fn parse(written: Option<Vec<String>>) -> Result<Events, String> {
        let Some(names) = written else {
            return Ok(Events::default());
        };
        if names.is_empty() {
            return Err(format!(
                "is empty: name at least one of {} (or set enabled = false)",
                Self::NAMES
            ));
        }
        let mut events = Events {
            announce: false,
            live: false,
            reminder: false,
        };
        for name in &names {
            let flag = match name.as_str() {
                "announce" => &mut events.announce,
                "live" => &mut events.live,
                "reminder" => &mut events.reminder,
                other => {
                    return Err(format!("unknown event `{other}` (use {})", Self::NAMES));
                }
            };
            *flag = true;
        }
        Ok(events)
    }

    /// Is the target sent alerts of `kind`?
    pub fn gets(&self, kind: AlertKind) -> bool {
        match kind {
            AlertKind::Live => self.live,
            AlertKind::Reminder => self.reminder,
        }
    }

    /// The names of what it is sent, as `events = […]` writes them.
    pub fn names(&self) -> Vec<&'static str> {
        [
            ("announce", self.announce),
            ("live", self.live),
            ("reminder", self.reminder),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect()
    }

    /// `announce, live`: for the start-up summary.
    pub fn describe(&self) -> String {
        self.names().join(", ")
    }
}

/// Checks every block; names must be unique among the targets and must not be in `taken`
/// (the relays' names, which share the dashboard's "where it landed"), and `shows` may only
/// name the station's shows.
pub fn validate(
    raw: Vec<RawTarget>,
    taken: &[String],
    station: &Station,
) -> Result<Vec<TargetConfig>, TargetConfigError> {
    let mut seen: HashSet<String> = taken.iter().cloned().collect();
    let mut out = Vec::with_capacity(raw.len());
    let titles = ShowTitles::of(station);
    for (i, block) in raw.into_iter().enumerate() {
        let target = validate_block(Block {
            index: i,
            raw: block,
            kind: "",
            titles: titles.clone(),
        })?;
        if let Some(message) = target.shows.unknown_in(station) {
            return Err(TargetConfigError {
                key: format!("targets[{i}].shows"),
                message,
            });
        }
        if !seen.insert(target.name.clone()) {
            return Err(TargetConfigError {
                key: format!("targets[{i}].name"),
                message: format!(
                    "`{}` is used twice (target and relay names must be unique)",
                    target.name
                ),
            });
        }
        out.push(target);
    }
    Ok(out)
}

/// One block: the keys every target has, then its kind's.
fn validate_block(mut block: Block) -> Result<TargetConfig, TargetConfigError> {
    let name = block.raw.name.take().unwrap_or_default();
    check_name(&name).map_err(|m| block.err("name", m))?;
    let delay_seconds = match block.raw.delay_seconds.take() {
        None => 0,
        Some(d) => u64::try_from(d)
            .ok()
            .filter(|d| *d <= MAX_DELAY_SECONDS)
            .ok_or_else(|| {
                block.err(
                    "delay_seconds",
                    format!("must be between 0 and {MAX_DELAY_SECONDS} (got {d})"),
                )
            })?,
    };
    let enabled = block.raw.enabled.take().unwrap_or(true);
    let shows = ShowFilter::from_config(block.raw.shows.take())
        .map_err(|e| block.err("shows", e.to_string()))?;
    let events = Events::parse(block.raw.events.take()).map_err(|m| block.err("events", m))?;
    let kind = kind_of_block(&mut block)?;
    block.reject_leftovers()?;
    Ok(TargetConfig {
        name,
        delay_seconds,
        enabled,
        shows,
        events,
        kind,
    })
}

/// Finds the block's kind in [`KINDS`] and lets it take its keys.
fn kind_of_block(block: &mut Block) -> Result<TargetKind, TargetConfigError> {
    let Some(written) = block.raw.kind.take() else {
        return Err(block.err("kind", format!("missing ({})", kinds::names())));
    };
    let Some(registration) = KINDS.iter().find(|k| k.name == written) else {
        return Err(block.err(
            "kind",
            format!("unknown kind `{written}` (use {})", kinds::names()),
        ));
    };
    block.kind = registration.name;
    registration.parse(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::station::test_station;

    fn station() -> Station {
        test_station(&["a", "b"])
    }

    #[test]
    fn shows_name_known_slugs() {
        let block = |shows: Vec<&str>| RawTarget {
            name: Some("hook".into()),
            kind: Some("webhook".into()),
            url: Some("https://e.org".into()),
            shows: Some(shows.into_iter().map(Into::into).collect()),
            ..RawTarget::default()
        };
        let ok = validate(vec![block(vec!["b"])], &[], &station()).expect("known");
        assert_eq!(ok[0].shows.describe(), "shows b");
        let err = validate(vec![block(vec!["a", "c"])], &[], &station()).expect_err("c");
        assert_eq!(
            err.to_string(),
            "targets[0].shows: no show `c`; the shows are a, b"
        );
        let err = validate(vec![block(vec![])], &[], &station()).expect_err("empty");
        assert_eq!(err.key, "targets[0].shows");
    }

    /// The texts an operator reads, word for word (docs/configuration.md quotes them).
    #[test]
    fn error_texts_are_exact() {
        let block = |kind: Option<&str>| RawTarget {
            name: Some("x".into()),
            kind: kind.map(Into::into),
            ..RawTarget::default()
        };
        let cases = [
            (
                block(Some("pager")),
                "targets[0].kind: unknown kind `pager` (use discord, webhook, matrix, icecast, mastodon, bluesky, telegram or ntfy)",
            ),
            (
                block(None),
                "targets[0].kind: missing (discord, webhook, matrix, icecast, mastodon, bluesky, telegram or ntfy)",
            ),
            (
                RawTarget {
                    homeserver: Some("https://m.org".into()),
                    access_token: Some("t".into()),
                    ..block(Some("matrix"))
                },
                "targets[0].room_id: is required for a matrix target",
            ),
            (
                RawTarget {
                    url: Some("https://e.org".into()),
                    mount: Some("/x".into()),
                    ..block(Some("webhook"))
                },
                "targets[0].mount: is not a key of a webhook target",
            ),
            (
                RawTarget {
                    url: Some("https://e.org/hook".into()),
                    ..block(Some("discord"))
                },
                "targets[0].url: is not a Discord webhook URL (…/api/webhooks/ID/TOKEN, from the \
                     channel's Integrations → Webhooks → Copy Webhook URL)",
            ),
        ];
        for (raw, text) in cases {
            let err = validate(vec![raw], &[], &station()).expect_err(text);
            assert_eq!(err.to_string(), text);
        }
    }

    #[test]
    fn events_default_to_announces_and_name_what_is_wrong() {
        let block = |events: Option<Vec<&str>>| RawTarget {
            name: Some("hook".into()),
            kind: Some("webhook".into()),
            url: Some("https://e.org".into()),
            events: events.map(|e| e.into_iter().map(Into::into).collect()),
            ..RawTarget::default()
        };
        let plain = validate(vec![block(None)], &[], &station()).expect("default");
        assert_eq!(plain[0].events, Events::default());
        let alerts = validate(vec![block(Some(vec!["live", "reminder"]))], &[], &station());
        let alerts = alerts.expect("alerts only");
        assert!(!alerts[0].events.announce && alerts[0].events.gets(AlertKind::Reminder));
        let err = validate(vec![block(Some(vec!["golive"]))], &[], &station()).expect_err("x");
        assert_eq!(
            err.to_string(),
            "targets[0].events: unknown event `golive` (use \"announce\", \"live\", \"reminder\")"
        );
        let err = validate(vec![block(Some(vec![]))], &[], &station()).expect_err("empty");
        assert_eq!(err.key, "targets[0].events");
    }

    #[test]
    fn names_follow_the_relay_rules() {
        assert!(check_name("stream.main_1-b").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"a".repeat(33)).is_err());
        assert!(check_name("#ntr").is_err());
        let taken = vec!["ntrbot".to_string()];
        let raw = vec![RawTarget {
            name: Some("ntrbot".into()),
            kind: Some("webhook".into()),
            url: Some("https://e.org".into()),
            ..RawTarget::default()
        }];
        let err = validate(raw, &taken, &station()).expect_err("taken by a relay");
        assert_eq!(err.key, "targets[0].name");
    }
}
