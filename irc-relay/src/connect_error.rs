//! Connection errors worded for the person who runs the relay. The `irc` crate reports every
//! socket problem as "an io error occurred"; here the cause underneath becomes a sentence that
//! names the server and says what to change: a TLS handshake against a plaintext port, a
//! refused connection, a name that does not resolve, a certificate nobody vouches for.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use rustls::CertificateError;

use crate::config::IrcConfig;

/// What went wrong connecting to `irc.server:irc.port`, in one line.
pub(crate) fn explain(error: &irc::error::Error, irc: &IrcConfig) -> String {
    let at = format!("{}:{}", irc.server, irc.port);
    match error {
        irc::error::Error::Io(io) => explain_io(io, &at, irc),
        irc::error::Error::Tls(tls) => explain_tls(tls, &at, irc),
        irc::error::Error::InvalidDnsNameError(_) => {
            format!("`{}` is not a valid name for a TLS server", irc.server)
        }
        other => format!("cannot connect to {at}: {other}"),
    }
}

/// No connection (or no TLS handshake) within `limit`. A plaintext port that waits for the
/// client to speak first looks exactly like this to a TLS client, so that is named too.
pub(crate) fn timed_out(irc: &IrcConfig, limit: Duration) -> String {
    let at = format!("{}:{}", irc.server, irc.port);
    let secs = limit.as_secs();
    if irc.tls {
        format!(
            "no TLS handshake with {at} within {secs} s (a firewall? or is it a plaintext port? then set tls = false)"
        )
    } else {
        format!("no answer from {at} within {secs} s (a firewall, or the wrong host?)")
    }
}

fn explain_io(error: &io::Error, at: &str, irc: &IrcConfig) -> String {
    // tokio-rustls reports handshake failures as I/O errors wrapping rustls' own error.
    if let Some(tls) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return explain_tls(tls, at, irc);
    }
    let host = &irc.server;
    match error.kind() {
        io::ErrorKind::ConnectionRefused => {
            format!(
                "connection to {at} refused (is the IRC server running, and is {} its port?)",
                irc.port
            )
        }
        io::ErrorKind::TimedOut => format!("no answer from {at} (a firewall, or the wrong host?)"),
        // The TCP connection was made; the server hung up during the TLS handshake.
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset if irc.tls => {
            plaintext_hint(at)
        }
        _ if is_lookup_failure(error) => {
            format!("the name `{host}` does not resolve (a typo in [irc] server, or no DNS?)")
        }
        _ => format!("cannot connect to {at}: {}", describe_chain(error)),
    }
}

fn explain_tls(error: &rustls::Error, at: &str, irc: &IrcConfig) -> String {
    match error {
        rustls::Error::InvalidCertificate(cert) => {
            let why = match cert {
                CertificateError::UnknownIssuer => {
                    "signed by a CA this machine does not trust".to_string()
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "expired".to_string()
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    format!("not issued for the name `{}`", irc.server)
                }
                other => format!("{other:?}"),
            };
            let hint = match &irc.ca_file {
                Some(path) => format!("ca_file = {} does not vouch for it", path.display()),
                None => {
                    "for a private CA, set ca_file = \"/path/to/ca.pem\" under [irc]".to_string()
                }
            };
            format!("the TLS certificate of {at} is not trusted: {why} ({hint})")
        }
        // Anything else in a handshake, most often an IRC greeting read as TLS.
        _ => plaintext_hint(at),
    }
}

fn plaintext_hint(at: &str) -> String {
    format!("TLS handshake with {at} failed (is it a plaintext port? set tls = false)")
}

/// The standard library words a failed lookup this way on every Unix.
fn is_lookup_failure(error: &io::Error) -> bool {
    error.to_string().contains("failed to lookup address")
}

fn describe_chain(error: &io::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn irc(tls: bool, ca_file: Option<&str>) -> IrcConfig {
        let ca = ca_file
            .map(|p| format!("ca_file = \"{p}\""))
            .unwrap_or_default();
        let toml = format!(
            "[relay]\ntoken = \"0123456789abcdef\"\n[irc]\nserver = \"irc.example.org\"\n\
             port = 6697\ntls = {tls}\nnickname = \"ntrbot\"\nchannels = [\"#ntr\"]\n{ca}\n"
        );
        Config::from_toml(&toml).expect("config").irc
    }

    fn io_error(
        kind: io::ErrorKind,
        inner: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> irc::error::Error {
        irc::error::Error::Io(io::Error::new(kind, inner))
    }

    #[test]
    fn a_plaintext_port_named_as_such() {
        let corrupt = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        let text = explain(
            &io_error(io::ErrorKind::InvalidData, corrupt),
            &irc(true, None),
        );
        assert_eq!(
            text,
            "TLS handshake with irc.example.org:6697 failed (is it a plaintext port? set tls = false)"
        );
        let eof = irc::error::Error::Io(io::ErrorKind::UnexpectedEof.into());
        assert_eq!(explain(&eof, &irc(true, None)), text);
    }

    #[test]
    fn a_timeout_with_tls_mentions_the_plaintext_port() {
        let text = timed_out(&irc(true, None), Duration::from_secs(30));
        assert!(
            text.contains("within 30 s") && text.contains("set tls = false"),
            "{text}"
        );
        assert!(!timed_out(&irc(false, None), Duration::from_secs(30)).contains("tls"));
    }

    #[test]
    fn refused_unresolved_and_untrusted() {
        let refused = irc::error::Error::Io(io::ErrorKind::ConnectionRefused.into());
        let text = explain(&refused, &irc(false, None));
        assert!(
            text.starts_with("connection to irc.example.org:6697 refused"),
            "{text}"
        );
        let lookup = io_error(
            io::ErrorKind::Other,
            "failed to lookup address information: Name or service not known",
        );
        let text = explain(&lookup, &irc(false, None));
        assert!(
            text.contains("`irc.example.org` does not resolve"),
            "{text}"
        );
        let untrusted = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let text = explain(
            &io_error(io::ErrorKind::InvalidData, untrusted.clone()),
            &irc(true, None),
        );
        assert!(
            text.contains("not trusted: signed by a CA") && text.contains("set ca_file"),
            "{text}"
        );
        let ca = tempfile::NamedTempFile::new().expect("a CA file");
        let ca_path = ca.path().display().to_string();
        let text = explain(
            &io_error(io::ErrorKind::InvalidData, untrusted),
            &irc(true, Some(&ca_path)),
        );
        assert!(
            text.contains(&format!("ca_file = {ca_path} does not vouch for it")),
            "{text}"
        );
    }
}
