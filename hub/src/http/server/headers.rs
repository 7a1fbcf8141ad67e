//! Security headers on every answer: a Content-Security-Policy that allows only the hub's own
//! scripts, styles and connections (no inline script, no framing), `nosniff`, a same-origin
//! Referrer-Policy, and HSTS when the hub is public over https.
//!
//! They go on every answer, not only HTML: on JSON and static files they cost nothing and
//! cannot hurt, and a policy that depends on guessing which answers are pages could miss one.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// `img-src data:` is for the SVG icons embedded in Pico's stylesheet; `connect-src 'self'`
/// covers the dashboard's `ws:`/`wss:` connection to the same host.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One year; no `includeSubDomains`, since the hub may share its domain with other sites.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Adds the headers to every response of `router`; `https` adds HSTS.
pub fn apply(router: Router, https: bool) -> Router {
    let router = router
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::REFERRER_POLICY, "same-origin"));
    if https {
        router.layer(set(
            header::STRICT_TRANSPORT_SECURITY,
            STRICT_TRANSPORT_SECURITY,
        ))
    } else {
        router
    }
}

fn set(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn headers(https: bool) -> axum::http::HeaderMap {
        let router = apply(Router::new().route("/", get(|| async { "page" })), https);
        let request = Request::get("/").body(Body::empty()).expect("request");
        router
            .oneshot(request)
            .await
            .expect("response")
            .headers()
            .clone()
    }

    #[tokio::test]
    async fn https_adds_hsts_to_the_other_headers() {
        let h = headers(true).await;
        assert_eq!(
            h[header::STRICT_TRANSPORT_SECURITY],
            STRICT_TRANSPORT_SECURITY
        );
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "same-origin");
    }

    #[tokio::test]
    async fn plain_http_has_no_hsts() {
        let h = headers(false).await;
        assert!(!h.contains_key(header::STRICT_TRANSPORT_SECURITY));
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
    }
}
