//! `evident bench otlp`: OTLP/HTTP logs ingest (`POST /v1/logs`), OTLP/JSON and binary
//! protobuf, N concurrent clients, each request answered after its records are fsynced in
//! the ledger; against SHA-256 of the same request bytes in the same run.
//!
//! The protobuf bodies are encoded here by hand (a few length-delimited fields of
//! `ExportLogsServiceRequest`), so the binary needs no protobuf library for a benchmark;
//! the server decodes them with `opentelemetry-proto`, and the run fails unless it stored
//! every record.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use evident_model::Format;
use evident_server::{DataDir, Evident};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::bench_all::{Row, percentile_ms};

/// `evident bench otlp` options.
#[derive(Args, Clone)]
pub(crate) struct OtlpBench {
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    pub(crate) clients: usize,
    /// Log records to send per encoding.
    #[arg(long, default_value_t = 500_000)]
    pub(crate) events: usize,
    /// Log records per request.
    #[arg(long, default_value_t = 1_000)]
    pub(crate) batch: usize,
    /// Bytes of each record's body string.
    #[arg(long, default_value_t = 512)]
    pub(crate) body_bytes: usize,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The two OTLP/HTTP encodings.
#[derive(Clone, Copy)]
enum Encoding {
    Json,
    Protobuf,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Protobuf => "protobuf",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Protobuf => "application/x-protobuf",
        }
    }
}

/// Sends the records once per encoding, each into a fresh data directory.
pub(crate) fn measure(args: &OtlpBench) -> anyhow::Result<Value> {
    let batch = args.batch.max(1);
    let mut runs = Vec::new();
    for encoding in [Encoding::Json, Encoding::Protobuf] {
        runs.push(one_encoding(
            encoding,
            args.clients.max(1),
            args.events,
            batch,
            args.body_bytes,
        )?);
    }
    Ok(json!({
        "scenario": "otlp-ingest",
        "clients": args.clients.max(1), "events": args.events, "batch": batch,
        "body_bytes": args.body_bytes,
        "runs": runs,
    }))
}

/// The summary rows `bench all` prints for this report: one per encoding.
pub(crate) fn rows(r: &Value) -> Vec<Row> {
    r["runs"]
        .as_array()
        .map(|runs| {
            runs.iter()
                .map(|run| Row {
                    scenario: format!("otlp {}", run["encoding"].as_str().unwrap_or("?")),
                    value: format!(
                        "{:.0} events/s, {:.1} MB/s",
                        run["events_per_sec"].as_f64().unwrap_or(0.0),
                        run["mb_per_sec"].as_f64().unwrap_or(0.0)
                    ),
                    baseline: format!(
                        "SHA-256 {:.0} MB/s",
                        run["baseline_sha256_mb_per_sec"].as_f64().unwrap_or(0.0)
                    ),
                    ratio: run["ratio_to_sha256"].as_f64(),
                    budget: "-".into(),
                    pass: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn print(r: &Value) {
    println!(
        "OTLP/HTTP logs ingest: {} records of {} B bodies per encoding, {} clients, {}/request, acknowledged after fsync",
        r["events"], r["body_bytes"], r["clients"], r["batch"]
    );
    println!(
        "  {:<9} {:>12} {:>8} {:>9} {:>9} {:>12} {:>6}",
        "encoding", "events/s", "MB/s", "p50 ms", "p99 ms", "SHA-256 MB/s", "ratio"
    );
    for run in r["runs"].as_array().into_iter().flatten() {
        println!(
            "  {:<9} {:>12.0} {:>8.1} {:>9.1} {:>9.1} {:>12.1} {:>6.3}",
            run["encoding"].as_str().unwrap_or("?"),
            run["events_per_sec"].as_f64().unwrap_or(0.0),
            run["mb_per_sec"].as_f64().unwrap_or(0.0),
            run["latency_ms"]["p50"].as_f64().unwrap_or(0.0),
            run["latency_ms"]["p99"].as_f64().unwrap_or(0.0),
            run["baseline_sha256_mb_per_sec"].as_f64().unwrap_or(0.0),
            run["ratio_to_sha256"].as_f64().unwrap_or(0.0),
        );
    }
}

fn one_encoding(
    encoding: Encoding,
    clients: usize,
    events: usize,
    batch: usize,
    body_bytes: usize,
) -> anyhow::Result<Value> {
    let dir = tempfile::Builder::new()
        .prefix("evident-bench-otlp-")
        .tempdir()
        .context("temp dir")?;
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.local/bench-otlp")?;
    let node = Evident::open(&data)?;
    let token = node.db.add_source(&"otel".parse()?, Format::Otlp)?;
    let before = node.ledger.size();

    // Bodies are built before the clock starts: we measure the server, not the client.
    let bodies: Vec<Vec<u8>> = (0..events.div_ceil(batch))
        .map(|b| {
            let range = b * batch..(b * batch + batch).min(events);
            match encoding {
                Encoding::Json => json_request(range, body_bytes),
                Encoding::Protobuf => protobuf_request(range, body_bytes),
            }
        })
        .collect();
    let payload_bytes: usize = bodies.iter().map(Vec::len).sum();
    let started = Instant::now();
    for body in &bodies {
        std::hint::black_box(Sha256::digest(body));
    }
    let sha_secs = started.elapsed().as_secs_f64();

    let node = Arc::new(node);
    let rt = tokio::runtime::Runtime::new()?;
    let (elapsed, mut latencies) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(evident_server::serve(node.clone(), listener, async {
            let _ = stop_rx.await;
        }));
        let url = format!("http://{addr}/v1/logs");
        let result = post_all(&url, &token, encoding.content_type(), bodies, clients).await;
        let _ = stop_tx.send(());
        server.await??;
        result
    })?;
    let stored = node.receivers.stats("otlp").snapshot().stored;
    anyhow::ensure!(
        stored == events as u64,
        "the OTLP receiver stored {stored} of {events} records"
    );
    let in_ledger = node.ledger.size() - before;
    anyhow::ensure!(
        in_ledger >= events as u64,
        "the ledger grew by {in_ledger} entries for {events} records"
    );
    latencies.sort();
    let secs = elapsed.as_secs_f64();
    let mbps = payload_bytes as f64 / secs / 1e6;
    let sha_mbps = payload_bytes as f64 / sha_secs / 1e6;
    Ok(json!({
        "encoding": encoding.name(),
        "requests": latencies.len(),
        "stored": stored,
        "payload_bytes": payload_bytes,
        "seconds": secs,
        "events_per_sec": events as f64 / secs,
        "mb_per_sec": mbps,
        "latency_ms": {"p50": percentile_ms(&latencies, 0.5), "p99": percentile_ms(&latencies, 0.99),
                       "max": percentile_ms(&latencies, 1.0)},
        "baseline_sha256_mb_per_sec": sha_mbps,
        "ratio_to_sha256": mbps / sha_mbps,
    }))
}

/// Posts every body with `clients` concurrent clients (a 503 is retried after 50 ms);
/// returns the wall time and each request's latency.
async fn post_all(
    url: &str,
    token: &str,
    content_type: &'static str,
    bodies: Vec<Vec<u8>>,
    clients: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let client = reqwest::Client::new();
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, token, bodies, next) = (
            client.clone(),
            url.to_owned(),
            token.to_owned(),
            bodies.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while let Some(body) = bodies.get(next.fetch_add(1, Ordering::Relaxed)) {
                loop {
                    let t = Instant::now();
                    let resp = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", content_type)
                        .body(body.clone())
                        .send()
                        .await?;
                    let status = resp.status();
                    if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    let answer = resp.bytes().await?;
                    anyhow::ensure!(
                        status.is_success(),
                        "OTLP export failed: {status} {}",
                        String::from_utf8_lossy(&answer)
                    );
                    lat.push(t.elapsed());
                    break;
                }
            }
            anyhow::Ok(lat)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    Ok((started.elapsed(), latencies))
}

/// Fields of one generated log record.
struct Record {
    time_ns: u64,
    body: String,
    request_id: String,
    trace_id: [u8; 16],
    span_id: [u8; 8],
}

fn record(i: usize, body_bytes: usize) -> Record {
    let mut body = format!("payment {i} authorized for order ord-{i:010} ");
    body.extend(std::iter::repeat_n(
        'x',
        body_bytes.saturating_sub(body.len()),
    ));
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&(i as u64).to_be_bytes());
    trace_id[8..].copy_from_slice(&0x5b8e_fff7_9803_8103u64.to_be_bytes());
    Record {
        time_ns: 1_764_150_000_000_000_000 + i as u64 * 1_000,
        body,
        request_id: format!("req-{i:012}"),
        trace_id,
        span_id: ((i as u64) | 1 << 63).to_be_bytes(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An OTLP/JSON `ExportLogsServiceRequest` with the records `range`.
fn json_request(range: std::ops::Range<usize>, body_bytes: usize) -> Vec<u8> {
    let records: Vec<Value> = range
        .map(|i| {
            let r = record(i, body_bytes);
            json!({
                "timeUnixNano": r.time_ns.to_string(),
                "observedTimeUnixNano": (r.time_ns + 391_000).to_string(),
                "severityNumber": 9, "severityText": "INFO",
                "body": {"stringValue": r.body},
                "attributes": [{"key": "request.id", "value": {"stringValue": r.request_id}}],
                "traceId": hex(&r.trace_id), "spanId": hex(&r.span_id),
            })
        })
        .collect();
    json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeLogs": [{"scope": {"name": "checkout.payments", "version": "1.0"}, "logRecords": records}],
    }]})
    .to_string()
    .into_bytes()
}

/// The same request as [`json_request`] in binary protobuf.
fn protobuf_request(range: std::ops::Range<usize>, body_bytes: usize) -> Vec<u8> {
    let mut scope_logs = Vec::new();
    // InstrumentationScope { name = 1, version = 2 }
    let mut scope = Vec::new();
    pb_bytes(&mut scope, 1, b"checkout.payments");
    pb_bytes(&mut scope, 2, b"1.0");
    pb_bytes(&mut scope_logs, 1, &scope);
    for i in range {
        let r = record(i, body_bytes);
        // LogRecord { time_unix_nano = 1 (fixed64), severity_number = 2, severity_text = 3,
        // body = 5, attributes = 6, trace_id = 9, span_id = 10, observed_time_unix_nano = 11 }
        let mut rec = Vec::new();
        pb_fixed64(&mut rec, 1, r.time_ns);
        pb_varint_field(&mut rec, 2, 9);
        pb_bytes(&mut rec, 3, b"INFO");
        pb_bytes(&mut rec, 5, &any_string(&r.body));
        pb_bytes(&mut rec, 6, &key_value("request.id", &r.request_id));
        pb_bytes(&mut rec, 9, &r.trace_id);
        pb_bytes(&mut rec, 10, &r.span_id);
        pb_fixed64(&mut rec, 11, r.time_ns + 391_000);
        // ScopeLogs { scope = 1, log_records = 2 }
        pb_bytes(&mut scope_logs, 2, &rec);
    }
    // Resource { attributes = 1 }
    let mut resource = Vec::new();
    pb_bytes(&mut resource, 1, &key_value("service.name", "checkout"));
    // ResourceLogs { resource = 1, scope_logs = 2 }
    let mut resource_logs = Vec::new();
    pb_bytes(&mut resource_logs, 1, &resource);
    pb_bytes(&mut resource_logs, 2, &scope_logs);
    // ExportLogsServiceRequest { resource_logs = 1 }
    let mut request = Vec::new();
    pb_bytes(&mut request, 1, &resource_logs);
    request
}

/// `AnyValue { string_value = 1 }`.
fn any_string(s: &str) -> Vec<u8> {
    let mut v = Vec::new();
    pb_bytes(&mut v, 1, s.as_bytes());
    v
}

/// `KeyValue { key = 1, value = 2 }` with a string value.
fn key_value(key: &str, value: &str) -> Vec<u8> {
    let mut v = Vec::new();
    pb_bytes(&mut v, 1, key.as_bytes());
    pb_bytes(&mut v, 2, &any_string(value));
    v
}

fn pb_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn pb_varint_field(out: &mut Vec<u8>, field: u64, n: u64) {
    pb_varint(out, field << 3);
    pb_varint(out, n);
}

fn pb_fixed64(out: &mut Vec<u8>, field: u64, n: u64) {
    pb_varint(out, field << 3 | 1);
    out.extend_from_slice(&n.to_le_bytes());
}

fn pb_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    pb_varint(out, field << 3 | 2);
    pb_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}
