//! `[relay] hub_url`: one hub URL, or a list of them tried in order (replicas of one station
//! behind no balancer, or a second hub to fall back to). The file may hold either form; the
//! relay always works with the list, whose first entry is the preferred hub.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};
use url::Url;

use super::{ConfigError, DEFAULT_HUB_URL, http_url, invalid};

/// `hub_url` as written: a string or an array of strings.
#[derive(Debug)]
pub(super) struct RawHubUrls(Vec<String>, Form);

/// Which form the file used, so errors name the key as the operator wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    One,
    List,
}

impl<'de> Deserialize<'de> for RawHubUrls {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OneOrMany)
    }
}

/// Accepts a string or a sequence of strings; anything else is a type error naming both forms.
struct OneOrMany;

impl<'de> Visitor<'de> for OneOrMany {
    type Value = RawHubUrls;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a URL or a list of URLs")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawHubUrls, E> {
        Ok(RawHubUrls(vec![value.to_owned()], Form::One))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawHubUrls, A::Error> {
        let mut urls = Vec::new();
        while let Some(url) = seq.next_element::<String>()? {
            urls.push(url);
        }
        Ok(RawHubUrls(urls, Form::List))
    }
}

/// The hub URLs in the order to try them, each an http(s) URL, none twice (the caller refuses
/// an empty list).
pub(super) fn validate(raw: Option<RawHubUrls>) -> Result<Vec<Url>, ConfigError> {
    let RawHubUrls(values, form) =
        raw.unwrap_or_else(|| RawHubUrls(vec![DEFAULT_HUB_URL.to_owned()], Form::One));
    let mut urls: Vec<Url> = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let key = match form {
            Form::One => "relay.hub_url".to_owned(),
            Form::List => format!("relay.hub_url[{i}]"),
        };
        let url = http_url(&key, value)?;
        if let Some(first) = urls.iter().position(|u| same_hub(u, &url)) {
            return Err(invalid(
                &key,
                format!("`{url}` is listed twice (also relay.hub_url[{first}])"),
            ));
        }
        urls.push(url);
    }
    Ok(urls)
}

/// `http://hub/ntr` and `http://hub/ntr/` reach the same endpoints.
fn same_hub(a: &Url, b: &Url) -> bool {
    a.as_str().trim_end_matches('/') == b.as_str().trim_end_matches('/')
}
