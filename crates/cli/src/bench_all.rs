//! `evident bench all`: every scenario in one invocation, each in its own `evident bench
//! <scenario> --json` child process (a fresh heap and page-cache history per scenario, and
//! one failing scenario does not stop the others), then one summary table of ratios and
//! DESIGN.md §12 budgets. The sizes default to a run of well under 15 minutes on the 2-core
//! development machine; `bench search` joins only with `--with-search` (its default 10M
//! events need ~25 GB).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};

use crate::Outcome;

/// `evident bench all` options.
#[derive(Args)]
pub(crate) struct AllBench {
    /// Events for the HTTP NDJSON ingest scenario.
    #[arg(long, default_value_t = 300_000)]
    ingest_events: usize,
    /// Messages for the syslog scenario (one round against rsyslog).
    #[arg(long, default_value_t = 300_000)]
    syslog_events: usize,
    /// Records per encoding for the OTLP scenario.
    #[arg(long, default_value_t = 200_000)]
    otlp_events: usize,
    /// Days of demo data for the parse and detect scenarios.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// Sigma rules for the detect scenario besides the built-in pack.
    #[arg(long)]
    sigma: Option<std::path::PathBuf>,
    /// MiB of ledger for the verify scenario.
    #[arg(long, default_value_t = 1024)]
    verify_mib: u64,
    /// Events in the evidence scenario's period.
    #[arg(long, default_value_t = 300_000)]
    evidence_events: u64,
    /// Also run `bench search` with this many events (e.g. 10000000; ~2.5 KB of disk each).
    #[arg(long, value_name = "EVENTS")]
    with_search: Option<u64>,
    /// Also write the JSON document to this file (bench/run.sh: bench/results/DATE.json).
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
    /// Print one JSON document (every scenario's report and the summary).
    #[arg(long)]
    json: bool,
}

/// One line of the summary table.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Row {
    /// The scenario (and variant).
    pub(crate) scenario: String,
    /// The measured figure, with its unit.
    pub(crate) value: String,
    /// The in-run baseline, with its unit.
    pub(crate) baseline: String,
    /// Measured ÷ baseline (higher is better), when there is a baseline.
    pub(crate) ratio: Option<f64>,
    /// The DESIGN.md §12 budget, or "-".
    pub(crate) budget: String,
    /// Whether the budget is met; `None` without a budget.
    pub(crate) pass: Option<bool>,
}

impl Row {
    fn to_json(&self) -> Value {
        json!({"scenario": self.scenario, "value": self.value, "baseline": self.baseline,
               "ratio": self.ratio, "budget": self.budget, "pass": self.pass})
    }

    /// A row for a scenario that could not run.
    fn failed(scenario: &str, error: &str) -> Row {
        Row {
            scenario: scenario.into(),
            value: format!("did not run: {error}"),
            baseline: "-".into(),
            ratio: None,
            budget: "-".into(),
            pass: None,
        }
    }
}

/// The median of `v` (sorted in place); 0 when empty.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// The `p` quantile (0..=1) of sorted `lat`, in milliseconds; 0 when empty.
pub(crate) fn percentile_ms(lat: &[Duration], p: f64) -> f64 {
    lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Runs every scenario and prints the summary.
pub(crate) fn run(args: AllBench) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let argv = |words: &[&dyn ToString]| words.iter().map(|w| w.to_string()).collect();
    let mut plan: Vec<(&str, Vec<String>)> = vec![
        (
            "ingest",
            argv(&[&"ingest", &"--events", &args.ingest_events]),
        ),
        (
            "syslog",
            argv(&[&"syslog", &"--events", &args.syslog_events, &"--rounds", &1]),
        ),
        ("otlp", argv(&[&"otlp", &"--events", &args.otlp_events])),
        ("parse", argv(&[&"parse", &"--days", &args.days])),
        ("detect", {
            let mut v: Vec<String> = argv(&[&"detect", &"--days", &args.days]);
            if let Some(d) = &args.sigma {
                v.extend(["--sigma".to_owned(), d.display().to_string()]);
            }
            v
        }),
        ("verify", argv(&[&"verify", &"--mib", &args.verify_mib])),
        (
            "evidence",
            argv(&[&"evidence", &"--events", &args.evidence_events]),
        ),
    ];
    if let Some(n) = args.with_search {
        plan.push(("search", argv(&[&"search", &"--events", &n])));
    }
    let exe = std::env::current_exe().context("locating the evident binary")?;
    let mut reports = serde_json::Map::new();
    let mut rows = Vec::new();
    let mut failures = 0;
    for (name, argv) in plan {
        eprintln!("bench all: {name} …");
        let t = Instant::now();
        match run_child(&exe, &argv) {
            Ok(report) => {
                rows.extend(rows_for(name, &report));
                reports.insert(name.into(), report);
            }
            Err(e) => {
                failures += 1;
                rows.push(Row::failed(name, &format!("{e:#}")));
                reports.insert(name.into(), json!({"error": format!("{e:#}")}));
            }
        }
        eprintln!(
            "bench all: {name} done in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let doc = json!({
        "started_at": chrono::Utc::now().to_rfc3339(),
        "seconds": started.elapsed().as_secs_f64(),
        "machine": machine(),
        "summary": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "scenarios": reports,
    });
    if let Some(path) = &args.out {
        std::fs::write(path, format!("{doc:#}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{doc}");
    } else {
        print!("{}", markdown(&rows));
        println!(
            "\n{} scenarios in {:.0} s",
            reports.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if failures == 0 {
        Outcome::Clean
    } else {
        Outcome::Problems
    })
}

/// The summary as a Markdown table (what BENCHMARKS.md quotes).
pub(crate) fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | result | in-run baseline | ratio | budget (DESIGN §12) | met |\n|---|---|---|---:|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.scenario,
            r.value,
            r.baseline,
            r.ratio.map_or("-".into(), |x| format!("{x:.2}")),
            r.budget,
            match r.pass {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "-",
            }
        ));
    }
    out
}

/// Runs `evident bench ARGV --json` and parses what it prints: one JSON document, or one
/// per line (`bench parse`), returned as an array.
fn run_child(exe: &std::path::Path, argv: &[String]) -> anyhow::Result<Value> {
    let out = Command::new(exe)
        .arg("bench")
        .args(argv)
        .arg("--json")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("starting {}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "`evident bench {}` exited with {}",
        argv.join(" "),
        out.status
    );
    let docs: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading the output of `evident bench {}`", argv.join(" ")))?;
    Ok(match <[Value; 1]>::try_from(docs) {
        Ok([one]) => one,
        Err(many) => Value::Array(many),
    })
}

/// The summary rows for one scenario's report.
fn rows_for(name: &str, r: &Value) -> Vec<Row> {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    match name {
        "ingest" => vec![Row {
            scenario: "http ndjson ingest".into(),
            value: format!(
                "{:.0} events/s, {:.1} MB/s, p99 {:.0} ms",
                f(&r["events_per_sec"]),
                f(&r["mb_per_sec"]),
                f(&r["latency_ms"]["p99"])
            ),
            baseline: format!("SHA-256 {:.0} MB/s", f(&r["baseline_sha256_mb_per_sec"])),
            ratio: r["ratio_to_sha256"].as_f64(),
            budget: "≥ 100k events/s".into(),
            pass: Some(f(&r["events_per_sec"]) >= 100_000.0),
        }],
        "syslog" => {
            let ratio = r["ratio_receive_to_rsyslog"].as_f64();
            vec![Row {
                scenario: "syslog tcp (receive + seal)".into(),
                value: format!("{:.0} events/s", f(&r["evident_receive"]["events_per_sec"])),
                baseline: r["rsyslog"]["events_per_sec"].as_f64().map_or_else(
                    || "rsyslog not installed".into(),
                    |e| format!("rsyslog {e:.0} events/s"),
                ),
                ratio,
                budget: "≥ 1.00× rsyslog".into(),
                pass: ratio.map(|x| x >= 1.0),
            }]
        }
        "otlp" => crate::bench_otlp::rows(r),
        "parse" => r
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["format"] == "cloudtrail")
            .map(|l| Row {
                scenario: "parse + normalize (cloudtrail)".into(),
                value: format!("{:.0} events/CPU-s", f(&l["events_per_sec"])),
                baseline: format!(
                    "serde_json {:.0} records/CPU-s",
                    f(&l["baseline_serde_json_records_per_sec"])
                ),
                ratio: l["ratio_to_serde_json"].as_f64(),
                budget: "≥ 150k/s per core".into(),
                pass: Some(f(&l["events_per_sec"]) >= 150_000.0),
            })
            .collect(),
        "detect" => vec![crate::bench_detect::row(r)],
        "verify" => vec![crate::bench_verify::row(r)],
        "evidence" => crate::bench_evidence::rows(r),
        "search" => r["selective"]
            .as_array()
            .into_iter()
            .flatten()
            .take(1)
            .map(|q| Row {
                scenario: format!("search {} ({} events)", q["query"], r["events"]),
                value: format!("p50 {:.1} ms", f(&q["p50_ms"])),
                baseline: format!("ripgrep {:.0} ms", f(&q["rg_ms"])),
                ratio: q["ratio"].as_f64(),
                budget: "p50 < 100 ms at 10M".into(),
                pass: Some(f(&q["p50_ms"]) < 100.0),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// What the numbers were measured on: CPU model, cores, load average.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned());
    json!({
        "cpu": model,
        "cores": std::thread::available_parallelism().map_or(0, usize::from),
        "loadavg": std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_a_markdown_table_with_ratios_and_verdicts() {
        let rows = [
            Row {
                scenario: "verify".into(),
                value: "698 MB/s".into(),
                baseline: "SHA-256 1150 MB/s".into(),
                ratio: Some(0.6071),
                budget: "≥ 400 MB/s".into(),
                pass: Some(true),
            },
            Row {
                scenario: "detect".into(),
                value: "1 events/CPU-s".into(),
                baseline: "-".into(),
                ratio: None,
                budget: "≥ 200k/s per core".into(),
                pass: Some(false),
            },
            Row::failed("otlp", "boom"),
        ];
        assert_eq!(
            markdown(&rows),
            "| scenario | result | in-run baseline | ratio | budget (DESIGN §12) | met |\n\
             |---|---|---|---:|---|---|\n\
             | verify | 698 MB/s | SHA-256 1150 MB/s | 0.61 | ≥ 400 MB/s | yes |\n\
             | detect | 1 events/CPU-s | - | - | ≥ 200k/s per core | **no** |\n\
             | otlp | did not run: boom | - | - | - | - |\n"
        );
    }

    #[test]
    fn median_and_percentiles() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 3.0);
        assert_eq!(median(&mut []), 0.0);
        let lat: Vec<Duration> = (1..=101).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&lat, 0.5), 51.0);
        assert_eq!(percentile_ms(&lat, 0.99), 100.0);
        assert_eq!(percentile_ms(&lat, 1.0), 101.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn rows_follow_each_scenarios_report() {
        let ingest = json!({"events_per_sec": 150000.0, "mb_per_sec": 153.6,
            "latency_ms": {"p99": 40.0}, "baseline_sha256_mb_per_sec": 800.0,
            "ratio_to_sha256": 0.192});
        assert_eq!(
            rows_for("ingest", &ingest),
            [Row {
                scenario: "http ndjson ingest".into(),
                value: "150000 events/s, 153.6 MB/s, p99 40 ms".into(),
                baseline: "SHA-256 800 MB/s".into(),
                ratio: Some(0.192),
                budget: "≥ 100k events/s".into(),
                pass: Some(true),
            }]
        );
        let syslog = json!({"evident_receive": {"events_per_sec": 300000.0},
            "rsyslog": null, "ratio_receive_to_rsyslog": null});
        let row = &rows_for("syslog", &syslog)[0];
        assert_eq!(row.baseline, "rsyslog not installed");
        assert_eq!((row.ratio, row.pass), (None, None));
        assert!(rows_for("unknown", &json!({})).is_empty());
    }
}
