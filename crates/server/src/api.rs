//! The HTTP API: `POST /api/v1/ingest/{source}`, `GET /healthz`, plus the `/log` routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use evident_model::Framing;
use evident_sources::{BodyError, Limits};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::Evident;
use crate::ingest::{build_entries, ingest};

/// Counters of what the server accepted and refused, shown on `/healthz`, so refusals are
/// visible without reading logs.
#[derive(Debug, Default)]
pub struct Counters {
    /// Records durably appended.
    pub records_accepted: AtomicU64,
    /// Records stored that did not parse.
    pub records_malformed: AtomicU64,
    /// Requests refused for a missing or wrong token.
    pub rejected_unauthorized: AtomicU64,
    /// Requests refused for size limits.
    pub rejected_too_large: AtomicU64,
    /// Requests refused because the intake queue was full.
    pub rejected_overloaded: AtomicU64,
    /// Requests refused for undecodable bodies (bad gzip).
    pub rejected_bad_body: AtomicU64,
    /// Requests that failed on storage.
    pub storage_errors: AtomicU64,
    /// HTTPS connections whose TLS handshake failed or timed out (plain HTTP, scanners).
    pub rejected_tls_handshake: AtomicU64,
    /// HTTP connections open now (a gauge: up on accept, down on close).
    pub http_connections_open: AtomicU64,
    /// HTTP connections closed at once because `server.max_connections` were open.
    pub http_connections_refused: AtomicU64,
    /// HTTP connections closed because a request head (or the next one) did not arrive
    /// within `server.header_read_timeout_secs` (slowloris, idle keep-alive).
    pub http_header_timeouts: AtomicU64,
    /// Requests answered 408 because their body did not arrive within
    /// `server.request_body_timeout_secs`.
    pub http_body_timeouts: AtomicU64,
    /// Syslog TCP/TLS connections closed on accept because a listener already had
    /// `server.max_connections` open.
    pub syslog_connections_refused: AtomicU64,
    /// Ledger entries below this are in the search index (a gauge set by the server's
    /// indexer): how far behind search is shows on `/metrics`.
    pub search_indexed_through: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> serde_json::Value {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "records_accepted": g(&self.records_accepted),
            "records_malformed": g(&self.records_malformed),
            "rejected_unauthorized": g(&self.rejected_unauthorized),
            "rejected_too_large": g(&self.rejected_too_large),
            "rejected_overloaded": g(&self.rejected_overloaded),
            "rejected_bad_body": g(&self.rejected_bad_body),
            "storage_errors": g(&self.storage_errors),
            "rejected_tls_handshake": g(&self.rejected_tls_handshake),
            "http_connections_open": g(&self.http_connections_open),
            "http_connections_refused": g(&self.http_connections_refused),
            "http_header_timeouts": g(&self.http_header_timeouts),
            "http_body_timeouts": g(&self.http_body_timeouts),
            "syslog_connections_refused": g(&self.syslog_connections_refused),
        })
    }
}

/// The intake queue every receiver shares: one permit per record admitted but not yet
/// durable. When it is empty, receivers push back (HTTP 503 + Retry-After) instead of
/// buffering without bound.
#[derive(Clone, Debug)]
pub struct Intake(Arc<Semaphore>);

impl Intake {
    /// An intake admitting at most `records` records at once.
    pub fn new(records: usize) -> Intake {
        Intake(Arc::new(Semaphore::new(records)))
    }

    /// Takes `records` permits until the guard drops, as in-flight records do.
    pub fn try_admit(&self, records: u32) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.0.clone().try_acquire_many_owned(records).ok()
    }

    /// Permits free right now: how much room the intake has (`GET /metrics`, HEC health).
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }

    /// Waits until `records` permits are free, then takes them until the guard drops: how
    /// stream receivers (syslog over TCP) push back on a sender instead of refusing.
    pub async fn admit(&self, records: u32) -> tokio::sync::OwnedSemaphorePermit {
        loop {
            // The semaphore is never closed, so acquiring only fails if it were; retry.
            if let Ok(p) = self.0.clone().acquire_many_owned(records).await {
                return p;
            }
            tokio::task::yield_now().await;
        }
    }
}

/// Shared handler state.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) node: Arc<Evident>,
    pub(crate) counters: Arc<Counters>,
    intake: Intake,
}

/// The router: ingest, health and the public log API, sharing the node's intake with the
/// other receivers.
pub fn app(node: Arc<Evident>) -> Router {
    let intake = node.intake.clone();
    app_with_intake(node, intake)
}

/// The router with a given intake (shared with other receivers, or held by tests).
pub fn app_with_intake(node: Arc<Evident>, intake: Intake) -> Router {
    let receiver = crate::receivers::HttpReceiver {
        node: node.clone(),
        intake: intake.clone(),
    };
    let state = AppState {
        counters: node.counters.clone(),
        node,
        intake,
    };
    let tls = state.node.config.server.tls.is_some();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/ingest/{source}", post(ingest_handler))
        .route("/api/v1/sources", get(sources_handler))
        .nest("/api/v1/cases", crate::cases_api::routes())
        .nest("/api/v1/reviews", crate::reviews_api::routes())
        .nest("/api/v1/outbox", crate::integrations::api::routes())
        .nest("/log", crate::log_api::routes())
        .merge(crate::change_tickets::routes())
        .merge(crate::receivers::hec::routes(receiver.clone()))
        .merge(crate::receivers::otlp::routes(receiver.clone()))
        .merge(crate::metrics::routes(receiver))
        .merge(crate::auth::session_api::routes())
        .merge(crate::auth::oidc::routes(
            state.node.config.auth.oidc.as_ref(),
        ))
        .merge(crate::auth::users_api::routes())
        .merge(crate::ui::routes())
        .merge(crate::search_api::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::authorize,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::auth::security_headers(tls, req, next)
        }))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// An API error: status, stable code, message. Internal details go to the log, not the
/// client.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

async fn healthz(State(s): State<AppState>) -> Response {
    Json(json!({
        "status": "ok",
        "tree_size": s.node.ledger.size(),
        "counters": s.counters.snapshot(),
        "clock": clock_json(),
    }))
    .into_response()
}

/// The kernel's clock synchronization status, as reported everywhere.
pub(crate) fn clock_json() -> serde_json::Value {
    match evident_clock::clock_status() {
        Ok(c) => json!({
            "synchronized": c.synchronized,
            "offset_us": c.offset_us,
            "max_error_us": c.max_error_us,
        }),
        Err(e) => json!({"synchronized": null, "error": e.to_string()}),
    }
}

/// `GET /api/v1/sources`: source health.
async fn sources_handler(State(s): State<AppState>) -> Result<Response, ApiError> {
    let node = s.node.clone();
    let now_ms = (evident_ledger::now_ns() / 1_000_000) as i64;
    let report = tokio::task::spawn_blocking(move || crate::report::source_report(&node, now_ms))
        .await
        .map_err(|e| internal(&s.counters, &e.to_string()))?
        .map_err(|e| internal(&s.counters, &e.to_string()))?;
    Ok(Json(json!({"sources": report, "clock": clock_json()})).into_response())
}

async fn ingest_handler(
    State(s): State<AppState>,
    Path(source_name): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let counters = &s.counters;
    let db = s.node.db.clone();
    let name = source_name.clone();
    let source = tokio::task::spawn_blocking(move || db.source(&name))
        .await
        .map_err(|e| internal(counters, &e.to_string()))?
        .map_err(|e| internal(counters, &e.to_string()))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_source",
                format!("no source named {source_name:?}; register it with `evident source add`"),
            )
        })?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            counters
                .rejected_unauthorized
                .fetch_add(1, Ordering::Relaxed);
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "send the source's ingest token as `Authorization: Bearer <token>`",
            )
        })?
        .to_owned();
    let db = s.node.db.clone();
    let name = source_name.clone();
    let credential = tokio::task::spawn_blocking(move || db.authenticate_ingest(&name, &token))
        .await
        .map_err(|e| internal(counters, &e.to_string()))?
        .map_err(|e| internal(counters, &e.to_string()))?
        .ok_or_else(|| {
            counters
                .rejected_unauthorized
                .fetch_add(1, Ordering::Relaxed);
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                format!("the token is not valid for source {source_name:?}"),
            )
        })?;

    let cfg = &s.node.config.ingest;
    let bytes = to_bytes(body, cfg.max_body_bytes).await.map_err(|e| {
        // A body cut off by its deadline is answered 408 by the accept loop, not counted here.
        if crate::http_listen::is_body_timeout(e) {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request body did not arrive in time",
            );
        }
        counters.rejected_too_large.fetch_add(1, Ordering::Relaxed);
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "request body exceeds the limit of {} bytes",
                cfg.max_body_bytes
            ),
        )
    })?;
    check_content_encoding(&headers, &bytes, counters)?;
    let framing = framing_for(&headers, source.format.framing())?;
    let limits = Limits {
        max_record_bytes: cfg.max_record_bytes,
        max_decoded_bytes: cfg.max_body_bytes.saturating_mul(10),
    };
    let metadata = vec![
        ("peer".to_owned(), peer.to_string()),
        (
            "credential".to_owned(),
            format!("ingest-token:{credential}"),
        ),
        ("format".to_owned(), source.format.as_str().to_owned()),
    ];
    let (entries, warnings) =
        build_entries(source.name.as_str(), &bytes, framing, &limits, &metadata)
            .map_err(|e| body_error(counters, e))?;
    let http = s.node.receivers.stats("http");
    let records = entries.len() as u64;
    http.received.fetch_add(records, Ordering::Relaxed);
    let n = entries.len().min(cfg.queue_records) as u32;
    let _permits = s.intake.try_admit(n).ok_or_else(|| {
        http.rejected.fetch_add(records, Ordering::Relaxed);
        counters.rejected_overloaded.fetch_add(1, Ordering::Relaxed);
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the intake queue is full; retry after the Retry-After delay",
            )
        }
    })?;
    let ledger = s.node.ledger.clone();
    let outcome = tokio::task::spawn_blocking(move || ingest(&ledger, entries, warnings))
        .await
        .map_err(|e| internal(counters, &e.to_string()))?
        .map_err(|e| {
            tracing::error!(error = %e, source = %source_name, "append failed");
            http.rejected.fetch_add(records, Ordering::Relaxed);
            counters.storage_errors.fetch_add(1, Ordering::Relaxed);
            ApiError {
                retry_after: Some(5),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_error",
                    "the records could not be stored durably; nothing was acknowledged, retry later",
                )
            }
        })?;
    http.stored.fetch_add(outcome.accepted, Ordering::Relaxed);
    counters
        .records_accepted
        .fetch_add(outcome.accepted, Ordering::Relaxed);
    counters
        .records_malformed
        .fetch_add(outcome.errors.len() as u64, Ordering::Relaxed);
    Ok(Json(outcome).into_response())
}

/// gzip (detected by its magic bytes either way) and identity are the encodings we take;
/// a body that claims gzip but is not is refused rather than stored as garbage.
fn check_content_encoding(
    headers: &HeaderMap,
    body: &[u8],
    counters: &Counters,
) -> Result<(), ApiError> {
    let Some(enc) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(());
    };
    let enc = enc.to_str().unwrap_or("").trim().to_ascii_lowercase();
    match enc.as_str() {
        "identity" | "" => Ok(()),
        "gzip" | "x-gzip" if body.starts_with(&[0x1f, 0x8b]) || body.is_empty() => Ok(()),
        "gzip" | "x-gzip" => {
            counters.rejected_bad_body.fetch_add(1, Ordering::Relaxed);
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                "Content-Encoding is gzip but the body does not start with the gzip magic bytes",
            ))
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding {other:?} is not supported; use gzip or none"),
        )),
    }
}

/// Framing from Content-Type; without one, the source's format decides.
fn framing_for(headers: &HeaderMap, default: Framing) -> Result<Framing, ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(default);
    };
    let ct = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/x-ndjson"
        | "application/jsonl"
        | "application/json"
        | "application/jsonlines" => Ok(Framing::Json),
        "text/plain" => Ok(Framing::Lines),
        // curl's default for --data-binary is the form type; treat it as unspecified.
        "application/octet-stream"
        | "application/gzip"
        | "application/x-gzip"
        | "application/x-www-form-urlencoded" => Ok(default),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {other:?} is not supported; use application/x-ndjson, application/json or text/plain"
            ),
        )),
    }
}

fn body_error(counters: &Counters, e: BodyError) -> ApiError {
    match e {
        BodyError::RecordTooLarge { .. } | BodyError::DecodedTooLarge { .. } => {
            counters.rejected_too_large.fetch_add(1, Ordering::Relaxed);
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "record_too_large",
                e.to_string(),
            )
        }
        _ => {
            counters.rejected_bad_body.fetch_add(1, Ordering::Relaxed);
            ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.to_string())
        }
    }
}

fn internal(counters: &Counters, detail: &str) -> ApiError {
    tracing::error!(detail, "internal error");
    counters.storage_errors.fetch_add(1, Ordering::Relaxed);
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; see the server log",
    )
}
