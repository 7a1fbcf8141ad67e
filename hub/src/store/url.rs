//! A PostgreSQL database's URL, checked once, that never shows its password: `Display` and
//! `Debug` give `postgres://user@host:port/db`, which is what logs and errors name.

use std::fmt;

/// `postgres://…` or `postgresql://…`, parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    place: String,
    host: String,
}

impl DatabaseUrl {
    /// Checks `url`; the error says what is wrong without repeating a password.
    pub fn parse(url: &str) -> Result<DatabaseUrl, String> {
        if !super::postgres::is_url(url) {
            return Err(
                "must be a postgres:// URL (leave it out for the embedded SQLite database)"
                    .to_owned(),
            );
        }
        let (place, host) = super::postgres::check_url(url)?;
        Ok(DatabaseUrl {
            url: url.to_owned(),
            place,
            host,
        })
    }

    /// The URL with its password, for connecting.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The database's host (and port), for an operator's message.
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.place)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.place)
    }
}
