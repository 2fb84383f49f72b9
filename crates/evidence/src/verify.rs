//! [`verify_package`]: re-check a package directory or zip offline and name every problem by
//! file.

use std::collections::BTreeMap;
use std::path::Path;

use evident_ledger::{Checkpoint, Hash, NoteVerifier, TlogProof, verify_consistency};

use crate::integrity::{CONSISTENCY, CONSISTENCY_HEADER, END, KEY, START, entry_path};
use crate::package::{self, Files, sha256_hex};
use crate::{EvidenceError, MANIFEST, MANIFEST_SIG};

/// Where the verifier key came from (the report says which, so an auditor knows whether the
/// package was checked against an independent key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// Given by the caller (`--key`).
    Given,
    /// The package's own `integrity/verifier.key`.
    Package,
}

/// The outcome of a verification that could run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// The key used, `<origin>+<id>+<base64>`.
    pub key: String,
    /// Where it came from.
    pub key_source: KeySource,
    /// Files listed in the manifest.
    pub files: usize,
    /// tlog-proofs checked.
    pub proofs: usize,
    /// Tree sizes of the start and end checkpoints, when they verified.
    pub checkpoints: Option<(u64, u64)>,
    /// One line per problem, `path: what is wrong`, in file order. Empty when clean.
    pub findings: Vec<String>,
}

/// Verifies the package at `path` (directory or zip) with `key` (a verifier key string), or
/// with the package's own key when `None`. Errors only when it cannot run at all.
pub fn verify_package(path: &Path, key: Option<&str>) -> Result<VerifyReport, EvidenceError> {
    let files = package::read_package(path)?;
    let not_pkg = |reason: String| EvidenceError::NotAPackage {
        path: path.to_path_buf(),
        reason,
    };
    let (key_text, key_source) = match key {
        Some(k) => (k.trim().to_string(), KeySource::Given),
        None => {
            let k = files
                .get(KEY)
                .ok_or_else(|| not_pkg(format!("no {KEY} and no --key given")))?;
            (
                String::from_utf8_lossy(k).trim().to_string(),
                KeySource::Package,
            )
        }
    };
    let verifier = NoteVerifier::parse(&key_text)
        .map_err(|e| not_pkg(format!("verifier key {key_text:?}: {e}")))?;
    let manifest_bytes = files
        .get(MANIFEST)
        .ok_or_else(|| not_pkg(format!("no {MANIFEST}: not an evidence package")))?;
    let manifest: serde_json::Value = serde_json::from_slice(manifest_bytes)
        .map_err(|e| not_pkg(format!("{MANIFEST} is not JSON: {e}")))?;
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    for f in manifest
        .get("files")
        .and_then(|f| f.as_array())
        .ok_or_else(|| not_pkg(format!("{MANIFEST} has no \"files\" list")))?
    {
        let (Some(p), Some(h)) = (
            f.get("path").and_then(|v| v.as_str()),
            f.get("sha256").and_then(|v| v.as_str()),
        ) else {
            return Err(not_pkg(format!(
                "{MANIFEST}: a file without path or sha256"
            )));
        };
        listed.insert(p.to_string(), h.to_string());
    }

    let mut findings = Vec::new();
    if key_source == KeySource::Given {
        let packaged = files
            .get(KEY)
            .map(|k| String::from_utf8_lossy(k).trim().to_string());
        if packaged.as_deref() != Some(verifier.to_string().as_str()) {
            findings.push(format!("{KEY}: is not the key given to verify with"));
        }
    }
    check_manifest_sig(&files, manifest_bytes, &verifier, &mut findings);
    for (p, want) in &listed {
        match files.get(p) {
            None => findings.push(format!("{p}: missing (listed in {MANIFEST})")),
            Some(b) if sha256_hex(b) != *want => {
                findings.push(format!("{p}: SHA-256 does not match {MANIFEST}"))
            }
            Some(_) => {}
        }
    }
    for p in files.keys() {
        if !listed.contains_key(p) && !package::is_manifest_file(p) {
            findings.push(format!("{p}: not listed in {MANIFEST}"));
        }
    }

    let start = open_checkpoint(&files, START, &verifier, &mut findings);
    let end = open_checkpoint(&files, END, &verifier, &mut findings);
    if let (Some(s), Some(e)) = (&start, &end) {
        check_consistency(&files, s, e, &mut findings);
    }
    let end_note = files
        .get(END)
        .map(|b| String::from_utf8_lossy(b).into_owned());
    let mut proofs = 0;
    for (p, bytes) in files.range("integrity/proofs/".to_string()..) {
        if !p.starts_with("integrity/proofs/") {
            break;
        }
        proofs += 1;
        if let Some(problem) = check_proof(p, bytes, &files, end_note.as_deref(), &verifier) {
            findings.push(format!("{p}: {problem}"));
        }
    }
    Ok(VerifyReport {
        key: verifier.to_string(),
        key_source,
        files: listed.len(),
        proofs,
        checkpoints: start.zip(end).map(|(s, e)| (s.size, e.size)),
        findings,
    })
}

fn check_manifest_sig(
    files: &Files,
    manifest: &[u8],
    verifier: &NoteVerifier,
    findings: &mut Vec<String>,
) {
    let Some(sig) = files.get(MANIFEST_SIG) else {
        findings.push(format!("{MANIFEST_SIG}: missing"));
        return;
    };
    let note = String::from_utf8_lossy(sig);
    match verifier.verify(&note) {
        Err(e) => findings.push(format!("{MANIFEST_SIG}: {e}")),
        Ok(text) if text != package::manifest_note_text(manifest) => findings.push(format!(
            "{MANIFEST_SIG}: signs another manifest (SHA-256 differs from {MANIFEST})"
        )),
        Ok(_) => {}
    }
}

fn open_checkpoint(
    files: &Files,
    path: &str,
    verifier: &NoteVerifier,
    findings: &mut Vec<String>,
) -> Option<Checkpoint> {
    let Some(bytes) = files.get(path) else {
        findings.push(format!("{path}: missing"));
        return None;
    };
    match Checkpoint::open(&String::from_utf8_lossy(bytes), verifier) {
        Ok(cp) => Some(cp),
        Err(e) => {
            findings.push(format!("{path}: {e}"));
            None
        }
    }
}

fn check_consistency(
    files: &Files,
    start: &Checkpoint,
    end: &Checkpoint,
    findings: &mut Vec<String>,
) {
    let Some(bytes) = files.get(CONSISTENCY) else {
        findings.push(format!("{CONSISTENCY}: missing"));
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let header = [lines.next(), lines.next(), lines.next()];
    let expected = [
        Some(CONSISTENCY_HEADER.to_string()),
        Some(format!("from {}", start.size)),
        Some(format!("to {}", end.size)),
    ];
    if header.iter().map(|l| l.map(str::to_string)).ne(expected) {
        findings.push(format!(
            "{CONSISTENCY}: header does not name the checkpoints' sizes ({} and {})",
            start.size, end.size
        ));
        return;
    }
    let proof: Option<Vec<Hash>> = lines.map(Hash::from_base64).collect();
    let Some(proof) = proof else {
        findings.push(format!(
            "{CONSISTENCY}: a proof line is not a base64 SHA-256 hash"
        ));
        return;
    };
    if verify_consistency(start.size, end.size, &proof, &start.root, &end.root).is_err() {
        findings.push(format!(
            "{CONSISTENCY}: does not prove that the end checkpoint (size {}) extends the start checkpoint (size {})",
            end.size, start.size
        ));
    }
}

fn check_proof(
    path: &str,
    bytes: &[u8],
    files: &Files,
    end_note: Option<&str>,
    verifier: &NoteVerifier,
) -> Option<String> {
    let proof = match TlogProof::parse(&String::from_utf8_lossy(bytes)) {
        Ok(p) => p,
        Err(e) => return Some(e.to_string()),
    };
    let named = path
        .strip_suffix(".tlog-proof")
        .and_then(|p| p.rsplit_once('-'))
        .and_then(|(_, n)| n.parse::<u64>().ok());
    match named {
        None => return Some("file name does not end in entry-<index>.tlog-proof".into()),
        Some(n) if n != proof.index => {
            return Some(format!("proves entry {}, not {n}", proof.index));
        }
        Some(_) => {}
    }
    if end_note != Some(proof.checkpoint_note.as_str()) {
        return Some(format!("its checkpoint is not {END}"));
    }
    let entry_file = entry_path(proof.index);
    let Some(entry) = files.get(&entry_file) else {
        return Some(format!("{entry_file} is missing"));
    };
    match proof.verify(verifier, entry) {
        Ok(_) => None,
        Err(evident_ledger::TlogProofError::Proof(_)) => {
            Some("inclusion proof does not match the checkpoint root".into())
        }
        Err(e) => Some(e.to_string()),
    }
}
