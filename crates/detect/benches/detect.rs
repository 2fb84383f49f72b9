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

/// CPU time of this thread in ns: on this shared 2-core machine, wall time also counts the
/// time other work held the core.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time of the whole process in ns (`/proc/self/stat` user + system, 100 ticks/s).
fn process_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .map_or(0, |ticks| ticks * 10_000_000)
}

/// Runs `round` (which returns the CPU ns it spent on the measured part) until 3 s of CPU
/// time are spent; returns items per CPU second. The kernel updates a running thread's CPU
/// time at scheduler ticks, so one round's figure is off by up to a tick either way; the
/// sum over hundreds of rounds is not.
fn cpu_rate(items: usize, mut round: impl FnMut() -> u64) -> f64 {
    let (mut total, mut rounds) = (0u64, 0u64);
    while total < 3_000_000_000 {
        total += round();
        rounds += 1;
    }
    (items as u64 * rounds) as f64 / (total as f64 / 1e9)
}

/// The same measurements as the criterion groups, in CPU time per thread (what the
/// BENCHMARKS.md rows quote): serde_json parse of the records, the detector, and the
/// CloudTrail parser on the CloudTrail records.
fn cpu_summary(events: &[(Format, Vec<u8>, Event)], detector: &mut Detector) {
    let json = cpu_rate(events.len(), || {
        let t = thread_cpu_ns();
        for (_, bytes, _) in events {
            std::hint::black_box(serde_json::from_slice::<serde_json::Value>(bytes).unwrap());
        }
        thread_cpu_ns() - t
    });
    let mut i = 0u64;
    let proc_before = process_cpu_ns();
    let mut measured = 0u64;
    let detect = cpu_rate(events.len(), || {
        let evs = events.to_vec();
        let t = thread_cpu_ns();
        for (format, bytes, e) in evs {
            let raw = RawRecord {
                format,
                bytes: Some(&bytes),
            };
            i += 1;
            detector.process(e, Some(raw), EventRef::ledger(i));
        }
        std::hint::black_box(detector.take_alerts());
        measured += events.len() as u64;
        thread_cpu_ns() - t
    });
    // Every thread, the untimed setup (cloning the events) included: an upper bound.
    let all = measured as f64 / ((process_cpu_ns() - proc_before) as f64 / 1e9);
    println!(
        "cpu: {} events: serde_json parse {json:.0}/s, detector {detect:.0}/s on its thread (ratio {:.3}), {all:.0}/s counting every thread and the setup",
        events.len(),
        detect / json
    );
    let trails: Vec<&[u8]> = events
        .iter()
        .filter(|(f, _, _)| *f == Format::CloudTrail)
        .map(|(_, b, _)| b.as_slice())
        .collect();
    let bytes: usize = trails.iter().map(|b| b.len()).sum();
    let ctx = ParseContext::new("bench", 1_764_151_200_000_000_000);
    let json = cpu_rate(trails.len(), || {
        let t = thread_cpu_ns();
        for r in &trails {
            std::hint::black_box(serde_json::from_slice::<serde_json::Value>(r).unwrap());
        }
        thread_cpu_ns() - t
    });
    // What a lazily parsed vendor document would cost up front: the top level borrowed
    // (keys and raw values), nested values parsed only when a rule asks for them.
    let lazy = cpu_rate(trails.len(), || {
        let t = thread_cpu_ns();
        for r in &trails {
            std::hint::black_box(
                serde_json::from_slice::<
                    std::collections::BTreeMap<&str, &serde_json::value::RawValue>,
                >(r)
                .unwrap(),
            );
        }
        thread_cpu_ns() - t
    });
    let mut parser = Parser::new(Format::CloudTrail);
    let parse = cpu_rate(trails.len(), || {
        let t = thread_cpu_ns();
        for r in &trails {
            std::hint::black_box(parser.parse(r, &ctx).unwrap());
        }
        thread_cpu_ns() - t
    });
    println!(
        "cpu: {} CloudTrail records (mean {} B): serde_json parse {json:.0}/s, Parser::parse {parse:.0}/s (ratio {:.3}), top level borrowed {lazy:.0}/s",
        trails.len(),
        bytes / trails.len().max(1),
        parse / json
    );
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
    cpu_summary(&events, &mut detector);
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
    // `EVIDENT_BENCH_STATE=0` skips the 20-second state-bound run (for profiling).
    if std::env::var_os("EVIDENT_BENCH_STATE").is_none_or(|v| v != "0") {
        state_bound();
    }
    let mut c = Criterion::default().configure_from_args();
    throughput(&mut c);
    c.final_summary();
}
