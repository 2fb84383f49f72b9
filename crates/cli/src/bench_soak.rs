//! `evident bench soak`: a real `evident serve` child process on a fresh data directory,
//! fed HTTP NDJSON at a steady rate for M minutes (by default half the maximum rate a short
//! probe measured first). Every interval (10 s) it records the server's RSS
//! (`/proc/PID/status` VmRSS), the intake queue depth and pipeline lag (`GET /metrics`),
//! and the latency of the ingest requests that completed in the interval; at the end it
//! stops the server, runs `evident verify` and checks that every acknowledged record is in
//! the ledger.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use evident_model::Format;
use evident_server::{DataDir, Evident};
use serde_json::{Value, json};

use crate::Outcome;
use crate::bench_all::percentile_ms;

/// Requests in flight at most while soaking; a server slower than the rate makes the
/// sender fall behind (reported as the achieved rate), not pile up connections.
const MAX_IN_FLIGHT: usize = 32;

/// `evident bench soak` options.
#[derive(Args, Clone)]
pub(crate) struct SoakBench {
    /// Length of the soak in minutes (fractions allowed).
    #[arg(long, default_value_t = 30.0)]
    pub(crate) minutes: f64,
    /// Events per second to send (default: half the rate the probe measured).
    #[arg(long)]
    pub(crate) rate: Option<u64>,
    /// Seconds of the maximum-rate probe run first (skipped when --rate is given).
    #[arg(long, default_value_t = 10)]
    pub(crate) probe_seconds: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 10)]
    pub(crate) interval: u64,
    /// Seconds to wait at the end for the pipeline to catch up before stopping the server.
    #[arg(long, default_value_t = 120)]
    pub(crate) drain_seconds: u64,
    /// Events per request.
    #[arg(long, default_value_t = 500)]
    pub(crate) batch: usize,
    /// Size of each event in bytes (JSON).
    #[arg(long, default_value_t = 1024)]
    pub(crate) event_bytes: usize,
    /// Work directory (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub(crate) dir: Option<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs the soak and prints its report; exit 1 when verify or the count check fails.
pub(crate) fn run(args: SoakBench) -> anyhow::Result<Outcome> {
    let report = measure(&args)?;
    if args.json {
        println!("{report}");
    } else {
        print(&report);
    }
    Ok(if report["ok"].as_bool() == Some(true) {
        Outcome::Clean
    } else {
        Outcome::Problems
    })
}

/// What the senders share: acknowledged events and each request's (completion, latency).
#[derive(Default)]
struct Tally {
    acked: AtomicU64,
    retried_503: AtomicU64,
    latencies: Mutex<Vec<(Instant, Duration)>>,
}

/// The server child; killed if still running when dropped (an error path).
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the soak.
pub(crate) fn measure(args: &SoakBench) -> anyhow::Result<Value> {
    let (_tmp, root) = crate::bench::work_dir(args.dir.as_deref(), "evident-bench-soak-", None)?;
    let data = DataDir::new(root.join("data"));
    data.init("evident.local/bench-soak")?;
    // An ingest token for the records and an analyst API token for `GET /metrics`.
    let (token, api_token) = {
        let node = Evident::open(&data)?;
        (
            node.db.add_source(&"soak".parse()?, Format::JsonApp)?,
            node.db
                .create_api_token("bench-soak-metrics", evident_model::Role::Analyst, None)?,
        )
    };
    let exe = std::env::current_exe().context("locating the evident binary")?;
    let port = crate::bench::free_port()?;
    let log_path = root.join("serve.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut server = Server {
        child: Command::new(&exe)
            .arg("--data")
            .arg(data.root())
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("EVIDENT_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} serve", exe.display()))?,
    };
    let pid = server.child.id();
    crate::bench::wait_listening(port, "evident serve")?;

    let interval = Duration::from_secs(args.interval.max(1));
    let samples_wanted = ((args.minutes.max(0.0) * 60.0) / interval.as_secs_f64()).round() as usize;
    let batch = args.batch.max(1);
    let bodies = Arc::new(bodies(batch, args.event_bytes));
    let url = format!("http://127.0.0.1:{port}/api/v1/ingest/soak");
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new()?;
    let tally = Arc::new(Tally::default());

    let probe = match args.rate {
        Some(_) => None,
        None => Some(rt.block_on(probe_rate(
            &url,
            &token,
            &bodies,
            &tally,
            Duration::from_secs(args.probe_seconds.max(1)),
        ))?),
    };
    let rate = args
        .rate
        .or(probe.map(|p| (p / 2.0) as u64))
        .unwrap_or(1)
        .max(1);
    check_disk(&root, rate, args.minutes, args.event_bytes)?;
    let probe_acked = tally.acked.load(Ordering::Relaxed);
    let soak = rt.block_on(soak(SoakRun {
        url: &url,
        base: &base,
        token: &token,
        api_token: &api_token,
        bodies: &bodies,
        tally: &tally,
        rate,
        batch,
        interval,
        samples_wanted,
        pid,
    }))?;
    let acked = tally.acked.load(Ordering::Relaxed);
    let soak_acked = acked - probe_acked;

    // Let the pipeline finish, then stop the server the way an operator would.
    let drain_started = Instant::now();
    let drained = rt.block_on(async {
        let client = reqwest::Client::new();
        while drain_started.elapsed() < Duration::from_secs(args.drain_seconds) {
            match metrics(&client, &base, &api_token).await?.lag {
                Some(0) => return anyhow::Ok(true),
                Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                None => anyhow::bail!("GET /metrics has no evident_pipeline_lag_entries"),
            }
        }
        anyhow::Ok(false)
    })?;
    let drain_secs = drain_started.elapsed().as_secs_f64();
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .context("running kill -TERM")?;
    anyhow::ensure!(status.success(), "kill -TERM {pid} failed: {status}");
    let stop_deadline = Instant::now() + Duration::from_secs(60);
    let exit = loop {
        if let Some(s) = server.child.try_wait()? {
            break s;
        }
        anyhow::ensure!(
            Instant::now() < stop_deadline,
            "evident serve did not stop within 60 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };

    let verify = Command::new(&exe)
        .arg("--data")
        .arg(data.root())
        .arg("verify")
        .arg("--json")
        .env("EVIDENT_LOG", "warn")
        .output()
        .context("running evident verify")?;
    let verified: Value = serde_json::from_slice(&verify.stdout).unwrap_or(Value::Null);
    let in_ledger = count_entries(&data, "soak")?;

    let all: Vec<Duration> = {
        let mut v: Vec<Duration> = tally
            .latencies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|&(_, d)| d)
            .collect();
        v.sort();
        v
    };
    let rss_max = soak
        .samples
        .iter()
        .filter_map(|s| s["rss_kib"].as_u64())
        .max()
        .unwrap_or(0);
    let max_of = |key: &str| {
        soak.samples
            .iter()
            .filter_map(|s| s[key].as_u64())
            .max()
            .unwrap_or(0)
    };
    let verify_ok = verify.status.success() && verified["ok"].as_bool() == Some(true);
    let count_ok = in_ledger == acked;
    let server_log = std::fs::read_to_string(&log_path).unwrap_or_default();
    Ok(json!({
        "scenario": "soak",
        "minutes": args.minutes,
        "interval_seconds": interval.as_secs(),
        "batch": batch, "event_bytes": args.event_bytes,
        "probe_events_per_sec": probe,
        "rate_events_per_sec": rate,
        "achieved_events_per_sec": soak_acked as f64 / soak.seconds,
        "soak_seconds": soak.seconds,
        "samples_wanted": samples_wanted,
        "samples": soak.samples,
        "acknowledged": acked,
        "acknowledged_in_soak": soak_acked,
        "retried_503": tally.retried_503.load(Ordering::Relaxed),
        "behind_schedule_requests": soak.behind,
        "in_ledger": in_ledger,
        "count_ok": count_ok,
        "pipeline_drained": drained,
        "drain_seconds": drain_secs,
        "server_exit": exit.code(),
        "verify": {"ok": verified["ok"], "entries": verified["entries"], "bytes": verified["bytes"],
                   "exit": verify.status.code()},
        "verify_ok": verify_ok,
        "rss_max_kib": rss_max,
        "queue_depth_max": max_of("queue_depth"),
        "pipeline_lag_max": max_of("pipeline_lag"),
        "search_lag_max": max_of("search_lag"),
        "latency_ms": {"p50": percentile_ms(&all, 0.5), "p99": percentile_ms(&all, 0.99),
                       "max": percentile_ms(&all, 1.0), "requests": all.len()},
        "server_warnings": server_log.lines().filter(|l| !l.trim().is_empty()).count(),
        "ok": verify_ok && count_ok && soak.samples.len() == samples_wanted,
    }))
}

fn print(r: &Value) {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    println!(
        "soak: {} min at {} events/s ({} B events, {}/request){}",
        r["minutes"],
        r["rate_events_per_sec"],
        r["event_bytes"],
        r["batch"],
        r["probe_events_per_sec"]
            .as_f64()
            .map_or(String::new(), |p| format!(
                "; probe measured {p:.0} events/s, soaking at half"
            ))
    );
    println!(
        "{:>6} {:>9} {:>11} {:>12} {:>10} {:>10} {:>8} {:>8} {:>8}",
        "t s",
        "RSS MiB",
        "queue depth",
        "pipeline lag",
        "search lag",
        "events/s",
        "p50 ms",
        "p99 ms",
        "max ms"
    );
    for s in r["samples"].as_array().into_iter().flatten() {
        println!(
            "{:>6} {:>9.1} {:>11} {:>12} {:>10} {:>10.0} {:>8.1} {:>8.1} {:>8.1}",
            s["t_seconds"],
            f(&s["rss_kib"]) / 1024.0,
            s["queue_depth"],
            s["pipeline_lag"],
            s["search_lag"],
            f(&s["events_per_sec"]),
            f(&s["latency_ms"]["p50"]),
            f(&s["latency_ms"]["p99"]),
            f(&s["latency_ms"]["max"]),
        );
    }
    println!(
        "achieved {:.0} events/s; {} acknowledged, {} in the ledger ({}); verify {}; RSS max {:.1} MiB; queue depth max {}, pipeline lag max {}, search lag max {} (pipeline drained: {} after {:.1} s); latency p50 {:.1} / p99 {:.1} / max {:.1} ms over {} requests",
        f(&r["achieved_events_per_sec"]),
        r["acknowledged"],
        r["in_ledger"],
        if r["count_ok"].as_bool() == Some(true) {
            "count check passed"
        } else {
            "COUNT MISMATCH"
        },
        if r["verify_ok"].as_bool() == Some(true) {
            "clean"
        } else {
            "FAILED"
        },
        f(&r["rss_max_kib"]) / 1024.0,
        r["queue_depth_max"],
        r["pipeline_lag_max"],
        r["search_lag_max"],
        r["pipeline_drained"],
        f(&r["drain_seconds"]),
        f(&r["latency_ms"]["p50"]),
        f(&r["latency_ms"]["p99"]),
        f(&r["latency_ms"]["max"]),
        r["latency_ms"]["requests"],
    );
}

/// 64 distinct NDJSON bodies of `batch` events, reused round-robin.
fn bodies(batch: usize, event_bytes: usize) -> Vec<Vec<u8>> {
    (0..64)
        .map(|b| {
            let mut body = Vec::with_capacity(batch * (event_bytes + 1));
            for k in 0..batch {
                body.extend_from_slice(&crate::bench::event(b * batch + k, event_bytes));
                body.push(b'\n');
            }
            body
        })
        .collect()
}

/// Posts one body until it is acknowledged (a 503 is retried after 50 ms); returns the
/// events the server accepted.
async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &[u8],
    tally: &Tally,
) -> anyhow::Result<u64> {
    loop {
        let t = Instant::now();
        let resp = client
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body.to_vec())
            .send()
            .await?;
        let status = resp.status();
        if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            tally.retried_503.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let v: Value = resp.json().await?;
        anyhow::ensure!(status.is_success(), "ingest failed: {status} {v}");
        let accepted = v["accepted"].as_u64().unwrap_or(0);
        tally.acked.fetch_add(accepted, Ordering::Relaxed);
        tally
            .latencies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((Instant::now(), t.elapsed()));
        return Ok(accepted);
    }
}

/// Eight clients posting as fast as the server answers for `length`; events/s acknowledged.
async fn probe_rate(
    url: &str,
    token: &str,
    bodies: &Arc<Vec<Vec<u8>>>,
    tally: &Arc<Tally>,
    length: Duration,
) -> anyhow::Result<f64> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, url, token, bodies, tally, next) = (
            client.clone(),
            url.to_owned(),
            token.to_owned(),
            bodies.clone(),
            tally.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut acked = 0;
            while started.elapsed() < length {
                let i = next.fetch_add(1, Ordering::Relaxed) % bodies.len();
                acked += post(&client, &url, &token, &bodies[i], &tally).await?;
            }
            anyhow::Ok(acked)
        }));
    }
    let mut acked = 0;
    for t in tasks {
        acked += t.await??;
    }
    let rate = acked as f64 / started.elapsed().as_secs_f64();
    tally
        .latencies
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    Ok(rate)
}

/// What [`soak`] needs.
struct SoakRun<'a> {
    url: &'a str,
    base: &'a str,
    token: &'a str,
    api_token: &'a str,
    bodies: &'a Arc<Vec<Vec<u8>>>,
    tally: &'a Arc<Tally>,
    rate: u64,
    batch: usize,
    interval: Duration,
    samples_wanted: usize,
    pid: u32,
}

/// What [`soak`] measured.
struct SoakResult {
    seconds: f64,
    samples: Vec<Value>,
    behind: u64,
}

/// Sends at `rate` (request k starts at k·batch/rate seconds) while sampling every
/// `interval`, for `samples_wanted` intervals; waits for the requests in flight.
async fn soak(run: SoakRun<'_>) -> anyhow::Result<SoakResult> {
    let client = reqwest::Client::new();
    let per_request = Duration::from_secs_f64(run.batch as f64 / run.rate as f64);
    let total = run.interval * u32::try_from(run.samples_wanted).unwrap_or(u32::MAX);
    let started = Instant::now();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (client, url, token, bodies, tally, in_flight, stop) = (
            client.clone(),
            run.url.to_owned(),
            run.token.to_owned(),
            run.bodies.clone(),
            run.tally.clone(),
            in_flight.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut tasks = tokio::task::JoinSet::new();
            let mut behind = 0u64;
            let mut k = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let due = started + per_request * k;
                if due >= started + total {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let permit = match in_flight.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => {
                        behind += 1;
                        in_flight.clone().acquire_owned().await?
                    }
                };
                let (client, url, token, bodies, tally) = (
                    client.clone(),
                    url.clone(),
                    token.clone(),
                    bodies.clone(),
                    tally.clone(),
                );
                let body = k as usize % bodies.len();
                tasks.spawn(async move {
                    let r = post(&client, &url, &token, &bodies[body], &tally).await;
                    drop(permit);
                    r
                });
                while let Some(done) = tasks.try_join_next() {
                    done??;
                }
                k += 1;
            }
            while let Some(done) = tasks.join_next().await {
                done??;
            }
            anyhow::Ok(behind)
        })
    };
    let mut samples = Vec::new();
    let mut last_acked = run.tally.acked.load(Ordering::Relaxed);
    let mut window_start = Instant::now();
    for n in 1..=run.samples_wanted {
        tokio::time::sleep_until((started + run.interval * n as u32).into()).await;
        if sender.is_finished() {
            stop.store(true, Ordering::Relaxed);
        }
        let now = Instant::now();
        let acked = run.tally.acked.load(Ordering::Relaxed);
        let mut window: Vec<Duration> = run
            .tally
            .latencies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(at, _)| *at > window_start && *at <= now)
            .map(|&(_, d)| d)
            .collect();
        window.sort();
        let m = metrics(&client, run.base, run.api_token).await?;
        samples.push(json!({
            "t_seconds": (now - started).as_secs(),
            "rss_kib": rss_kib(run.pid),
            "queue_depth": m.queue_depth,
            "pipeline_lag": m.lag,
            "search_lag": m.search_lag,
            "tree_size": m.tree_size,
            "events_per_sec": (acked - last_acked) as f64 / (now - window_start).as_secs_f64(),
            "requests": window.len(),
            "latency_ms": {"p50": percentile_ms(&window, 0.5), "p99": percentile_ms(&window, 0.99),
                           "max": percentile_ms(&window, 1.0)},
        }));
        last_acked = acked;
        window_start = now;
    }
    stop.store(true, Ordering::Relaxed);
    let behind = sender.await??;
    Ok(SoakResult {
        seconds: started.elapsed().as_secs_f64(),
        samples,
        behind,
    })
}

/// Bytes on disk per byte of event sent: ledger framing, tiles and checkpoints (1.08) plus
/// the search index (0.19), measured on a 150k-event soak of 1 KiB events (1.27), rounded up.
const DISK_PER_EVENT_BYTE: f64 = 1.4;

/// Refuses a soak that would fill the disk under `dir`: free space from `df`.
fn check_disk(dir: &Path, rate: u64, minutes: f64, event_bytes: usize) -> anyhow::Result<()> {
    let needed = rate as f64 * minutes.max(0.0) * 60.0 * event_bytes as f64 * DISK_PER_EVENT_BYTE;
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .context("running df")?;
    let free: f64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .with_context(|| format!("reading the free space of {} from df", dir.display()))?;
    anyhow::ensure!(
        needed < free * 0.9,
        "the soak would write ~{:.1} GB ({rate} events/s × {minutes} min × {event_bytes} B × {DISK_PER_EVENT_BYTE}) but {} has {:.1} GB free; lower --rate, --minutes or --event-bytes, or pass --dir on a bigger disk",
        needed / 1e9,
        dir.display(),
        free / 1e9
    );
    Ok(())
}

/// The server's gauges from `GET /metrics`.
struct Gauges {
    queue_depth: Option<u64>,
    lag: Option<u64>,
    /// Entries not yet searchable (search follows the pipeline on its own task).
    search_lag: Option<u64>,
    tree_size: Option<u64>,
}

async fn metrics(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<Gauges> {
    let text = client
        .get(format!("{base}/metrics"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(parse_metrics(&text))
}

/// Reads the intake, pipeline and ledger gauges from Prometheus text.
fn parse_metrics(text: &str) -> Gauges {
    let value = |name: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(' ')?;
            rest.trim().parse::<f64>().ok().map(|v| v as u64)
        })
    };
    let capacity = value("evident_intake_capacity");
    let available = value("evident_intake_available_permits");
    Gauges {
        queue_depth: capacity.zip(available).map(|(c, a)| c.saturating_sub(a)),
        lag: value("evident_pipeline_lag_entries"),
        search_lag: value("evident_search_lag_entries"),
        tree_size: value("evident_ledger_tree_size"),
    }
}

/// VmRSS of process `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Log entries of `source` in the ledger of `data` (the server stopped).
fn count_entries(data: &DataDir, source: &str) -> anyhow::Result<u64> {
    let node = Evident::open(data)?;
    let mut n = 0u64;
    node.ledger
        .for_each_entry(0, node.ledger.size(), |_, bytes| {
            if evident_ledger::Entry::decode(bytes)
                .is_ok_and(|e| e.kind == evident_ledger::EntryKind::Log && e.source == source)
            {
                n += 1;
            }
        })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_are_read_from_prometheus_text() {
        let text = "# HELP evident_intake_capacity x\nevident_intake_capacity 500000\nevident_intake_available_permits 499000\nevident_pipeline_lag_entries 1234\nevident_search_lag_entries 4321\nevident_ledger_tree_size 99\n";
        let g = parse_metrics(text);
        assert_eq!(g.queue_depth, Some(1000));
        assert_eq!(g.lag, Some(1234));
        assert_eq!(g.search_lag, Some(4321));
        assert_eq!(g.tree_size, Some(99));
        assert_eq!(parse_metrics("").queue_depth, None);
    }

    #[test]
    fn rss_of_this_process_is_read() {
        let kib = rss_kib(std::process::id()).unwrap();
        assert!(kib > 0, "{kib}");
    }
}
