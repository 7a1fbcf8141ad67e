//! ntfy push notifications: `POST {url}` (the topic's URL) with the line as the body and the
//! show's title in the `Title` header, plus `Authorization: Bearer {token}` when the topic is
//! protected.
//!
//! A header is ASCII, so a title that is not is sent RFC 2047 encoded (`=?UTF-8?B?…?=`), which
//! ntfy decodes. ntfy turns a body over 4,096 bytes into an attachment (or refuses it), so the
//! body is cut to that many bytes on a character boundary. A 429 waits for `Retry-After` when
//! the server sends one, else the usual backoff. ntfy has no idempotency key.
//!
//! Keys: `url` (which may carry `?auth=…`, so only its redacted form is shown) and the
//! optional `token` (a secret).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use futures_util::future::BoxFuture;
use url::Url;

use super::attempt::{self, Attempt};
use super::block::{
    Block, Secret, ShowTitles, TargetConfigError, credential_and_url, without_query,
};
use super::kind::Kind;
use crate::store::Outgoing;

/// ntfy's default message size limit, in bytes.
pub const MAX_BODY_BYTES: usize = 4096;

/// An ntfy topic. Its URL may carry `?auth=…`, so `Debug` shows only the redacted endpoint.
#[derive(Clone)]
pub struct NtfyTarget {
    pub url: Url,
    pub token: Option<Secret>,
    titles: ShowTitles,
}

impl fmt::Debug for NtfyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtfyTarget")
            .field("url", &without_query(&self.url))
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Kind for NtfyTarget {
    fn parse(block: &mut Block) -> Result<NtfyTarget, TargetConfigError> {
        let url = block.take_url("url", |r| &mut r.url)?;
        let token = match block.take(|r| &mut r.token) {
            Some(t) if t.is_empty() || !t.chars().all(|c| c.is_ascii_graphic()) => {
                return Err(block.err(
                    "token",
                    "must be non-empty printable ASCII without spaces (tk_…)",
                ));
            }
            other => other.map(Secret::new),
        };
        Ok(NtfyTarget {
            url,
            token,
            titles: block.titles().clone(),
        })
    }

    fn endpoint(&self) -> String {
        without_query(&self.url)
    }

    fn secrets(&self) -> Vec<&str> {
        credential_and_url(&self.token, &self.url)
    }

    fn send<'a>(
        &'a self,
        http: &'a reqwest::Client,
        item: &'a Outgoing,
        timeout: Duration,
    ) -> BoxFuture<'a, Attempt> {
        Box::pin(send(http, self, item, timeout))
    }
}

async fn send(
    http: &reqwest::Client,
    target: &NtfyTarget,
    item: &Outgoing,
    timeout: Duration,
) -> Attempt {
    let title = target.titles.title(item.show());
    let mut request = http
        .post(target.url.clone())
        .header("title", header_text(title))
        .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(body(item.message().as_str()));
    if let Some(token) = &target.token {
        request = request.bearer_auth(token.expose());
    }
    attempt::send(request, timeout, |a| a.judge(None)).await
}

/// The line, cut to [`MAX_BODY_BYTES`] on a character boundary.
pub fn body(line: &str) -> String {
    if line.len() <= MAX_BODY_BYTES {
        return line.to_owned();
    }
    let budget = MAX_BODY_BYTES - '…'.len_utf8();
    let end = line
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take_while(|end| *end <= budget)
        .last()
        .unwrap_or(0);
    format!("{}…", &line[..end])
}

/// `text` as a header value: itself when it is printable ASCII, else one RFC 2047 encoded word.
pub fn header_text(text: &str) -> String {
    if text.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
        return text.to_owned();
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("=?UTF-8?B?{encoded}?=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_titles_are_sent_as_they_are() {
        assert_eq!(header_text("Late Night Radio"), "Late Night Radio");
    }

    #[test]
    fn other_titles_are_rfc_2047_encoded() {
        assert_eq!(header_text("Café"), "=?UTF-8?B?Q2Fmw6k=?=");
        assert_eq!(header_text("a\tb"), "=?UTF-8?B?YQli?=");
    }

    #[test]
    fn the_body_is_cut_to_4096_bytes_on_a_character_boundary() {
        let long = "日".repeat(2000);
        let cut = body(&long);
        assert!(cut.len() <= MAX_BODY_BYTES);
        assert!(cut.ends_with('…'));
        assert!(long.starts_with(cut.trim_end_matches('…')));
        assert_eq!(body("short"), "short");
    }
}
