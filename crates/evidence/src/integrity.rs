//! `integrity/`: the signed checkpoints bracketing the period, the consistency proof between
//! them, a C2SP tlog-proof and the raw bytes of every sampled entry, the verifier key, the
//! auditor's instructions, a standalone Python verifier, and the server's verification runs
//! in the period.

use evident_ledger::{SignedCheckpoint, TlogProof};

use crate::export::{Period, day_ms, sampled_entries};
use crate::package::Files;
use crate::sections::{csv as csv_field, time};
use crate::{EvidenceError, ExportRequest, Progress};

/// Start checkpoint file.
pub(crate) const START: &str = "integrity/checkpoint-start.txt";
/// End checkpoint file.
pub(crate) const END: &str = "integrity/checkpoint-end.txt";
/// Consistency proof file.
pub(crate) const CONSISTENCY: &str = "integrity/consistency-proof.txt";
/// First line of the consistency proof file.
pub(crate) const CONSISTENCY_HEADER: &str = "evident.dev/consistency-proof/v1";
/// Verifier key file.
pub(crate) const KEY: &str = "integrity/verifier.key";

/// What the integrity section anchored.
pub(crate) struct Integrity {
    /// Size of the start checkpoint.
    pub start_size: u64,
    /// Size of the end checkpoint.
    pub end_size: u64,
    /// Why these checkpoints were chosen.
    pub reason: String,
    /// Proof files written.
    pub proofs: usize,
    /// Sampled entries left out because no checkpoint covers them yet.
    pub uncovered: Vec<u64>,
    /// Whole-ledger verification runs recorded in the period, and how many were clean.
    pub verify_runs: (usize, usize),
}

/// Path of the list of verification runs in the period.
pub(crate) const VERIFY_RUNS: &str = "integrity/verification-runs.csv";

/// Path of the proof of entry `index`.
pub(crate) fn proof_path(index: u64) -> String {
    format!("integrity/proofs/entry-{index:06}.tlog-proof")
}

/// Path of the raw bytes of entry `index`.
pub(crate) fn entry_path(index: u64) -> String {
    format!("integrity/entries/entry-{index:06}.bin")
}

/// Writes `integrity/`.
pub(crate) fn write(
    request: &ExportRequest<'_>,
    period: &Period,
    files: &mut Files,
    progress: &mut dyn Progress,
) -> Result<Integrity, EvidenceError> {
    let ledger = request.ledger;
    let history = ledger.checkpoint_history()?;
    let (Some(first), Some(last)) = (history.first().copied(), history.last().copied()) else {
        return Err(EvidenceError::NoCheckpoint);
    };
    let ns = |ms: i64| (ms.max(0) as u64).saturating_mul(1_000_000);
    let start_bound = ns(day_ms(period.from));
    let end_bound = ns(period.end_ms);
    let at_or_before = |bound: u64| history.iter().rev().find(|(_, t)| *t <= bound).copied();
    let mut reasons = Vec::new();
    let start = at_or_before(start_bound).unwrap_or_else(|| {
        reasons.push("no checkpoint was signed before the period started, so the start checkpoint is the log's first");
        first
    });
    let sampled = sampled_entries(period);
    let needed = sampled.iter().next_back().map_or(0, |i| i + 1);
    let covering = |n: u64| {
        history
            .iter()
            .find(|(s, _)| *s >= n)
            .copied()
            .unwrap_or(last)
    };
    let mut end = match at_or_before(end_bound) {
        Some(c) => c,
        None => {
            reasons.push("no checkpoint was signed before the period ended (the records were ingested later), so the end checkpoint is the first that covers every sampled entry");
            covering(needed.max(start.0))
        }
    };
    if end.0 < needed {
        reasons.push("the last checkpoint of the period does not cover every sampled entry (case changes recorded after the period), so the end checkpoint is the first that does");
        end = covering(needed);
    }
    if end.0 < start.0 {
        end = start;
    }
    let reason = if reasons.is_empty() {
        "the last checkpoints signed at or before the start and the end of the period".to_string()
    } else {
        reasons.join("; ")
    };
    let start_cp: SignedCheckpoint = ledger.checkpoint_at(start.0)?;
    let end_cp: SignedCheckpoint = ledger.checkpoint_at(end.0)?;
    files.insert(START.into(), start_cp.note.clone().into_bytes());
    files.insert(END.into(), end_cp.note.clone().into_bytes());
    files.insert(KEY.into(), format!("{}\n", ledger.verifier()).into_bytes());

    let proof = ledger.consistency_proof(start.0, end.0)?;
    let mut text = format!("{CONSISTENCY_HEADER}\nfrom {}\nto {}\n", start.0, end.0);
    for h in &proof {
        text.push_str(&h.to_base64());
        text.push('\n');
    }
    files.insert(CONSISTENCY.into(), text.into_bytes());

    let total = sampled.len() as u64;
    let mut proofs = 0;
    let mut uncovered = Vec::new();
    for (n, index) in sampled.iter().enumerate() {
        progress.update("proofs for sampled entries", n as u64, total);
        if *index >= end.0 {
            uncovered.push(*index);
            continue;
        }
        let bytes = ledger.entry_bytes(*index)?;
        let tlog = TlogProof {
            extra: None,
            index: *index,
            proof: ledger.inclusion_proof(*index, end.0)?,
            checkpoint_note: end_cp.note.clone(),
        };
        files.insert(proof_path(*index), tlog.to_text().into_bytes());
        files.insert(entry_path(*index), bytes);
        proofs += 1;
    }
    let verify_runs = verification_runs(request, period, files)?;
    files.insert(
        "integrity/VERIFY.md".into(),
        verify_md(request, start.0, end.0, &reason, proofs, &uncovered).into_bytes(),
    );
    files.insert(
        "integrity/verify_package.py".into(),
        include_str!("verify_package.py").as_bytes().to_vec(),
    );
    Ok(Integrity {
        start_size: start.0,
        end_size: end.0,
        reason,
        proofs,
        uncovered,
        verify_runs,
    })
}

/// Writes [`VERIFY_RUNS`]: every whole-ledger verification the server recorded in the
/// period (scheduled or asked for), with the ledger entry that sealed it, so the auditor
/// sees the log was checked, not only that it can be. Returns (runs, clean runs).
fn verification_runs(
    request: &ExportRequest<'_>,
    period: &Period,
    files: &mut Files,
) -> Result<(usize, usize), EvidenceError> {
    let start_ms = day_ms(period.from);
    let mut csv = String::from(
        "finished_utc,by,entries,checkpoints,seconds,result,problems,first_problem,ledger_index\n",
    );
    let (mut total, mut clean) = (0, 0);
    for row in request
        .db
        .audit_rows(evident_store::INTEGRITY_AUDIT_KIND, None)?
    {
        let Ok(run) = serde_json::from_str::<serde_json::Value>(&row.body) else {
            continue;
        };
        let at_ms = run["at_ms"].as_i64().unwrap_or(0);
        if at_ms < start_ms || at_ms >= period.end_ms {
            continue;
        }
        let damage: Vec<&str> = run["damage"]
            .as_array()
            .map(|d| d.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        total += 1;
        if damage.is_empty() {
            clean += 1;
        }
        let fields = [
            time(at_ms),
            run["by"].as_str().unwrap_or("").to_string(),
            run["entries"].as_u64().unwrap_or(0).to_string(),
            run["checkpoints"].as_u64().unwrap_or(0).to_string(),
            format!("{:.1}", run["millis"].as_u64().unwrap_or(0) as f64 / 1000.0),
            if damage.is_empty() { "clean" } else { "damage" }.to_string(),
            damage.len().to_string(),
            damage.first().copied().unwrap_or("").to_string(),
            row.ledger_index.map(|i| i.to_string()).unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&line.join(","));
        csv.push('\n');
    }
    files.insert(VERIFY_RUNS.into(), csv.into_bytes());
    Ok((total, clean))
}

fn verify_md(
    request: &ExportRequest<'_>,
    start: u64,
    end: u64,
    reason: &str,
    proofs: usize,
    uncovered: &[u64],
) -> String {
    let uncovered = if uncovered.is_empty() {
        String::new()
    } else {
        format!(
            "\nEntries {} were recorded after the end checkpoint and have no proof in this package.\n",
            uncovered
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        r#"# How to verify this evidence package

This package covers {from} to {to} (UTC, inclusive) of the log `{origin}`. Everything in it is
covered by `MANIFEST.json`, which lists the SHA-256 of every file and is signed by the log's
key. The log itself is a Merkle tree (RFC 9162): each record is a leaf, and the log's signed
checkpoints commit to every record ever appended. You can check all of this without Evident.

## What is here

- `verifier.key`: the log's public key, `<origin>+<key id>+<base64 Ed25519 key>` (the C2SP
  signed-note format). **Compare it with the key the company gave you out of band** (for
  example printed by `evident key` on their server, or in your engagement letter); the
  package's own copy only proves the package is self-consistent.
- `checkpoint-start.txt` (tree size {start}) and `checkpoint-end.txt` (tree size {end}): signed
  C2SP checkpoints. Chosen as: {reason}.
- `consistency-proof.txt`: proves the end tree contains the start tree unchanged (nothing
  that existed at the start was altered or removed). Format: a header line, `from N`, `to M`,
  then the RFC 9162 §2.1.4 proof hashes in base64, one per line.
- `proofs/entry-NNNNNN.tlog-proof` ({proofs} files): C2SP `tlog-proof@v1` files proving that
  each ledger entry behind the sampled cases (their timeline, alerts and linked events) is in
  the end checkpoint's tree; `entries/entry-NNNNNN.bin` are those entries' exact bytes (the
  leaf hash is SHA-256 of 0x00 followed by these bytes).
{uncovered}
## Check with Evident

    evident evidence verify PACKAGE_DIR_OR_ZIP --key "KEY FROM THE COMPANY"

It prints each problem by file name and exits 0 when everything verifies, 1 when something
does not.

## Check without Evident (Python 3 and the `cryptography` package)

    pip install cryptography
    python3 integrity/verify_package.py PACKAGE_DIR "KEY FROM THE COMPANY"

The script (about 150 lines, read it first) checks the manifest signature, every file's
SHA-256, that no file is missing or added, both checkpoint signatures, the consistency proof,
and every tlog-proof against the end checkpoint and the entry's bytes.

Go users can check the same files with `golang.org/x/mod/sumdb/note` (checkpoint and manifest
signatures: `note.Open` with `note.NewVerifier(key)`) and `golang.org/x/mod/sumdb/tlog`
(`CheckRecord` for each tlog-proof, `CheckTree` for the consistency proof).

## By hand

1. `sha256sum` every file and compare with `MANIFEST.json`.
2. `MANIFEST.json.sig` is a signed note whose text is `{header}` then `sha256 <hex of
   MANIFEST.json>`; the signature line is `— <origin> <base64(4-byte key id ‖ Ed25519
   signature)>` over the text.
3. Each checkpoint note's text is the origin, the tree size and the base64 root hash; it is
   signed the same way.
"#,
        from = request.from,
        to = request.to,
        origin = request.signer.name(),
        header = crate::MANIFEST_NOTE_HEADER,
    )
}
