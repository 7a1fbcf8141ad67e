//! [`WebUrl`]: a URL whose scheme is `http` or `https`, the only kind the hub keeps as a
//! track's link and puts in an `href`. A `javascript:` or `data:` link on the public page
//! would run in every visitor's browser, so anything else is refused where it comes in (422
//! from the API) or dropped (a SoundCloud track with such a link is kept without one).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebUrl(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebUrlError {
    #[error("`{0}` is not a URL")]
    NotAUrl(String),
    #[error("`{url}` is not an http or https URL")]
    Scheme { url: String },
}

impl WebUrl {
    pub fn parse(text: &str) -> Result<WebUrl, WebUrlError> {
        let url = Url::parse(text.trim()).map_err(|_| WebUrlError::NotAUrl(text.into()))?;
        match url.scheme() {
            "http" | "https" => Ok(WebUrl(url)),
            _ => Err(WebUrlError::Scheme { url: text.into() }),
        }
    }

    /// `text` when it is an http(s) URL, else nothing: for links from places that cannot be
    /// answered with an error (SoundCloud's data, rows stored before links were checked).
    pub fn link(text: &str) -> Option<WebUrl> {
        if text.trim().is_empty() {
            return None;
        }
        WebUrl::parse(text).ok()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for WebUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WebUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        WebUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_are_web_urls() {
        for ok in [
            "http://example.com/a",
            "https://soundcloud.com/artist/track",
        ] {
            assert_eq!(WebUrl::parse(ok).expect(ok).as_str(), ok);
        }
    }

    #[test]
    fn other_schemes_are_refused_by_name() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "file:///etc/passwd",
            "ftp://soundcloud.com/x",
        ] {
            assert_eq!(
                WebUrl::parse(bad),
                Err(WebUrlError::Scheme { url: bad.into() }),
                "{bad}"
            );
        }
        assert!(matches!(
            WebUrl::parse("not a url"),
            Err(WebUrlError::NotAUrl(_))
        ));
    }

    #[test]
    fn a_link_keeps_only_web_urls() {
        assert_eq!(WebUrl::link(""), None);
        assert_eq!(WebUrl::link("javascript:alert(1)"), None);
        assert_eq!(
            WebUrl::link("https://soundcloud.com/a/b").map(|u| u.to_string()),
            Some("https://soundcloud.com/a/b".into())
        );
    }

    #[test]
    fn deserialising_checks_the_scheme() {
        assert!(serde_json::from_str::<WebUrl>("\"javascript:alert(1)\"").is_err());
        let url: WebUrl = serde_json::from_str("\"https://a.example/\"").expect("web url");
        assert_eq!(
            serde_json::to_string(&url).expect("json"),
            "\"https://a.example/\""
        );
    }
}
