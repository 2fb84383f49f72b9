//! `evident bench evidence`: a period of N JSON application events appended to a fresh
//! data directory (spread evenly over `--days` days ending yesterday, 10,000 per group
//! commit) and normalized by the pipeline; then `evident evidence export` and `evident
//! evidence verify` of that period, each the real binary in a child process, timed; against
//! SHA-256 of the package's bytes in the same run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Args;
use evident_ledger::Entry;
use evident_model::Format;
use evident_server::{DataDir, Evident, Pipeline};
use serde_json::{Value, json};

use crate::bench_all::Row;

/// Entries per ledger commit while generating.
const GENERATE_BATCH: u64 = 10_000;

/// `evident bench evidence` options.
#[derive(Args, Clone)]
pub(crate) struct EvidenceBench {
    /// Events in the period.
    #[arg(long, default_value_t = 10_000_000)]
    pub(crate) events: u64,
    /// Length of the period in days (it ends yesterday, UTC).
    #[arg(long, default_value_t = 30)]
    pub(crate) days: u32,
    /// Size of each event in bytes (JSON).
    #[arg(long, default_value_t = 512)]
    pub(crate) event_bytes: usize,
    /// Instead of generated JSON events: the demo company's last D days (`evident demo
    /// --no-serve --days D`: ten sources, alerts, cases, reviews), so the package holds a
    /// case sample with entry proofs; --events and --event-bytes are then unused.
    #[arg(long, value_name = "D")]
    pub(crate) demo_days: Option<u32>,
    /// Work directory (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub(crate) dir: Option<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Generates the period, exports it, verifies the package.
pub(crate) fn measure(args: &EvidenceBench) -> anyhow::Result<Value> {
    let (_tmp, root) =
        crate::bench::work_dir(args.dir.as_deref(), "evident-bench-evidence-", None)?;
    let data = DataDir::new(root.join("data"));
    let exe = std::env::current_exe().context("locating the evident binary")?;
    let (generated, from, to) = match args.demo_days {
        Some(d) => demo_period(&exe, &data, d)?,
        None => generated_period(&data, args)?,
    };
    let n = generated.events;

    let pkg = root.join("package");
    let started = Instant::now();
    let export_out = evident(
        &exe,
        &[
            "--data".as_ref(),
            data.root().as_os_str(),
            "evidence".as_ref(),
            "export".as_ref(),
            "--from".as_ref(),
            from.to_string().as_ref(),
            "--to".as_ref(),
            to.to_string().as_ref(),
            "--out".as_ref(),
            pkg.as_os_str(),
            "--seed".as_ref(),
            "7".as_ref(),
        ],
    )?;
    let export_secs = started.elapsed().as_secs_f64();
    let (files, package_bytes) = dir_bytes(&pkg)?;

    let started = Instant::now();
    let verify_out = evident(
        &exe,
        &[
            "evidence".as_ref(),
            "verify".as_ref(),
            pkg.as_os_str(),
            "--json".as_ref(),
        ],
    )?;
    let verify_secs = started.elapsed().as_secs_f64();
    let verified: Value = serde_json::from_str(verify_out.trim())
        .context("reading `evident evidence verify --json`")?;

    let paths = dir_files(&pkg)?;
    let started = Instant::now();
    let hashed = crate::bench_verify::sha256_files(&paths)?;
    let sha_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        hashed == package_bytes,
        "hashed {hashed} of {package_bytes} package bytes"
    );
    let mb = package_bytes as f64 / 1e6;
    let sha_mbps = mb / sha_secs;
    let findings = verified["findings"].as_array().map_or(0, Vec::len);
    Ok(json!({
        "scenario": "evidence",
        "events": n,
        "source": generated.source,
        "normalized_entries": generated.normalized,
        "days": (to - from).num_days() + 1, "from": from.to_string(), "to": to.to_string(),
        "ledger_bytes": generated.ledger_bytes,
        "generate_seconds": generated.generate_secs,
        "normalize_seconds": generated.normalize_secs,
        "export": {"seconds": export_secs, "files": files, "bytes": package_bytes,
                   "mb_per_sec": mb / export_secs, "summary": export_out.trim(),
                   "ratio_to_sha256": mb / export_secs / sha_mbps},
        "verify": {"seconds": verify_secs, "files": verified["files"], "proofs": verified["proofs"],
                   "checkpoints": verified["checkpoints"], "findings": findings,
                   "mb_per_sec": mb / verify_secs,
                   "ratio_to_sha256": mb / verify_secs / sha_mbps},
        "baseline_sha256_seconds": sha_secs,
        "baseline_sha256_mb_per_sec": sha_mbps,
        "ok": findings == 0,
    }))
}

/// The period the package covers, as generated.
struct Generated {
    /// "generated" or "demo".
    source: &'static str,
    /// Ledger entries of the period's records.
    events: u64,
    /// Entries the pipeline normalized.
    normalized: u64,
    ledger_bytes: u64,
    generate_secs: f64,
    normalize_secs: f64,
}

/// Appends `args.events` JSON events spread over `args.days` days ending yesterday, then
/// normalizes them (the catch-up `evidence export` would otherwise do inside its timing).
fn generated_period(
    data: &DataDir,
    args: &EvidenceBench,
) -> anyhow::Result<(Generated, NaiveDate, NaiveDate)> {
    data.init("evident.local/bench-evidence")?;
    let days = args.days.max(1);
    let to = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let from = to - chrono::Days::new(u64::from(days) - 1);
    let start_ns = from
        .and_hms_opt(0, 0, 0)
        .context("period start")?
        .and_utc()
        .timestamp_nanos_opt()
        .and_then(|n| u64::try_from(n).ok())
        .context("period start out of range")?;
    let span_ns = u64::from(days) * 86_400 * 1_000_000_000;

    let node = Evident::open(data)?;
    node.db.add_source(&"bench".parse()?, Format::JsonApp)?;
    let generating = Instant::now();
    let n = args.events;
    let mut i = 0u64;
    while i < n {
        let end = (i + GENERATE_BATCH).min(n);
        let batch: Vec<Entry> = (i..end)
            .map(|k| {
                let at = start_ns + (u128::from(k) * u128::from(span_ns) / u128::from(n)) as u64;
                Entry::log("bench", at, app_event(k, at, args.event_bytes))
            })
            .collect();
        node.ledger.append(batch)?;
        i = end;
    }
    let generate_secs = generating.elapsed().as_secs_f64();
    let normalizing = Instant::now();
    let normalized = Pipeline::new(node.config.json_mappings.clone())
        .catch_up(&node.ledger, &node.db)
        .context("normalizing the generated period")?;
    node.ledger.checkpoint()?;
    let normalize_secs = normalizing.elapsed().as_secs_f64();
    let ledger_bytes = dir_bytes(&data.ledger_path())?.1;
    Ok((
        Generated {
            source: "generated",
            events: n,
            normalized,
            ledger_bytes,
            generate_secs,
            normalize_secs,
        },
        from,
        to,
    ))
}

/// `evident demo --no-serve --days D` into `data` (generated, ingested, normalized, detected,
/// cases worked, reviews signed); the period is its last D days.
fn demo_period(
    exe: &Path,
    data: &DataDir,
    days: u32,
) -> anyhow::Result<(Generated, NaiveDate, NaiveDate)> {
    let days = days.max(1);
    let started = Instant::now();
    evident(
        exe,
        &[
            "demo".as_ref(),
            "--no-serve".as_ref(),
            "--days".as_ref(),
            days.to_string().as_ref(),
            "--data".as_ref(),
            data.root().as_os_str(),
        ],
    )?;
    let generate_secs = started.elapsed().as_secs_f64();
    let node = Evident::open(data)?;
    let events = node.ledger.size();
    let ledger_bytes = dir_bytes(&data.ledger_path())?.1;
    let to = chrono::Utc::now().date_naive();
    let from = to - chrono::Days::new(u64::from(days));
    Ok((
        Generated {
            source: "demo",
            events,
            normalized: node.db.watermark()?,
            ledger_bytes,
            generate_secs,
            normalize_secs: 0.0,
        },
        from,
        to,
    ))
}

/// The summary rows `bench all` prints for this report: export and verify.
pub(crate) fn rows(r: &Value) -> Vec<Row> {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let baseline = format!("SHA-256 {:.0} MB/s", f(&r["baseline_sha256_mb_per_sec"]));
    vec![
        Row {
            scenario: format!("evidence export ({} events)", r["events"]),
            value: format!(
                "{:.2} s, {} files, {:.1} MB",
                f(&r["export"]["seconds"]),
                r["export"]["files"],
                f(&r["export"]["bytes"]) / 1e6
            ),
            baseline: baseline.clone(),
            ratio: r["export"]["ratio_to_sha256"].as_f64(),
            budget: "-".into(),
            pass: None,
        },
        Row {
            scenario: "evidence verify".into(),
            value: format!(
                "{:.2} s, {} findings",
                f(&r["verify"]["seconds"]),
                r["verify"]["findings"]
            ),
            baseline,
            ratio: r["verify"]["ratio_to_sha256"].as_f64(),
            budget: "verifies".into(),
            pass: r["ok"].as_bool(),
        },
    ]
}

pub(crate) fn print(r: &Value) {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let made = if r["source"] == "demo" {
        format!(
            "`evident demo` built it in {:.1} s",
            f(&r["generate_seconds"])
        )
    } else {
        format!(
            "generated in {:.1} s, normalized in {:.1} s",
            f(&r["generate_seconds"]),
            f(&r["normalize_seconds"])
        )
    };
    println!(
        "evidence: {} ledger entries over {} days ({} .. {}), ledger {:.1} MB; {made}",
        r["events"],
        r["days"],
        r["from"].as_str().unwrap_or("?"),
        r["to"].as_str().unwrap_or("?"),
        f(&r["ledger_bytes"]) / 1e6,
    );
    println!(
        "  evidence export   {:>7.2} s  {:>5} files {:>8.1} MB  {:>7.1} MB/s  ratio {:.3}",
        f(&r["export"]["seconds"]),
        r["export"]["files"],
        f(&r["export"]["bytes"]) / 1e6,
        f(&r["export"]["mb_per_sec"]),
        f(&r["export"]["ratio_to_sha256"]),
    );
    println!(
        "  evidence verify   {:>7.2} s  {:>5} proofs, {} findings  {:>7.1} MB/s  ratio {:.3}",
        f(&r["verify"]["seconds"]),
        r["verify"]["proofs"],
        r["verify"]["findings"],
        f(&r["verify"]["mb_per_sec"]),
        f(&r["verify"]["ratio_to_sha256"]),
    );
    println!(
        "  SHA-256 of the package bytes: {:.1} MB/s ({:.3} s)",
        f(&r["baseline_sha256_mb_per_sec"]),
        f(&r["baseline_sha256_seconds"])
    );
}

/// One JSON application event of about `size` bytes whose `ts` is `at_ns`.
fn app_event(i: u64, at_ns: u64, size: usize) -> Vec<u8> {
    let at = chrono::DateTime::from_timestamp_nanos(i64::try_from(at_ns).unwrap_or(i64::MAX));
    let head = format!(
        "{{\"ts\":\"{}\",\"level\":\"info\",\"service\":\"checkout\",\"request_id\":\"req-{i:012}\",\"user_id\":\"u{}\",\"client_ip\":\"10.0.{}.{}\",\"msg\":\"",
        at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
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

/// Runs the `evident` binary; its stdout, or an error with its stderr.
fn evident(exe: &Path, args: &[&std::ffi::OsStr]) -> anyhow::Result<String> {
    let out = Command::new(exe)
        .args(args)
        .env("EVIDENT_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {}", exe.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "`evident {}` exited with {}: {}",
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every regular file under `dir`, recursively, sorted.
fn dir_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// (files, bytes) under `dir`.
fn dir_bytes(dir: &Path) -> anyhow::Result<(usize, u64)> {
    let files = dir_files(dir)?;
    let mut bytes = 0;
    for f in &files {
        bytes += std::fs::metadata(f)
            .with_context(|| format!("reading {}", f.display()))?
            .len();
    }
    Ok((files.len(), bytes))
}
