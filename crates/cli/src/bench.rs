//! `evident bench`: end-to-end throughput measured against a baseline taken in the same
//! run, so results are ratios that survive noisy machines.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Subcommand;
use evident_model::Format;
use evident_server::{DataDir, Evident};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Outcome;

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// Search index: throughput, term query and aggregation latency, vs ripgrep.
    Search(crate::bench_search::SearchBench),
    /// OTLP/HTTP logs ingest (JSON and protobuf), acknowledged after fsync, vs SHA-256.
    Otlp(crate::bench_otlp::OtlpBench),
    /// `verify` over a generated ledger of N MiB vs raw SHA-256 of the segment bytes.
    Verify(crate::bench_verify::VerifyBench),
    /// The detector over demo events normalized to OCSF, per CPU second, vs serde_json.
    Detect(crate::bench_detect::DetectBench),
    /// `evidence export` and `evidence verify` of a period of N events, vs SHA-256.
    Evidence(crate::bench_evidence::EvidenceBench),
    /// Every scenario in one run: a summary table of ratios and budgets.
    All(crate::bench_all::AllBench),
    /// A real `evident serve` fed HTTP NDJSON at a steady rate: RSS, queue, latency, counts.
    Soak(crate::bench_soak::SoakBench),
    /// Parse + normalize throughput per format, one core, on the demo's records.
    Parse {
        /// Days of demo data to generate as input.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// NDJSON output, one line per format.
        #[arg(long)]
        json: bool,
    },
    /// HTTP NDJSON ingest, acknowledged after fsync, with N concurrent clients.
    Ingest {
        /// Concurrent clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Total events to send.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Events per request.
        #[arg(long, default_value_t = 2_000)]
        batch: usize,
        /// Size of each event in bytes (JSON).
        #[arg(long, default_value_t = 1024)]
        event_bytes: usize,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Syslog over TCP into Evident (sealed, fsynced) and into rsyslog (imtcp → omfile),
    /// the same stream in the same run.
    Syslog {
        /// Messages to send.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Concurrent TCP connections (senders).
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Size of each message in bytes (RFC 3164 sshd lines, padded).
        #[arg(long, default_value_t = 256)]
        message_bytes: usize,
        /// Runs of each receiver; the median is reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The rsyslogd to compare with.
        #[arg(long, default_value = "rsyslogd")]
        rsyslogd: std::path::PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: BenchCommand) -> anyhow::Result<Outcome> {
    match cmd {
        BenchCommand::Search(args) => crate::bench_search::run(args),
        BenchCommand::Otlp(args) => emit(
            args.json,
            &crate::bench_otlp::measure(&args)?,
            crate::bench_otlp::print,
        ),
        BenchCommand::Verify(args) => emit(
            args.json,
            &crate::bench_verify::measure(&args)?,
            crate::bench_verify::print,
        ),
        BenchCommand::Detect(args) => emit(
            args.json,
            &crate::bench_detect::measure(&args)?,
            crate::bench_detect::print,
        ),
        BenchCommand::Evidence(args) => emit(
            args.json,
            &crate::bench_evidence::measure(&args)?,
            crate::bench_evidence::print,
        ),
        BenchCommand::All(args) => crate::bench_all::run(args),
        BenchCommand::Soak(args) => crate::bench_soak::run(args),
        BenchCommand::Parse {
            days,
            json: json_out,
        } => parse(days, json_out),
        BenchCommand::Ingest {
            clients,
            events,
            batch,
            event_bytes,
            json: json_out,
        } => ingest(clients, events, batch.max(1), event_bytes, json_out),
        BenchCommand::Syslog {
            events,
            connections,
            message_bytes,
            rounds,
            rsyslogd,
            json: json_out,
        } => syslog(
            events,
            connections.max(1),
            message_bytes,
            rounds.max(1),
            &rsyslogd,
            json_out,
        ),
    }
}

/// Prints a scenario's report: one JSON document with `--json`, else its tables.
fn emit(
    json: bool,
    report: &serde_json::Value,
    print: fn(&serde_json::Value),
) -> anyhow::Result<Outcome> {
    if json {
        println!("{report}");
    } else {
        print(report);
    }
    Ok(Outcome::Clean)
}

/// One JSON event of exactly `size` bytes (padding in a message field), unique per `i`.
pub(crate) fn event(i: usize, size: usize) -> Vec<u8> {
    let head = format!(
        "{{\"ts\":\"2026-11-26T10:00:00.{:06}Z\",\"level\":\"info\",\"service\":\"checkout\",\"request_id\":\"req-{i:012}\",\"user_id\":\"u{}\",\"client_ip\":\"10.0.{}.{}\",\"msg\":\"",
        i % 1_000_000,
        i % 5000,
        (i / 256) % 256,
        i % 256
    );
    let tail = "\"}";
    let pad = size.saturating_sub(head.len() + tail.len());
    let mut v = head.into_bytes();
    v.extend(std::iter::repeat_n(b'x', pad));
    v.extend_from_slice(tail.as_bytes());
    v
}

fn ingest(
    clients: usize,
    events: usize,
    batch: usize,
    event_bytes: usize,
    json_out: bool,
) -> anyhow::Result<Outcome> {
    let dir = tempfile::Builder::new()
        .prefix("evident-bench-")
        .tempdir()
        .context("temp dir")?;
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.local/bench")?;
    let node = Evident::open(&data)?;
    let token = node.db.add_source(&"bench".parse()?, Format::JsonApp)?;

    // Bodies are built before the clock starts: we measure the server, not the client.
    let bodies: Vec<Vec<u8>> = (0..events.div_ceil(batch))
        .map(|b| {
            let n = batch.min(events - b * batch);
            let mut body = Vec::with_capacity(n * (event_bytes + 1));
            for k in 0..n {
                body.extend_from_slice(&event(b * batch + k, event_bytes));
                body.push(b'\n');
            }
            body
        })
        .collect();
    let payload_bytes: usize = bodies.iter().map(Vec::len).sum();

    // Baseline in the same run: one core hashing the same bytes as leaves.
    let started = Instant::now();
    let mut sink = 0u8;
    for body in &bodies {
        for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let mut h = Sha256::new();
            h.update([0u8]);
            h.update(line);
            sink ^= h.finalize()[0];
        }
    }
    let sha_secs = started.elapsed().as_secs_f64();
    std::hint::black_box(sink);

    let rt = tokio::runtime::Runtime::new()?;
    let (elapsed, latencies, accepted) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let node = Arc::new(node);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(evident_server::serve(node.clone(), listener, async {
            let _ = stop_rx.await;
        }));
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/api/v1/ingest/bench");
        let bodies = Arc::new(bodies);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, url, token, bodies, next) = (
                client.clone(),
                url.clone(),
                token.clone(),
                bodies.clone(),
                next.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut accepted = 0u64;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    loop {
                        let t = Instant::now();
                        let resp = client
                            .post(&url)
                            .bearer_auth(&token)
                            .header("content-type", "application/x-ndjson")
                            .body(body.clone())
                            .send()
                            .await?;
                        if resp.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                        let status = resp.status();
                        let v: serde_json::Value = resp.json().await?;
                        anyhow::ensure!(status.is_success(), "ingest failed: {status} {v}");
                        accepted += v["accepted"].as_u64().unwrap_or(0);
                        lat.push(t.elapsed());
                        break;
                    }
                }
                anyhow::Ok((lat, accepted))
            }));
        }
        let mut latencies = Vec::new();
        let mut accepted = 0;
        for t in tasks {
            let (l, a) = t.await??;
            latencies.extend(l);
            accepted += a;
        }
        let elapsed = started.elapsed();
        let _ = stop_tx.send(());
        server.await??;
        anyhow::Ok((elapsed, latencies, accepted))
    })?;
    anyhow::ensure!(
        accepted == events as u64,
        "server accepted {accepted} of {events} events"
    );

    let mut lat = latencies;
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let secs = elapsed.as_secs_f64();
    let eps = events as f64 / secs;
    let mbps = payload_bytes as f64 / secs / 1e6;
    let sha_mbps = payload_bytes as f64 / sha_secs / 1e6;
    let doc = json!({
        "scenario": "http-ndjson-ingest",
        "clients": clients, "events": events, "batch": batch, "event_bytes": event_bytes,
        "seconds": secs, "events_per_sec": eps, "mb_per_sec": mbps,
        "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
        "baseline_sha256_mb_per_sec": sha_mbps,
        "ratio_to_sha256": mbps / sha_mbps,
    });
    if json_out {
        println!("{doc}");
    } else {
        println!(
            "HTTP NDJSON ingest: {events} events of {event_bytes} B, {clients} clients, {batch}/request"
        );
        println!("  {eps:>12.0} events/s  {mbps:>8.1} MB/s  in {secs:.2}s");
        println!(
            "  latency per request: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        println!(
            "  baseline SHA-256 of the same bytes (1 core): {sha_mbps:.1} MB/s; ingest = {:.2}x of it",
            mbps / sha_mbps
        );
    }
    Ok(Outcome::Clean)
}

/// One core parses every demo record of each source, in rounds until a quarter second of
/// the thread's CPU time is spent (CPU time, not wall time: this machine's second core is
/// shared). In-run baselines on the same records: SHA-256 of the bytes and, for JSON
/// formats, `serde_json` parsing into a `Value` and dropping it (the floor of any parser
/// that builds the tree `unmapped` holds).
fn parse(days: u32, json_out: bool) -> anyhow::Result<Outcome> {
    let demo = evident_demo::generate(&evident_demo::DemoConfig::new(days, chrono::Utc::now()));
    let ctx = evident_sources::ParseContext::new("bench", evident_ledger::now_ns());
    if !json_out {
        println!(
            "{:<16} {:>9} {:>12} {:>9} {:>10} {:>6} {:>12} {:>6}",
            "format",
            "records",
            "events/s",
            "MB/s",
            "sha256 MB/s",
            "ratio",
            "serde_json/s",
            "ratio"
        );
    }
    for source in &demo.sources {
        let format: evident_model::Format = source.format.parse()?;
        let bytes: usize = source.records.iter().map(Vec::len).sum();
        let mut parser = evident_sources::Parser::new(format);
        let mut events = 0usize;
        let mut failed = 0usize;
        let (secs, rounds) = cpu_rounds(|| {
            (events, failed) = (0, 0);
            for r in &source.records {
                match parser.parse(r, &ctx) {
                    Ok(e) => events += e.len(),
                    Err(_) => failed += 1,
                }
            }
        });
        let (sha_secs, sha_rounds) = cpu_rounds(|| {
            let mut sink = 0u8;
            for r in &source.records {
                sink ^= Sha256::digest(r)[0];
            }
            std::hint::black_box(sink);
        });
        let is_json = source.records.first().is_some_and(|r| {
            matches!(
                serde_json::from_slice::<serde_json::Value>(r),
                Ok(serde_json::Value::Object(_))
            )
        });
        let json_rate = is_json.then(|| {
            let (json_secs, json_rounds) = cpu_rounds(|| {
                for r in &source.records {
                    std::hint::black_box(serde_json::from_slice::<serde_json::Value>(r).ok());
                }
            });
            (source.records.len() * json_rounds) as f64 / json_secs
        });
        let eps = (events * rounds) as f64 / secs;
        let mbps = (bytes * rounds) as f64 / secs / 1e6;
        let sha_mbps = (bytes * sha_rounds) as f64 / sha_secs / 1e6;
        // Records per second against records per second (a record may yield several events).
        let rps = (source.records.len() * rounds) as f64 / secs;
        let json_ratio = json_rate.map(|j| rps / j);
        let doc = json!({
            "scenario": "parse", "format": format.as_str(), "records": source.records.len(),
            "events": events, "failed": failed, "rounds": rounds, "cpu_seconds": secs,
            "events_per_sec": eps, "mb_per_sec": mbps,
            "baseline_sha256_mb_per_sec": sha_mbps, "ratio_to_sha256": mbps / sha_mbps,
            "baseline_serde_json_records_per_sec": json_rate,
            "ratio_to_serde_json": json_ratio,
        });
        if json_out {
            println!("{doc}");
        } else {
            println!(
                "{:<16} {:>9} {:>12.0} {:>9.1} {:>10.1} {:>6.2} {:>12} {:>6}{}",
                format.as_str(),
                source.records.len(),
                eps,
                mbps,
                sha_mbps,
                mbps / sha_mbps,
                json_rate.map_or_else(|| "-".to_owned(), |j| format!("{j:.0}")),
                json_ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
                if failed > 0 {
                    format!("  ({failed} failed)")
                } else {
                    String::new()
                }
            );
        }
    }
    Ok(Outcome::Clean)
}

/// Runs `round` until it has used a quarter second of this thread's CPU time (at least
/// three rounds); returns the CPU seconds and the number of rounds.
fn cpu_rounds(mut round: impl FnMut()) -> (f64, usize) {
    let start = thread_cpu_ns();
    let mut rounds = 0;
    loop {
        round();
        rounds += 1;
        let spent = thread_cpu_ns().saturating_sub(start);
        if rounds >= 3 && spent >= 250_000_000 {
            return (spent as f64 / 1e9, rounds);
        }
    }
}

/// CPU time of this thread in ns (Linux `/proc/thread-self/schedstat`; the kernel updates
/// it at scheduler ticks, which is why [`cpu_rounds`] measures many rounds at once).
pub(crate) fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Syslog TCP throughput: Evident (every message sealed in the ledger, fsynced) against
/// rsyslog writing the same octet-counted stream to a file, alternating, `rounds` times.
fn syslog(
    events: usize,
    connections: usize,
    message_bytes: usize,
    rounds: usize,
    rsyslogd: &std::path::Path,
    json_out: bool,
) -> anyhow::Result<Outcome> {
    // The stream is built before the clock starts: one octet-counted buffer per connection.
    let per = events.div_ceil(connections);
    let wires: Vec<Vec<u8>> = (0..connections)
        .map(|c| {
            let mut wire = Vec::with_capacity(per * (message_bytes + 8));
            for i in (c * per)..((c + 1) * per).min(events) {
                let m = syslog_message(i, message_bytes);
                wire.extend_from_slice(format!("{} ", m.len()).as_bytes());
                wire.extend_from_slice(&m);
            }
            wire
        })
        .collect();
    let payload_bytes = events * message_bytes;
    // Every run's files stay until the end: deleting a ledger's thousands of tile files
    // between runs makes ext4 slow to create the next run's (it avoids reusing inodes
    // deleted moments ago), which would measure the benchmark, not the receiver.
    let scratch = tempfile::Builder::new()
        .prefix("evident-bench-syslog-")
        .tempdir()
        .context("temp dir")?;
    let (mut receive, mut full, mut rsyslog) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let dir = |name: &str| scratch.path().join(format!("{round}-{name}"));
        if let Some(secs) = syslog_into_rsyslog(rsyslogd, &dir("rsyslog"), &wires, events)? {
            rsyslog.push(secs);
        }
        receive.push(syslog_into_evident(&dir("receive"), &wires, events, false)?.sealed);
        let run = syslog_into_evident(&dir("full"), &wires, events, true)?;
        full.push((run.sealed, run.normalized.unwrap_or(f64::NAN)));
    }
    let median = |v: &mut Vec<f64>| -> Option<f64> {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    full.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (full_secs, normalized_secs) = full[full.len() / 2];
    let receive_secs = median(&mut receive).context("no Evident round ran")?;
    let rsyslog_secs = median(&mut rsyslog);
    let eps = |secs: f64| events as f64 / secs;
    let mbps = |secs: f64| payload_bytes as f64 / secs / 1e6;
    let ratio = |secs: f64| rsyslog_secs.map(|r| r / secs);
    let doc = json!({
        "scenario": "syslog-tcp", "events": events, "connections": connections,
        "message_bytes": message_bytes, "rounds": rounds, "framing": "octet-counted",
        "evident_receive": {"seconds": receive_secs, "events_per_sec": eps(receive_secs),
                    "mb_per_sec": mbps(receive_secs)},
        "evident_full_server": {"seconds": full_secs, "events_per_sec": eps(full_secs),
                    "mb_per_sec": mbps(full_secs), "normalized_seconds": normalized_secs},
        "rsyslog": rsyslog_secs.map(|s| json!({"seconds": s, "events_per_sec": eps(s),
                    "mb_per_sec": mbps(s)})),
        "ratio_receive_to_rsyslog": ratio(receive_secs),
        "ratio_full_server_to_rsyslog": ratio(full_secs),
    });
    if json_out {
        println!("{doc}");
        return Ok(Outcome::Clean);
    }
    println!(
        "syslog over TCP: {events} messages of {message_bytes} B, {connections} connections, octet-counted, median of {rounds}"
    );
    let line = |name: &str, secs: f64, extra: String| {
        let r = ratio(secs).map_or(String::new(), |r| format!("  = {r:.2}x rsyslog"));
        println!(
            "  {name:<44} {:>9.0} events/s {:>7.1} MB/s  ({secs:.2} s{extra}){r}",
            eps(secs),
            mbps(secs)
        );
    };
    line(
        "Evident listeners + ledger (sealed, fsynced)",
        receive_secs,
        String::new(),
    );
    line(
        "Evident full server (+ pipeline, detection)",
        full_secs,
        format!("; all normalized after {normalized_secs:.2} s"),
    );
    match rsyslog_secs {
        Some(s) => println!(
            "  {:<44} {:>9.0} events/s {:>7.1} MB/s  ({s:.2} s)",
            "rsyslog imtcp → omfile (default config)",
            eps(s),
            mbps(s)
        ),
        None => println!("  rsyslog: not run ({} not found)", rsyslogd.display()),
    }
    Ok(Outcome::Clean)
}

/// An RFC 3164 sshd line of exactly `size` bytes (padding in the key fingerprint), unique
/// per `i`.
fn syslog_message(i: usize, size: usize) -> Vec<u8> {
    let head = format!(
        "<38>Nov 26 10:{:02}:{:02} web-{:02} sshd[{}]: Accepted publickey for user{} from 10.{}.{}.{} port {} ssh2: ED25519 SHA256:{i:010}",
        (i / 60) % 60,
        i % 60,
        i % 16,
        1000 + i % 30_000,
        i % 200,
        (i >> 16) % 256,
        (i >> 8) % 256,
        i % 256,
        1024 + i % 60_000,
    );
    let mut m = head.into_bytes();
    m.resize(size.max(m.len()), b'x');
    m
}

/// A benchmark's work directory: `dir` when given (kept afterwards), else a fresh temporary
/// directory named `prefix…` under `parent` (the system's temporary directory when `None`),
/// removed when the returned guard drops.
pub(crate) fn work_dir(
    dir: Option<&Path>,
    prefix: &str,
    parent: Option<&Path>,
) -> anyhow::Result<(Option<tempfile::TempDir>, PathBuf)> {
    if let Some(d) = dir {
        return Ok((None, d.to_owned()));
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    let tmp = match parent {
        Some(p) => builder.tempdir_in(p),
        None => builder.tempdir(),
    }
    .context("creating a work directory")?;
    let path = tmp.path().to_owned();
    Ok((Some(tmp), path))
}

/// A port free on loopback right now.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until something accepts connections on `port`.
pub(crate) fn wait_listening(port: u16, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{what} is not listening on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Writes each wire on its own connection to `port`, in parallel threads.
fn send_wires(
    port: u16,
    wires: &Arc<Vec<Vec<u8>>>,
) -> Vec<std::thread::JoinHandle<std::io::Result<()>>> {
    (0..wires.len())
        .map(|c| {
            let wires = wires.clone();
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
                std::io::Write::write_all(&mut s, &wires[c])
            })
        })
        .collect()
}

/// One run of Evident receiving the stream: seconds until every message was sealed (in the
/// ledger, fsynced, covered by a signed checkpoint) and, for the full server, until the
/// pipeline had normalized them all.
struct EvidentRun {
    sealed: f64,
    normalized: Option<f64>,
}

/// Sends `wires` to Evident's syslog TCP listener: the full server (`serve`, with the
/// pipeline normalizing and detecting at the same time) or the listeners and ledger alone.
fn syslog_into_evident(
    dir: &std::path::Path,
    wires: &[Vec<u8>],
    events: usize,
    full_server: bool,
) -> anyhow::Result<EvidentRun> {
    use evident_server::receivers::syslog::{SyslogListenerConfig, SyslogProtocol};
    let data = DataDir::new(dir);
    data.init("evident.local/bench")?;
    let mut node = Evident::open(&data)?;
    node.db.add_source(&"syslog".parse()?, Format::Syslog)?;
    let port = free_port()?;
    node.config.syslog = vec![SyslogListenerConfig::new(
        SyslogProtocol::Tcp,
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
    )];
    let node = Arc::new(node);
    let wires = Arc::new(wires.to_vec());
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = if full_server {
            let http = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let serve = evident_server::serve(node.clone(), http, async {
                let _ = stop_rx.await;
            });
            tokio::spawn(async move { serve.await.map_err(anyhow::Error::from) })
        } else {
            let listeners =
                evident_server::receivers::syslog::start(&node, &node.config.syslog).await?;
            tokio::spawn(async move {
                let _ = stop_rx.await;
                listeners.shutdown().await;
                anyhow::Ok(())
            })
        };
        tokio::task::spawn_blocking(move || wait_listening(port, "Evident")).await??;
        let stats = node.receivers.stats("syslog-tcp");
        // The ledger already holds audit entries (the source added above).
        let before = node.ledger.size();
        let started = Instant::now();
        let senders = send_wires(port, &wires);
        let deadline = started + Duration::from_secs(600);
        loop {
            let s = stats.snapshot();
            if s.stored >= events as u64 {
                break;
            }
            anyhow::ensure!(
                s.rejected == 0 && s.dropped == 0 && Instant::now() < deadline,
                "Evident: {s:?} of {events}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let ledger = node.ledger.clone();
        let checkpoint = tokio::task::spawn_blocking(move || ledger.checkpoint()).await??;
        anyhow::ensure!(checkpoint.checkpoint.size >= before + events as u64);
        let sealed = started.elapsed().as_secs_f64();
        for t in senders {
            t.join()
                .map_err(|_| anyhow::anyhow!("sender thread panicked"))??;
        }
        let mut normalized = None;
        if full_server {
            while node.db.watermark()? < before + events as u64 {
                anyhow::ensure!(Instant::now() < deadline, "pipeline did not catch up");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            normalized = Some(started.elapsed().as_secs_f64());
        }
        let _ = stop_tx.send(());
        server.await??;
        let mut stored = 0u64;
        node.ledger
            .for_each_entry(before, node.ledger.size(), |_, bytes| {
                if evident_ledger::Entry::decode(bytes)
                    .is_ok_and(|e| e.kind == evident_ledger::EntryKind::Log && e.source == "syslog")
                {
                    stored += 1;
                }
            })?;
        anyhow::ensure!(
            stored == events as u64,
            "the ledger holds {stored} syslog entries, expected {events}"
        );
        Ok(EvidentRun { sealed, normalized })
    })
}

/// Seconds until rsyslogd has written all `events` lines to its file; `None` when
/// rsyslogd is not installed.
fn syslog_into_rsyslog(
    rsyslogd: &std::path::Path,
    dir: &std::path::Path,
    wires: &[Vec<u8>],
    events: usize,
) -> anyhow::Result<Option<f64>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let port = free_port()?;
    let out = dir.join("messages.log");
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{work}\")\nmodule(load=\"imtcp\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"bench\")\n\
             ruleset(name=\"bench\") {{ action(type=\"omfile\" file=\"{out}\") }}\n",
            work = dir.display(),
            out = out.display(),
        ),
    )?;
    let child = std::process::Command::new(rsyslogd)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("starting {}", rsyslogd.display())),
    };
    let result = (|| {
        wait_listening(port, "rsyslogd")?;
        let wires = Arc::new(wires.to_vec());
        let started = Instant::now();
        let senders = send_wires(port, &wires);
        let deadline = started + Duration::from_secs(600);
        let (mut lines, mut offset) = (0usize, 0u64);
        let mut buf = vec![0u8; 1 << 20];
        while lines < events {
            anyhow::ensure!(
                Instant::now() < deadline,
                "rsyslog wrote {lines} of {events} lines"
            );
            if let Ok(mut f) = std::fs::File::open(&out) {
                std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(offset))?;
                loop {
                    let n = std::io::Read::read(&mut f, &mut buf)?;
                    if n == 0 {
                        break;
                    }
                    offset += n as u64;
                    lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let secs = started.elapsed().as_secs_f64();
        for t in senders {
            t.join()
                .map_err(|_| anyhow::anyhow!("sender thread panicked"))??;
        }
        anyhow::ensure!(
            lines == events,
            "rsyslog wrote {lines} lines for {events} messages"
        );
        Ok(Some(secs))
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}
