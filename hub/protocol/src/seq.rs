//! [`Seq`]: the announce sequence number, persistent and strictly increasing across hub
//! restarts. Positive on the wire; zero only as a `since` that means "from the start".

use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

/// An announce's sequence number: positive, strictly increasing, never reused.
/// At most `i64::MAX`: databases store it as a signed 64-bit integer, so a larger one cannot have
/// been issued, and reading one from the network is refused like any other malformed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Seq(u64);

/// A whole number from 0 to [`Seq::MAX`]; the derive cannot state the maximum of a newtype.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Seq {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(0))
            .maximum(Some(Seq::MAX.0))
            .description(Some(
                "An announce's sequence number: positive, strictly increasing, never reused; at \
                 most 9223372036854775807 (a signed 64-bit integer)",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Seq {}

/// Why a text or JSON number is not a seq.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeqError {
    #[error("a seq is a whole number from 0 to {max}", max = Seq::MAX.0)]
    NotANumber,
    #[error("a seq is at most {max}", max = Seq::MAX.0)]
    TooLarge,
}

impl Seq {
    /// "Before the first announce": the `since` that replays everything in the window.
    pub const ZERO: Seq = Seq(0);
    /// The largest seq there can be.
    pub const MAX: Seq = Seq(i64::MAX as u64);

    /// `n` as a seq, unless it is beyond [`Seq::MAX`].
    pub const fn checked(n: u64) -> Result<Seq, SeqError> {
        if n > Seq::MAX.0 {
            Err(SeqError::TooLarge)
        } else {
            Ok(Seq(n))
        }
    }

    pub const fn new(n: u64) -> Seq {
        Seq(n)
    }

    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Seq {
    type Err = SeqError;

    fn from_str(s: &str) -> Result<Seq, Self::Err> {
        match s.parse::<u64>() {
            Ok(n) => Seq::checked(n),
            // All digits but too many for u64 is still too large, not "not a number".
            Err(_) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                Err(SeqError::TooLarge)
            }
            Err(_) => Err(SeqError::NotANumber),
        }
    }
}

impl<'de> Deserialize<'de> for Seq {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Seq, D::Error> {
        let n = u64::deserialize(deserializer)?;
        Seq::checked(n).map_err(D::Error::custom)
    }
}

/// SQLite stores integers as `i64`; a seq read back from it converts here, and a negative one
/// (a hand-edited database) is an error rather than a wrapped-around number.
impl TryFrom<i64> for Seq {
    type Error = std::num::TryFromIntError;

    fn try_from(n: i64) -> Result<Seq, Self::Error> {
        u64::try_from(n).map(Seq)
    }
}

/// For binding as an SQLite parameter; a seq beyond `i64::MAX` cannot have been issued.
impl TryFrom<Seq> for i64 {
    type Error = std::num::TryFromIntError;

    fn try_from(seq: Seq) -> Result<i64, Self::Error> {
        i64::try_from(seq.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_i64_is_refused_everywhere() {
        assert_eq!("9223372036854775807".parse::<Seq>(), Ok(Seq::MAX));
        assert_eq!(
            "9223372036854775808".parse::<Seq>(),
            Err(SeqError::TooLarge)
        );
        assert_eq!(
            "18446744073709551616".parse::<Seq>(),
            Err(SeqError::TooLarge)
        );
        assert_eq!("4x".parse::<Seq>(), Err(SeqError::NotANumber));
        assert!(serde_json::from_str::<Seq>("9223372036854775808").is_err());
        assert!(serde_json::from_str::<Seq>("18446744073709551615").is_err());
        assert_eq!(
            serde_json::from_str::<Seq>("9223372036854775807").ok(),
            Some(Seq::MAX)
        );
        assert!(i64::try_from(Seq::MAX).is_ok());
    }

    #[test]
    fn parses_and_orders() {
        assert_eq!("42".parse::<Seq>(), Ok(Seq::new(42)));
        assert!("-1".parse::<Seq>().is_err());
        assert!(Seq::new(2) > Seq::new(1));
        assert!(Seq::try_from(-1i64).is_err());
        assert_eq!(
            serde_json::to_string(&Seq::new(7)).ok().as_deref(),
            Some("7")
        );
    }
}
