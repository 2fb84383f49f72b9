//! Search on the server side: feeding the index from the ledger ([`index_range`], and the
//! pipeline's already-parsed events through [`feed`]), `GET /api/v1/search`, and
//! `GET /api/v1/entries/{index}` (the ledger entry behind a hit, with its inclusion proof
//! against the latest checkpoint).
//!
//! The index lives in `DATA/search/` and is a projection of the ledger: its commits record
//! how far the ledger is indexed, so a gap (a crash between the index commit and the
//! pipeline's, an index deleted, a pipeline run by a CLI command without the index) is
//! re-parsed from the ledger, and entries already indexed are never added twice.

use std::collections::{BTreeMap, HashMap};
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
use evident_ledger::{Entry, EntryKind, Ledger, TlogProof};
use evident_model::{Event, Format};
use evident_search::{SearchError, SearchIndex, SearchWriter};
use evident_sources::{JsonMapping, ParseContext, Parser};
use evident_store::StateDb;
use serde::Deserialize;
use serde_json::json;

use crate::api::{ApiError, AppState};
use crate::{DataDir, Error, PIPELINE_BATCH};

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

/// Parses ledger entries from the writer's indexed-through mark up to `to` and indexes
/// their events, committing after each batch (so an interrupted rebuild resumes where it
/// stopped). Calls `progress(done_through, to)` after each commit. Returns the events added.
pub fn index_range(
    ledger: &Ledger,
    db: &StateDb,
    json_mappings: &BTreeMap<String, JsonMapping>,
    writer: &mut SearchWriter,
    to: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, Error> {
    let to = to.min(ledger.size());
    let formats: HashMap<String, Format> = db
        .sources()?
        .into_iter()
        .map(|s| (s.name.to_string(), s.format))
        .collect();
    let mut parsers: HashMap<String, Parser> = HashMap::new();
    let mut added = 0;
    while writer.fed_through() < to {
        let from = writer.fed_through();
        let end = to.min(from.saturating_add(PIPELINE_BATCH));
        let mut failed = None;
        let damaged = |index: u64, e: evident_ledger::LedgerError| {
            tracing::error!(index, error = %e, "damaged ledger entry; not indexed");
        };
        ledger.for_each_readable_entry(
            from,
            end,
            |index, bytes| {
                if failed.is_some() {
                    return;
                }
                let entry = match Entry::decode(bytes) {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::error!(index, error = %e, "undecodable ledger entry; not indexed");
                        return;
                    }
                };
                let events = if crate::system_events::is_system_event(&entry) {
                    match serde_json::from_slice::<Event>(&entry.body) {
                        Ok(e) => vec![e],
                        Err(_) => Vec::new(),
                    }
                } else if entry.kind == EntryKind::Log {
                    let parser = parsers.entry(entry.source.clone()).or_insert_with(|| {
                        let parser = Parser::new(
                            formats.get(&entry.source).copied().unwrap_or(Format::Auto),
                        );
                        match json_mappings.get(&entry.source) {
                            Some(m) => parser.with_json_mapping(m.clone()),
                            None => parser,
                        }
                    });
                    let ctx = ParseContext::new(&entry.source, entry.received_at_ns);
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        parser.parse(&entry.body, &ctx)
                    }))
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default()
                } else {
                    Vec::new()
                };
                for e in &events {
                    match writer.add(index, &entry.source, e) {
                        Ok(true) => added += 1,
                        Ok(false) => {}
                        Err(e) => failed = Some(e),
                    }
                }
            },
            damaged,
        )?;
        if let Some(e) = failed {
            writer.rollback()?;
            return Err(e.into());
        }
        writer.commit(end)?;
        progress(end, to);
    }
    Ok(added)
}

/// The pipeline's hook: indexes the events it parsed from entries `[from, to)` (after
/// filling any gap below `from` from the ledger) and commits through `to` at most every
/// [`evident_search::COMMIT_INTERVAL`] (the pipeline flushes when idle). Search is a
/// projection: a failure is logged and leaves a gap the next batch fills, it never stops
/// the pipeline.
pub(crate) fn feed<'a>(
    writer: &mut SearchWriter,
    ledger: &Ledger,
    db: &StateDb,
    json_mappings: &BTreeMap<String, JsonMapping>,
    (from, to): (u64, u64),
    events: impl Iterator<Item = (u64, &'a str, &'a Event)>,
) {
    let run = || -> Result<(), Error> {
        if writer.fed_through() < from {
            let behind = from - writer.fed_through();
            tracing::info!(
                behind,
                "search index is behind the pipeline; re-indexing the gap from the ledger"
            );
            index_range(ledger, db, json_mappings, writer, from, &mut |_, _| {})?;
        }
        for (index, source, e) in events {
            writer.add(index, source, e)?;
        }
        writer.advance(to)?;
        Ok(())
    };
    if let Err(e) = run() {
        tracing::error!(error = %e, "search indexing failed; the gap is re-indexed on the next batch");
        if let Err(e) = writer.rollback() {
            tracing::error!(error = %e, "search index rollback failed");
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

/// `GET /api/v1/search?q=&from=&to=&limit=`: every search names its time window.
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
    let result = tokio::task::spawn_blocking(move || {
        let index = open_index(&node.data)?;
        index.search(&q, from_ms, to_ms, limit)
    })
    .await
    .map_err(|e| internal(&e.to_string()))?;
    match result {
        Ok(r) => Ok(Json(json!({
            "query": p.q,
            "from": from_ms,
            "to": to_ms,
            "result": r,
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

/// How often the server's pipeline deletes events past their source's hot days from the
/// index.
pub const HOT_EXPIRY_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Retention's hot tier, run by the server's pipeline loop (it owns the index writer):
/// deletes each source's events older than its hot days ([`crate::retention::hot_cutoffs`])
/// from the index. Failures are logged; the next run retries.
pub fn expire_hot(pipeline: &mut crate::Pipeline, node: &crate::Evident, now_ms: i64) -> u64 {
    let mut run = || -> Result<u64, String> {
        let cutoffs = crate::retention::hot_cutoffs(node, now_ms).map_err(|e| e.to_string())?;
        let index = open_index(&node.data).map_err(|e| e.to_string())?;
        pipeline
            .expire_search(&index, &cutoffs)
            .map_err(|e| e.to_string())
    };
    match run() {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "search index: deleting events past their hot days failed");
            0
        }
    }
}
