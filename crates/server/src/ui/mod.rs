//! The web UI (DESIGN.md §10): server-rendered HTML pages, one module per page, built with
//! maud (templates checked at compile time, every interpolation HTML-escaped). Reading needs
//! no JavaScript; changes are plain form posts carrying the session's CSRF token, which the
//! auth middleware checks before a handler runs. Charts come from `evident-charts`, so the
//! evidence package shows the same pictures. Every route here is declared in
//! [`crate::auth::ROUTES`].

mod alerts;
mod case;
mod controls;
mod evidence;
mod integrity;
mod login;
mod overview;
mod reviews;
mod search;
mod sources;

use std::collections::HashMap;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use evident_model::Permission;
use evident_store::StoreError;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::Error;
use crate::api::AppState;
use crate::auth::{CSRF_FIELD, Credential, Principal};

/// The UI's routes, merged into the main router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/alerts", get(alerts::page))
        .route("/cases/{id}", get(case::page))
        .route("/cases/{id}/triage", post(case::triage))
        .route("/cases/{id}/advance", post(case::advance))
        .route("/cases/{id}/note", post(case::note))
        .route("/cases/{id}/postmortem", post(case::postmortem))
        .route("/search", get(search::page))
        .route("/sources", get(sources::page))
        .route("/controls", get(controls::page))
        .route("/reviews", get(reviews::list))
        .route("/reviews/{id}", get(reviews::show))
        .route("/reviews/{id}/sign", post(reviews::sign))
        .route("/integrity", get(integrity::page))
        .route("/integrity/verify", post(integrity::verify))
        .route("/evidence", get(evidence::page).post(evidence::export))
        .route("/assets/evident.css", get(css))
        .route("/assets/favicon.svg", get(favicon))
}

const CSS: &str = include_str!("../../assets/evident.css");
const FAVICON: &str = include_str!("../../assets/favicon.svg");

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn favicon() -> Response {
    asset("image/svg+xml", FAVICON)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    resp
}

/// The navigation: path, label, and the permission that makes the link worth showing.
const NAV: &[(&str, &str, Permission)] = &[
    ("/", "Overview", Permission::ReadHealth),
    ("/alerts", "Alerts & cases", Permission::ReadAlerts),
    ("/search", "Search", Permission::ReadLogs),
    ("/sources", "Sources", Permission::ReadHealth),
    ("/controls", "Controls", Permission::ReadHealth),
    ("/reviews", "Reviews", Permission::ReadReviews),
    ("/integrity", "Integrity", Permission::ReadHealth),
    ("/evidence", "Evidence", Permission::ExportEvidence),
];

/// A whole page: header with navigation and the signed-in user, `main` with `body`.
/// `active` is the navigation path this page belongs to.
fn layout(principal: &Principal, title: &str, active: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Evident" }
                link rel="stylesheet" href="/assets/evident.css";
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Evident" }
                    nav aria-label="Main" {
                        ul {
                            @for (path, label, perm) in NAV {
                                @if principal.role.allows(*perm) {
                                    li {
                                        @if *path == active {
                                            a href=(path) aria-current="page" { (label) }
                                        } @else {
                                            a href=(path) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form.who method="post" action="/logout" {
                        (csrf_field(principal))
                        span { (principal.name) " " span.role { "(" (principal.role) ")" } }
                        button type="submit" { "Sign out" }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The page as an HTML response.
fn render(principal: &Principal, title: &str, active: &str, body: Markup) -> Response {
    Html(layout(principal, title, active, body).into_string()).into_response()
}

/// The hidden CSRF field every form carries (empty for API-token callers, who need none).
fn csrf_field(principal: &Principal) -> Markup {
    let token = match &principal.credential {
        Credential::Session { csrf } => csrf.as_str(),
        Credential::Token(_) => "",
    };
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// An SVG chart from `evident-charts`, which escapes its own text.
fn svg(svg: String) -> Markup {
    PreEscaped(svg)
}

/// A failed page: status and a message safe to show.
#[derive(Debug)]
pub(crate) struct UiError {
    status: StatusCode,
    message: String,
}

impl UiError {
    fn new(status: StatusCode, message: impl Into<String>) -> UiError {
        UiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let page = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { "Error — Evident" }
                    link rel="stylesheet" href="/assets/evident.css";
                }
                body {
                    main #main {
                        h1 { "Something went wrong" }
                        p.error role="alert" { (self.message) }
                        p { a href="/" { "Back to the overview" } }
                    }
                }
            }
        };
        (self.status, Html(page.into_string())).into_response()
    }
}

impl From<Error> for UiError {
    fn from(e: Error) -> UiError {
        match e {
            Error::Store(e) => e.into(),
            other => {
                tracing::error!(error = %other, "web UI");
                UiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log",
                )
            }
        }
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> UiError {
        match e {
            StoreError::UnknownCase(_) | StoreError::UnknownReview(_) => {
                UiError::new(StatusCode::NOT_FOUND, e.to_string())
            }
            StoreError::Case(_) | StoreError::Review(_) => {
                UiError::new(StatusCode::CONFLICT, e.to_string())
            }
            other => {
                tracing::error!(error = %other, "web UI: state database");
                UiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log",
                )
            }
        }
    }
}

/// Runs database work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, UiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "web UI task failed");
            UiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the server log",
            )
        })?
        .map_err(UiError::from)
}

/// A form body's fields (the last value wins for repeated names).
fn form_fields(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// `ms` since the epoch as `2026-11-03 14:05 UTC`.
fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "—".into())
}

/// `ms` since the epoch as `2026-11-03`.
fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "—".into())
}

/// A duration in words: `45 s`, `12 min`, `5.5 h`, `3.2 d`.
fn span(ms: i64) -> String {
    let s = ms as f64 / 1000.0;
    if s < 60.0 {
        format!("{s:.0} s")
    } else if s < 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 86_400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

/// Severity captions, most severe first, with their colours (also used by the charts).
const SEVERITIES: [(&str, &str); 4] = [
    ("Critical", "#8b0000"),
    ("High", "#d62728"),
    ("Medium", "#ff7f0e"),
    ("Low", "#1f77b4"),
];

/// Sort rank of a severity caption (Critical first, unknown last).
fn severity_rank(caption: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|(s, _)| s.eq_ignore_ascii_case(caption))
        .unwrap_or(SEVERITIES.len())
}

/// A severity badge.
fn severity_badge(caption: &str) -> Markup {
    let class = format!("sev sev-{}", caption.to_ascii_lowercase());
    html! { span class=(class) { (caption) } }
}

/// Whether the role may see (and so is shown) an action needing `p`.
fn may(principal: &Principal, p: Permission) -> bool {
    principal.role.allows(p)
}
