//! What the evidence package (DESIGN.md §11) needs from the server's modules, in one place so
//! `evident evidence export` and the web UI's `POST /evidence` build the same package: the
//! sections other modules own (access list, retention policy, IR plan, rule catalogue,
//! source-to-criteria mapping), the default sample seed, and the access-trail entry that
//! records an export (action [`EXPORT_ACTION`], which the rule pack's
//! `evident_access_export_by_non_admin` reads).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use evident_evidence::RuleInfo;
use sha2::{Digest as _, Sha256};

use crate::{Error, Evident};

/// The access-trail action of every evidence export, from the CLI or the UI. The rule pack
/// exempts auditors' exports by this word (`evident.access.action|contains: evidence`).
pub const EXPORT_ACTION: &str = "evidence export";

/// The package sections owned by the server's modules, as the exporter takes them.
pub struct PackageSections {
    /// Which TSC criteria each source evidences (the configured mapping).
    pub source_criteria: BTreeMap<String, Vec<String>>,
    /// The built-in detection rules, for the narrative per control.
    pub rules: Vec<RuleInfo>,
    /// The access-control list as CSV (the same as `evident access export`).
    pub access_csv: String,
    /// Retention policy and archive status, as Markdown.
    pub retention_markdown: String,
    /// The incident-response plan, as Markdown.
    pub ir_plan_markdown: String,
}

/// Gathers the sections of the package the server's modules own.
pub fn package_sections(node: &Evident) -> Result<PackageSections, Error> {
    let sources = node.db.sources()?;
    let names: Vec<String> = sources.iter().map(|s| s.name.to_string()).collect();
    let source_criteria = sources
        .iter()
        .map(|s| {
            let name = s.name.to_string();
            let criteria = crate::criteria_for(&node.config, &name, s.format);
            (name, criteria)
        })
        .collect();
    Ok(PackageSections {
        source_criteria,
        rules: builtin_rules(),
        access_csv: crate::auth::users_api::access_list(&node.db)?.to_csv(),
        retention_markdown: crate::retention::policy_markdown(&node.config.retention, &names),
        ir_plan_markdown: crate::ir_plan::render(node)?,
    })
}

/// The built-in rule pack's id, title, level and `tsc.*` tags, read from the rule files'
/// top-level keys (no full Sigma parse needed for a catalogue).
pub fn builtin_rules() -> Vec<RuleInfo> {
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

/// A sample seed when none is given: unpredictable enough for a sample the auditor can
/// redraw with their own seed (the package records it either way).
pub fn default_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()).rotate_left(32)
}

/// The SHA-256 (hex) of the package's signed `MANIFEST.json`: naming it in the audit entry
/// ties the trail to exactly the package handed out.
pub fn manifest_sha256(package_dir: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(package_dir.join(evident_evidence::MANIFEST))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The access-trail target of an export: `2026-11-01..2026-11-30 seed 7 manifest sha256:…`.
pub fn export_target(from: NaiveDate, to: NaiveDate, seed: u64, manifest_sha256: &str) -> String {
    format!("{from}..{to} seed {seed} manifest sha256:{manifest_sha256}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_names_period_seed_and_manifest() {
        let from = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(
            export_target(from, to, 7, "ab12"),
            "2026-11-01..2026-11-30 seed 7 manifest sha256:ab12"
        );
    }

    #[test]
    fn the_catalogue_lists_the_export_rule_with_its_criteria() {
        let rules = builtin_rules();
        let r = rules
            .iter()
            .find(|r| r.id == "0c5d0f55-6f7b-4f35-9a2b-6a7e1d3c0a03")
            .unwrap();
        assert_eq!(r.title, "Bulk export from Evident by a non-admin");
        assert_eq!(r.level, "medium");
        assert_eq!(r.tsc, vec!["CC6.1".to_string(), "CC6.7".to_string()]);
    }
}
