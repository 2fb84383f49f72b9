//! `evident rules lint DIR` and `evident rules test [DIR]`: load Sigma rules and say which
//! cannot be used and why; run each rule's test cases (`rules/tests/<stem>.yml`).

use std::path::Path;

use anyhow::Context as _;
use evident_detect::testing::{CaseResult, parse_test_file, rule_stems, run_test_file};
use evident_detect::{DetectConfig, Detector, RuleSet, builtin_files};
use evident_model::{Event, Format};
use evident_sources::{ParseContext, Parser};

use crate::Outcome;

/// Loads `dir` and reports counts and every document that cannot be used.
pub(crate) fn lint(dir: &Path, json: bool) -> anyhow::Result<Outcome> {
    let mut rules = RuleSet::new();
    rules
        .add_path(dir)
        .with_context(|| format!("reading rules from {}", dir.display()))?;
    let detector = Detector::new(&rules, &DetectConfig::default())?;
    let (detections, correlations, filters) = rules.counts();
    let failures = detector.load_failures();
    let idle = detector.idle_rules(&rules);
    let loaded = detections + correlations + filters;
    let placed_failures = failures.len() - rules.failures().len();
    let loaded = loaded - placed_failures;
    let total = loaded + failures.len();
    if json {
        let doc = serde_json::json!({
            "files": rules.file_count(),
            "documents": total,
            "loaded": loaded,
            "detection": detections,
            "correlation": correlations - placed_failures,
            "filter": filters,
            "unsupported": failures,
            "idle": idle.iter().map(|(f, t)| serde_json::json!({"file": f, "title": t})).collect::<Vec<_>>(),
        });
        println!("{doc}");
    } else {
        for f in failures {
            println!("unsupported: {f}");
        }
        let pct = if total == 0 {
            100.0
        } else {
            loaded as f64 * 100.0 / total as f64
        };
        println!(
            "{} files, {total} rule documents: {loaded} loaded ({pct:.1}%: {detections} detection, {} correlation, {filters} filter), {} unsupported; {} loaded rules have a logsource no Evident format feeds (e.g. Windows process creation)",
            rules.file_count(),
            correlations - placed_failures,
            failures.len(),
            idle.len()
        );
    }
    Ok(if failures.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Problems
    })
}

/// Runs the test cases of `dir` (default: the built-in pack) and prints one line per case.
pub(crate) fn test(dir: Option<&Path>, json: bool) -> anyhow::Result<Outcome> {
    let mut rules = RuleSet::new();
    let mut tests: Vec<(String, String)> = Vec::new();
    match dir {
        None => {
            rules = RuleSet::builtin();
            for (path, text) in builtin_files(true) {
                tests.push((format!("builtin:rules/{path}"), text));
            }
        }
        Some(dir) => {
            rules
                .add_path(dir)
                .with_context(|| format!("reading rules from {}", dir.display()))?;
            let tdir = dir.join("tests");
            if tdir.is_dir() {
                let mut paths: Vec<_> = std::fs::read_dir(&tdir)
                    .with_context(|| format!("reading {}", tdir.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
                    })
                    .collect();
                paths.sort();
                for p in paths {
                    let text = std::fs::read_to_string(&p)
                        .with_context(|| format!("reading {}", p.display()))?;
                    tests.push((p.display().to_string(), text));
                }
            }
        }
    }
    let mut parsers: std::collections::HashMap<Format, Parser> = Default::default();
    let now = evident_ledger::now_ns();
    let mut parse = |format: Format, bytes: &[u8]| -> Result<Vec<Event>, String> {
        let parser = parsers.entry(format).or_insert_with(|| Parser::new(format));
        parser
            .parse(bytes, &ParseContext::new("rules-test", now))
            .map_err(|e| e.to_string())
    };
    let mut results: Vec<CaseResult> = Vec::new();
    let mut tested = std::collections::BTreeSet::new();
    let mut broken = 0usize;
    for (file, text) in &tests {
        match parse_test_file(file, text) {
            Ok(t) => {
                tested.insert(t.rule.clone());
                results.extend(run_test_file(&rules, file, &t, &mut parse));
            }
            Err(e) => {
                broken += 1;
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"file": file, "error": e.to_string()})
                    );
                } else {
                    println!("ERROR {e}");
                }
            }
        }
    }
    for f in rules.failures() {
        broken += 1;
        if json {
            println!(
                "{}",
                serde_json::json!({"file": f.file, "error": f.to_string()})
            );
        } else {
            println!("ERROR rule does not load: {f}");
        }
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for r in &results {
        if r.passed() {
            passed += 1;
        } else {
            failed += 1;
        }
        if json {
            println!(
                "{}",
                serde_json::json!({"file": r.file, "rule": r.rule, "case": r.case, "passed": r.passed(),
                    "expected": r.expected, "actual": r.actual, "error": r.error})
            );
        } else if r.passed() {
            println!("PASS {}: {}", r.rule, r.case);
        } else if let Some(e) = &r.error {
            println!("FAIL {}: {}: {e}", r.rule, r.case);
        } else {
            println!(
                "FAIL {}: {}: expected {} alerts, got {}",
                r.rule,
                r.case,
                r.expected,
                r.actual.unwrap_or(0)
            );
        }
    }
    let untested: Vec<String> = rule_stems(&rules)
        .into_iter()
        .filter(|s| !tested.contains(s))
        .collect();
    if !json {
        if !untested.is_empty() {
            println!("rules without tests: {}", untested.join(", "));
        }
        println!(
            "{passed} passed, {failed} failed{}",
            if broken > 0 {
                format!(", {broken} files with errors")
            } else {
                String::new()
            }
        );
    }
    Ok(if failed == 0 && broken == 0 {
        Outcome::Clean
    } else {
        Outcome::Problems
    })
}
