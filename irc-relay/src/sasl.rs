//! SASL PLAIN, driven by hand.
//!
//! Written here because the `irc` crate (1.1) has no SASL support: its `identify()` sends
//! `CAP END` straight away, which ends capability negotiation before SASL could start. So when
//! a SASL password is configured the relay registers itself and plays the IRCv3 exchange:
//! `CAP REQ :sasl`, `NICK`, `USER` → `CAP ACK :sasl` → `AUTHENTICATE PLAIN` → `+` → the
//! base64 payload → `903` → `CAP END`. Any refusal ends the exchange with `CAP END` and the
//! relay carries on unauthenticated.

use base64::Engine;
use irc::client::prelude::{Command, Response};
use irc::proto::CapSubCommand;

/// SASL splits its base64 payload into lines of this many bytes (IRCv3 sasl-3.1).
const CHUNK: usize = 400;

/// One connection's SASL exchange.
#[derive(Debug)]
pub(crate) struct Sasl {
    account: String,
    password: String,
    done: bool,
}

impl Sasl {
    pub(crate) fn new(account: &str, password: &str) -> Sasl {
        Sasl {
            account: account.to_string(),
            password: password.to_string(),
            done: false,
        }
    }

    /// What opens registration: `CAP REQ :sasl` first, so the server holds registration until
    /// `CAP END`.
    pub(crate) fn registration(nickname: &str, realname: &str) -> [Command; 3] {
        [
            Command::CAP(None, CapSubCommand::REQ, None, Some("sasl".into())),
            Command::NICK(nickname.to_string()),
            Command::USER(nickname.to_string(), "0".into(), realname.to_string()),
        ]
    }

    /// The commands that answer `command` if it belongs to the exchange (possibly none);
    /// `None` if it does not.
    pub(crate) fn answer(&mut self, command: &Command) -> Option<Vec<Command>> {
        match command {
            Command::CAP(_, CapSubCommand::ACK, a, b) if mentions_sasl(a, b) => {
                Some(vec![Command::AUTHENTICATE("PLAIN".into())])
            }
            Command::CAP(_, CapSubCommand::NAK, a, b) if mentions_sasl(a, b) => {
                tracing::error!("the server does not offer SASL; continuing without it");
                Some(self.end())
            }
            Command::AUTHENTICATE(data) if data == "+" && !self.done => Some(
                plain_payload(&self.account, &self.password)
                    .into_iter()
                    .map(Command::AUTHENTICATE)
                    .collect(),
            ),
            Command::Response(Response::RPL_SASLSUCCESS, _) => {
                tracing::info!("SASL authentication succeeded");
                Some(self.end())
            }
            Command::Response(
                code @ (Response::ERR_SASLFAIL
                | Response::ERR_SASLTOOLONG
                | Response::ERR_SASLABORT
                | Response::ERR_SASLALREADY
                | Response::ERR_NICKLOCKED),
                args,
            ) => {
                tracing::error!(
                    ?code,
                    ?args,
                    "SASL authentication failed; continuing unauthenticated"
                );
                Some(self.end())
            }
            _ => None,
        }
    }

    /// `CAP END`, once.
    fn end(&mut self) -> Vec<Command> {
        if std::mem::replace(&mut self.done, true) {
            Vec::new()
        } else {
            vec![Command::CAP(None, CapSubCommand::END, None, None)]
        }
    }
}

fn mentions_sasl(a: &Option<String>, b: &Option<String>) -> bool {
    [a, b].into_iter().flatten().any(|caps| {
        caps.split_whitespace()
            .any(|c| c.eq_ignore_ascii_case("sasl"))
    })
}

/// `AUTHENTICATE` arguments for SASL PLAIN with `account` as both authzid and authcid.
pub fn plain_payload(account: &str, password: &str) -> Vec<String> {
    let raw = format!("{account}\0{account}\0{password}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
    let mut chunks: Vec<String> = encoded
        .as_bytes()
        .chunks(CHUNK)
        // base64 is ASCII, so every chunk is valid UTF-8.
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    // A payload that ends exactly on a chunk boundary is terminated by "+".
    if encoded.len() % CHUNK == 0 {
        chunks.push("+".into());
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_payload_is_base64_of_account_account_password() {
        assert_eq!(
            plain_payload("ntrbot", "s3cret"),
            vec!["bnRyYm90AG50cmJvdABzM2NyZXQ=".to_string()]
        );
    }

    #[test]
    fn long_payload_is_chunked_and_terminated() {
        // 3 · 100 raw bytes → exactly 400 base64 bytes → one chunk plus "+".
        let chunks = plain_payload(&"a".repeat(100), &"b".repeat(98));
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].len(), 400);
        assert_eq!(chunks[1], "+");
        let chunks = plain_payload(&"a".repeat(200), "pw");
        assert!(chunks.len() == 2 && chunks[0].len() == 400 && chunks[1] != "+");
    }

    fn cap(sub: CapSubCommand, caps: &str) -> Command {
        Command::CAP(Some("*".into()), sub, None, Some(caps.into()))
    }

    #[test]
    fn the_exchange_ends_with_one_cap_end() {
        let mut sasl = Sasl::new("ntrbot", "s3cret");
        assert_eq!(
            sasl.answer(&cap(CapSubCommand::ACK, "sasl")),
            Some(vec![Command::AUTHENTICATE("PLAIN".into())])
        );
        assert_eq!(
            sasl.answer(&Command::AUTHENTICATE("+".into())),
            Some(vec![Command::AUTHENTICATE(
                "bnRyYm90AG50cmJvdABzM2NyZXQ=".into()
            )])
        );
        let success = Command::Response(Response::RPL_SASLSUCCESS, vec![]);
        let end = Command::CAP(None, CapSubCommand::END, None, None);
        assert_eq!(sasl.answer(&success), Some(vec![end]));
        assert_eq!(sasl.answer(&success), Some(vec![]), "CAP END only once");
        assert_eq!(sasl.answer(&Command::AUTHENTICATE("+".into())), None);
        assert_eq!(sasl.answer(&Command::PING("x".into(), None)), None);
    }

    #[test]
    fn a_refusal_ends_the_exchange() {
        let end = Command::CAP(None, CapSubCommand::END, None, None);
        let mut sasl = Sasl::new("ntrbot", "s3cret");
        assert_eq!(
            sasl.answer(&cap(CapSubCommand::NAK, "sasl")),
            Some(vec![end.clone()])
        );
        let mut sasl = Sasl::new("ntrbot", "wrong");
        let fail = Command::Response(Response::ERR_SASLFAIL, vec!["ntrbot".into()]);
        assert_eq!(sasl.answer(&fail), Some(vec![end]));
    }
}
