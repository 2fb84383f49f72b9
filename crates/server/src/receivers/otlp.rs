//! OTLP/HTTP logs (<https://opentelemetry.io/docs/specs/otlp/#otlphttp>): `POST /v1/logs`
//! with an `ExportLogsServiceRequest` in binary protobuf (`application/x-protobuf`) or
//! OTLP/JSON (`application/json`), gzip or deflate welcome, authenticated by a source's
//! ingest token as `Authorization: Bearer <token>`; the token picks the source.
//!
//! Every log record becomes one ledger entry. Its body is an OTLP/JSON `LogsData` document
//! holding exactly that record under its resource and instrumentation scope, each field
//! encoded by the OTLP/JSON rules (lowerCamelCase keys, 64-bit integers as decimal strings,
//! hex trace and span ids, typed attribute values, default values left out): nothing of the
//! record is lost, and the document is what the OpenTelemetry Collector's file exporter
//! writes, so standard tools read it (docs/receivers/otlp.md). The `otlp` format normalizes
//! it.
//!
//! Answers follow the spec: 200 with an `ExportLogsServiceResponse` in the request's
//! encoding once the records are durable, with `partialSuccess` counting records refused
//! (over `ingest.max_record_bytes`); 503 + `Retry-After` when the intake is full or the
//! ledger failed (retryable); 400, 401, 413 and 415 otherwise, with a `google.rpc.Status`
//! body in the request's encoding.

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evident_sources::{Limits, decode_body};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyKind;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{Delivery, HttpReceiver, try_deliver};

/// The receiver's name in metrics and entry metadata.
const RECEIVER: &str = "otlp";

/// The OTLP route, sharing `receiver`'s node and intake.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(receiver: HttpReceiver) -> Router<S> {
    Router::new()
        .route("/v1/logs", post(logs_handler))
        .with_state(receiver)
}

/// The request's (and so the response's) encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// `google.rpc.Status`, the body of an OTLP error response.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    code: i32,
    /// What went wrong, for the developer.
    #[prost(string, tag = "2")]
    message: String,
}

/// gRPC status codes used in error bodies.
const INVALID_ARGUMENT: i32 = 3;
const UNAUTHENTICATED: i32 = 16;
const RESOURCE_EXHAUSTED: i32 = 8;
const UNAVAILABLE: i32 = 14;
const INTERNAL: i32 = 13;
const DEADLINE_EXCEEDED: i32 = 4;

/// An OTLP error answer.
struct Failure {
    status: StatusCode,
    code: i32,
    message: String,
    retry_after: Option<u32>,
    encoding: Encoding,
}

impl Failure {
    fn new(status: StatusCode, code: i32, message: impl Into<String>, encoding: Encoding) -> Self {
        Failure {
            status,
            code,
            message: message.into(),
            retry_after: None,
            encoding,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = RpcStatus {
            code: self.code,
            message: self.message,
        };
        let body = match self.encoding {
            Encoding::Protobuf => status.encode_to_vec(),
            Encoding::Json => serde_json::json!({"code": status.code, "message": status.message})
                .to_string()
                .into_bytes(),
        };
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, self.encoding.content_type())],
            body,
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

/// `POST /v1/logs`.
async fn logs_handler(
    State(r): State<HttpReceiver>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let counters = &r.node.counters;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let encoding = match media.as_str() {
        "application/x-protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        other => {
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                INVALID_ARGUMENT,
                format!(
                    "Content-Type {other:?} is not supported; use application/x-protobuf or application/json"
                ),
                Encoding::Json,
            ));
        }
    };
    let fail = |status, code, message: String| Failure::new(status, code, message, encoding);

    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        counters
            .rejected_unauthorized
            .fetch_add(1, Ordering::Relaxed);
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            UNAUTHENTICATED,
            "send the source's ingest token as `Authorization: Bearer <token>`".into(),
        ));
    };
    let db = r.node.db.clone();
    let (source, credential) =
        match tokio::task::spawn_blocking(move || db.source_for_ingest_token(&token)).await {
            Ok(Ok(Some(found))) => found,
            Ok(Ok(None)) => {
                counters
                    .rejected_unauthorized
                    .fetch_add(1, Ordering::Relaxed);
                return Err(fail(
                    StatusCode::UNAUTHORIZED,
                    UNAUTHENTICATED,
                    "the token is not a live ingest token".into(),
                ));
            }
            Ok(Err(e)) => return Err(internal(&r, &e.to_string(), encoding)),
            Err(e) => return Err(internal(&r, &e.to_string(), encoding)),
        };

    let cfg = &r.node.config.ingest;
    let bytes = to_bytes(body, cfg.max_body_bytes).await.map_err(|e| {
        // A body cut off by its deadline is answered 408 by the accept loop, not counted here.
        if crate::http_listen::is_body_timeout(e) {
            return fail(
                StatusCode::REQUEST_TIMEOUT,
                DEADLINE_EXCEEDED,
                "the request body did not arrive in time".to_owned(),
            );
        }
        counters.rejected_too_large.fetch_add(1, Ordering::Relaxed);
        fail(
            StatusCode::PAYLOAD_TOO_LARGE,
            RESOURCE_EXHAUSTED,
            format!(
                "request body exceeds the limit of {} bytes",
                cfg.max_body_bytes
            ),
        )
    })?;
    let limits = Limits {
        max_record_bytes: cfg.max_record_bytes,
        max_decoded_bytes: cfg.max_body_bytes.saturating_mul(10),
    };
    let decoded = decompress(&headers, &bytes, &limits).map_err(|(status, message)| {
        let counter = if status == StatusCode::PAYLOAD_TOO_LARGE {
            &counters.rejected_too_large
        } else {
            &counters.rejected_bad_body
        };
        counter.fetch_add(1, Ordering::Relaxed);
        fail(status, INVALID_ARGUMENT, message)
    })?;
    let request = match encoding {
        Encoding::Protobuf => ExportLogsServiceRequest::decode(decoded.as_slice())
            .map_err(|e| format!("not a valid protobuf ExportLogsServiceRequest: {e}")),
        Encoding::Json => serde_json::from_slice::<ExportLogsServiceRequest>(&decoded)
            .map_err(|e| format!("not a valid OTLP/JSON ExportLogsServiceRequest: {e}")),
    }
    .map_err(|message| {
        counters.rejected_bad_body.fetch_add(1, Ordering::Relaxed);
        fail(StatusCode::BAD_REQUEST, INVALID_ARGUMENT, message)
    })?;

    let split = split_records(&request, cfg.max_record_bytes);
    let stats = r.node.receivers.stats(RECEIVER);
    let total = split.records.len() as u64 + split.rejected;
    stats.received.fetch_add(total, Ordering::Relaxed);
    stats.rejected.fetch_add(split.rejected, Ordering::Relaxed);
    let n = split.records.len() as u64;
    if n > 0 {
        let delivery = Delivery {
            source: source.name.to_string(),
            records: split.records,
            metadata: vec![
                ("receiver".to_owned(), RECEIVER.to_owned()),
                ("peer".to_owned(), peer.to_string()),
                (
                    "credential".to_owned(),
                    format!("ingest-token:{credential}"),
                ),
                ("format".to_owned(), source.format.as_str().to_owned()),
            ],
        };
        match try_deliver(&r.node, &r.intake, &stats, delivery).await {
            Some(Ok(_)) => {}
            None => {
                stats.rejected.fetch_add(n, Ordering::Relaxed);
                counters.rejected_overloaded.fetch_add(1, Ordering::Relaxed);
                return Err(Failure {
                    retry_after: Some(1),
                    ..fail(
                        StatusCode::SERVICE_UNAVAILABLE,
                        UNAVAILABLE,
                        "the intake queue is full; retry after the Retry-After delay".into(),
                    )
                });
            }
            Some(Err(e)) => {
                stats.rejected.fetch_add(n, Ordering::Relaxed);
                tracing::error!(error = %e, source = %source.name, "OTLP append failed");
                counters.storage_errors.fetch_add(1, Ordering::Relaxed);
                return Err(Failure {
                    retry_after: Some(5),
                    ..fail(
                        StatusCode::SERVICE_UNAVAILABLE,
                        UNAVAILABLE,
                        "the records could not be stored durably; nothing was acknowledged, retry later".into(),
                    )
                });
            }
        }
    }
    let partial_success = split.first_rejected.map(|(at, size)| ExportLogsPartialSuccess {
        rejected_log_records: split.rejected as i64,
        error_message: format!(
            "{} log record(s) exceed the record limit of {} bytes and were not stored (the first, {at}, is {size} bytes)",
            split.rejected, cfg.max_record_bytes
        ),
    });
    Ok(success(
        ExportLogsServiceResponse { partial_success },
        encoding,
    ))
}

/// The success answer in the request's encoding (OTLP/JSON: int64 as a decimal string).
fn success(resp: ExportLogsServiceResponse, encoding: Encoding) -> Response {
    let body = match encoding {
        Encoding::Protobuf => resp.encode_to_vec(),
        Encoding::Json => match resp.partial_success {
            Some(p) => serde_json::json!({"partialSuccess": {
                "rejectedLogRecords": p.rejected_log_records.to_string(),
                "errorMessage": p.error_message,
            }})
            .to_string()
            .into_bytes(),
            None => b"{}".to_vec(),
        },
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response()
}

fn internal(r: &HttpReceiver, detail: &str, encoding: Encoding) -> Failure {
    tracing::error!(detail, "OTLP internal error");
    r.node
        .counters
        .storage_errors
        .fetch_add(1, Ordering::Relaxed);
    Failure {
        retry_after: Some(5),
        ..Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            INTERNAL,
            "internal error; see the server log",
            encoding,
        )
    }
}

/// Undoes `Content-Encoding`: gzip (also recognised by its magic bytes), deflate (zlib, as
/// OTel SDKs send it) or none, within the decoded-size limit.
fn decompress(
    headers: &HeaderMap,
    body: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>, (StatusCode, String)> {
    let enc = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match enc.as_str() {
        "" | "identity" | "gzip" | "x-gzip" => {
            if enc.ends_with("gzip") && !body.is_empty() && !body.starts_with(&[0x1f, 0x8b]) {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "Content-Encoding is gzip but the body does not start with the gzip magic bytes".into(),
                ));
            }
            decode_body(body, limits)
                .map(std::borrow::Cow::into_owned)
                .map_err(|e| {
                    let status = match e {
                        evident_sources::BodyError::DecodedTooLarge { .. } => {
                            StatusCode::PAYLOAD_TOO_LARGE
                        }
                        _ => StatusCode::BAD_REQUEST,
                    };
                    (status, e.to_string())
                })
        }
        "deflate" => {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(body)
                .take((limits.max_decoded_bytes as u64).saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|e| {
                    (
                        StatusCode::BAD_REQUEST,
                        format!("deflate data is corrupt after {} bytes: {e}", out.len()),
                    )
                })?;
            if out.len() > limits.max_decoded_bytes {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "decompressed body exceeds the limit of {} bytes",
                        limits.max_decoded_bytes
                    ),
                ));
            }
            Ok(out)
        }
        other => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding {other:?} is not supported; use gzip, deflate or none"),
        )),
    }
}

/// A request cut into entry bodies, and what was refused.
#[derive(Debug, Default)]
struct Split {
    /// One OTLP/JSON `LogsData` document per accepted log record, in request order.
    records: Vec<Vec<u8>>,
    /// Log records over the record limit.
    rejected: u64,
    /// Where the first refused record sits and its encoded size.
    first_rejected: Option<(String, usize)>,
}

/// Encodes every log record of `request` as its own document.
fn split_records(request: &ExportLogsServiceRequest, max_record_bytes: usize) -> Split {
    let mut split = Split::default();
    for (i, rl) in request.resource_logs.iter().enumerate() {
        for (j, sl) in rl.scope_logs.iter().enumerate() {
            for (k, lr) in sl.log_records.iter().enumerate() {
                let doc = Document {
                    resource_logs: [ResourceLogsDoc {
                        resource: rl.resource.as_ref().map(ResourceDoc),
                        scope_logs: [ScopeLogsDoc {
                            scope: sl.scope.as_ref().map(ScopeDoc),
                            log_records: [RecordDoc(lr)],
                            schema_url: &sl.schema_url,
                        }],
                        schema_url: &rl.schema_url,
                    }],
                };
                // Serializing plain data into memory cannot fail: NaN and infinities are
                // written as strings by `AnyDoc`.
                let bytes = serde_json::to_vec(&doc).unwrap_or_default();
                if bytes.len() > max_record_bytes || bytes.is_empty() {
                    split.rejected += 1;
                    split.first_rejected.get_or_insert_with(|| {
                        (
                            format!("resourceLogs[{i}].scopeLogs[{j}].logRecords[{k}]"),
                            bytes.len(),
                        )
                    });
                } else {
                    split.records.push(bytes);
                }
            }
        }
    }
    split
}

/// `LogsData` with one resource, one scope and one record.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    resource_logs: [ResourceLogsDoc<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceLogsDoc<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<ResourceDoc<'a>>,
    scope_logs: [ScopeLogsDoc<'a>; 1],
    #[serde(skip_serializing_if = "str::is_empty")]
    schema_url: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScopeLogsDoc<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<ScopeDoc<'a>>,
    log_records: [RecordDoc<'a>; 1],
    #[serde(skip_serializing_if = "str::is_empty")]
    schema_url: &'a str,
}

/// A `Resource` in OTLP/JSON, default fields left out.
struct ResourceDoc<'a>(&'a Resource);

impl Serialize for ResourceDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        if !r.attributes.is_empty() {
            m.serialize_entry("attributes", &Attrs(&r.attributes))?;
        }
        if r.dropped_attributes_count > 0 {
            m.serialize_entry("droppedAttributesCount", &r.dropped_attributes_count)?;
        }
        if !r.entity_refs.is_empty() {
            let refs: Vec<EntityRefDoc<'_>> = r
                .entity_refs
                .iter()
                .map(|e| EntityRefDoc {
                    schema_url: &e.schema_url,
                    r#type: &e.r#type,
                    id_keys: &e.id_keys,
                    description_keys: &e.description_keys,
                })
                .collect();
            m.serialize_entry("entityRefs", &refs)?;
        }
        m.end()
    }
}

/// A resource's `EntityRef` in OTLP/JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntityRefDoc<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    schema_url: &'a str,
    r#type: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    id_keys: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    description_keys: &'a [String],
}

/// An `InstrumentationScope` in OTLP/JSON.
struct ScopeDoc<'a>(&'a InstrumentationScope);

impl Serialize for ScopeDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sc = self.0;
        let mut m = s.serialize_map(None)?;
        if !sc.name.is_empty() {
            m.serialize_entry("name", &sc.name)?;
        }
        if !sc.version.is_empty() {
            m.serialize_entry("version", &sc.version)?;
        }
        if !sc.attributes.is_empty() {
            m.serialize_entry("attributes", &Attrs(&sc.attributes))?;
        }
        if sc.dropped_attributes_count > 0 {
            m.serialize_entry("droppedAttributesCount", &sc.dropped_attributes_count)?;
        }
        m.end()
    }
}

/// A `LogRecord` in OTLP/JSON, in the proto's field order.
struct RecordDoc<'a>(&'a LogRecord);

impl Serialize for RecordDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        if r.time_unix_nano > 0 {
            m.serialize_entry("timeUnixNano", &r.time_unix_nano.to_string())?;
        }
        if r.observed_time_unix_nano > 0 {
            m.serialize_entry(
                "observedTimeUnixNano",
                &r.observed_time_unix_nano.to_string(),
            )?;
        }
        if r.severity_number != 0 {
            m.serialize_entry("severityNumber", &r.severity_number)?;
        }
        if !r.severity_text.is_empty() {
            m.serialize_entry("severityText", &r.severity_text)?;
        }
        if let Some(body) = &r.body {
            m.serialize_entry("body", &AnyDoc(body))?;
        }
        if !r.attributes.is_empty() {
            m.serialize_entry("attributes", &Attrs(&r.attributes))?;
        }
        if r.dropped_attributes_count > 0 {
            m.serialize_entry("droppedAttributesCount", &r.dropped_attributes_count)?;
        }
        if r.flags > 0 {
            m.serialize_entry("flags", &r.flags)?;
        }
        if !r.trace_id.is_empty() {
            m.serialize_entry("traceId", &hex(&r.trace_id))?;
        }
        if !r.span_id.is_empty() {
            m.serialize_entry("spanId", &hex(&r.span_id))?;
        }
        if !r.event_name.is_empty() {
            m.serialize_entry("eventName", &r.event_name)?;
        }
        m.end()
    }
}

/// A list of `KeyValue`s.
struct Attrs<'a>(&'a [KeyValue]);

impl Serialize for Attrs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(KvDoc))
    }
}

/// `{"key": …, "value": AnyValue}`.
struct KvDoc<'a>(&'a KeyValue);

impl Serialize for KvDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("key", &self.0.key)?;
        if let Some(v) = &self.0.value {
            m.serialize_entry("value", &AnyDoc(v))?;
        }
        m.end()
    }
}

/// An `AnyValue`: one typed key (`stringValue`, `intValue` as a decimal string, …), or `{}`
/// when empty.
struct AnyDoc<'a>(&'a AnyValue);

impl Serialize for AnyDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match &self.0.value {
            Some(AnyKind::StringValue(v)) => m.serialize_entry("stringValue", v)?,
            Some(AnyKind::BoolValue(v)) => m.serialize_entry("boolValue", v)?,
            Some(AnyKind::IntValue(v)) => m.serialize_entry("intValue", &v.to_string())?,
            Some(AnyKind::DoubleValue(v)) if v.is_finite() => {
                m.serialize_entry("doubleValue", v)?
            }
            Some(AnyKind::DoubleValue(v)) => {
                let text = if v.is_nan() {
                    "NaN"
                } else if *v > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                };
                m.serialize_entry("doubleValue", text)?
            }
            Some(AnyKind::ArrayValue(a)) => m.serialize_entry("arrayValue", &Values(&a.values))?,
            Some(AnyKind::KvlistValue(kv)) => {
                m.serialize_entry("kvlistValue", &KvList(&kv.values))?
            }
            Some(AnyKind::BytesValue(b)) => m.serialize_entry("bytesValue", &STANDARD.encode(b))?,
            // Profiling-only string-table reference: meaningless for logs (the spec says
            // to treat it as empty).
            Some(AnyKind::StringValueStrindex(_)) | None => {}
        }
        m.end()
    }
}

/// `{"values": [AnyValue…]}`.
struct Values<'a>(&'a [AnyValue]);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("values", &AnyList(self.0))?;
        m.end()
    }
}

struct AnyList<'a>(&'a [AnyValue]);

impl Serialize for AnyList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(AnyDoc))
    }
}

/// `{"values": [KeyValue…]}`.
struct KvList<'a>(&'a [KeyValue]);

impl Serialize for KvList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("values", &Attrs(self.0))?;
        m.end()
    }
}

/// Lower-case hex, as OTLP/JSON writes trace and span ids.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, EntityRef, KeyValueList};
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};

    fn kv(key: &str, value: AnyKind) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    #[test]
    fn each_record_is_a_lossless_otlp_json_document() {
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", AnyKind::StringValue("api".into()))],
                    entity_refs: vec![EntityRef {
                        r#type: "service".into(),
                        id_keys: vec!["service.name".into()],
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "lib".into(),
                        version: "1.2".into(),
                        ..Default::default()
                    }),
                    log_records: vec![
                        LogRecord {
                            time_unix_nano: 1_764_150_000_123_456_789,
                            severity_number: 9,
                            severity_text: "INFO".into(),
                            body: Some(AnyValue {
                                value: Some(AnyKind::StringValue("hello".into())),
                            }),
                            attributes: vec![
                                kv("n", AnyKind::IntValue(-9_007_199_254_740_993)),
                                kv("d", AnyKind::DoubleValue(-0.5)),
                                kv("b", AnyKind::BytesValue(vec![0xde, 0xad])),
                                kv(
                                    "a",
                                    AnyKind::ArrayValue(ArrayValue {
                                        values: vec![AnyValue {
                                            value: Some(AnyKind::BoolValue(true)),
                                        }],
                                    }),
                                ),
                                kv(
                                    "m",
                                    AnyKind::KvlistValue(KeyValueList {
                                        values: vec![kv("x", AnyKind::DoubleValue(1.5))],
                                    }),
                                ),
                            ],
                            flags: 1,
                            trace_id: vec![0xab; 16],
                            span_id: vec![0x01; 8],
                            ..Default::default()
                        },
                        LogRecord::default(),
                    ],
                    schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
                }],
                schema_url: String::new(),
            }],
        };
        let split = split_records(&request, 1 << 20);
        assert_eq!(split.rejected, 0);
        let docs: Vec<String> = split
            .records
            .into_iter()
            .map(|d| String::from_utf8(d).unwrap())
            .collect();
        assert_eq!(
            docs,
            [
                concat!(
                    r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}],"#,
                    r#""entityRefs":[{"type":"service","idKeys":["service.name"]}]},"#,
                    r#""scopeLogs":[{"scope":{"name":"lib","version":"1.2"},"logRecords":[{"timeUnixNano":"1764150000123456789","#,
                    r#""severityNumber":9,"severityText":"INFO","body":{"stringValue":"hello"},"attributes":["#,
                    r#"{"key":"n","value":{"intValue":"-9007199254740993"}},{"key":"d","value":{"doubleValue":-0.5}},"#,
                    r#"{"key":"b","value":{"bytesValue":"3q0="}},{"key":"a","value":{"arrayValue":{"values":[{"boolValue":true}]}}},"#,
                    r#"{"key":"m","value":{"kvlistValue":{"values":[{"key":"x","value":{"doubleValue":1.5}}]}}}],"#,
                    r#""flags":1,"traceId":"abababababababababababababababab","spanId":"0101010101010101"}],"#,
                    r#""schemaUrl":"https://opentelemetry.io/schemas/1.26.0"}]}]}"#
                ),
                concat!(
                    r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}],"#,
                    r#""entityRefs":[{"type":"service","idKeys":["service.name"]}]},"#,
                    r#""scopeLogs":[{"scope":{"name":"lib","version":"1.2"},"logRecords":[{}],"#,
                    r#""schemaUrl":"https://opentelemetry.io/schemas/1.26.0"}]}]}"#
                ),
            ]
        );
        // Read back with the OTLP/JSON decoder, the first document holds what was sent.
        // (Its `EntityRef` decoder wants every field present, so the resource is compared
        // by attributes.)
        let doc: serde_json::Value = serde_json::from_str(&docs[0]).unwrap();
        let rl = &doc["resourceLogs"][0];
        let sl = &request.resource_logs[0].scope_logs[0];
        let record: LogRecord =
            serde_json::from_value(rl["scopeLogs"][0]["logRecords"][0].clone()).unwrap();
        assert_eq!(record, sl.log_records[0]);
        let scope: InstrumentationScope =
            serde_json::from_value(rl["scopeLogs"][0]["scope"].clone()).unwrap();
        assert_eq!(Some(scope), sl.scope);
        let attrs: Vec<KeyValue> =
            serde_json::from_value(rl["resource"]["attributes"].clone()).unwrap();
        assert_eq!(
            Some(attrs),
            request.resource_logs[0]
                .resource
                .as_ref()
                .map(|r| r.attributes.clone())
        );
    }

    #[test]
    fn non_finite_doubles_are_written_as_proto3_json_strings() {
        let doc = |v: f64| {
            serde_json::to_string(&AnyDoc(&AnyValue {
                value: Some(AnyKind::DoubleValue(v)),
            }))
            .unwrap()
        };
        assert_eq!(doc(f64::NAN), r#"{"doubleValue":"NaN"}"#);
        assert_eq!(doc(f64::INFINITY), r#"{"doubleValue":"Infinity"}"#);
        assert_eq!(doc(f64::NEG_INFINITY), r#"{"doubleValue":"-Infinity"}"#);
        assert_eq!(
            serde_json::to_string(&AnyDoc(&AnyValue { value: None })).unwrap(),
            "{}"
        );
    }

    #[test]
    fn records_over_the_limit_are_counted_and_located() {
        let big = LogRecord {
            body: Some(AnyValue {
                value: Some(AnyKind::StringValue("x".repeat(200))),
            }),
            ..Default::default()
        };
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord::default(), big.clone(), big],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let split = split_records(&request, 100);
        assert_eq!(
            split.records,
            vec![br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]}"#.to_vec()]
        );
        assert_eq!(split.rejected, 2);
        assert_eq!(
            split.first_rejected,
            Some(("resourceLogs[0].scopeLogs[0].logRecords[1]".into(), 279))
        );
    }
}
