//! Splunk HTTP Event Collector (HEC), so shippers that speak it (Vector's and Fluent Bit's
//! `splunk` outputs, Splunk logging libraries, curl scripts) send to Evident unchanged.
//!
//! - `POST /services/collector/event` (also `/services/collector` and `…/event/1.0`): a body
//!   of JSON event envelopes one after another (any or no white space between them, gzip
//!   welcome), each `{"event": …, "time": …, "host": …, "source": …, "sourcetype": …,
//!   "index": …, "fields": {…}}`. Every envelope becomes one ledger entry whose body is its
//!   `event`: a string's text, or any other JSON value's bytes exactly as sent. The envelope's
//!   other fields (as sent) go into the entry's metadata as `hec.time`, `hec.host`,
//!   `hec.source`, `hec.sourcetype`, `hec.index`, `hec.fields`, with `hec.channel`,
//!   `receiver=hec`, `peer`, `credential` and `format`.
//! - `POST /services/collector/raw` (also `…/raw/1.0`): every non-empty line is an entry; the
//!   `host`, `source`, `sourcetype`, `index` and `time` query parameters become metadata.
//! - `GET /services/collector/health`: `{"text":"HEC is healthy","code":17}`, or 503 with
//!   code 18 while the intake is full.
//! - `POST /services/collector/ack`: indexer acknowledgement is off (a success is only sent
//!   once the events are durable, which is what acknowledgement polling waits for), so it
//!   answers as Splunk does then: 400 `{"text":"ACK is disabled","code":14}`. Vector's sink
//!   treats a success without an `ackId` as delivered and never polls.
//!
//! The token is a source's ingest token (`evident source add` prints it) and picks the source:
//! `Authorization: Splunk <token>`, `Bearer <token>`, HTTP Basic with the token as the
//! password, or the `?token=` query parameter (all documented by Splunk). Answers carry
//! Splunk's codes and statuses; a batch with a bad event N stores the events before it and
//! answers the error with `"invalid-event-number":N`, as Splunk does
//! (docs/receivers/hec.md says why and what it means for retries).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evident_model::Framing;
use evident_sources::{BodyError, Limits, decode_body, split_records};
use evident_store::Source;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Delivery, HttpReceiver, ReceiverStats, try_deliver, try_deliver_each};

/// The receiver's name in metrics and entry metadata.
const RECEIVER: &str = "hec";
/// Longest metadata value a ledger entry can hold (its length is a u16).
const MAX_META_BYTES: usize = u16::MAX as usize;

/// Entry metadata pairs.
type Metadata = Vec<(String, String)>;
/// An event's entry body and its own metadata.
type EventEntry = (Vec<u8>, Metadata);

/// The HEC routes, sharing `receiver`'s node and intake.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(receiver: HttpReceiver) -> Router<S> {
    Router::new()
        .route("/services/collector", post(event_handler))
        .route("/services/collector/event", post(event_handler))
        .route("/services/collector/event/1.0", post(event_handler))
        .route("/services/collector/raw", post(raw_handler))
        .route("/services/collector/raw/1.0", post(raw_handler))
        .route("/services/collector/health", get(health_handler))
        .route("/services/collector/health/1.0", get(health_handler))
        .route("/services/collector/ack", post(ack_handler))
        .with_state(receiver)
}

/// Splunk's HEC status codes (Splunk's "Troubleshoot HTTP Event Collector" table), each
/// with the HTTP status and text Splunk sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    Success = 0,
    TokenRequired = 2,
    InvalidAuthorization = 3,
    InvalidToken = 4,
    NoData = 5,
    InvalidDataFormat = 6,
    IncorrectIndex = 7,
    InternalError = 8,
    ServerBusy = 9,
    EventFieldRequired = 12,
    EventFieldBlank = 13,
    AckDisabled = 14,
    IndexedFields = 15,
    Healthy = 17,
    QueuesFull = 18,
}

impl Code {
    fn status(self) -> StatusCode {
        match self {
            Code::Success | Code::Healthy => StatusCode::OK,
            Code::TokenRequired | Code::InvalidAuthorization => StatusCode::UNAUTHORIZED,
            Code::InvalidToken => StatusCode::FORBIDDEN,
            Code::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            Code::ServerBusy | Code::QueuesFull => StatusCode::SERVICE_UNAVAILABLE,
            Code::NoData
            | Code::InvalidDataFormat
            | Code::IncorrectIndex
            | Code::EventFieldRequired
            | Code::EventFieldBlank
            | Code::AckDisabled
            | Code::IndexedFields => StatusCode::BAD_REQUEST,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Code::Success => "Success",
            Code::TokenRequired => "Token is required",
            Code::InvalidAuthorization => "Invalid authorization",
            Code::InvalidToken => "Invalid token",
            Code::NoData => "No data",
            Code::InvalidDataFormat => "Invalid data format",
            Code::IncorrectIndex => "Incorrect index",
            Code::InternalError => "Internal server error",
            Code::ServerBusy => "Server is busy",
            Code::EventFieldRequired => "Event field is required",
            Code::EventFieldBlank => "Event field cannot be blank",
            Code::AckDisabled => "ACK is disabled",
            Code::IndexedFields => "Error in handling indexed fields",
            Code::Healthy => "HEC is healthy",
            Code::QueuesFull => "HEC is unhealthy, queues are full",
        }
    }
}

/// A HEC answer: the code, and for a refused event its 0-based position in the batch.
#[derive(Debug)]
struct Reply {
    code: Code,
    invalid_event: Option<usize>,
    retry_after: Option<u32>,
    /// A status other than the code's: 413 for a body over the size limit.
    status: Option<StatusCode>,
}

impl Reply {
    fn new(code: Code) -> Reply {
        Reply {
            code,
            invalid_event: None,
            retry_after: None,
            status: None,
        }
    }

    fn too_large() -> Reply {
        Reply {
            status: Some(StatusCode::PAYLOAD_TOO_LARGE),
            ..Reply::new(Code::InvalidDataFormat)
        }
    }

    fn at(code: Code, event: usize) -> Reply {
        Reply {
            invalid_event: Some(event),
            ..Reply::new(code)
        }
    }

    fn retry(code: Code, secs: u32) -> Reply {
        Reply {
            retry_after: Some(secs),
            ..Reply::new(code)
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        // Splunk's own key order: text, code, then invalid-event-number.
        let mut body = format!(
            r#"{{"text":"{}","code":{}"#,
            self.code.text(),
            self.code as u8
        );
        if let Some(n) = self.invalid_event {
            body.push_str(&format!(r#","invalid-event-number":{n}"#));
        }
        body.push('}');
        let mut resp = (
            self.status.unwrap_or(self.code.status()),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

/// Query parameters HEC clients send: the token (query-string authentication), the
/// channel, and defaults for the raw endpoint's metadata.
type Params = HashMap<String, String>;

/// `POST /services/collector/event`.
async fn event_handler(
    State(r): State<HttpReceiver>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let stats = r.node.receivers.stats(RECEIVER);
    let (source, credential) = match authenticate(&r, &headers, &params).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let decoded = match read_body(&r, &headers, body).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let limits = limits(&r);
    let parsed = parse_events(&decoded, &params, limits.max_record_bytes);
    let received = parsed.events.len() + usize::from(parsed.error.is_some());
    stats.received.fetch_add(received as u64, Ordering::Relaxed);
    if let Some(err) = &parsed.error {
        stats.rejected.fetch_add(1, Ordering::Relaxed);
        r.node
            .counters
            .rejected_bad_body
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(source = %source.name, code = err.code as u8, event = ?err.invalid_event, "HEC batch refused at a bad event");
    }
    if !parsed.events.is_empty() {
        let (records, per_record): (Vec<Vec<u8>>, Vec<Metadata>) =
            parsed.events.into_iter().unzip();
        let delivery = Delivery {
            source: source.name.to_string(),
            records,
            metadata: shared_metadata(&source, credential, peer, &headers, &params),
        };
        let n = delivery.records.len();
        let outcome = try_deliver_each(&r.node, &r.intake, &stats, delivery, per_record).await;
        if let Some(reply) = delivery_failed(&r, &stats, n, outcome) {
            return reply;
        }
    }
    match parsed.error {
        Some(err) => err,
        None if received == 0 => Reply::new(Code::NoData),
        None => Reply::new(Code::Success),
    }
}

/// `POST /services/collector/raw`.
async fn raw_handler(
    State(r): State<HttpReceiver>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let stats = r.node.receivers.stats(RECEIVER);
    let (source, credential) = match authenticate(&r, &headers, &params).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let decoded = match read_body(&r, &headers, body).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let split = match split_records(&decoded, Framing::Lines, &limits(&r)) {
        Ok(s) => s,
        Err(BodyError::RecordTooLarge { .. }) => {
            r.node
                .counters
                .rejected_too_large
                .fetch_add(1, Ordering::Relaxed);
            return Reply::too_large();
        }
        Err(_) => return Reply::new(Code::InvalidDataFormat),
    };
    if split.records.is_empty() {
        return Reply::new(Code::NoData);
    }
    let mut metadata = shared_metadata(&source, credential, peer, &headers, &params);
    for key in ["time", "host", "source", "sourcetype", "index"] {
        if let Some(v) = params.get(key) {
            if v.len() > MAX_META_BYTES {
                return Reply::new(Code::InvalidDataFormat);
            }
            if key == "index" && !valid_index(v) {
                return Reply::new(Code::IncorrectIndex);
            }
            if key == "time" && !valid_time(v) {
                return Reply::new(Code::InvalidDataFormat);
            }
            metadata.push((format!("hec.{key}"), v.clone()));
        }
    }
    let records: Vec<Vec<u8>> = split.records.iter().map(|r| r.bytes.to_vec()).collect();
    let n = records.len();
    stats.received.fetch_add(n as u64, Ordering::Relaxed);
    let delivery = Delivery {
        source: source.name.to_string(),
        records,
        metadata,
    };
    let outcome = try_deliver(&r.node, &r.intake, &stats, delivery).await;
    delivery_failed(&r, &stats, n, outcome).unwrap_or_else(|| Reply::new(Code::Success))
}

/// `GET /services/collector/health`: healthy unless the intake is full.
async fn health_handler(State(r): State<HttpReceiver>) -> Reply {
    if r.intake.available() == 0 {
        Reply::retry(Code::QueuesFull, 1)
    } else {
        Reply::new(Code::Healthy)
    }
}

/// `POST /services/collector/ack`: acknowledgement polling is off.
async fn ack_handler(
    State(r): State<HttpReceiver>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Reply {
    match authenticate(&r, &headers, &params).await {
        Ok(_) => Reply::new(Code::AckDisabled),
        Err(reply) => reply,
    }
}

/// The source and credential id the request's token belongs to.
async fn authenticate(
    r: &HttpReceiver,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(Source, i64), Reply> {
    let refuse = |code: Code| {
        r.node
            .counters
            .rejected_unauthorized
            .fetch_add(1, Ordering::Relaxed);
        Reply::new(code)
    };
    let token = match headers.get(header::AUTHORIZATION) {
        Some(v) => token_from_header(v).ok_or_else(|| refuse(Code::InvalidAuthorization))?,
        None => match params.get("token") {
            Some(t) if !t.is_empty() => t.clone(),
            _ => return Err(refuse(Code::TokenRequired)),
        },
    };
    let db = r.node.db.clone();
    match tokio::task::spawn_blocking(move || db.source_for_ingest_token(&token)).await {
        Ok(Ok(Some(found))) => Ok(found),
        Ok(Ok(None)) => Err(refuse(Code::InvalidToken)),
        Ok(Err(e)) => Err(internal(r, &e.to_string())),
        Err(e) => Err(internal(r, &e.to_string())),
    }
}

/// The token in `Splunk <t>`, `Bearer <t>` or `Basic base64(user:t)`; `None` for any other
/// shape (Splunk's "Invalid authorization").
fn token_from_header(v: &HeaderValue) -> Option<String> {
    let v = v.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    let rest = rest.trim();
    let token = if scheme.eq_ignore_ascii_case("splunk") || scheme.eq_ignore_ascii_case("bearer") {
        rest.to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        text.split_once(':')?.1.to_owned()
    } else {
        return None;
    };
    Some(token).filter(|t| !t.is_empty())
}

/// Reads and gunzips the body within the configured limits.
async fn read_body(r: &HttpReceiver, headers: &HeaderMap, body: Body) -> Result<Vec<u8>, Reply> {
    let cfg = &r.node.config.ingest;
    let counters = &r.node.counters;
    let bytes = to_bytes(body, cfg.max_body_bytes).await.map_err(|e| {
        // A body cut off by its deadline is answered 408 by the accept loop, not counted here.
        if crate::http_listen::is_body_timeout(e) {
            return Reply {
                status: Some(StatusCode::REQUEST_TIMEOUT),
                ..Reply::new(Code::InvalidDataFormat)
            };
        }
        counters.rejected_too_large.fetch_add(1, Ordering::Relaxed);
        Reply::too_large()
    })?;
    let claimed_gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if claimed_gzip && !bytes.is_empty() && !bytes.starts_with(&[0x1f, 0x8b]) {
        counters.rejected_bad_body.fetch_add(1, Ordering::Relaxed);
        return Err(Reply::new(Code::InvalidDataFormat));
    }
    match decode_body(&bytes, &limits(r)) {
        Ok(d) => Ok(d.into_owned()),
        Err(e) => {
            tracing::info!(error = %e, "HEC body refused");
            if let BodyError::DecodedTooLarge { .. } = e {
                counters.rejected_too_large.fetch_add(1, Ordering::Relaxed);
                return Err(Reply::too_large());
            }
            counters.rejected_bad_body.fetch_add(1, Ordering::Relaxed);
            Err(Reply::new(Code::InvalidDataFormat))
        }
    }
}

fn limits(r: &HttpReceiver) -> Limits {
    let cfg = &r.node.config.ingest;
    Limits {
        max_record_bytes: cfg.max_record_bytes,
        max_decoded_bytes: cfg.max_body_bytes.saturating_mul(10),
    }
}

/// Metadata every entry of the request carries.
fn shared_metadata(
    source: &Source,
    credential: i64,
    peer: SocketAddr,
    headers: &HeaderMap,
    params: &Params,
) -> Metadata {
    let mut m = vec![
        ("receiver".to_owned(), RECEIVER.to_owned()),
        ("peer".to_owned(), peer.to_string()),
        (
            "credential".to_owned(),
            format!("ingest-token:{credential}"),
        ),
        ("format".to_owned(), source.format.as_str().to_owned()),
    ];
    let channel = headers
        .get("x-splunk-request-channel")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| params.get("channel").cloned())
        .filter(|c| !c.is_empty() && c.len() <= 256);
    if let Some(c) = channel {
        m.push(("hec.channel".to_owned(), c));
    }
    m
}

/// Maps a failed or refused delivery of `n` records to its answer; `None` when stored.
fn delivery_failed(
    r: &HttpReceiver,
    stats: &ReceiverStats,
    n: usize,
    outcome: Option<Result<crate::IngestOutcome, super::DeliverError>>,
) -> Option<Reply> {
    match outcome {
        Some(Ok(_)) => None,
        None => {
            stats.rejected.fetch_add(n as u64, Ordering::Relaxed);
            r.node
                .counters
                .rejected_overloaded
                .fetch_add(1, Ordering::Relaxed);
            Some(Reply::retry(Code::ServerBusy, 1))
        }
        Some(Err(e)) => {
            stats.rejected.fetch_add(n as u64, Ordering::Relaxed);
            tracing::error!(error = %e, "HEC append failed");
            r.node
                .counters
                .storage_errors
                .fetch_add(1, Ordering::Relaxed);
            Some(Reply::retry(Code::InternalError, 5))
        }
    }
}

fn internal(r: &HttpReceiver, detail: &str) -> Reply {
    tracing::error!(detail, "HEC internal error");
    r.node
        .counters
        .storage_errors
        .fetch_add(1, Ordering::Relaxed);
    Reply::retry(Code::InternalError, 5)
}

/// One event envelope, its fields kept as the raw JSON text sent.
#[derive(Deserialize)]
struct Envelope<'a> {
    /// `Some` even for `null`, which is a blank event rather than a missing one.
    #[serde(borrow, default, deserialize_with = "present")]
    event: Option<&'a RawValue>,
    #[serde(borrow, default)]
    time: Option<&'a RawValue>,
    #[serde(borrow, default)]
    host: Option<&'a RawValue>,
    #[serde(borrow, default)]
    source: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sourcetype: Option<&'a RawValue>,
    #[serde(borrow, default)]
    index: Option<&'a RawValue>,
    #[serde(borrow, default)]
    fields: Option<&'a RawValue>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The good events before the first bad one (body, own metadata), and the answer for the
/// bad one.
struct Parsed {
    events: Vec<EventEntry>,
    error: Option<Reply>,
}

/// Reads the envelopes of an `/event` body in order, stopping at the first bad one.
fn parse_events(body: &[u8], params: &Params, max_record_bytes: usize) -> Parsed {
    let mut events = Vec::new();
    let stream = serde_json::Deserializer::from_slice(body).into_iter::<&RawValue>();
    for (i, item) in stream.enumerate() {
        let result = item
            .map_err(|_| Reply::at(Code::InvalidDataFormat, i))
            .and_then(|raw| event_entry(raw, i, params, max_record_bytes));
        match result {
            Ok(e) => events.push(e),
            Err(reply) => {
                return Parsed {
                    events,
                    error: Some(reply),
                };
            }
        }
    }
    Parsed {
        events,
        error: None,
    }
}

/// One envelope → the entry body and its `hec.*` metadata.
fn event_entry(
    raw: &RawValue,
    i: usize,
    params: &Params,
    max_record_bytes: usize,
) -> Result<EventEntry, Reply> {
    let bad = |code| Reply::at(code, i);
    // serde would also read a struct from a JSON array; an envelope is an object.
    if !raw.get().starts_with('{') {
        return Err(bad(Code::InvalidDataFormat));
    }
    let env: Envelope<'_> =
        serde_json::from_str(raw.get()).map_err(|_| bad(Code::InvalidDataFormat))?;
    let event = env.event.ok_or_else(|| bad(Code::EventFieldRequired))?;
    let body = match serde_json::from_str::<serde_json::Value>(event.get()) {
        Ok(serde_json::Value::String(s)) if s.trim().is_empty() => {
            return Err(bad(Code::EventFieldBlank));
        }
        Ok(serde_json::Value::String(s)) => s.into_bytes(),
        Ok(serde_json::Value::Null) => return Err(bad(Code::EventFieldBlank)),
        Ok(serde_json::Value::Object(o)) if o.is_empty() => {
            return Err(bad(Code::EventFieldBlank));
        }
        Ok(serde_json::Value::Array(a)) if a.is_empty() => {
            return Err(bad(Code::EventFieldBlank));
        }
        Ok(_) => event.get().as_bytes().to_vec(),
        Err(_) => return Err(bad(Code::InvalidDataFormat)),
    };
    if body.len() > max_record_bytes {
        return Err(bad(Code::InvalidDataFormat));
    }
    let mut meta = Vec::new();
    let time = match env.time {
        Some(t) => Some(scalar_text(t).map_err(|_| bad(Code::InvalidDataFormat))?),
        None => params.get("time").cloned(),
    };
    if let Some(t) = time.filter(|t| !t.is_empty()) {
        if !valid_time(&t) {
            return Err(bad(Code::InvalidDataFormat));
        }
        meta.push(("hec.time".to_owned(), t));
    }
    for (key, value) in [
        ("host", env.host),
        ("source", env.source),
        ("sourcetype", env.sourcetype),
        ("index", env.index),
    ] {
        let text = match value {
            Some(v) => Some(scalar_text(v).map_err(|_| bad(Code::InvalidDataFormat))?),
            None => params.get(key).cloned(),
        };
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            continue;
        };
        if key == "index" && !valid_index(&text) {
            return Err(bad(Code::IncorrectIndex));
        }
        if text.len() > MAX_META_BYTES {
            return Err(bad(Code::InvalidDataFormat));
        }
        meta.push((format!("hec.{key}"), text));
    }
    if let Some(fields) = env.fields {
        if !valid_fields(fields) {
            return Err(bad(Code::IndexedFields));
        }
        let text = fields.get();
        if text.len() > MAX_META_BYTES {
            return Err(bad(Code::IndexedFields));
        }
        meta.push(("hec.fields".to_owned(), text.to_owned()));
    }
    Ok((body, meta))
}

/// A string field's text, or a number's digits as sent; `None` for other JSON types.
fn scalar_text(v: &RawValue) -> Result<String, ()> {
    match serde_json::from_str::<serde_json::Value>(v.get()) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(serde_json::Value::Number(_)) => Ok(v.get().trim().to_owned()),
        _ => Err(()),
    }
}

/// HEC times are epoch seconds, with a fraction for sub-second precision.
fn valid_time(t: &str) -> bool {
    t.parse::<f64>().is_ok_and(|s| s.is_finite() && s >= 0.0)
}

/// Splunk index names: letters, digits, `_` and `-` (internal indexes start with `_`). Every
/// such index is allowed here (it is kept as `hec.index`); a name no index can have is
/// Splunk's "Incorrect index".
fn valid_index(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Indexed fields: an object whose values are strings, numbers, or arrays of them (Splunk
/// refuses nested objects with code 15).
fn valid_fields(fields: &RawValue) -> bool {
    use serde_json::Value;
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_));
    match serde_json::from_str::<Value>(fields.get()) {
        Ok(Value::Object(map)) => map.values().all(|v| match v {
            Value::Array(items) => items.iter().all(scalar),
            other => scalar(other),
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused event's code and number.
    type Refusal = (u8, Option<usize>);

    /// The good events as text, and the bad one's code and number.
    fn parse(body: &str) -> (Vec<(String, Metadata)>, Option<Refusal>) {
        let parsed = parse_events(body.as_bytes(), &Params::new(), 1 << 20);
        let events = parsed
            .events
            .into_iter()
            .map(|(b, m)| (String::from_utf8(b).unwrap(), m))
            .collect();
        (
            events,
            parsed.error.map(|r| (r.code as u8, r.invalid_event)),
        )
    }

    async fn reply_json(r: Reply) -> (u16, String) {
        let resp = r.into_response();
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 10)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[test]
    fn envelopes_may_be_concatenated_without_separators() {
        let (events, error) = parse(
            r#"{"event":"one","time":1764150000.5,"host":"web-1"}{"event":{"a": 1},"sourcetype":"app","fields":{"env":"prod","n":[1,2]}}
            {"event":42,"index":"main","source":7}"#,
        );
        assert_eq!(error, None);
        let meta = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            events,
            vec![
                (
                    "one".into(),
                    meta(&[("hec.time", "1764150000.5"), ("hec.host", "web-1")])
                ),
                (
                    r#"{"a": 1}"#.into(),
                    meta(&[
                        ("hec.sourcetype", "app"),
                        ("hec.fields", r#"{"env":"prod","n":[1,2]}"#)
                    ])
                ),
                (
                    "42".into(),
                    meta(&[("hec.source", "7"), ("hec.index", "main")])
                ),
            ]
        );
    }

    #[test]
    fn the_first_bad_event_stops_the_batch_with_its_code_and_number() {
        let cases = [
            (r#"{"event":"a"}{"event":"b""#, 1, 6),
            (r#"{"event":"a"}[1]"#, 1, 6),
            (r#"{"event":"a"}{"time":1}"#, 1, 12),
            (r#"{"event":""}"#, 0, 13),
            (r#"{"event":"a"}{"event":"  "}"#, 1, 13),
            (r#"{"event":null}"#, 0, 13),
            (r#"{"event":{}}"#, 0, 13),
            (r#"{"event":"a","time":"soon"}"#, 0, 6),
            (r#"{"event":"a","time":-1}"#, 0, 6),
            (r#"{"event":"a","host":{"x":1}}"#, 0, 6),
            (
                r#"{"event":"a"}{"event":"b","index":"no such/index"}"#,
                1,
                7,
            ),
            (r#"{"event":"a","fields":{"x":{"y":1}}}"#, 0, 15),
            (r#"{"event":"a","fields":"x=1"}"#, 0, 15),
        ];
        for (body, n, code) in cases {
            let (events, error) = parse(body);
            assert_eq!((events.len(), error), (n, Some((code, Some(n)))), "{body}");
        }
    }

    #[tokio::test]
    async fn replies_carry_splunks_text_code_and_status() {
        assert_eq!(
            reply_json(Reply::new(Code::Success)).await,
            (200, r#"{"text":"Success","code":0}"#.into())
        );
        assert_eq!(
            reply_json(Reply::too_large()).await,
            (413, r#"{"text":"Invalid data format","code":6}"#.into())
        );
        assert_eq!(
            reply_json(Reply::at(Code::InvalidDataFormat, 3)).await,
            (
                400,
                r#"{"text":"Invalid data format","code":6,"invalid-event-number":3}"#.into()
            )
        );
        assert_eq!(Code::TokenRequired.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(Code::InvalidToken.status(), StatusCode::FORBIDDEN);
        assert_eq!(Code::ServerBusy.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn tokens_come_from_splunk_bearer_or_basic_authorization() {
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(token_from_header(&h("Splunk abc")).as_deref(), Some("abc"));
        assert_eq!(token_from_header(&h("Bearer abc")).as_deref(), Some("abc"));
        // "x:evd_tok" in base64.
        assert_eq!(
            token_from_header(&h("Basic eDpldmRfdG9r")).as_deref(),
            Some("evd_tok")
        );
        assert_eq!(token_from_header(&h("abc")), None);
        assert_eq!(token_from_header(&h("Splunk ")), None);
        assert_eq!(token_from_header(&h("Token abc")), None);
        assert_eq!(token_from_header(&h("Basic !!")), None);
    }
}
