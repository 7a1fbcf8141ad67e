//! `irc-relay check-config`: the summary printed once the configuration has loaded exactly as a
//! start loads it (which already checks every value and that `ca_file` exists; `main` checks
//! that `state_dir` can be written), with every secret masked — for CI and for the minute
//! before a restart.

use std::fmt::Write as _;
use std::path::Path;

use ntr_common::config_report::{Report, mask_token};

use crate::config::{Config, RelayConfig};

/// The lines to print for a configuration that loaded.
pub fn summary(config: &Config, file: Option<&Path>) -> String {
    let relay = &config.relay;
    let irc = &config.irc;
    let mut report = Report::new(file, "");
    hub_rows(&mut report, relay);
    report.row("public_url", relay.public_url.to_string());
    let tls = match (irc.tls, &irc.ca_file) {
        (false, _) => "plain text".to_owned(),
        (true, None) => "TLS".to_owned(),
        (true, Some(ca)) => format!("TLS, also trusting {}", ca.display()),
    };
    report.row("irc", format!("{}:{} ({tls})", irc.server, irc.port));
    let mut nick = irc.nickname.clone();
    if !irc.alt_nicknames.is_empty() {
        let _ = write!(nick, " (then {})", irc.alt_nicknames.join(", "));
    }
    report.row("nickname", nick);
    report.row("channels", irc.channels.join(" "));
    for route in &irc.routes {
        report.row(
            "route",
            format!("show {} to {}", route.show, route.channels.join(" ")),
        );
    }
    let auth = match (&irc.sasl_password, &irc.nickserv_password) {
        (Some(_), Some(_)) => "SASL PLAIN *** and NickServ ***",
        (Some(_), None) => "SASL PLAIN ***",
        (None, Some(_)) => "NickServ ***",
        (None, None) => "none",
    };
    report.row("identify", auth.to_owned());
    report.row(
        "flood",
        format!(
            "burst {}, then {} a second per target; up to {} announces and {0} replies queued \
             per channel",
            irc.flood_burst, irc.flood_lines_per_second, irc.queue_limit
        ),
    );
    report.row(
        "commands",
        format!(
            "prefix {:?}, one answer per user per {} s, at most {} per channel per {} s",
            irc.command_prefix,
            irc.command_cooldown.as_secs_f64(),
            irc.command_replies_per_channel,
            irc.command_replies_window.as_secs_f64()
        ),
    );
    report.row(
        "replay",
        format!(
            "announces older than {} s are not posted",
            relay.replay_window.as_secs()
        ),
    );
    report.row(
        "state",
        format!(
            "what was posted is kept in {}",
            config.state_file().display()
        ),
    );
    report.finish()
}

/// One `hub` row per hub URL with the WebSocket it subscribes to, then the masked token.
fn hub_rows(report: &mut Report, relay: &RelayConfig) {
    for (i, hub_url) in relay.hub_urls.iter().enumerate() {
        let ws = crate::hub::announce_url(hub_url, None);
        // Several URLs are tried in this order; numbering them shows the preference.
        let choice = match relay.hub_urls.len() {
            1 => String::new(),
            _ => format!("{}. ", i + 1),
        };
        report.row("hub", format!("{choice}{hub_url} ({ws})"));
    }
    report.row("token", mask_token(&relay.token));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_hides_tokens_and_passwords() {
        let token = "relay-token-0123456789abcdefghij";
        let config = Config::from_toml(&format!(
            "[relay]\ntoken = \"{token}\"\n[irc]\nserver = \"irc.example.org\"\n\
             nickname = \"ntrbot\"\nchannels = [\"#ntr\"]\nsasl_password = \"hunter2-sasl\"\n"
        ))
        .expect("valid");
        let text = summary(&config, None);
        assert!(!text.contains(token), "{text}");
        assert!(!text.contains("hunter2-sasl"), "{text}");
        assert!(text.contains("rela…(32 chars)"), "{text}");
        assert!(text.contains("SASL PLAIN ***"), "{text}");
        assert!(
            text.contains("data/irc-relay-ntrbot@irc.example.org-6697.json"),
            "{text}"
        );
        assert_eq!(mask_token("short"), "***");
    }

    #[test]
    fn the_summary_lists_the_hub_urls_in_the_order_they_are_tried() {
        let config = Config::from_toml(
            "[relay]\ntoken = \"relay-token-0123456789\"\n\
             hub_url = [\"http://10.0.0.2:8000\", \"https://hub.example/ntr\"]\n\
             [irc]\nserver = \"irc.example.org\"\nnickname = \"ntrbot\"\nchannels = [\"#ntr\"]\n",
        )
        .expect("valid");
        let text = summary(&config, None);
        let first = text
            .find("1. http://10.0.0.2:8000/ (ws://10.0.0.2:8000/ws/announce)")
            .expect(&text);
        let second = text
            .find("2. https://hub.example/ntr (wss://hub.example/ntr/ws/announce)")
            .expect(&text);
        assert!(first < second, "{text}");
        assert!(
            text.contains("public_url    http://10.0.0.2:8000/"),
            "{text}"
        );
    }
}
