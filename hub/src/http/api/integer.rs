//! Whole numbers in JSON bodies as JSON Schema counts them: `3` and `3.0` are both the integer
//! 3 (the OpenAPI document says `integer`, and a client that writes every number as a float
//! sends `3.0`), while `3.5` is refused. serde's integer types accept only the first.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// A number that JSON Schema calls an integer, as `T` if it fits.
fn whole<'de, D: Deserializer<'de>, T: TryFrom<i128>>(d: D) -> Result<T, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    let value = if let Some(i) = n.as_i64() {
        i128::from(i)
    } else if let Some(u) = n.as_u64() {
        i128::from(u)
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        // Within ±2^100 the float converts exactly; beyond it no field's range reaches.
        if f.fract() != 0.0 || f.abs() > 2f64.powi(100) {
            return Err(D::Error::custom(format!(
                "{n} is not a whole number in range"
            )));
        }
        f as i128
    };
    T::try_from(value).map_err(|_| D::Error::custom(format!("{n} is out of range")))
}

/// For a required integer field: `#[serde(deserialize_with = "integer::required")]`.
pub fn required<'de, D: Deserializer<'de>, T: TryFrom<i128>>(d: D) -> Result<T, D::Error> {
    whole(d)
}

/// For an optional one (absent or null is `None`):
/// `#[serde(default, deserialize_with = "integer::optional")]`.
pub fn optional<'de, D: Deserializer<'de>, T: TryFrom<i128>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(|n| whole(n).map_err(D::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::required")]
        to: u32,
        #[serde(default, deserialize_with = "super::optional")]
        at: Option<i64>,
    }

    fn parse(json: &str) -> Result<(u32, Option<i64>), String> {
        serde_json::from_str::<Body>(json)
            .map(|b| (b.to, b.at))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_whole_float_is_an_integer_and_a_fraction_is_not() {
        assert_eq!(parse(r#"{"to": 3}"#), Ok((3, None)));
        assert_eq!(parse(r#"{"to": 3.0, "at": -2.0}"#), Ok((3, Some(-2))));
        assert_eq!(parse(r#"{"to": 3, "at": null}"#), Ok((3, None)));
        assert!(parse(r#"{"to": 3.5}"#).is_err());
        assert!(parse(r#"{"to": "3"}"#).is_err());
        assert!(parse(r#"{"to": 1e300}"#).is_err());
    }

    #[test]
    fn out_of_range_is_refused() {
        assert!(parse(r#"{"to": 4294967296}"#).is_err());
        assert!(parse(r#"{"to": -1}"#).is_err());
        assert!(parse(r#"{"to": 1, "at": 9223372036854775808}"#).is_err());
        assert!(parse(r#"{"to": 1, "at": 9.3e18}"#).is_err());
    }
}
