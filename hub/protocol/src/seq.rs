//! [`Seq`]: the announce sequence number, persistent and strictly increasing across hub
//! restarts. Positive on the wire; zero only as a `since` that means "from the start".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An announce's sequence number: positive, strictly increasing, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Seq(u64);

impl Seq {
    /// "Before the first announce": the `since` that replays everything in the window.
    pub const ZERO: Seq = Seq(0);

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
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Seq, Self::Err> {
        s.parse().map(Seq)
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
