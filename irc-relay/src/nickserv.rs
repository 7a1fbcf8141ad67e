//! NickServ IDENTIFY, sent by the relay itself.
//!
//! The `irc` crate identifies with `NICKSERV IDENTIFY …`, a command only some servers alias
//! (Solanum does; InspIRCd without its alias module answers "Unknown command" and the bot
//! stays logged out). `PRIVMSG NickServ :IDENTIFY account password` works on every network
//! with Atheme or Anope, and naming the account keeps it working when the bot had to take an
//! alternative nickname.

use irc::client::prelude::Command;

/// The services bot's nickname on every common network.
const NICKSERV: &str = "NickServ";

pub(crate) fn identify(account: &str, password: &str) -> Command {
    Command::PRIVMSG(NICKSERV.into(), format!("IDENTIFY {account} {password}"))
}

/// When `text` (a NOTICE from `source`) is NickServ refusing the password: the error to show.
pub(crate) fn refusal(source: Option<&str>, text: &str, account: &str) -> Option<String> {
    if !source.is_some_and(|s| s.eq_ignore_ascii_case(NICKSERV)) {
        return None;
    }
    let lower = text.to_lowercase();
    let refused = [
        "invalid password",
        "incorrect password",
        "is not registered",
        "not a registered",
    ]
    .iter()
    .any(|phrase| lower.contains(phrase));
    refused.then(|| {
        format!("NickServ IDENTIFY as `{account}` refused ({text}); check [irc] nickserv_password")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_names_the_account_and_refusals_are_recognised() {
        assert_eq!(
            identify("ntrbot", "pw"),
            Command::PRIVMSG("NickServ".into(), "IDENTIFY ntrbot pw".into())
        );
        let atheme = "Invalid password for \u{2}ntrbot\u{2}.";
        let error = refusal(Some("NickServ"), atheme, "ntrbot").expect("a refusal");
        assert!(
            error.starts_with("NickServ IDENTIFY as `ntrbot` refused"),
            "{error}"
        );
        assert_eq!(
            refusal(
                Some("NickServ"),
                "You are now identified for ntrbot.",
                "ntrbot"
            ),
            None
        );
        assert_eq!(refusal(Some("someone"), atheme, "ntrbot"), None);
    }
}
