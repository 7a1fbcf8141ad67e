//! The bench's HTTP client for the control requests (announce, refresh, health, the floor's
//! trigger): `reqwest`, driven by a current-thread runtime of its own. `block_on` runs the
//! request on the calling (coordinator) thread itself, so its timing never waits on the
//! subscriber runtime, however busy that is, nor on a helper thread without the coordinator's
//! real-time priority (which `reqwest::blocking` would use). The client keeps its connection
//! alive between requests, as a control client of the hub would.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::header::CONTENT_TYPE;
use tokio::runtime::Runtime;

const IO_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Http {
    base: String,
    client: reqwest::Client,
    rt: Runtime,
}

/// Status and body of a response.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).context("response body is not JSON")
    }
}

impl Http {
    pub fn new(addr: SocketAddr) -> Result<Http> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(IO_TIMEOUT)
            .timeout(IO_TIMEOUT)
            .build()
            .context("build the HTTP client")?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("start the HTTP client's runtime")?;
        Ok(Http {
            base: format!("http://{addr}"),
            client,
            rt,
        })
    }

    pub fn get(&mut self, path: &str) -> Result<Response> {
        self.send(self.client.get(self.url(path)))
    }

    /// GET with `Authorization: Bearer <token>`.
    pub fn get_auth(&mut self, path: &str, token: &str) -> Result<Response> {
        self.send(self.client.get(self.url(path)).bearer_auth(token))
    }

    /// POST with a JSON body and, when given, `Authorization: Bearer <token>`.
    pub fn post(&mut self, path: &str, token: Option<&str>, body: &[u8]) -> Result<Response> {
        let mut request = self
            .client
            .post(self.url(path))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends one request and reads the whole answer, on the calling thread.
    fn send(&mut self, request: reqwest::RequestBuilder) -> Result<Response> {
        self.rt.block_on(async {
            let response = request.send().await.context("send request")?;
            let status = response.status().as_u16();
            let body = response.bytes().await.context("read body")?.to_vec();
            Ok(Response { status, body })
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::HeaderMap;
    use axum::routing::post;

    use super::*;

    /// Answers with the request's Authorization header and body, so both are seen as sent.
    async fn echo(headers: HeaderMap, body: String) -> String {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        serde_json::json!({ "auth": auth, "body": body }).to_string()
    }

    #[test]
    fn posts_with_token_and_reads_the_answer_twice() -> Result<()> {
        let server = tokio::runtime::Runtime::new()?;
        let listener = server.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        server.spawn(async move {
            let app = Router::new().route("/echo", post(echo));
            axum::serve(listener, app).await
        });
        let mut http = Http::new(addr)?;
        for body in ["{\"n\":1}", "{\"n\":2}"] {
            let r = http.post("/echo", Some("sesame"), body.as_bytes())?;
            assert_eq!(r.status, 200);
            let seen: serde_json::Value = r.json()?;
            assert_eq!(seen["auth"], "Bearer sesame");
            assert_eq!(seen["body"], body);
        }
        assert_eq!(http.get("/missing")?.status, 404);
        Ok(())
    }
}
