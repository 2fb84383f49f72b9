//! `evident hunt`: run Sigma rules over log files offline (like chainsaw or hayabusa) and
//! print the alerts as NDJSON, each naming the matching events as `file` and `line`. Files
//! are parsed as `evident parse` does; enrichment reads the config's `[business_hours]`,
//! `[[assets]]`, `[privileged_groups]`, `[change_tickets]` and `[detection]`; every change
//! ticket is known up front, so nothing waits for the grace period.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use evident_detect::{ChangeTicket, DetectConfig, Detector, EventRef, RawRecord, RuleSet};
use evident_model::{Format, Framing};
use evident_sources::{Limits, ParseContext, Parser, decode_body, split_records};

use crate::Outcome;

/// What `hunt` was asked to do.
pub(crate) struct HuntArgs<'a> {
    pub(crate) rules: &'a [PathBuf],
    pub(crate) no_builtin: bool,
    pub(crate) format: &'a str,
    pub(crate) change_tickets: Option<&'a Path>,
    pub(crate) config: Option<&'a Path>,
    pub(crate) files: &'a [PathBuf],
}

pub(crate) fn run(args: HuntArgs<'_>) -> anyhow::Result<Outcome> {
    let config = match args.config {
        Some(p) => load_config(p)?,
        None => DetectConfig::default(),
    };
    let mut rules = if args.no_builtin || !config.detection.builtin_rules {
        RuleSet::new()
    } else {
        RuleSet::builtin()
    };
    for dir in config.detection.rules_dirs.iter().chain(args.rules) {
        rules
            .add_path(dir)
            .with_context(|| format!("reading rules from {}", dir.display()))?;
    }
    let mut detector = Detector::new(&rules, &config)?;
    if !detector.load_failures().is_empty() {
        eprintln!(
            "warning: {} rule documents could not be loaded (see `evident rules lint`)",
            detector.load_failures().len()
        );
    }
    if let Some(path) = args.change_tickets {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let t = ChangeTicket::from_json(line)
                .with_context(|| format!("{}:{}", path.display(), i + 1))?;
            detector.add_ticket(t);
        }
    }
    let format: Format = args.format.parse()?;
    let framing = match format {
        Format::Auto => Framing::Json,
        f => f.framing(),
    };
    let limits = Limits {
        max_record_bytes: usize::MAX,
        max_decoded_bytes: usize::MAX,
    };
    let now = evident_ledger::now_ns();
    let mut parser = Parser::new(format);
    let mut alerts: std::collections::BTreeMap<(String, i64), evident_detect::Alert> =
        Default::default();
    for file in args.files {
        let name = file.display().to_string();
        let raw = std::fs::read(file).with_context(|| format!("reading {name}"))?;
        let decoded = match decode_body(&raw, &limits) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{name}: {e}");
                continue;
            }
        };
        let split = split_records(&decoded, framing, &limits)?;
        let ctx = ParseContext::new("hunt", now);
        for record in &split.records {
            match parser.parse(record.bytes, &ctx) {
                Ok(events) => {
                    for e in events {
                        let f = e
                            .get_str("metadata.evident.format")
                            .and_then(|f| f.parse::<Format>().ok())
                            .unwrap_or(format);
                        let raw = RawRecord {
                            format: f,
                            bytes: Some(record.bytes),
                        };
                        detector.process(
                            e,
                            Some(raw),
                            EventRef::file_line(&name, record.line as u64),
                        );
                    }
                }
                Err(e) => eprintln!("{name}:{}: {e}", record.line),
            }
        }
        for a in detector.take_alerts() {
            alerts.insert((a.dedup_key.clone(), a.first_seen_ms), a);
        }
    }
    detector.finish();
    for a in detector.take_alerts() {
        alerts.insert((a.dedup_key.clone(), a.first_seen_ms), a);
    }
    let mut sorted: Vec<_> = alerts.into_values().collect();
    sorted.sort_by(|a, b| (a.first_seen_ms, &a.rule_id).cmp(&(b.first_seen_ms, &b.rule_id)));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for a in &sorted {
        serde_json::to_writer(&mut out, a).context("writing stdout")?;
        out.write_all(b"\n").context("writing stdout")?;
    }
    out.flush().context("writing stdout")?;
    let stats = detector.stats();
    eprintln!(
        "{} events, {} alerts, {} rules",
        stats.events,
        sorted.len(),
        detector.rule_count()
    );
    Ok(Outcome::Clean)
}

/// The detection tables of a config file (the rest of `evident.toml` is ignored).
pub(crate) fn load_config(path: &Path) -> anyhow::Result<DetectConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut table: toml::Table =
        toml::from_str(&text).with_context(|| format!("config {}", path.display()))?;
    const KEYS: &[&str] = &[
        "business_hours",
        "assets",
        "privileged_groups",
        "change_tickets",
        "detection",
    ];
    table.retain(|k, _| KEYS.contains(&k));
    let config: DetectConfig = toml::Value::Table(table)
        .try_into()
        .with_context(|| format!("config {}", path.display()))?;
    evident_detect::Enricher::new(&config).with_context(|| format!("config {}", path.display()))?;
    Ok(config)
}
