//! `evident bench verify`: `evident verify` (re-read, re-hash, rebuild the tree, compare
//! tiles and checkpoints) over a generated ledger of N MiB of 1 KiB entries, against plain
//! SHA-256 of the same segment bytes in the same run (DESIGN.md §12: ≥ 400 MB/s).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use evident_ledger::{Entry, Ledger, LedgerOptions};
use evident_server::DataDir;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::bench_all::{Row, median};

/// The verify budget, MB/s of stored entries (DESIGN.md §12).
const BUDGET_MB_PER_SEC: f64 = 400.0;

/// Entries appended per ledger commit while generating.
const GENERATE_BATCH: usize = 4_000;

/// `evident bench verify` options.
#[derive(Args, Clone)]
pub(crate) struct VerifyBench {
    /// Size of the generated ledger in MiB of segment data.
    #[arg(long, default_value_t = 1024)]
    pub(crate) mib: u64,
    /// Runs of verify and of the baseline (page cache warm); the median is reported.
    #[arg(long, default_value_t = 3)]
    pub(crate) rounds: usize,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Generates the ledger, verifies it `rounds` times and hashes its segments as often.
pub(crate) fn measure(args: &VerifyBench) -> anyhow::Result<Value> {
    let dir = tempfile::Builder::new()
        .prefix("evident-bench-verify-")
        .tempdir()
        .context("temp dir")?;
    let data = DataDir::new(dir.path().join("data"));
    let signer = data.init("evident.local/bench-verify")?;
    let target = args.mib.max(1) << 20;
    let generating = Instant::now();
    let entries = generate(&data.ledger_path(), signer, target)?;
    let generate_secs = generating.elapsed().as_secs_f64();

    let segments = segment_files(&data.ledger_path())?;
    let segment_bytes: u64 = segments
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()
        .context("reading segment sizes")?;
    let verifier = data.signer()?.verifier();
    let (mut verify_secs, mut sha_secs) = (Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..args.rounds.max(1) {
        let started = Instant::now();
        let hashed = sha256_files(&segments)?;
        sha_secs.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(
            hashed == segment_bytes,
            "hashed {hashed} of {segment_bytes} segment bytes"
        );
        let started = Instant::now();
        let report = evident_ledger::verify(&data.ledger_path(), &verifier, &mut |_, _| {})?;
        verify_secs.push(started.elapsed().as_secs_f64());
        last = Some(report);
    }
    let report = last.context("no verify round ran")?;
    let verify_secs = median(&mut verify_secs);
    let sha_secs = median(&mut sha_secs);
    let mbps = report.bytes as f64 / verify_secs / 1e6;
    let sha_mbps = segment_bytes as f64 / sha_secs / 1e6;
    Ok(json!({
        "scenario": "verify",
        "entries": entries,
        "verified_entries": report.entries,
        "ok": report.is_clean(),
        "damage": report.damage.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "segments": segments.len(),
        "segment_bytes": segment_bytes,
        "verified_bytes": report.bytes,
        "tiles": report.tiles,
        "checkpoints": report.checkpoints,
        "rounds": args.rounds.max(1),
        "generate_seconds": generate_secs,
        "verify_seconds": verify_secs,
        "mb_per_sec": mbps,
        "baseline_sha256_seconds": sha_secs,
        "baseline_sha256_mb_per_sec": sha_mbps,
        "ratio_to_sha256": mbps / sha_mbps,
        "budget_mb_per_sec": BUDGET_MB_PER_SEC,
        "pass": report.is_clean() && mbps >= BUDGET_MB_PER_SEC,
    }))
}

/// The summary row `bench all` prints for this report.
pub(crate) fn row(r: &Value) -> Row {
    Row {
        scenario: "verify".into(),
        value: format!("{:.0} MB/s", r["mb_per_sec"].as_f64().unwrap_or(0.0)),
        baseline: format!(
            "SHA-256 {:.0} MB/s",
            r["baseline_sha256_mb_per_sec"].as_f64().unwrap_or(0.0)
        ),
        ratio: r["ratio_to_sha256"].as_f64(),
        budget: format!("≥ {BUDGET_MB_PER_SEC:.0} MB/s"),
        pass: r["pass"].as_bool(),
    }
}

pub(crate) fn print(r: &Value) {
    println!(
        "verify: {} entries, {} bytes of segments, median of {} rounds (page cache warm)",
        r["entries"], r["segment_bytes"], r["rounds"]
    );
    println!(
        "  evident verify        {:>8.1} MB/s  ({:.2} s; {} tiles, {} checkpoints; {})",
        r["mb_per_sec"].as_f64().unwrap_or(0.0),
        r["verify_seconds"].as_f64().unwrap_or(0.0),
        r["tiles"],
        r["checkpoints"],
        if r["ok"].as_bool() == Some(true) {
            "clean"
        } else {
            "DAMAGE"
        }
    );
    println!(
        "  SHA-256 of the bytes  {:>8.1} MB/s  ({:.2} s, 1 core)",
        r["baseline_sha256_mb_per_sec"].as_f64().unwrap_or(0.0),
        r["baseline_sha256_seconds"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  ratio {:.2}; budget ≥ {BUDGET_MB_PER_SEC:.0} MB/s: {}",
        r["ratio_to_sha256"].as_f64().unwrap_or(0.0),
        if r["pass"].as_bool() == Some(true) {
            "met"
        } else {
            "NOT met"
        }
    );
}

/// Appends 1 KiB entries until the segments hold at least `target` bytes, then signs a
/// checkpoint over them; returns the number of entries.
fn generate(
    ledger_dir: &Path,
    signer: evident_ledger::NoteSigner,
    target: u64,
) -> anyhow::Result<u64> {
    let ledger = Ledger::open(ledger_dir, signer, LedgerOptions::default())?;
    let mut written = 0u64;
    let mut entries = 0usize;
    while written < target {
        let batch: Vec<Entry> = (entries..entries + GENERATE_BATCH)
            .map(|i| {
                Entry::log(
                    "bench",
                    1_764_150_000_000_000_000 + i as u64,
                    crate::bench::event(i, 1024),
                )
            })
            .collect();
        entries += batch.len();
        written += batch
            .iter()
            .map(|e| e.encode().map(|b| b.len() as u64))
            .sum::<Result<u64, _>>()?;
        ledger.append(batch)?;
    }
    ledger.checkpoint()?;
    Ok(ledger.size())
}

/// The ledger's segment files (`segments/*.seg`), in name order.
fn segment_files(ledger_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = ledger_dir.join("segments");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "seg") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// SHA-256 over every file's bytes, read in 1 MiB blocks; returns the bytes hashed.
pub(crate) fn sha256_files(files: &[PathBuf]) -> anyhow::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    let mut h = Sha256::new();
    for path in files {
        let mut f =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        loop {
            let n = f
                .read(&mut buf)
                .with_context(|| format!("reading {}", path.display()))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            total += n as u64;
        }
    }
    std::hint::black_box(h.finalize());
    Ok(total)
}
