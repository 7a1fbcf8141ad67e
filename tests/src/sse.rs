//! A small Server-Sent Events reader over a real HTTP connection (reqwest, streamed chunk by
//! chunk), for testing `/events` the way a browser's `EventSource` reads it.

use std::time::Duration;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    /// `message` when the server named none.
    pub event: String,
    pub data: String,
}

pub struct SseStream {
    response: reqwest::Response,
    buffer: String,
    /// Comment lines seen so far (keep-alives).
    pub comments: usize,
}

impl SseStream {
    /// `GET url` with `Accept: text/event-stream` and, if given, `Last-Event-ID`; panics unless
    /// the answer is a 200 event stream.
    pub async fn connect(url: &str, last_event_id: Option<&str>) -> SseStream {
        let http = reqwest::Client::new();
        let mut request = http.get(url).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = tokio::time::timeout(Duration::from_secs(10), request.send())
            .await
            .expect("SSE answer within 10 s")
            .expect("SSE request");
        assert_eq!(response.status(), 200, "SSE status");
        let ctype = response.headers()["content-type"]
            .to_str()
            .expect("content type");
        assert!(ctype.starts_with("text/event-stream"), "{ctype}");
        SseStream {
            response,
            buffer: String::new(),
            comments: 0,
        }
    }

    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        self.response.headers()
    }

    /// The next event within `limit`, or `None` if none came (or the stream ended).
    pub async fn next(&mut self, limit: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(event) = self.take_event() {
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .ok()??;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// Waits for the next `announce` event and returns its data as JSON.
    pub async fn next_announce(&mut self, limit: Duration) -> Option<(String, serde_json::Value)> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await?;
            if event.event == "announce" {
                let data = serde_json::from_str(&event.data).expect("announce data is JSON");
                return Some((event.id.unwrap_or_default(), data));
            }
        }
    }

    /// Parses one complete event (ended by a blank line) off the buffer, if there is one.
    fn take_event(&mut self) -> Option<SseEvent> {
        loop {
            let end = self.buffer.find("\n\n")?;
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut event = SseEvent {
                id: None,
                event: "message".into(),
                data: String::new(),
            };
            let mut has_data = false;
            for line in block.lines() {
                if line.starts_with(':') {
                    self.comments += 1;
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => event.id = Some(value.to_owned()),
                    "event" => event.event = value.to_owned(),
                    "data" => {
                        if has_data {
                            event.data.push('\n');
                        }
                        event.data.push_str(value);
                        has_data = true;
                    }
                    _ => {}
                }
            }
            if has_data {
                return Some(event);
            }
        }
    }
}
