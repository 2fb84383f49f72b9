//! The evidence package (DESIGN.md §11): everything a SOC 2 auditor asks for about an audit
//! period, as a directory (and optionally a `.zip`) they can read without Evident and verify
//! offline. [`export`] reads the [`Ledger`] and the [`StateDb`], takes the sections other
//! crates own (access list, retention status, IR plan, rule catalogue, control mapping) as
//! plain data in the [`ExportRequest`], and writes the layout below; every file is listed with
//! its SHA-256 in `MANIFEST.json`, which the log key signs (`MANIFEST.json.sig`, a C2SP signed
//! note). [`verify_package`] re-checks a package: manifest signature and hashes, no missing or
//! extra files, checkpoint signatures, the consistency proof between the period's
//! checkpoints, and every sampled entry's tlog-proof and raw bytes.
//!
//! Layout: `index.html`, `controls.csv`, `sources/`, `alerts/` (population + seeded sample
//! of cases with timelines), `reviews/`, `vulnerabilities/`, `access/`, `retention/`,
//! `ir-plan.md`, `metrics/` (SVG + CSV), `integrity/`, `MANIFEST.json(.sig)`.
//!
//! ```no_run
//! # fn demo(request: evident_evidence::ExportRequest<'_>) -> Result<(), Box<dyn std::error::Error>> {
//! let summary = evident_evidence::export(&request, &mut |_stage: &str, _done: u64, _total: u64| {})?;
//! let report = evident_evidence::verify_package(&summary.dir, None)?;
//! assert!(report.findings.is_empty());
//! # Ok(()) }
//! ```

mod export;
mod html;
mod integrity;
mod package;
mod sample;
mod sections;
mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use evident_ledger::{Ledger, NoteSigner};
use evident_store::StateDb;

pub use export::export;
pub use sample::{Frequency, SampleDraw, draw_sample, sample_size};
pub use verify::{KeySource, VerifyReport, verify_package};

/// The name of the signed manifest and of its signature, at the package root.
pub const MANIFEST: &str = "MANIFEST.json";
/// The signature of [`MANIFEST`]: a C2SP signed note by the log key.
pub const MANIFEST_SIG: &str = "MANIFEST.json.sig";
/// First line of the signed note over the manifest, so a manifest signature can never be
/// mistaken for a checkpoint signed by the same key.
pub const MANIFEST_NOTE_HEADER: &str = "evident.dev/evidence-manifest/v1";

/// What to export and the sections other crates own, as plain data.
pub struct ExportRequest<'a> {
    /// The log (entries, checkpoints, proofs).
    pub ledger: &'a Ledger,
    /// Signs the manifest: the same key that signs checkpoints.
    pub signer: &'a NoteSigner,
    /// Sources, alerts, cases, reviews, audit rows.
    pub db: &'a StateDb,
    /// First day of the period (UTC, inclusive).
    pub from: NaiveDate,
    /// Last day of the period (UTC, inclusive).
    pub to: NaiveDate,
    /// Directory to create; must not exist or be empty.
    pub out: PathBuf,
    /// Also write `<out>.zip`.
    pub zip: bool,
    /// Seed of the case sample, recorded in the package so the draw can be repeated.
    pub seed: u64,
    /// When the package was generated, ms since the epoch (stated in the package; tests pin it).
    pub generated_at_ms: i64,
    /// Which TSC criteria each source evidences (the configured mapping).
    pub source_criteria: BTreeMap<String, Vec<String>>,
    /// Detection rules in force, for the narrative per control.
    pub rules: Vec<RuleInfo>,
    /// The access-control list as CSV (users, API tokens, ingest credentials), as the
    /// access module exports it.
    pub access_csv: String,
    /// Retention policy and archive status, as Markdown.
    pub retention_markdown: String,
    /// The incident-response plan, as Markdown.
    pub ir_plan_markdown: String,
}

/// A detection rule as the package lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// The rule's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Sigma level.
    pub level: String,
    /// TSC criteria it evidences (`CC6.1`).
    pub tsc: Vec<String>,
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The package directory.
    pub dir: PathBuf,
    /// The zip, when asked for.
    pub zip: Option<PathBuf>,
    /// Files listed in the manifest.
    pub files: usize,
    /// Bytes of those files.
    pub bytes: u64,
    /// Alerts in the period.
    pub alerts: usize,
    /// Cases in the period (the sample's population).
    pub cases: usize,
    /// Case ids drawn into the sample, ascending.
    pub sampled_cases: Vec<i64>,
    /// Ledger entries with a tlog-proof in `integrity/proofs/`.
    pub proofs: usize,
    /// Sizes of the period's start and end checkpoints.
    pub checkpoints: (u64, u64),
}

/// Why an export or a verification could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// `--from` after `--to`.
    #[error("the period starts ({from}) after it ends ({to})")]
    Period {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
    /// The output directory already holds files.
    #[error("{}: exists and is not empty; choose a new directory", .0.display())]
    OutputNotEmpty(PathBuf),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The log could not be read.
    #[error("ledger: {0}")]
    Ledger(#[from] evident_ledger::LedgerError),
    /// The state database could not be read.
    #[error("state database: {0}")]
    Store(#[from] evident_store::StoreError),
    /// Signing failed.
    #[error("signing: {0}")]
    Note(#[from] evident_ledger::NoteError),
    /// The log has no checkpoint to anchor the package.
    #[error("the ledger has no checkpoint yet; run `evident checkpoint` first")]
    NoCheckpoint,
    /// A zip that cannot be written or read.
    #[error("{}: zip: {reason}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A package that is not one (no manifest, unreadable key).
    #[error("{}: {reason}", path.display())]
    NotAPackage {
        /// The package path.
        path: PathBuf,
        /// Why it cannot be verified at all.
        reason: String,
    },
}

/// An [`EvidenceError::Io`] for `path`.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reports export progress: `stage` names the section being written, `done` of `total` units.
pub trait Progress {
    /// Called as work advances; must be cheap.
    fn update(&mut self, stage: &str, done: u64, total: u64);
}

impl<F: FnMut(&str, u64, u64)> Progress for F {
    fn update(&mut self, stage: &str, done: u64, total: u64) {
        self(stage, done, total)
    }
}
