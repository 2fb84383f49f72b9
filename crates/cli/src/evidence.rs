//! `evident evidence export|verify`: the audit-period evidence package (DESIGN.md §11). The
//! package itself is built by `evident-evidence`; this module gathers the sections other
//! crates own (access list, retention policy, IR plan, rule catalogue, control mapping),
//! shows progress, records the export in the audit trail, and maps outcomes to exit codes.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Subcommand;
use evident_evidence::{ExportRequest, KeySource, RuleInfo};
use evident_server::{Evident, Pipeline};

use crate::Outcome;

/// The audit-trail kind of evidence exports.
const EXPORT_AUDIT_KIND: &str = "evidence_export";

/// `evident evidence …`
#[derive(Subcommand)]
pub(crate) enum EvidenceCommand {
    /// Write the evidence package for an audit period (a directory, and a .zip with --zip).
    Export {
        /// First day of the period (UTC, inclusive), e.g. 2026-01-01.
        #[arg(long)]
        from: NaiveDate,
        /// Last day of the period (UTC, inclusive), e.g. 2026-06-30.
        #[arg(long)]
        to: NaiveDate,
        /// Directory to create (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
        /// Also write OUT.zip.
        #[arg(long)]
        zip: bool,
        /// Seed of the case sample (default: random; recorded in the package either way).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Check a package offline: manifest signature and hashes, checkpoints, proofs.
    Verify {
        /// The package directory or .zip.
        package: PathBuf,
        /// The log's verifier key as the company gave it (default: the package's own copy).
        #[arg(long)]
        key: Option<String>,
        /// Print the report as one JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an `evidence` subcommand. `open` opens the data directory (export only: verify
/// never touches it).
pub(crate) fn run(
    cmd: EvidenceCommand,
    open: impl FnOnce() -> anyhow::Result<Evident>,
    actor: &str,
) -> anyhow::Result<Outcome> {
    match cmd {
        EvidenceCommand::Export {
            from,
            to,
            out,
            zip,
            seed,
        } => export(&open()?, from, to, out, zip, seed, actor),
        EvidenceCommand::Verify { package, key, json } => verify(&package, key.as_deref(), json),
    }
}

fn export(
    node: &Evident,
    from: NaiveDate,
    to: NaiveDate,
    out: PathBuf,
    zip: bool,
    seed: Option<u64>,
    actor: &str,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    if !node.ledger.is_read_only() {
        Pipeline::new(node.config.json_mappings.clone())
            .catch_up(&node.ledger, &node.db)
            .context("parsing new ledger entries")?;
        evident_server::audit::seal_audit_trail(&node.ledger, &node.db)
            .context("sealing the audit trail")?;
        node.ledger.checkpoint().context("signing a checkpoint")?;
    }
    let seed = match seed {
        Some(s) => s,
        // Unpredictable enough for a sample the auditor can redraw with their own seed.
        None => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
                ^ u64::from(std::process::id()).rotate_left(32)
        }
    };
    let signer = node.data.signer().context("reading the log key")?;
    let sources: Vec<String> = node
        .db
        .sources()?
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    let mut source_criteria = BTreeMap::new();
    for s in node.db.sources()? {
        let name = s.name.to_string();
        let criteria = evident_server::criteria_for(&node.config, &name, s.format);
        source_criteria.insert(name, criteria);
    }
    let request = ExportRequest {
        ledger: &node.ledger,
        signer: &signer,
        db: &node.db,
        from,
        to,
        out: out.clone(),
        zip,
        seed,
        generated_at_ms: chrono::Utc::now().timestamp_millis(),
        source_criteria,
        rules: builtin_rules(),
        access_csv: access_csv(node)?,
        retention_markdown: evident_server::retention::policy_markdown(
            &node.config.retention,
            &sources,
        ),
        ir_plan_markdown: evident_server::ir_plan::render(node)?,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(1);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:40} [{bar:30}] {pos}/{len}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut progress = |stage: &str, done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_message(stage.to_string());
            bar.set_length(total.max(1));
            bar.set_position(done);
        }
    };
    let summary = evident_evidence::export(&request, &mut progress)
        .with_context(|| format!("exporting the evidence package to {}", out.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !node.ledger.is_read_only() {
        let body = serde_json::json!({
            "at_ms": chrono::Utc::now().timestamp_millis(),
            "actor": actor,
            "action": "evidence_export",
            "from": from.to_string(),
            "to": to.to_string(),
            "out": out.display().to_string(),
            "seed": seed,
            "files": summary.files,
        });
        node.db
            .record_audit(EXPORT_AUDIT_KIND, 1, &body.to_string(), node.ledger.size())?;
        evident_server::audit::seal_audit_trail(&node.ledger, &node.db)?;
    }
    println!(
        "{}: {} files, {} bytes; {} alerts, {} cases, sample of {} (seed {seed}); {} entry proofs; checkpoints {} → {}",
        summary.dir.display(),
        summary.files,
        summary.bytes,
        summary.alerts,
        summary.cases,
        summary.sampled_cases.len(),
        summary.proofs,
        summary.checkpoints.0,
        summary.checkpoints.1,
    );
    if let Some(z) = &summary.zip {
        println!("{}", z.display());
    }
    Ok(Outcome::Clean)
}

fn verify(package: &Path, key: Option<&str>, json: bool) -> anyhow::Result<Outcome> {
    let report = evident_evidence::verify_package(package, key)?;
    let key_from = match report.key_source {
        KeySource::Given => "given with --key",
        KeySource::Package => {
            "the package's integrity/verifier.key (pass --key to check against the key the company gave you)"
        }
    };
    if json {
        println!(
            "{}",
            serde_json::json!({
                "package": package.display().to_string(),
                "key": report.key,
                "key_source": if report.key_source == KeySource::Given { "given" } else { "package" },
                "files": report.files,
                "proofs": report.proofs,
                "checkpoints": report.checkpoints,
                "findings": report.findings,
            })
        );
    } else {
        for f in &report.findings {
            println!("{f}");
        }
        println!(
            "{}: {} files, {} entry proofs, checkpoints {}; key {} ({key_from}); {}",
            package.display(),
            report.files,
            report.proofs,
            report
                .checkpoints
                .map_or("not verified".to_string(), |(a, b)| format!("{a} → {b}")),
            report.key,
            if report.findings.is_empty() {
                "everything verifies".to_string()
            } else {
                format!("{} problem(s)", report.findings.len())
            },
        );
    }
    Ok(if report.findings.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Problems
    })
}

/// Who can reach the log system (users, API tokens, each source's write-only ingest
/// credential): the access module's ACL export, so the package and `evident access export`
/// agree.
fn access_csv(node: &Evident) -> anyhow::Result<String> {
    Ok(evident_server::auth::users_api::access_list(&node.db)?.to_csv())
}

/// The built-in rule pack's id, title, level and `tsc.*` tags, read from the rule files'
/// top-level keys (no full Sigma parse needed for a catalogue).
fn builtin_rules() -> Vec<RuleInfo> {
    let mut out = Vec::new();
    for (_, text) in evident_detect::builtin_files(false) {
        for doc in text.split("\n---") {
            let top = |key: &str| {
                doc.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(|v| v.trim().trim_matches(['\'', '"']).to_string())
            };
            let Some(title) = top("title:") else { continue };
            let tsc = doc
                .lines()
                .filter_map(|l| l.trim().strip_prefix("- tsc."))
                .map(|t| t.trim().replace('_', ".").to_ascii_uppercase())
                .collect();
            out.push(RuleInfo {
                id: top("id:").unwrap_or_else(|| title.clone()),
                title,
                level: top("level:").unwrap_or_default(),
                tsc,
            });
        }
    }
    out
}
