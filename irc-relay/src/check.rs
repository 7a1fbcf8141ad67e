//! `irc-relay check-config`: the summary printed once the configuration has loaded exactly as a
//! start loads it (which already checks every value and that `ca_file` exists), with every
//! secret masked — for CI and for the minute before a restart.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::Config;

/// The lines to print for a configuration that loaded.
pub fn summary(config: &Config, file: Option<&Path>) -> String {
    let relay = &config.relay;
    let irc = &config.irc;
    let mut out = String::new();
    let source = file.map_or_else(
        || "no file, defaults".to_owned(),
        |p| p.display().to_string(),
    );
    let _ = writeln!(out, "configuration OK ({source})");
    let mut row = |key: &str, value: String| {
        let _ = writeln!(out, "  {key:<13} {value}");
    };
    row(
        "hub",
        format!(
            "{} ({}), token {}",
            relay.hub_url,
            crate::hub::announce_url(&relay.hub_url, None),
            mask_token(&relay.token)
        ),
    );
    row("public_url", relay.public_url.to_string());
    let tls = match (irc.tls, &irc.ca_file) {
        (false, _) => "plain text".to_owned(),
        (true, None) => "TLS".to_owned(),
        (true, Some(ca)) => format!("TLS, also trusting {}", ca.display()),
    };
    row("irc", format!("{}:{} ({tls})", irc.server, irc.port));
    let mut nick = irc.nickname.clone();
    if !irc.alt_nicknames.is_empty() {
        let _ = write!(nick, " (then {})", irc.alt_nicknames.join(", "));
    }
    row("nickname", nick);
    row("channels", irc.channels.join(" "));
    let auth = match (&irc.sasl_password, &irc.nickserv_password) {
        (Some(_), Some(_)) => "SASL PLAIN *** and NickServ ***",
        (Some(_), None) => "SASL PLAIN ***",
        (None, Some(_)) => "NickServ ***",
        (None, None) => "none",
    };
    row("identify", auth.to_owned());
    row(
        "flood",
        format!(
            "burst {}, then {} a second per target; up to {} lines queued per channel",
            irc.flood_burst, irc.flood_lines_per_second, irc.queue_limit
        ),
    );
    row(
        "commands",
        format!(
            "prefix {:?}, one answer per user per {} s",
            irc.command_prefix,
            irc.command_cooldown.as_secs_f64()
        ),
    );
    row(
        "replay",
        format!(
            "announces older than {} s are not posted",
            relay.replay_window.as_secs()
        ),
    );
    out
}

/// `abcd…(43 chars)`, as the hub prints its tokens: enough to tell two apart, far too little
/// to use one. Short values show nothing at all.
pub fn mask_token(token: &str) -> String {
    let chars = token.chars().count();
    if chars < 12 {
        return "***".into();
    }
    let head: String = token.chars().take(4).collect();
    format!("{head}…({chars} chars)")
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
        assert_eq!(mask_token("short"), "***");
    }
}
