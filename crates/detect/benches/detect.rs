//! Detection throughput: events/s through the detector (enrichment, routing, the built-in
//! pack plus SigmaHQ's cloud, identity and GitHub rules when the shared test data is
//! there), against parsing the same records with serde_json in the same run; and the
//! correlation state bound under 1M distinct group keys.
//!
//! `cargo bench -p evident-detect --bench detect` (`EVIDENT_TESTDATA` for the shared data).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark panics on bad setup

use std::path::PathBuf;

use criterion::{BatchSize, Criterion, Throughput};
use evident_detect::{DetectConfig, Detector, EventRef, RawRecord, RuleSet};
use evident_model::{Event, Format};
use evident_sources::{ParseContext, Parser};

/// The allocator of the `evident` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn testdata() -> Option<PathBuf> {
    let dir = std::env::var_os("EVIDENT_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/testdata"));
    dir.join("sigma/rules").is_dir().then_some(dir)
}

/// Raw vendor records of the shared test data (or synthetic Okta events), normalized.
fn events() -> Vec<(Format, Vec<u8>, Event)> {
    let mut raw: Vec<(Format, Vec<u8>)> = Vec::new();
    if let Some(dir) = testdata() {
        for (file, format) in [
            ("aws_cloudtrail", Format::CloudTrail),
            ("okta_systemlog", Format::Okta),
            ("github_audit", Format::GitHub),
            ("azure_monitoractivity", Format::AzureActivity),
            ("gcp_auditlog", Format::GcpAudit),
        ] {
            let path = dir.join(format!("logs/panther/{file}.jsonl"));
            if let Ok(text) = std::fs::read_to_string(path) {
                raw.extend(text.lines().map(|l| (format, l.as_bytes().to_vec())));
            }
        }
    }
    if raw.is_empty() {
        for i in 0..500 {
            let line = format!(
                r#"{{"uuid":"e{i}","published":"2026-11-26T10:{:02}:{:02}.000Z","eventType":"user.session.start","displayMessage":"User login to Okta","actor":{{"alternateId":"u{i}@example.com","type":"User"}},"client":{{"ipAddress":"198.51.100.{}"}},"outcome":{{"result":"FAILURE"}},"version":"0"}}"#,
                (i / 60) % 60,
                i % 60,
                i % 250
            );
            raw.push((Format::Okta, line.into_bytes()));
        }
    }
    let ctx = ParseContext::new("bench", 1_764_151_200_000_000_000);
    let mut out = Vec::new();
    for (format, bytes) in raw {
        if let Ok(evs) = Parser::new(format).parse(&bytes, &ctx) {
            for e in evs {
                out.push((format, bytes.clone(), e));
            }
        }
    }
    out
}

fn rules() -> RuleSet {
    let mut rules = RuleSet::builtin();
    if let Some(dir) = testdata() {
        for sub in ["cloud", "identity", "application"] {
            rules.add_path(&dir.join("sigma/rules").join(sub)).unwrap();
        }
    }
    rules
}

fn throughput(c: &mut Criterion) {
    let events = events();
    let rules = rules();
    let mut detector = Detector::new(&rules, &DetectConfig::default()).unwrap();
    eprintln!(
        "{} events, {} rules loaded ({} failed)",
        events.len(),
        detector.rule_count(),
        detector.load_failures().len()
    );
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("serde_json parse (baseline)", |b| {
        b.iter(|| {
            for (_, bytes, _) in &events {
                std::hint::black_box(serde_json::from_slice::<serde_json::Value>(bytes).unwrap());
            }
        })
    });
    g.bench_function("enrich + route + evaluate", |b| {
        b.iter_batched(
            || events.clone(),
            |evs| {
                for (i, (format, bytes, e)) in evs.into_iter().enumerate() {
                    let raw = RawRecord {
                        format,
                        bytes: Some(&bytes),
                    };
                    detector.process(e, Some(raw), EventRef::ledger(i as u64));
                }
                std::hint::black_box(detector.take_alerts());
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// Resident set size in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

/// 1M failed logins from 1M distinct IPs inside one 5-minute window: the brute-force
/// correlation's state must stay under `max_correlation_state`, every key either held or
/// counted as evicted.
fn state_bound() {
    let rules = RuleSet::builtin();
    let mut detector = Detector::new(&rules, &DetectConfig::default()).unwrap();
    let before = rss_kib();
    let start = std::time::Instant::now();
    let n = 1_000_000u32;
    for i in 0..n {
        let mut e = Event::new(
            evident_model::Class::Authentication,
            1,
            1_764_151_200_000 + i64::from(i) / 10,
        );
        e.set_status(evident_model::Status::Failure);
        e.set(
            "src_endpoint.ip",
            std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string(),
        );
        detector.process(e, None, EventRef::ledger(u64::from(i)));
    }
    let s = detector.stats();
    let max = DetectConfig::default().detection.max_correlation_state as u64;
    println!(
        "state bound: {n} distinct keys in {:.1}s: state {} (max {max}), evicted {}, RSS {} MiB -> {} MiB",
        start.elapsed().as_secs_f64(),
        s.correlation_state,
        s.correlation_evictions,
        before / 1024,
        rss_kib() / 1024
    );
    assert!(s.correlation_state <= max);
    assert_eq!(s.correlation_state + s.correlation_evictions, u64::from(n));
}

fn main() {
    state_bound();
    let mut c = Criterion::default().configure_from_args();
    throughput(&mut c);
    c.final_summary();
}
