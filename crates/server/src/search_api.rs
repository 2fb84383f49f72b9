//! Search on the server side: the index shared by every request, `GET /api/v1/search`, and
//! `GET /api/v1/entries/{index}` (the ledger entry behind a hit, with its inclusion proof
//! against the latest checkpoint). Feeding the index from the ledger is
//! [`crate::indexer`]'s job.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evident_ledger::{Entry, TlogProof};
use evident_search::{SearchError, SearchIndex, SearchWriter};
use serde::Deserialize;
use serde_json::json;

use crate::DataDir;
use crate::api::{ApiError, AppState};

/// Indexing threads of the server's writer (the pipeline's parse threads use the cores).
pub const WRITER_THREADS: usize = 1;
/// The server writer's indexing buffer.
pub const WRITER_HEAP_BYTES: usize = 96 * 1024 * 1024;
/// Hits returned when the request does not say.
pub const DEFAULT_LIMIT: usize = 100;

/// Where a data directory keeps its search index.
pub fn search_dir(data: &DataDir) -> PathBuf {
    data.root().join("search")
}

/// The search index of a data directory, opened once per process and shared by every
/// request (readers share its memory maps).
pub fn open_index(data: &DataDir) -> Result<Arc<SearchIndex>, SearchError> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Arc<SearchIndex>>>> = OnceLock::new();
    let dir = search_dir(data);
    let mut open = OPEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(i) = open.get(&dir) {
        return Ok(i.clone());
    }
    let index = Arc::new(SearchIndex::open(&dir)?);
    open.insert(dir, index.clone());
    Ok(index)
}

/// The index writer for a node's pipeline, or `None` (logged) when the index cannot be
/// opened or another process writes it: search then lags, and whoever holds the writer
/// fills the gap from the ledger.
pub fn writer_for(node: &crate::Evident) -> Option<SearchWriter> {
    match open_index(&node.data).and_then(|i| i.writer(WRITER_THREADS, WRITER_HEAP_BYTES)) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::error!(error = %e, "search index not written by this process");
            None
        }
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/search", get(search))
        .route("/api/v1/entries/{index}", get(entry))
}

#[derive(Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
}

/// Parses a time bound: ms since the epoch, RFC 3339, or a `YYYY-MM-DD` day (UTC midnight).
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

fn internal(detail: &str) -> ApiError {
    tracing::error!(detail, "search request failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; see the server log",
    )
}

/// `GET /api/v1/search?q=&from=&to=&limit=`: every search names its time window. The
/// answer says how far the index reaches (`searchable_through` of `tree_size` ledger
/// entries): under load search lags behind detection.
async fn search(
    State(s): State<AppState>,
    Query(p): Query<SearchParams>,
) -> Result<Response, ApiError> {
    let bound = |name: &str, v: &Option<String>| -> Result<i64, ApiError> {
        let v = v.as_deref().ok_or_else(|| {
            bad_request(
                "missing_time_window",
                format!("{name} is required: every search is time-bounded (RFC 3339, YYYY-MM-DD or ms since the epoch)"),
            )
        })?;
        parse_time(v).ok_or_else(|| {
            bad_request(
                "bad_time",
                format!("{name}={v:?} is not a time (RFC 3339, YYYY-MM-DD or ms since the epoch)"),
            )
        })
    };
    let from_ms = bound("from", &p.from)?;
    let to_ms = bound("to", &p.to)?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    let node = s.node.clone();
    let q = p.q.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<_, SearchError> {
        let index = open_index(&node.data)?;
        let tree_size = node.ledger.size();
        let searchable_through = index.indexed_through()?;
        let found = index.search(&q, from_ms, to_ms, limit)?;
        Ok((found, searchable_through, tree_size))
    })
    .await
    .map_err(|e| internal(&e.to_string()))?;
    match result {
        Ok((r, searchable_through, tree_size)) => Ok(Json(json!({
            "query": p.q,
            "from": from_ms,
            "to": to_ms,
            "result": r,
            "searchable_through": searchable_through,
            "tree_size": tree_size,
        }))
        .into_response()),
        Err(e @ (SearchError::Query(_) | SearchError::Invalid(_))) => {
            Err(bad_request("bad_query", e.to_string()))
        }
        Err(e @ SearchError::Window { .. }) => Err(bad_request("bad_time", e.to_string())),
        Err(e) => Err(internal(&e.to_string())),
    }
}

/// `GET /api/v1/entries/{index}`: the entry (metadata, body as text when it is UTF-8,
/// always base64) and its inclusion proof against the latest checkpoint, as the JSON
/// fields and as a C2SP tlog-proof file.
async fn entry(State(s): State<AppState>, Path(index): Path<u64>) -> Result<Response, ApiError> {
    let ledger = s.node.ledger.clone();
    let doc = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, ApiError> {
        if index >= ledger.size() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no_such_entry",
                format!("no entry {index}: the log holds {} entries", ledger.size()),
            ));
        }
        let bytes = ledger
            .entry_bytes(index)
            .map_err(|e| internal(&e.to_string()))?;
        let e = Entry::decode(&bytes).map_err(|e| internal(&e.to_string()))?;
        let cp = ledger.latest_checkpoint().ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "not_checkpointed",
                "the log has not signed a checkpoint yet; retry in a second",
            )
        })?;
        let size = cp.checkpoint.size;
        let proof = if index < size {
            let hashes = ledger
                .inclusion_proof(index, size)
                .map_err(|e| internal(&e.to_string()))?;
            let file = TlogProof {
                extra: None,
                index,
                proof: hashes.clone(),
                checkpoint_note: cp.note.clone(),
            };
            // A proof that does not verify must never leave the server.
            file.verify(&ledger.verifier(), &bytes).map_err(|e| {
                internal(&format!("inclusion proof for {index} does not verify: {e}"))
            })?;
            json!({
                "tree_size": size,
                "hashes": hashes.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
                "checkpoint": cp.note,
                "tlog_proof": file.to_text(),
            })
        } else {
            serde_json::Value::Null
        };
        let meta: serde_json::Map<String, serde_json::Value> = e
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        Ok(json!({
            "index": index,
            "kind": e.kind.as_str(),
            "received_at_ns": e.received_at_ns,
            "source": e.source,
            "metadata": meta,
            "body": std::str::from_utf8(&e.body).ok(),
            "body_base64": STANDARD.encode(&e.body),
            "leaf_hash": evident_ledger::leaf_hash(&bytes).to_base64(),
            "inclusion_proof": proof,
        }))
    })
    .await
    .map_err(|e| internal(&e.to_string()))??;
    Ok(Json(doc).into_response())
}
