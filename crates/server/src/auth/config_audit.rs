//! Configuration and rule changes as audit entries. Both are files an admin edits on the
//! server, so Evident cannot see the edit itself; at every start it fingerprints them
//! (SHA-256 of `evident.toml` and of every rule file in `[detection] rules_dirs`) and, when
//! anything differs from the last recorded fingerprint, appends one `config change` access
//! entry naming the files added, changed or removed — so "who changed the detection rules,
//! when" has an answer in the ledger.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::access_log::{ACCESS_AUDIT_KIND, AccessEvent, Outcome};
use crate::{Error, Evident};

/// The action name of configuration-change entries.
pub const CONFIG_CHANGE: &str = "config change";

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// File → SHA-256 of the config and every rule file.
fn fingerprint(node: &Evident) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let config = node.data.config_path();
    if let Ok(bytes) = std::fs::read(&config) {
        files.insert(config.display().to_string(), sha256_hex(&bytes));
    }
    for dir in &node.config.detection.rules_dirs {
        collect_rules(dir, &mut files);
    }
    files
}

fn collect_rules(dir: &Path, files: &mut BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rules(&path, files);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml")
            && let Ok(bytes) = std::fs::read(&path)
        {
            files.insert(path.display().to_string(), sha256_hex(&bytes));
        }
    }
}

/// Records a `config change` entry when the config or rules differ from the last recorded
/// fingerprint; returns the changed files (`+` added, `~` changed, `-` removed).
pub fn record_if_changed(node: &Evident) -> Result<Option<Vec<String>>, Error> {
    let now = fingerprint(node);
    let last: BTreeMap<String, String> = node
        .db
        .audit_rows(ACCESS_AUDIT_KIND, None)?
        .into_iter()
        .rev()
        .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
        .find(|b| b["evident"]["access"]["action"] == CONFIG_CHANGE)
        .and_then(|b| serde_json::from_value(b["evident"]["config"]["files"].clone()).ok())
        .unwrap_or_default();
    let mut changes = Vec::new();
    for (file, sha) in &now {
        match last.get(file) {
            None => changes.push(format!("+{file}")),
            Some(old) if old != sha => changes.push(format!("~{file}")),
            Some(_) => {}
        }
    }
    changes.extend(
        last.keys()
            .filter(|f| !now.contains_key(*f))
            .map(|f| format!("-{f}")),
    );
    if changes.is_empty() {
        return Ok(None);
    }
    let at_ms = (evident_ledger::now_ns() / 1_000_000) as i64;
    let mut event = AccessEvent {
        actor: "evident".into(),
        role: None,
        action: CONFIG_CHANGE.into(),
        target: changes.join(" "),
        outcome: Outcome::Success,
        detail: Some(format!(
            "{} file(s) differ from the last start",
            changes.len()
        )),
        peer: None,
    }
    .to_event(at_ms);
    event.set(
        "evident.config.files",
        serde_json::to_value(&now).unwrap_or_default(),
    );
    let body = serde_json::to_string(&event).unwrap_or_default();
    node.db
        .record_audit(ACCESS_AUDIT_KIND, 0, &body, node.ledger.size())?;
    crate::audit::seal_audit_trail(&node.ledger, &node.db)?;
    Ok(Some(changes))
}
