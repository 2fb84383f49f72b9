//! Who is asking and whether they may (DESIGN.md §8). Every route declares what it needs in
//! [`ROUTES`]; one middleware resolves the credential (an API token, or a browser session
//! cookie + CSRF token for changes), checks the role's permission, records the meta-audit
//! entry, and hands the handler a [`Principal`]. A route missing from the table is refused,
//! so a new route cannot be reachable by accident.

pub mod access_log;
pub mod config_audit;
pub(crate) mod oidc;
pub(crate) mod session_api;
pub mod users_api;

use std::net::SocketAddr;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use evident_model::{Permission, Role};
use evident_store::TokenRefused;

use crate::api::{ApiError, AppState};
use access_log::{AccessEvent, Outcome};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "evident_session";
/// Header carrying the CSRF token for cookie-authenticated API changes.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field carrying the CSRF token in the web UI's form posts.
pub const CSRF_FIELD: &str = "csrf";

/// What a route requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health and the public log checkpoint/tiles, and the login itself.
    Public,
    /// A per-source ingest credential, which the handler checks (write-only).
    Ingest,
    /// Any signed-in person (who-am-I, logout).
    SignedIn,
    /// An API/JSON route needing this permission.
    Api(Permission),
    /// A web page needing this permission: strangers are sent to the login page.
    Page(Permission),
}

/// Whether the middleware writes the meta-audit entry for a route, or the handler's own
/// trail does (cases and reviews record the change with its actor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audited {
    /// Reads of log data and every change: the middleware records it.
    Always,
    /// Only refusals (routine reads of dashboards and lists).
    Refusals,
    /// The handler records it (its trail names the change).
    ByHandler,
}

/// One route's declaration.
#[derive(Clone, Debug)]
pub struct RouteAccess {
    /// HTTP method.
    pub method: Method,
    /// The route pattern as registered (axum's `MatchedPath`).
    pub path: &'static str,
    /// What it requires.
    pub access: Access,
    /// Who writes its audit entry.
    pub audited: Audited,
}

macro_rules! routes {
    ($($method:ident $path:literal => $access:expr, $audited:ident;)*) => {
        /// Every route the server answers and what it needs; the route × role test walks
        /// this table.
        pub const ROUTES: &[RouteAccess] = &[$(RouteAccess {
            method: Method::$method,
            path: $path,
            access: $access,
            audited: Audited::$audited,
        },)*];
    };
}

/// The Jira webhook route, the one route taking its token from the query string.
const JIRA_WEBHOOK: &str = "/api/v1/integrations/jira/webhook";

use Access::{Api, Ingest, Page, Public, SignedIn};
use Permission as P;

routes! {
    GET "/healthz" => Public, Refusals;
    GET "/log/checkpoint" => Public, Refusals;
    GET "/log/tile/{*path}" => Public, Refusals;
    POST "/api/v1/session" => Public, ByHandler;
    GET "/api/v1/session" => SignedIn, Refusals;
    DELETE "/api/v1/session" => SignedIn, ByHandler;
    GET "/auth/oidc/login" => Public, ByHandler;
    GET "/auth/oidc/callback" => Public, ByHandler;
    POST "/api/v1/ingest/{source}" => Ingest, Refusals;
    POST "/services/collector" => Ingest, Refusals;
    POST "/services/collector/event" => Ingest, Refusals;
    POST "/services/collector/event/1.0" => Ingest, Refusals;
    POST "/services/collector/raw" => Ingest, Refusals;
    POST "/services/collector/raw/1.0" => Ingest, Refusals;
    GET "/services/collector/health" => Public, Refusals;
    GET "/services/collector/health/1.0" => Public, Refusals;
    POST "/services/collector/ack" => Ingest, Refusals;
    POST "/v1/logs" => Ingest, Refusals;
    GET "/metrics" => Api(P::ReadMetrics), Refusals;
    GET "/api/v1/sources" => Api(P::ReadHealth), Refusals;
    GET "/api/v1/alerts" => Api(P::ReadAlerts), Refusals;
    POST "/api/v1/change-tickets" => Api(P::WriteChangeTickets), Always;
    POST "/api/v1/integrations/jira/webhook" => Api(P::WriteChangeTickets), Always;
    GET "/api/v1/cases" => Api(P::ReadAlerts), Refusals;
    POST "/api/v1/cases" => Api(P::WriteCases), ByHandler;
    GET "/api/v1/cases/{id}" => Api(P::ReadAlerts), Refusals;
    PATCH "/api/v1/cases/{id}" => Api(P::WriteCases), ByHandler;
    POST "/api/v1/cases/{id}/notes" => Api(P::WriteCases), ByHandler;
    GET "/api/v1/reviews" => Api(P::ReadReviews), Refusals;
    GET "/api/v1/reviews/{id}" => Api(P::ReadReviews), Refusals;
    POST "/api/v1/reviews/{id}/sign" => Api(P::SignReviews), ByHandler;
    GET "/api/v1/outbox" => Api(P::ReadIntegrations), Refusals;
    GET "/api/v1/users" => Api(P::ManageUsers), Always;
    POST "/api/v1/users" => Api(P::ManageUsers), Always;
    PATCH "/api/v1/users/{name}" => Api(P::ManageUsers), Always;
    GET "/api/v1/tokens" => Api(P::ManageUsers), Always;
    POST "/api/v1/tokens" => Api(P::ManageUsers), Always;
    DELETE "/api/v1/tokens/{name}" => Api(P::ManageUsers), Always;
    GET "/api/v1/access/export" => Api(P::ReadAccessTrail), Always;
    GET "/api/v1/search" => Api(P::ReadLogs), Always;
    GET "/api/v1/entries/{index}" => Api(P::ReadLogs), Always;
    GET "/" => Page(P::ReadHealth), Refusals;
    GET "/login" => Public, Refusals;
    POST "/login" => Public, ByHandler;
    POST "/logout" => SignedIn, Refusals;
    GET "/assets/evident.css" => Public, Refusals;
    GET "/assets/favicon.svg" => Public, Refusals;
    GET "/alerts" => Page(P::ReadAlerts), Refusals;
    GET "/cases/{id}" => Page(P::ReadAlerts), Refusals;
    POST "/cases/{id}/triage" => Page(P::WriteCases), Refusals;
    POST "/cases/{id}/advance" => Page(P::WriteCases), Refusals;
    POST "/cases/{id}/note" => Page(P::WriteCases), Refusals;
    POST "/cases/{id}/postmortem" => Page(P::WriteCases), Refusals;
    GET "/search" => Page(P::ReadLogs), Always;
    GET "/sources" => Page(P::ReadHealth), Refusals;
    GET "/controls" => Page(P::ReadHealth), Refusals;
    GET "/reviews" => Page(P::ReadReviews), Refusals;
    GET "/reviews/{id}" => Page(P::ReadReviews), Refusals;
    POST "/reviews/{id}/sign" => Page(P::SignReviews), Refusals;
    GET "/integrity" => Page(P::ReadHealth), Refusals;
    POST "/integrity/verify" => Page(P::ReadHealth), Always;
    GET "/evidence" => Page(P::ExportEvidence), Refusals;
    POST "/evidence" => Page(P::ExportEvidence), ByHandler;
}

/// The declaration for `method path`, if the route is declared.
pub fn route_access(method: &Method, path: &str) -> Option<&'static RouteAccess> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// How the principal proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A browser session; changes must carry this CSRF token.
    Session {
        /// The session's anti-CSRF token.
        csrf: String,
    },
    /// An API token (by name).
    Token(String),
}

/// The authenticated caller, for handlers: who, with which role, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// User name, or the token's name for tokens not owned by a user.
    pub name: String,
    /// Role in force.
    pub role: Role,
    /// How they signed in.
    pub credential: Credential,
}

impl Principal {
    /// How the principal appears as the actor of cases, reviews and audit entries
    /// (`alice`, `token:ci`).
    pub fn actor(&self) -> String {
        match &self.credential {
            Credential::Session { .. } => self.name.clone(),
            Credential::Token(name) => format!("token:{name}"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Principal, Response> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_credentials",
                "sign in, or send an API token as `Authorization: Bearer <token>`",
            )
            .into_response()
        })
    }
}

/// Why a request carries no usable credential.
enum Unauthenticated {
    /// Nothing offered.
    Missing,
    /// A bearer token that is unknown, expired or revoked.
    Token(TokenRefused),
    /// A session cookie that is unknown or expired.
    Session,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The value of cookie `name`.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Resolves the caller from a bearer token or the session cookie.
async fn authenticate(
    s: &AppState,
    headers: &HeaderMap,
    query_token: Option<String>,
) -> Result<Principal, Unauthenticated> {
    let now = crate::cases_api::now_ms();
    if let Some(token) = bearer(headers).map(str::to_owned).or(query_token) {
        let db = s.node.db.clone();
        let holder = tokio::task::spawn_blocking(move || db.authenticate_api(&token, now))
            .await
            .map_err(|_| Unauthenticated::Missing)?
            .map_err(|e| {
                tracing::error!(error = %e, "token lookup failed");
                Unauthenticated::Missing
            })?
            .map_err(Unauthenticated::Token)?;
        return Ok(Principal {
            name: holder.user.unwrap_or_else(|| holder.name.clone()),
            role: holder.role,
            credential: Credential::Token(holder.name),
        });
    }
    if let Some(cookie) = cookie(headers, SESSION_COOKIE).map(str::to_owned) {
        let db = s.node.db.clone();
        let session = tokio::task::spawn_blocking(move || db.session(&cookie, now))
            .await
            .map_err(|_| Unauthenticated::Session)?
            .map_err(|e| {
                tracing::error!(error = %e, "session lookup failed");
                Unauthenticated::Session
            })?
            .ok_or(Unauthenticated::Session)?;
        return Ok(Principal {
            name: session.user.username,
            role: session.user.role,
            credential: Credential::Session { csrf: session.csrf },
        });
    }
    Err(Unauthenticated::Missing)
}

fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Largest form body the CSRF check reads (the UI's forms are small).
const MAX_FORM_BYTES: usize = 256 << 10;

/// Checks a cookie-authenticated change carries the session's CSRF token, in the
/// `x-csrf-token` header or (web forms) the `csrf` field; returns the request, rebuilt if
/// its body had to be read.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, ApiError> {
    let refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "missing or wrong CSRF token: send the session's token in the x-csrf-token header or the csrf form field",
        )
    };
    if let Some(h) = req.headers().get(CSRF_HEADER) {
        return if h.as_bytes() == expected.as_bytes() {
            Ok(req)
        } else {
            Err(refused())
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| refused())?;
    let ok = form_urlencoded::parse(&bytes).any(|(k, v)| k == CSRF_FIELD && v == expected);
    if !ok {
        return Err(refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The middleware every route passes through (installed with `route_layer`, after routing,
/// so the matched route pattern is known).
pub(crate) async fn authorize(
    State(s): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = matched.as_ref().map_or("", |m| m.as_str()).to_owned();
    let Some(route) = route_access(&method, &path) else {
        tracing::error!(%method, %path, "route without an access declaration refused");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "undeclared_route",
            format!("{method} {path} declares no permission, so nobody may use it"),
        )
        .into_response();
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let needed = match route.access {
        Access::Public | Access::Ingest => return next.run(req).await,
        Access::SignedIn => None,
        Access::Api(p) | Access::Page(p) => Some(p),
    };
    // Jira Cloud webhooks cannot send headers: their URL carries `?token=`.
    let query_token = (path == JIRA_WEBHOOK)
        .then(|| {
            form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        })
        .flatten();
    let principal = match authenticate(&s, req.headers(), query_token).await {
        Ok(p) => p,
        Err(why) => {
            s.counters
                .rejected_unauthorized
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (code, message) = match why {
                Unauthenticated::Missing => (
                    "missing_credentials",
                    "sign in, or send an API token as `Authorization: Bearer <token>`".to_owned(),
                ),
                Unauthenticated::Token(t) => ("invalid_token", t.to_string()),
                Unauthenticated::Session => (
                    "session_expired",
                    "the session has ended; sign in again".to_owned(),
                ),
            };
            if let Access::Page(_) = route.access {
                let next = urlencoding(&target);
                return Redirect::to(&format!("/login?next={next}")).into_response();
            }
            return ApiError::new(StatusCode::UNAUTHORIZED, code, message).into_response();
        }
    };
    let event = |outcome: Outcome, detail: Option<String>| AccessEvent {
        actor: principal.actor(),
        role: Some(principal.role),
        action: format!("{method} {path}"),
        target: target.clone(),
        outcome,
        detail,
        peer: peer.clone(),
    };
    if let Some(p) = needed
        && !principal.role.allows(p)
    {
        let message = format!(
            "{} ({}) lacks the {p} permission for {method} {path}",
            principal.actor(),
            principal.role
        );
        access_log::record(&s.node, event(Outcome::Denied, Some(message.clone()))).await;
        return ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).into_response();
    }
    let mut req = req;
    if is_change(&method)
        && let Credential::Session { csrf } = &principal.credential
    {
        req = match check_csrf(req, csrf).await {
            Ok(r) => r,
            Err(e) => {
                access_log::record(&s.node, event(Outcome::Denied, Some("CSRF".into()))).await;
                return e.into_response();
            }
        };
    }
    req.extensions_mut().insert(principal.clone());
    let response = next.run(req).await;
    let record = match route.audited {
        Audited::Always => true,
        Audited::Refusals => false,
        // The handler's own trail records what happened; a refusal it answered is recorded
        // here (a redirect after a form post is a success).
        Audited::ByHandler => {
            !(response.status().is_success() || response.status().is_redirection())
        }
    };
    if record {
        let outcome = if response.status().is_success() || response.status().is_redirection() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        let detail = Some(format!("HTTP {}", response.status().as_u16()));
        access_log::record(&s.node, event(outcome, detail)).await;
    }
    response
}

fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Security headers on every response: no sniffing, no framing, no referrer leaks, a strict
/// content policy (the UI uses no third-party assets), and HSTS when served over TLS.
pub(crate) async fn security_headers(tls: bool, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    resp
}

/// The `Set-Cookie` value starting a session: HttpOnly, SameSite=Strict, and Secure when
/// served over TLS (browsers drop Secure cookies on plain-HTTP origins other than localhost).
pub fn session_cookie(token: &str, secure: bool) -> String {
    let max_age = evident_store::SESSION_MS / 1000;
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )
}

/// The `Set-Cookie` value ending a session.
pub fn clear_session_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}
