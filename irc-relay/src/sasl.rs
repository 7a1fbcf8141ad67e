//! SASL PLAIN, driven by hand.
//!
//! Written here because the `irc` crate (1.1) has no SASL support: its `identify()` sends
//! `CAP END` straight away, which ends capability negotiation before SASL could start. So when
//! a SASL password is configured the relay registers itself and plays the IRCv3 exchange:
//! `CAP REQ :sasl`, `NICK`, `USER` → `CAP ACK :sasl` → `AUTHENTICATE PLAIN` → `+` → the
//! base64 payload → `903` → `CAP END`. A server without SASL gets `CAP END` and the relay
//! carries on unauthenticated (InspIRCd hides the capability while its services are down, and
//! a services outage must not stop the show); a refused account or password ends the
//! connection instead, so the reconnect loop retries with its backoff and the error shows on
//! the dashboard.

use base64::Engine;
use irc::client::prelude::{Command, Response};
use irc::proto::CapSubCommand;

/// SASL splits its base64 payload into lines of this many bytes (IRCv3 sasl-3.1).
const CHUNK: usize = 400;

/// What the exchange asks of the connection.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// Send these (possibly none).
    Send(Vec<Command>),
    /// The server refused the log-in; end the connection, for this reason.
    Refused(String),
}

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

    /// What answers `command` if it belongs to the exchange; `None` if it does not.
    pub(crate) fn answer(&mut self, command: &Command) -> Option<Step> {
        let send = match command {
            Command::CAP(_, CapSubCommand::ACK, a, b) if mentions_sasl(a, b) => {
                vec![Command::AUTHENTICATE("PLAIN".into())]
            }
            Command::CAP(_, CapSubCommand::NAK, a, b) if mentions_sasl(a, b) => {
                tracing::error!(
                    account = %self.account,
                    "the server does not offer SASL; continuing without logging in"
                );
                self.end()
            }
            Command::AUTHENTICATE(data) if data == "+" && !self.done => {
                plain_payload(&self.account, &self.password)
                    .into_iter()
                    .map(Command::AUTHENTICATE)
                    .collect()
            }
            Command::Response(Response::RPL_SASLSUCCESS | Response::ERR_SASLALREADY, _) => {
                tracing::info!(account = %self.account, "SASL authentication succeeded");
                self.end()
            }
            Command::Response(
                code @ (Response::ERR_SASLFAIL
                | Response::ERR_SASLTOOLONG
                | Response::ERR_SASLABORT
                | Response::ERR_NICKLOCKED),
                args,
            ) => return Some(Step::Refused(self.refused(*code, args))),
            _ => return None,
        };
        Some(Step::Send(send))
    }

    /// Logs the refusal once, as an error naming the account, and words it for the status.
    fn refused(&mut self, code: Response, args: &[String]) -> String {
        self.done = true;
        let server_says = args.last().map_or("refused", String::as_str);
        let reason = format!(
            "SASL PLAIN log-in as `{}` refused ({}: {server_says}); check [irc] sasl_password",
            self.account, code as u16
        );
        tracing::error!(account = %self.account, code = code as u16, "{reason}");
        reason
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

    fn send(commands: Vec<Command>) -> Option<Step> {
        Some(Step::Send(commands))
    }

    #[test]
    fn the_exchange_ends_with_one_cap_end() {
        let mut sasl = Sasl::new("ntrbot", "s3cret");
        assert_eq!(
            sasl.answer(&cap(CapSubCommand::ACK, "sasl")),
            send(vec![Command::AUTHENTICATE("PLAIN".into())])
        );
        assert_eq!(
            sasl.answer(&Command::AUTHENTICATE("+".into())),
            send(vec![Command::AUTHENTICATE(
                "bnRyYm90AG50cmJvdABzM2NyZXQ=".into()
            )])
        );
        let success = Command::Response(Response::RPL_SASLSUCCESS, vec![]);
        let end = Command::CAP(None, CapSubCommand::END, None, None);
        assert_eq!(sasl.answer(&success), send(vec![end]));
        assert_eq!(sasl.answer(&success), send(vec![]), "CAP END only once");
        assert_eq!(sasl.answer(&Command::AUTHENTICATE("+".into())), None);
        assert_eq!(sasl.answer(&Command::PING("x".into(), None)), None);
    }

    #[test]
    fn no_sasl_carries_on_and_a_refused_password_ends_the_connection() {
        let end = Command::CAP(None, CapSubCommand::END, None, None);
        let mut sasl = Sasl::new("ntrbot", "s3cret");
        assert_eq!(
            sasl.answer(&cap(CapSubCommand::NAK, "sasl")),
            send(vec![end])
        );
        let mut sasl = Sasl::new("ntrbot", "wrong");
        let fail = Command::Response(
            Response::ERR_SASLFAIL,
            vec!["ntrbot".into(), "SASL authentication failed".into()],
        );
        assert_eq!(
            sasl.answer(&fail),
            Some(Step::Refused(
                "SASL PLAIN log-in as `ntrbot` refused (904: SASL authentication failed); \
                 check [irc] sasl_password"
                    .into()
            ))
        );
        assert_eq!(
            sasl.answer(&Command::AUTHENTICATE("+".into())),
            None,
            "over"
        );
    }
}
