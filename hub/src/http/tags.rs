//! The OpenAPI tags, security scheme names and content types that handlers name in their
//! `#[utoipa::path]` attributes. A leaf: handlers import these without importing the document.

/// Read-only JSON, no authentication.
pub const PUBLIC: &str = "public";
/// Changes: the admin token or a same-origin session.
pub const ADMIN: &str = "admin";
/// HTML pages and their static files.
pub const PAGES: &str = "pages";
/// The long-lived connections.
pub const STREAMS: &str = "streams";
/// `/metrics` and the document itself.
pub const OPS: &str = "operations";

/// The security scheme of `Authorization: Bearer <admin token>`. (`security(…)` in the
/// handlers' attributes takes only literals, so they spell these two names out.)
pub const BEARER: &str = "bearer";
/// The security scheme of the dashboard's session cookie.
pub const COOKIE: &str = "cookie";

/// The content type of the pages.
pub const HTML: &str = "text/html; charset=utf-8";
