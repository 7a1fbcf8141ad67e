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
