//! OTLP/HTTP logs: protobuf and JSON requests driven in-process (exact statuses, response
//! messages, and the entries stored), the stored documents normalized by the `otlp` format,
//! `/metrics` after known traffic, and the OpenTelemetry Python SDK exporting to a real
//! `serve` on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::io::Write;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use evident_ledger::{Entry, EntryKind};
use evident_model::Format;
use evident_server::{DataDir, Evident, Intake, app_with_intake};
use evident_sources::{ParseContext, Parser};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyKind;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use serde_json::{Value, json};
use tower::ServiceExt;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

struct Fixture {
    _dir: tempfile::TempDir,
    node: Arc<Evident>,
    intake: Intake,
    token: String,
}

fn fixture(edit_config: impl FnOnce(&mut String)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/otlp").unwrap();
    let mut cfg = std::fs::read_to_string(data.config_path()).unwrap();
    edit_config(&mut cfg);
    std::fs::write(data.config_path(), cfg).unwrap();
    let node = Evident::open(&data).unwrap();
    let token = node
        .db
        .add_source(&"otel".parse().unwrap(), Format::Otlp)
        .unwrap();
    let intake = Intake::new(node.config.ingest.queue_records);
    Fixture {
        _dir: dir,
        node: Arc::new(node),
        intake,
        token,
    }
}

impl Fixture {
    fn router(&self) -> Router {
        app_with_intake(self.node.clone(), self.intake.clone())
            .layer(MockConnectInfo(SocketAddr::from(([10, 0, 0, 9], 4318))))
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let resp = self.router().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, headers, body)
    }

    /// POSTs to /v1/logs with the token, a content type and optional encoding.
    async fn export(
        &self,
        content_type: &str,
        encoding: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::post("/v1/logs")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, content_type);
        if let Some(e) = encoding {
            req = req.header(header::CONTENT_ENCODING, e);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    /// Every log entry's body, parsed.
    fn documents(&self) -> Vec<Value> {
        log_entries(&self.node)
            .iter()
            .map(|e| serde_json::from_slice(&e.body).unwrap())
            .collect()
    }
}

/// The log entries (not Evident's own audit entries, which the server seals into the same
/// ledger whenever it likes).
fn log_entries(node: &Evident) -> Vec<Entry> {
    (0..node.ledger.size())
        .map(|i| node.ledger.entry(i).unwrap())
        .filter(|e| e.kind == EntryKind::Log)
        .collect()
}

impl Fixture {}

fn kv(key: &str, value: AnyKind) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn text(s: &str) -> AnyKind {
    AnyKind::StringValue(s.into())
}

/// Two services; `checkout` logs two records through one scope, `auth` one.
fn request() -> ExportLogsServiceRequest {
    let record = |t: u64, sev: i32, body: &str, attrs: Vec<KeyValue>| LogRecord {
        time_unix_nano: t,
        observed_time_unix_nano: t + 1_000,
        severity_number: sev,
        severity_text: match sev {
            9 => "INFO".into(),
            _ => "ERROR".into(),
        },
        body: Some(AnyValue {
            value: Some(text(body)),
        }),
        attributes: attrs,
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![
            ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", text("checkout"))],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "checkout.http".into(),
                        ..Default::default()
                    }),
                    log_records: vec![
                        record(
                            1_764_150_000_000_000_000,
                            9,
                            "ok",
                            vec![kv("http.response.status_code", AnyKind::IntValue(200))],
                        ),
                        LogRecord {
                            trace_id: vec![0x5b; 16],
                            span_id: vec![0xee; 8],
                            flags: 1,
                            ..record(
                                1_764_150_001_000_000_000,
                                17,
                                "declined",
                                vec![kv("http.response.status_code", AnyKind::IntValue(402))],
                            )
                        },
                    ],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            },
            ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", text("auth"))],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records: vec![record(1_764_150_002_000_000_000, 9, "login", vec![])],
                    ..Default::default()
                }],
                schema_url: String::new(),
            },
        ],
    }
}

/// The three documents `request()` becomes, one per record.
fn expected_documents() -> Vec<Value> {
    vec![
        json!({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
            "scopeLogs":[{"scope":{"name":"checkout.http"},"logRecords":[{
                "timeUnixNano":"1764150000000000000","observedTimeUnixNano":"1764150000000001000",
                "severityNumber":9,"severityText":"INFO","body":{"stringValue":"ok"},
                "attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}}]}]}]}]}),
        json!({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
            "scopeLogs":[{"scope":{"name":"checkout.http"},"logRecords":[{
                "timeUnixNano":"1764150001000000000","observedTimeUnixNano":"1764150001000001000",
                "severityNumber":17,"severityText":"ERROR","body":{"stringValue":"declined"},
                "attributes":[{"key":"http.response.status_code","value":{"intValue":"402"}}],
                "flags":1,"traceId":"5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b","spanId":"eeeeeeeeeeeeeeee"}]}]}]}),
        json!({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"auth"}}]},
            "scopeLogs":[{"logRecords":[{
                "timeUnixNano":"1764150002000000000","observedTimeUnixNano":"1764150002000001000",
                "severityNumber":9,"severityText":"INFO","body":{"stringValue":"login"}}]}]}]}),
    ]
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn protobuf_records_become_one_entry_each_with_a_protobuf_answer() {
    let f = fixture(|_| {});
    let (status, headers, body) = f.export(PROTOBUF, None, request().encode_to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], PROTOBUF);
    assert_eq!(
        ExportLogsServiceResponse::decode(body.as_slice()).unwrap(),
        ExportLogsServiceResponse {
            partial_success: None
        }
    );
    assert_eq!(f.documents(), expected_documents());
    let e = log_entries(&f.node).remove(1);
    assert_eq!(e.source, "otel");
    assert_eq!(
        e.metadata,
        [
            ("receiver", "otlp"),
            ("peer", "10.0.0.9:4318"),
            ("credential", "ingest-token:1"),
            ("format", "otlp"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
}

#[tokio::test]
async fn json_gzip_and_deflate_bodies_store_the_same_documents() {
    let f = fixture(|_| {});
    // The request in OTLP/JSON, written as a client would (int64 as strings, hex ids).
    let json_body = serde_json::to_vec(&json!({"resourceLogs":[
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
         "scopeLogs":[{"scope":{"name":"checkout.http"},"logRecords":[
            {"timeUnixNano":"1764150000000000000","observedTimeUnixNano":"1764150000000001000",
             "severityNumber":9,"severityText":"INFO","body":{"stringValue":"ok"},
             "attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}}]},
            {"timeUnixNano":"1764150001000000000","observedTimeUnixNano":"1764150001000001000",
             "severityNumber":17,"severityText":"ERROR","body":{"stringValue":"declined"},
             "attributes":[{"key":"http.response.status_code","value":{"intValue":402}}],
             "flags":1,"traceId":"5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B","spanId":"eeeeeeeeeeeeeeee"}]}]},
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"auth"}}]},
         "scopeLogs":[{"logRecords":[
            {"timeUnixNano":"1764150002000000000","observedTimeUnixNano":"1764150002000001000",
             "severityNumber":9,"severityText":"INFO","body":{"stringValue":"login"}}]}]}]}))
    .unwrap();
    let (status, headers, body) = f.export(JSON, None, json_body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], JSON);
    assert_eq!(body, b"{}");
    let (status, _, body) = f.export(JSON, Some("gzip"), gzip(&json_body)).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"{}"[..]));
    let (status, _, _) = f
        .export(
            PROTOBUF,
            Some("deflate"),
            deflate(&request().encode_to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let want = expected_documents();
    assert_eq!(f.documents(), [&want[..], &want[..], &want[..]].concat());
}

#[tokio::test]
async fn stored_documents_normalize_to_api_activity_per_record() {
    let f = fixture(|_| {});
    f.export(PROTOBUF, None, request().encode_to_vec()).await;
    let mut parser = Parser::new(Format::Otlp);
    /// Product, time, severity id, status id, correlation id.
    type Seen = (String, i64, u64, Option<u64>, Option<String>);
    let seen: Vec<Seen> = log_entries(&f.node)
        .into_iter()
        .map(|entry| {
            let ctx = ParseContext::new("otel", entry.received_at_ns);
            let mut events = parser.parse(&entry.body, &ctx).unwrap();
            assert_eq!(events.len(), 1);
            let e = events.remove(0);
            assert_eq!(e.get("class_uid"), Some(&json!(6003)));
            (
                e.get_str("metadata.product.name").unwrap().to_owned(),
                e.time_ms().unwrap(),
                e.get("severity_id").unwrap().as_u64().unwrap(),
                e.get("status_id").and_then(Value::as_u64),
                e.get_str("metadata.correlation_uid").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("checkout".into(), 1_764_150_000_000, 1, Some(1), None),
            (
                "checkout".into(),
                1_764_150_001_000,
                4,
                Some(2),
                Some("5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b".into())
            ),
            ("auth".into(), 1_764_150_002_000, 1, None, None),
        ]
    );
}

#[tokio::test]
async fn records_over_the_limit_are_refused_as_a_partial_success() {
    let f = fixture(|c| {
        *c = c.replace("max_record_bytes = 1048576", "max_record_bytes = 600");
    });
    let mut req = request();
    req.resource_logs[0].scope_logs[0].log_records[1].body = Some(AnyValue {
        value: Some(text(&"x".repeat(600))),
    });
    let (status, _, body) = f.export(PROTOBUF, None, req.encode_to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    let resp = ExportLogsServiceResponse::decode(body.as_slice()).unwrap();
    let partial = resp.partial_success.unwrap();
    assert_eq!(partial.rejected_log_records, 1);
    assert_eq!(
        partial.error_message,
        "1 log record(s) exceed the record limit of 600 bytes and were not stored (the first, resourceLogs[0].scopeLogs[0].logRecords[1], is 1084 bytes)"
    );
    let want = expected_documents();
    assert_eq!(f.documents(), [want[0].clone(), want[2].clone()]);
    // The same in OTLP/JSON: int64 as a string.
    let json_body = serde_json::to_vec(&json!({"resourceLogs":[{"scopeLogs":[{"logRecords":[
        {"body":{"stringValue":"x".repeat(600)}}]}]}]}))
    .unwrap();
    let (status, _, body) = f.export(JSON, None, json_body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"partialSuccess": {"rejectedLogRecords": "1", "errorMessage":
            "1 log record(s) exceed the record limit of 600 bytes and were not stored (the first, resourceLogs[0].scopeLogs[0].logRecords[0], is 679 bytes)"}})
    );
    assert_eq!(log_entries(&f.node).len(), 2);
}

#[tokio::test]
async fn bad_requests_get_a_status_in_their_encoding_and_store_nothing() {
    let f = fixture(|_| {});
    let status_of = |body: &[u8], json: bool| -> (i64, String) {
        if json {
            let v: Value = serde_json::from_slice(body).unwrap();
            (
                v["code"].as_i64().unwrap(),
                v["message"].as_str().unwrap().to_owned(),
            )
        } else {
            // google.rpc.Status: code (1, varint), message (2, string).
            #[derive(Clone, PartialEq, prost::Message)]
            struct Status {
                #[prost(int32, tag = "1")]
                code: i32,
                #[prost(string, tag = "2")]
                message: String,
            }
            let s = Status::decode(body).unwrap();
            (i64::from(s.code), s.message)
        }
    };
    // No token, wrong token.
    let req = Request::post("/v1/logs")
        .header(header::CONTENT_TYPE, PROTOBUF)
        .body(Body::from(request().encode_to_vec()))
        .unwrap();
    let (status, headers, body) = f.send(req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(
        status_of(&body, false),
        (
            16,
            "send the source's ingest token as `Authorization: Bearer <token>`".into()
        )
    );
    let req = Request::post("/v1/logs")
        .header(header::CONTENT_TYPE, JSON)
        .header(header::AUTHORIZATION, "Bearer evd_wrong")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _, body) = f.send(req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status_of(&body, true),
        (16, "the token is not a live ingest token".into())
    );
    // Unsupported media type and encoding.
    let (status, _, body) = f.export("text/plain", None, b"hi".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        status_of(&body, true),
        (
            3,
            "Content-Type \"text/plain\" is not supported; use application/x-protobuf or application/json".into()
        )
    );
    let (status, _, body) = f.export(JSON, Some("zstd"), b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        status_of(&body, true).1,
        "Content-Encoding \"zstd\" is not supported; use gzip, deflate or none"
    );
    // Undecodable bodies.
    let (status, _, body) = f.export(PROTOBUF, None, vec![0x0a, 0xff]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (code, message) = status_of(&body, false);
    assert_eq!(code, 3);
    assert!(
        message.starts_with("not a valid protobuf ExportLogsServiceRequest: "),
        "{message}"
    );
    let (status, _, body) = f
        .export(
            JSON,
            None,
            br#"{"resourceLogs":[{"scopeLogs":7}]}"#.to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        status_of(&body, true).1,
        "not a valid OTLP/JSON ExportLogsServiceRequest: invalid type: integer `7`, expected a sequence at line 1 column 31"
    );
    let (status, _, body) = f.export(PROTOBUF, Some("gzip"), b"not gzip".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        status_of(&body, false).1,
        "Content-Encoding is gzip but the body does not start with the gzip magic bytes"
    );
    // An empty request is a success with nothing stored.
    let (status, _, body) = f.export(JSON, None, b"{}".to_vec()).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"{}"[..]));
    assert_eq!(log_entries(&f.node).len(), 0);
}

#[tokio::test]
async fn a_full_intake_is_a_retryable_503_then_recovers() {
    let f = fixture(|c| *c = c.replace("queue_records = 500000", "queue_records = 4"));
    let held = f.intake.try_admit(4).unwrap();
    let (status, headers, _) = f.export(PROTOBUF, None, request().encode_to_vec()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert_eq!(log_entries(&f.node).len(), 0);
    drop(held);
    let (status, _, _) = f.export(PROTOBUF, None, request().encode_to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log_entries(&f.node).len(), 3);
    let api = f
        .node
        .db
        .create_api_token("prometheus", evident_model::Role::Analyst, None)
        .unwrap();
    let (_, _, text) = f
        .send(
            Request::get("/metrics")
                .header(header::AUTHORIZATION, format!("Bearer {api}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let text = String::from_utf8(text).unwrap();
    let otlp: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains(r#"receiver="otlp""#)
                || l.starts_with("evident_requests_rejected_total{reason=\"overloaded\"}")
        })
        .collect();
    assert_eq!(
        otlp,
        [
            r#"evident_receiver_records_total{receiver="otlp",outcome="received"} 6"#,
            r#"evident_receiver_records_total{receiver="otlp",outcome="stored"} 3"#,
            r#"evident_receiver_records_total{receiver="otlp",outcome="rejected"} 3"#,
            r#"evident_receiver_records_total{receiver="otlp",outcome="dropped"} 0"#,
            r#"evident_requests_rejected_total{reason="overloaded"} 1"#,
        ]
    );
    let intake: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("evident_intake"))
        .collect();
    assert_eq!(
        intake,
        [
            "evident_intake_available_permits 4",
            "evident_intake_capacity 4"
        ]
    );
}

/// A real server on 127.0.0.1:0 in its own runtime, stopped on drop.
struct Server {
    addr: SocketAddr,
    node: Arc<Evident>,
    token: String,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        data.init("evident.test/otlp").unwrap();
        let node = Evident::open(&data).unwrap();
        let token = node
            .db
            .add_source(&"otel".parse().unwrap(), Format::Otlp)
            .unwrap();
        let node = Arc::new(node);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let n = node.clone();
        let thread = std::thread::spawn(move || {
            rt.block_on(evident_server::serve(n, listener, async {
                let _ = stopped.await;
            }))
            .unwrap();
        });
        Server {
            addr,
            node,
            token,
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Are the OpenTelemetry Python SDK and its OTLP/HTTP exporter installed? Without them the
/// test is skipped, unless `EVIDENT_REQUIRE_TOOLS=1` (CI).
fn have_python_otel() -> bool {
    let found = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.sdk._logs, opentelemetry.exporter.otlp.proto.http._log_exporter",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let msg = "skipped: opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http (python3) not installed";
        if std::env::var("EVIDENT_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{msg}");
        }
        eprintln!("{msg}");
    }
    found
}

/// Emits N records through the SDK's batch processor and gzip OTLP/HTTP exporter, the
/// second half inside a sampled span context, then shuts down (flushing everything).
const EXPORT_SCRIPT: &str = r#"
import sys
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import attach
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

endpoint, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
provider = LoggerProvider(resource=Resource.create({"service.name": "checkout", "service.version": "2.4.1"}))
exporter = OTLPLogExporter(endpoint=endpoint, headers={"Authorization": "Bearer " + token}, compression=Compression.Gzip)
provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
logger = provider.get_logger("checkout.payments", "1.0")
span = SpanContext(trace_id=0x5b8efff798038103d269b633813fc60c, span_id=0xeee19b7ec3c1b174, is_remote=False, trace_flags=TraceFlags(1))
for i in range(n):
    if i == n // 2:
        attach(set_span_in_context(NonRecordingSpan(span)))
    logger.emit(
        timestamp=1764150000000000000 + i * 1000000,
        severity_number=SeverityNumber.WARN if i % 2 else SeverityNumber.INFO,
        severity_text="WARN" if i % 2 else "INFO",
        body="payment %d" % i,
        attributes={"order.id": i, "http.request.method": "POST", "ratio": i / 4, "retry": i % 3 == 0},
    )
ok = provider.force_flush(10000)
provider.shutdown()
print("flushed" if ok else "not flushed")
"#;

#[test]
fn the_opentelemetry_python_sdk_exports_every_record_exactly_once() {
    if !have_python_otel() {
        return;
    }
    const N: usize = 25;
    let s = Server::start();
    let script = s.dir.path().join("export.py");
    std::fs::write(&script, EXPORT_SCRIPT).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(format!("http://{}/v1/logs", s.addr))
        .arg(&s.token)
        .arg(N.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed: {stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "flushed",
        "{stderr}"
    );
    let entries = log_entries(&s.node);
    assert_eq!(entries.len(), N);

    let mut parser = Parser::new(Format::Otlp);
    for (i, entry) in entries.into_iter().enumerate() {
        assert_eq!(entry.source, "otel");
        assert_eq!(entry.meta("receiver"), Some("otlp"));
        let doc: Value = serde_json::from_slice(&entry.body).unwrap();
        let rl = &doc["resourceLogs"][0];
        let resource: Vec<(&str, &Value)> = rl["resource"]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| (kv["key"].as_str().unwrap(), &kv["value"]))
            .collect();
        assert!(resource.contains(&("service.name", &json!({"stringValue": "checkout"}))));
        assert!(resource.contains(&("service.version", &json!({"stringValue": "2.4.1"}))));
        assert!(resource.contains(&("telemetry.sdk.language", &json!({"stringValue": "python"}))));
        assert_eq!(
            rl["scopeLogs"][0]["scope"],
            json!({"name": "checkout.payments", "version": "1.0"})
        );
        let record = &rl["scopeLogs"][0]["logRecords"][0];
        let sampled = i >= N / 2;
        assert_eq!(
            record["timeUnixNano"],
            (1_764_150_000_000_000_000u64 + i as u64 * 1_000_000).to_string()
        );
        assert!(
            record["observedTimeUnixNano"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                > 0
        );
        assert_eq!(record["severityNumber"], if i % 2 == 1 { 13 } else { 9 });
        assert_eq!(
            record["severityText"],
            if i % 2 == 1 { "WARN" } else { "INFO" }
        );
        assert_eq!(
            record["body"],
            json!({"stringValue": format!("payment {i}")})
        );
        assert_eq!(
            record["attributes"],
            json!([
                {"key": "order.id", "value": {"intValue": i.to_string()}},
                {"key": "http.request.method", "value": {"stringValue": "POST"}},
                {"key": "ratio", "value": {"doubleValue": i as f64 / 4.0}},
                {"key": "retry", "value": {"boolValue": i % 3 == 0}},
            ])
        );
        if sampled {
            assert_eq!(record["traceId"], "5b8efff798038103d269b633813fc60c");
            assert_eq!(record["spanId"], "eee19b7ec3c1b174");
            assert_eq!(record["flags"], 1);
        } else {
            assert_eq!(record.get("traceId"), None);
            assert_eq!(record.get("spanId"), None);
        }
        // And the stored document normalizes.
        let ctx = ParseContext::new("otel", entry.received_at_ns);
        let e = parser.parse(&entry.body, &ctx).unwrap().remove(0);
        assert_eq!(e.get_str("message"), Some(format!("payment {i}").as_str()));
        assert_eq!(e.get_str("metadata.product.name"), Some("checkout"));
        assert_eq!(e.get_str("http_request.http_method"), Some("POST"));
        assert_eq!(e.get("unmapped.attributes").unwrap()["order.id"], json!(i));
    }
}
