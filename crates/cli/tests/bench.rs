#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too
//! `evident bench` scenarios at tiny sizes: each report's structure and the invariants
//! that make its numbers meaningful (the same bytes measured on both sides, every record
//! stored, the ledger and the package verifying).

use std::process::Command;

use serde_json::Value;

/// Runs `evident bench ARGS --json` and parses its one JSON document.
fn bench(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_evident"))
        .arg("bench")
        .args(args)
        .arg("--json")
        .env("EVIDENT_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "evident bench {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// `a` and `b` agree to 1e-9 relative.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[test]
fn verify_bench_verifies_the_same_bytes_it_hashes() {
    let r = bench(&["verify", "--mib", "2", "--rounds", "2"]);
    assert_eq!(r["scenario"], "verify");
    assert_eq!(r["ok"], true);
    assert_eq!(r["damage"].as_array().unwrap().len(), 0);
    assert_eq!(r["rounds"], 2);
    // 4,000 entries of ~1 KiB per commit: one commit passes 2 MiB.
    assert_eq!(r["entries"], 4_000);
    assert_eq!(r["verified_entries"], r["entries"]);
    // verify reads every segment byte but the 16-byte file header of each segment.
    assert_eq!(
        r["verified_bytes"].as_u64().unwrap() + 16 * r["segments"].as_u64().unwrap(),
        r["segment_bytes"].as_u64().unwrap()
    );
    assert_eq!(r["segments"], 1);
    assert!(r["segment_bytes"].as_u64().unwrap() >= 2 << 20);
    assert!(r["checkpoints"].as_u64().unwrap() >= 1);
    // 4,000 entries fill 15 full tiles of 256 hashes.
    assert_eq!(r["tiles"], 15);
    assert!(close(
        f(&r["ratio_to_sha256"]),
        f(&r["mb_per_sec"]) / f(&r["baseline_sha256_mb_per_sec"])
    ));
    assert_eq!(r["budget_mb_per_sec"], 400.0);
    assert_eq!(r["pass"], f(&r["mb_per_sec"]) >= 400.0);
}

#[test]
fn otlp_bench_stores_every_record_in_both_encodings() {
    let r = bench(&[
        "otlp",
        "--events",
        "3000",
        "--batch",
        "500",
        "--clients",
        "2",
        "--body-bytes",
        "200",
    ]);
    assert_eq!(r["scenario"], "otlp-ingest");
    let runs = r["runs"].as_array().unwrap();
    let encodings: Vec<&str> = runs
        .iter()
        .map(|x| x["encoding"].as_str().unwrap())
        .collect();
    assert_eq!(encodings, ["json", "protobuf"]);
    for run in runs {
        assert_eq!(run["stored"], 3000, "{run}");
        assert_eq!(run["requests"], 6, "{run}");
        assert!(close(
            f(&run["ratio_to_sha256"]),
            f(&run["mb_per_sec"]) / f(&run["baseline_sha256_mb_per_sec"])
        ));
        let lat = &run["latency_ms"];
        assert!(f(&lat["p50"]) <= f(&lat["p99"]) && f(&lat["p99"]) <= f(&lat["max"]));
    }
    // Protobuf is the denser encoding of the same records.
    assert!(runs[1]["payload_bytes"].as_u64() < runs[0]["payload_bytes"].as_u64());
}

#[test]
fn detect_bench_runs_the_builtin_pack_over_every_demo_event() {
    let r = bench(&["detect", "--days", "1", "--cpu-seconds", "0.05"]);
    assert_eq!(r["scenario"], "detect");
    assert_eq!(r["days"], 1);
    assert_eq!(r["sigma_dir"], Value::Null);
    let records = r["records"].as_u64().unwrap();
    assert!(records > 1_000, "{r}");
    assert_eq!(r["unparsed_records"], 0);
    // Every record yields at least one event (trivy reports yield one per finding).
    assert!(r["events"].as_u64().unwrap() >= records);
    assert_eq!(r["rule_load_failures"], 0);
    assert!(r["rules_loaded"].as_u64().unwrap() >= 40, "{r}");
    assert!(r["rounds"].as_u64().unwrap() >= 1);
    assert!(close(
        f(&r["ratio_to_serde_json"]),
        f(&r["events_per_cpu_sec"]) / f(&r["baseline_serde_json_events_per_cpu_sec"])
    ));
    assert_eq!(
        r["budget_applies"],
        r["rules_loaded"].as_u64().unwrap() >= 100
    );
}

#[test]
fn evidence_bench_exports_a_package_that_verifies() {
    let r = bench(&["evidence", "--events", "2000", "--days", "2"]);
    assert_eq!(r["scenario"], "evidence");
    assert_eq!(r["events"], 2000);
    assert_eq!(r["days"], 2);
    // The generated records and the audit entries of setting up the data directory.
    assert!(r["normalized_entries"].as_u64().unwrap() >= 2000, "{r}");
    assert_eq!(r["ok"], true);
    assert_eq!(r["verify"]["findings"], 0);
    // verify checked every file export wrote, but MANIFEST.json and its signature, which
    // hold the others' hashes.
    assert_eq!(
        r["verify"]["files"].as_u64().unwrap(),
        r["export"]["files"].as_u64().unwrap() - 2
    );
    assert!(r["export"]["bytes"].as_u64().unwrap() > 0);
    assert!(close(
        f(&r["verify"]["ratio_to_sha256"]),
        f(&r["verify"]["mb_per_sec"]) / f(&r["baseline_sha256_mb_per_sec"])
    ));
}

#[test]
fn soak_keeps_every_acknowledged_record_and_samples_each_interval() {
    let r = bench(&[
        "soak",
        "--minutes",
        "0.1",
        "--interval",
        "2",
        "--rate",
        "2000",
        "--batch",
        "100",
        "--event-bytes",
        "256",
    ]);
    assert_eq!(r["scenario"], "soak");
    assert_eq!(r["probe_events_per_sec"], Value::Null);
    assert_eq!(r["rate_events_per_sec"], 2000);
    // 0.1 min = 6 s in 2 s intervals.
    assert_eq!(r["samples_wanted"], 3);
    let samples = r["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    for (i, s) in samples.iter().enumerate() {
        assert_eq!(s["t_seconds"], 2 * (i as u64 + 1), "{s}");
        assert!(s["rss_kib"].as_u64().unwrap() > 0, "{s}");
        assert!(s["queue_depth"].is_u64(), "{s}");
        assert!(s["pipeline_lag"].is_u64(), "{s}");
    }
    let acked = r["acknowledged"].as_u64().unwrap();
    // 2,000 events/s for 6 s, 100 per request: 120 requests scheduled, all answered.
    assert_eq!(acked, 12_000, "{r}");
    assert_eq!(r["latency_ms"]["requests"], 120);
    assert_eq!(r["in_ledger"], acked);
    assert_eq!(r["count_ok"], true);
    assert_eq!(r["verify_ok"], true);
    assert_eq!(r["server_exit"], 0);
    assert_eq!(r["ok"], true);
}

#[test]
fn soak_probes_the_maximum_rate_when_no_rate_is_given() {
    let r = bench(&[
        "soak",
        "--minutes",
        "0.05",
        "--interval",
        "1",
        "--probe-seconds",
        "2",
        "--batch",
        "200",
        "--event-bytes",
        "256",
    ]);
    let probe = f(&r["probe_events_per_sec"]);
    assert!(probe > 0.0);
    assert_eq!(r["rate_events_per_sec"], (probe / 2.0) as u64);
    assert_eq!(r["samples"].as_array().unwrap().len(), 3);
    // The probe's records count too: every acknowledged record is in the ledger.
    assert!(r["acknowledged"].as_u64().unwrap() > r["acknowledged_in_soak"].as_u64().unwrap());
    assert_eq!(r["in_ledger"], r["acknowledged"]);
    assert_eq!(r["ok"], true);
}

#[test]
fn bench_all_runs_every_scenario_and_summarizes_them() {
    let r = bench(&[
        "all",
        "--ingest-events",
        "2000",
        "--syslog-events",
        "2000",
        "--otlp-events",
        "2000",
        "--days",
        "1",
        "--verify-mib",
        "2",
        "--evidence-events",
        "2000",
    ]);
    let scenarios: Vec<&String> = r["scenarios"].as_object().unwrap().keys().collect();
    assert_eq!(
        scenarios,
        [
            "detect", "evidence", "ingest", "otlp", "parse", "syslog", "verify"
        ]
    );
    for (name, report) in r["scenarios"].as_object().unwrap() {
        assert!(report.get("error").is_none(), "{name}: {report}");
    }
    let rows: Vec<&str> = r["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["scenario"].as_str().unwrap())
        .collect();
    let rules = r["scenarios"]["detect"]["rules_loaded"].as_u64().unwrap();
    assert_eq!(
        rows,
        [
            "http ndjson ingest".to_owned(),
            "syslog tcp (receive + seal)".into(),
            "otlp json".into(),
            "otlp protobuf".into(),
            "parse + normalize (cloudtrail)".into(),
            format!("detect ({rules} rules)"),
            "verify".into(),
            "evidence export (2000 events)".into(),
            "evidence verify".into(),
        ]
    );
    assert_eq!(r["scenarios"]["verify"]["ok"], true);
    assert_eq!(r["scenarios"]["evidence"]["ok"], true);
    assert!(r["machine"]["cores"].as_u64().unwrap() >= 1);
}

#[test]
fn soak_refuses_a_run_that_would_fill_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_evident"))
        .args(["bench", "soak", "--minutes", "600", "--rate", "100000000"])
        .arg("--dir")
        .arg(dir.path())
        .env("EVIDENT_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 1e8 events/s × 36,000 s × 1,024 B × 1.4
    assert!(
        stderr.contains(
            "error: the soak would write ~5160960.0 GB (100000000 events/s × 600 min × 1024 B × 1.4) but "
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("lower --rate, --minutes or --event-bytes"),
        "{stderr}"
    );
    // It stopped before sending: no report.
    assert!(out.stdout.is_empty());
}

#[test]
fn evidence_bench_over_the_demo_samples_cases_with_entry_proofs() {
    let r = bench(&["evidence", "--demo-days", "2"]);
    assert_eq!(r["source"], "demo");
    assert_eq!(r["ok"], true);
    assert_eq!(r["verify"]["findings"], 0);
    let proofs = r["verify"]["proofs"].as_u64().unwrap();
    assert!(proofs > 0, "{r}");
    // What export wrote is what verify checked.
    let summary = r["export"]["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("; {proofs} entry proofs;")),
        "{summary}"
    );
    assert_eq!(
        r["verify"]["files"].as_u64().unwrap(),
        r["export"]["files"].as_u64().unwrap() - 2
    );
    // The demo's records are all in the period and normalized (the rest of the ledger is
    // the audit trail of its setup and response work).
    assert!(r["normalized_entries"].as_u64().unwrap() <= r["events"].as_u64().unwrap());
    assert!(r["events"].as_u64().unwrap() > 10_000, "{r}");
}
