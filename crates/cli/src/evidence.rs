//! `evident evidence export|verify`: the audit-period evidence package (DESIGN.md §11). The
//! package itself is built by `evident-evidence`; this module gathers the sections other
//! crates own (gathered by `evident_server::evidence`, which the web UI's download uses
//! too), shows progress, records the export in the audit trail, and maps outcomes to exit
//! codes.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Subcommand;
use evident_evidence::{ExportRequest, KeySource};
use evident_server::evidence::{EXPORT_ACTION, export_target, manifest_sha256, package_sections};
use evident_server::{Evident, Pipeline};

use crate::Outcome;

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
    let seed = seed.unwrap_or_else(evident_server::evidence::default_seed);
    let signer = node.data.signer().context("reading the log key")?;
    let sections = package_sections(node)?;
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
        source_criteria: sections.source_criteria,
        rules: sections.rules,
        access_csv: sections.access_csv,
        retention_markdown: sections.retention_markdown,
        ir_plan_markdown: sections.ir_plan_markdown,
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
    let sha = manifest_sha256(&summary.dir)
        .with_context(|| format!("reading {}/MANIFEST.json", summary.dir.display()))?;
    // One access entry (the rule pack's `evident_access_export_by_non_admin` reads it); beside
    // a running server (read-only ledger) the server seals it within a second.
    crate::access::audit(
        node,
        actor,
        EXPORT_ACTION,
        &export_target(from, to, seed, &sha),
    )?;
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

#[cfg(test)]
mod tests {
    use evident_model::Event;
    use evident_server::DataDir;

    use super::*;

    /// The access entries recording evidence exports.
    fn exports(node: &Evident) -> Vec<(Event, Option<u64>)> {
        node.db
            .audit_rows(evident_server::auth::access_log::ACCESS_AUDIT_KIND, None)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    serde_json::from_str::<Event>(&r.body).unwrap(),
                    r.ledger_index,
                )
            })
            .filter(|(e, _)| e.get_str("evident.access.action") == Some(EXPORT_ACTION))
            .collect()
    }

    #[test]
    fn an_export_beside_a_running_server_is_recorded_for_the_server_to_seal() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        data.init("evident.test/cli-evidence").unwrap();
        // The "server" holds the ledger; the CLI opens it read-only beside it.
        let server = Evident::open(&data).unwrap();
        server.ledger.checkpoint().unwrap();
        let cli = Evident::open_read_only(&data).unwrap();
        assert!(cli.ledger.is_read_only());
        let day = chrono::Utc::now().date_naive();
        let out = dir.path().join("pkg");
        let outcome = export(&cli, day, day, out.clone(), false, Some(9), "cli:tester").unwrap();
        assert!(matches!(outcome, Outcome::Clean));

        let recorded = exports(&server);
        assert_eq!(recorded.len(), 1);
        let (e, index) = &recorded[0];
        assert_eq!(e.get_str("actor.user.name"), Some("cli:tester"));
        assert_eq!(e.get_str("evident.actor.role"), Some("admin"));
        assert_eq!(e.get_str("evident.access.outcome"), Some("success"));
        let sha = manifest_sha256(&out).unwrap();
        assert_eq!(
            e.get_str("evident.access.target"),
            Some(format!("{day}..{day} seed 9 manifest sha256:{sha}").as_str())
        );
        assert_eq!(*index, None);
        // The server's housekeeping seals it.
        evident_server::audit::seal_audit_trail(&server.ledger, &server.db).unwrap();
        let sealed = exports(&server);
        assert_eq!(sealed.len(), 1);
        assert!(sealed[0].1.is_some(), "{:?}", sealed[0].1);
    }
}
