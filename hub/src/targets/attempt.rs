//! One delivery attempt's result, and the rules that turn an HTTP answer or a network failure
//! into it — shared by every kind, so they all retry and give up alike: 2xx is sent; 429 and
//! 5xx are retried (after the server's `Retry-After` or body hint, when it gives one); network
//! errors and timeouts are retried; any other status fails at once with the error kept.

use std::error::Error as _;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// How much of an error answer is read: enough for a JSON or XML error message.
const BODY_LIMIT: usize = 8 * 1024;
/// How much of a server's own error text is kept in the ledger.
const DETAIL_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Accepted. `pause`: the target's rate limit asks for this wait before the next send.
    Sent { pause: Option<Duration> },
    /// Worth another try; `after` is the wait the server asked for, if any.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Refused for good (a 4xx other than 429, a redirect, a refusal in the body).
    Failed { error: String },
}

/// An HTTP answer, read as far as the rules need.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// Reads at most [`BODY_LIMIT`] bytes of the body; a body cut short is judged on what came.
    pub async fn read(mut resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut bytes = Vec::new();
        while bytes.len() < BODY_LIMIT {
            match resp.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                _ => break,
            }
        }
        bytes.truncate(BODY_LIMIT);
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// The common rules; `hint` is the kind's own reading of a 429 body (Discord's
    /// `retry_after`, Matrix's `retry_after_ms`), which wins over a missing header.
    pub fn judge(&self, hint: Option<Duration>) -> Attempt {
        let error = self.error_text();
        let code = self.status.as_u16();
        if self.status.is_success() {
            Attempt::Sent { pause: None }
        } else if code == 429 || self.status.is_server_error() {
            let after = match (retry_after(&self.headers), hint) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            Attempt::Retry { error, after }
        } else {
            Attempt::Failed { error }
        }
    }

    /// `401 Unauthorized`, plus the server's own message when it sent one.
    pub fn error_text(&self) -> String {
        let status = match self.status.canonical_reason() {
            Some(reason) => format!("{} {reason}", self.status.as_u16()),
            None => self.status.as_u16().to_string(),
        };
        match detail(&self.body) {
            Some(d) => format!("{status}: {d}"),
            None => status,
        }
    }
}

/// A server's short explanation: a JSON `message`/`error` (Discord, Matrix), an XML
/// `<message>` (Icecast), or a short plain-text body. HTML pages are not worth keeping.
fn detail(body: &str) -> Option<String> {
    let body = body.trim();
    let text = if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        ["message", "error", "errcode"]
            .iter()
            .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_owned))
            .or_else(|| v.is_object().then(|| v.to_string()))
    } else if let Some(start) = body.find("<message>") {
        let rest = &body[start + "<message>".len()..];
        rest.find("</message>").map(|end| rest[..end].to_owned())
    } else if !body.is_empty() && !body.starts_with('<') && body.len() <= DETAIL_CHARS {
        Some(body.to_owned())
    } else {
        None
    }?;
    let clean = crate::line::AnnounceLine::sanitize(&text);
    let cut: String = clean.as_str().chars().take(DETAIL_CHARS).collect();
    (!cut.is_empty()).then_some(cut)
}

/// `Retry-After` in seconds (fractions allowed) or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    let when = httpdate_to_timestamp(value)?;
    let wait = when.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// A non-negative, finite number of seconds as a duration (capped at a day).
pub fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

fn httpdate_to_timestamp(value: &str) -> Option<jiff::Timestamp> {
    jiff::fmt::rfc2822::parse(value).ok().map(|z| z.timestamp())
}

/// A failure before any answer: the text says what happened without the URL (which may hold a
/// token), e.g. `no answer within 10 s` or `cannot connect: Connection refused (os error 111)`.
pub fn network_error(e: &reqwest::Error, timeout: Duration) -> Attempt {
    let error = if e.is_timeout() {
        format!("no answer within {} s", timeout.as_secs_f64())
    } else {
        let mut cause = e.source();
        let mut root = None;
        while let Some(c) = cause {
            root = Some(c.to_string());
            cause = c.source();
        }
        let root = root.unwrap_or_else(|| "the connection failed".into());
        if e.is_connect() {
            format!("cannot connect: {root}")
        } else {
            format!("request failed: {root}")
        }
    };
    Attempt::Retry { error, after: None }
}

/// Sends `request` and judges the answer with [`Answer::judge`] unless `judge` says otherwise.
pub async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
    judge: impl FnOnce(Answer) -> Attempt,
) -> Attempt {
    match request.send().await {
        Ok(resp) => judge(Answer::read(resp).await),
        Err(e) => network_error(&e, timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().expect("header value"));
        }
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers: map,
            body: body.into(),
        }
    }

    #[test]
    fn statuses_follow_the_rules() {
        assert_eq!(
            answer(204, &[], "").judge(None),
            Attempt::Sent { pause: None }
        );
        assert_eq!(
            answer(503, &[], "").judge(None),
            Attempt::Retry {
                error: "503 Service Unavailable".into(),
                after: None
            }
        );
        assert_eq!(
            answer(429, &[("retry-after", "2")], "").judge(Some(Duration::from_millis(500))),
            Attempt::Retry {
                error: "429 Too Many Requests".into(),
                after: Some(Duration::from_secs(2))
            }
        );
        assert_eq!(
            answer(401, &[], "<html>nope</html>").judge(None),
            Attempt::Failed {
                error: "401 Unauthorized".into()
            }
        );
        assert_eq!(
            answer(400, &[], r#"{"message":"Invalid Form Body","code":50035}"#).judge(None),
            Attempt::Failed {
                error: "400 Bad Request: Invalid Form Body".into()
            }
        );
        assert_eq!(
            answer(301, &[("location", "https://elsewhere")], "").judge(None),
            Attempt::Failed {
                error: "301 Moved Permanently".into()
            }
        );
    }

    #[test]
    fn icecast_messages_are_kept() {
        let body = "<?xml version=\"1.0\"?>\n<iceresponse><message>Source does not exist</message><return>0</return></iceresponse>";
        assert_eq!(
            answer(400, &[], body).error_text(),
            "400 Bad Request: Source does not exist"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "1.5".parse().expect("value"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("value"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", "soon".parse().expect("value"));
        assert_eq!(retry_after(&h), None);
        assert_eq!(seconds(-1.0), None);
    }
}
