//! `evident bench detect`: the detector (enrichment, routing, Sigma evaluation,
//! correlation, alerting) over the demo's records normalized to OCSF, with the built-in
//! rule pack plus, with `--sigma DIR`, SigmaHQ rules; events per CPU second of the
//! detecting thread, against `serde_json` parsing the same normalized events (as the JSON
//! the pipeline stores) into a `Value` on the same thread in the same run (DESIGN.md §12:
//! ≥ 200k events/s per core with 100+ rules).

use std::path::PathBuf;

use clap::Args;
use evident_detect::{DetectConfig, Detector, EventRef, RawRecord, RuleSet};
use evident_model::{Event, Format};
use evident_sources::{ParseContext, Parser};
use serde_json::{Value, json};

use crate::bench::thread_cpu_ns;
use crate::bench_all::Row;

/// The detection budget, events per CPU second (DESIGN.md §12).
const BUDGET_EVENTS_PER_SEC: f64 = 200_000.0;

/// Events per turn of the baseline and the detector (a few milliseconds of each).
const INTERLEAVE_CHUNK: usize = 2048;

/// `evident bench detect` options.
#[derive(Args, Clone)]
pub(crate) struct DetectBench {
    /// Days of demo data to generate and normalize as input.
    #[arg(long, default_value_t = 7)]
    pub(crate) days: u32,
    /// A directory of Sigma rules (e.g. SigmaHQ's rules/) loaded beside the built-in pack.
    #[arg(long)]
    pub(crate) sigma: Option<PathBuf>,
    /// CPU seconds to spend on each of the detector and the baseline.
    #[arg(long, default_value_t = 2.0)]
    pub(crate) cpu_seconds: f64,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Normalizes the demo's records, then runs the detector and the baseline over them.
pub(crate) fn measure(args: &DetectBench) -> anyhow::Result<Value> {
    let demo = evident_demo::generate(&evident_demo::DemoConfig::new(
        args.days.max(1),
        chrono::Utc::now(),
    ));
    let ctx = ParseContext::new("bench", evident_ledger::now_ns());
    let mut events: Vec<(Format, Vec<u8>, Event)> = Vec::new();
    let mut records = 0usize;
    let mut unparsed = 0usize;
    for source in &demo.sources {
        let format: Format = source.format.parse()?;
        let mut parser = Parser::new(format);
        for r in &source.records {
            records += 1;
            match parser.parse(r, &ctx) {
                Ok(evs) => events.extend(evs.into_iter().map(|e| (format, r.clone(), e))),
                Err(_) => unparsed += 1,
            }
        }
    }
    anyhow::ensure!(!events.is_empty(), "the demo produced no events");
    // Serialized from copies: writing `unmapped` parses the vendor record into the event
    // it is read from, and the pipeline hands the detector events whose record is unparsed.
    let as_json: Vec<Vec<u8>> = events
        .iter()
        .map(|(_, _, e)| serde_json::to_vec(&e.clone()))
        .collect::<Result<_, _>>()?;
    let json_bytes: usize = as_json.iter().map(Vec::len).sum();

    let mut rules = RuleSet::builtin();
    if let Some(dir) = &args.sigma {
        rules.add_path(dir)?;
    }
    let mut detector = Detector::new(&rules, &DetectConfig::default())?;
    let budget_ns = (args.cpu_seconds.max(0.01) * 1e9) as u64;

    // The baseline (parse each normalized event's JSON into a `Value` and drop it) and the
    // detector take turns on the same chunk of events, so both see the same machine: on
    // these shared VMs the speed of one core drifts by tens of percent within seconds, and
    // measuring one after the other made the ratio drift with it. Events are cloned before
    // the clock starts (the pipeline hands the detector owned events); freeing them after
    // `process` is counted, as in the pipeline.
    let mut index = 0u64;
    let mut alerts_per_round = Vec::new();
    let (mut json_ns, mut detect_ns, mut rounds) = (0u64, 0u64, 0usize);
    while rounds == 0 || json_ns + detect_ns < 2 * budget_ns {
        let mut batch = events.clone().into_iter();
        for chunk in as_json.chunks(INTERLEAVE_CHUNK) {
            let t = thread_cpu_ns();
            for bytes in chunk {
                std::hint::black_box(serde_json::from_slice::<Value>(bytes).ok());
            }
            let u = thread_cpu_ns();
            for (format, bytes, e) in batch.by_ref().take(chunk.len()) {
                index += 1;
                let raw = RawRecord {
                    format,
                    bytes: Some(&bytes),
                };
                detector.process(e, Some(raw), EventRef::ledger(index));
            }
            let v = thread_cpu_ns();
            json_ns += u.saturating_sub(t);
            detect_ns += v.saturating_sub(u);
        }
        let t = thread_cpu_ns();
        alerts_per_round.push(detector.take_alerts().len());
        detect_ns += thread_cpu_ns().saturating_sub(t);
        rounds += 1;
    }
    let (json_ns, detect_ns) = (json_ns.max(1), detect_ns.max(1));
    let (json_rounds, detect_rounds) = (rounds, rounds);
    let n = events.len();
    let eps = (n * detect_rounds) as f64 / (detect_ns as f64 / 1e9);
    let json_eps = (n * json_rounds) as f64 / (json_ns as f64 / 1e9);
    let rules_loaded = detector.rule_count();
    Ok(json!({
        "scenario": "detect",
        "days": args.days.max(1),
        "records": records,
        "unparsed_records": unparsed,
        "events": n,
        "event_json_bytes": json_bytes,
        "rules_loaded": rules_loaded,
        "rule_load_failures": detector.load_failures().len(),
        "sigma_dir": args.sigma.as_ref().map(|d| d.display().to_string()),
        "rounds": detect_rounds,
        "cpu_seconds": detect_ns as f64 / 1e9,
        "alerts_first_round": alerts_per_round.first().copied().unwrap_or(0),
        "events_per_cpu_sec": eps,
        "baseline_serde_json_rounds": json_rounds,
        "baseline_serde_json_events_per_cpu_sec": json_eps,
        "ratio_to_serde_json": eps / json_eps,
        "budget_events_per_sec": BUDGET_EVENTS_PER_SEC,
        "budget_applies": rules_loaded >= 100,
        "pass": eps >= BUDGET_EVENTS_PER_SEC,
    }))
}

/// The summary row `bench all` prints for this report.
pub(crate) fn row(r: &Value) -> Row {
    Row {
        scenario: format!("detect ({} rules)", r["rules_loaded"]),
        value: format!(
            "{:.0} events/CPU-s",
            r["events_per_cpu_sec"].as_f64().unwrap_or(0.0)
        ),
        baseline: format!(
            "serde_json {:.0}/CPU-s",
            r["baseline_serde_json_events_per_cpu_sec"]
                .as_f64()
                .unwrap_or(0.0)
        ),
        ratio: r["ratio_to_serde_json"].as_f64(),
        budget: "≥ 200k/s per core".into(),
        pass: r["pass"].as_bool(),
    }
}

pub(crate) fn print(r: &Value) {
    println!(
        "detect: {} events from {} demo records ({} days), {} rules loaded ({} failed){}",
        r["events"],
        r["records"],
        r["days"],
        r["rules_loaded"],
        r["rule_load_failures"],
        r["sigma_dir"]
            .as_str()
            .map_or(String::new(), |d| format!(", Sigma rules from {d}"))
    );
    println!(
        "  detector               {:>10.0} events per CPU second ({} rounds, {} alerts in the first)",
        r["events_per_cpu_sec"].as_f64().unwrap_or(0.0),
        r["rounds"],
        r["alerts_first_round"]
    );
    println!(
        "  serde_json Value parse {:>10.0} events per CPU second (the same events as JSON)",
        r["baseline_serde_json_events_per_cpu_sec"]
            .as_f64()
            .unwrap_or(0.0)
    );
    println!(
        "  ratio {:.3}; budget ≥ {BUDGET_EVENTS_PER_SEC:.0}/s per core{}: {}",
        r["ratio_to_serde_json"].as_f64().unwrap_or(0.0),
        if r["budget_applies"].as_bool() == Some(true) {
            ""
        } else {
            " (stated for 100+ rules)"
        },
        if r["pass"].as_bool() == Some(true) {
            "met"
        } else {
            "NOT met"
        }
    );
}
