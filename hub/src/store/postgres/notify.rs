//! The notifications replicas send each other through PostgreSQL (`NOTIFY`), and their
//! parsing. A notification is only a wake-up with a shortcut: a replica that misses one (its
//! connection was down) catches up by seq from the log, so nothing here has to be reliable.
//!
//! Payloads are text, at most [`MAX_PAYLOAD`] bytes (PostgreSQL's limit is 8,000):
//! - channel [`CHANNEL`], `{seq}` alone for an entry that is not broadcast (log only) or whose
//!   wire form is too long, else `{seq}\n{show}\n{json}` (`show` empty for a station-wide
//!   line), so that a replica can pass a line on without reading it back;
//! - channel [`SHOWS`], `{show_id}`;
//! - channel [`SESSIONS`], the id of a session that ended (a logout);
//! - channel [`PRESENCE`], `{replica}\n{said}`, what a replica says of itself each second.

use deadpool_postgres::GenericClient;

use super::super::replica::{Notice, NoticeFrame};
use super::super::{Announcement, StoreError};
use ntr_protocol::Seq;

/// Where announces are notified.
pub const CHANNEL: &str = "ntr_announce";
/// Where show changes are notified.
pub const SHOWS: &str = "ntr_show";
/// Where ended sessions (logouts) are notified.
pub const SESSIONS: &str = "ntr_session";
/// Where replicas say they are there.
pub const PRESENCE: &str = "ntr_presence";
/// The longest payload sent whole; PostgreSQL refuses 8,000 bytes and more.
const MAX_PAYLOAD: usize = 7_000;

/// Notifies `announcement`, inside the transaction that writes it.
pub async fn announced<C: GenericClient>(
    c: &C,
    announcement: &Announcement,
) -> Result<(), StoreError> {
    let payload = announce_payload(announcement);
    c.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
        .await?;
    Ok(())
}

/// Notifies that session `id` ended.
pub async fn session_ended<C: GenericClient>(c: &C, id: &str) -> Result<(), StoreError> {
    c.execute("SELECT pg_notify($1, $2)", &[&SESSIONS, &id])
        .await?;
    Ok(())
}

/// Notifies that show `id` changed.
pub async fn show_changed<C: GenericClient>(c: &C, id: i64) -> Result<(), StoreError> {
    c.execute("SELECT pg_notify($1, $2)", &[&SHOWS, &id.to_string()])
        .await?;
    Ok(())
}

fn announce_payload(a: &Announcement) -> String {
    let seq = a.seq.get();
    if a.log_only {
        return seq.to_string();
    }
    let json = a.to_message().to_json();
    let show = a.show.as_deref().unwrap_or("");
    let payload = format!("{seq}\n{show}\n{json}");
    if payload.len() > MAX_PAYLOAD {
        seq.to_string()
    } else {
        payload
    }
}

/// The notice a notification carries; `None` for one this hub does not know (a newer replica's).
pub fn parse(channel: &str, payload: &str) -> Option<Notice> {
    match channel {
        CHANNEL => {
            let mut parts = payload.splitn(3, '\n');
            let seq = parts.next()?.parse::<Seq>().ok()?;
            let frame = match (parts.next(), parts.next()) {
                (Some(show), Some(json)) => Some(NoticeFrame {
                    show: (!show.is_empty()).then(|| show.to_owned()),
                    json: json.to_owned(),
                }),
                _ => None,
            };
            Some(Notice::Announced { seq, frame })
        }
        SHOWS => payload.parse().ok().map(Notice::ShowChanged),
        SESSIONS => Some(Notice::SessionEnded(payload.to_owned())),
        PRESENCE => payload
            .split_once('\n')
            .map(|(replica, said)| Notice::Presence {
                replica: replica.to_owned(),
                said: said.to_owned(),
            }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_back() {
        let seq = Seq::new;
        assert_eq!(
            parse(CHANNEL, "7"),
            Some(Notice::Announced {
                seq: seq(7),
                frame: None
            })
        );
        assert_eq!(
            parse(CHANNEL, "8\nlate-night\n{\"type\":\"announce\"}"),
            Some(Notice::Announced {
                seq: seq(8),
                frame: Some(NoticeFrame {
                    show: Some("late-night".into()),
                    json: "{\"type\":\"announce\"}".into()
                })
            })
        );
        assert_eq!(
            parse(CHANNEL, "9\n\n{}\nwith a newline"),
            Some(Notice::Announced {
                seq: seq(9),
                frame: Some(NoticeFrame {
                    show: None,
                    json: "{}\nwith a newline".into()
                })
            })
        );
        assert_eq!(parse(SHOWS, "12"), Some(Notice::ShowChanged(12)));
        assert_eq!(
            parse(PRESENCE, "vps-1:8000\n{\"n\":1}"),
            Some(Notice::Presence {
                replica: "vps-1:8000".into(),
                said: "{\"n\":1}".into()
            })
        );
        assert_eq!(parse(CHANNEL, "not a seq"), None);
        assert_eq!(parse("elsewhere", "1"), None);
    }
}
