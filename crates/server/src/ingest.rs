//! The single path from received bytes to durable ledger entries.

use evident_ledger::{AppendReceipt, Entry, EntryKind, Ledger, LedgerError, now_ns};
use evident_model::Framing;
use evident_sources::{BodyError, Limits, RecordWarning, decode_body, split_records};

/// What an ingest did: how many records became entries, where, and which were malformed
/// (kept anyway).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IngestOutcome {
    /// Records appended.
    pub accepted: u64,
    /// Tree size after the commit.
    pub tree_size: u64,
    /// Index of the first appended entry.
    #[serde(skip)]
    pub first_index: u64,
    /// Records kept that do not parse.
    pub errors: Vec<RecordWarning>,
}

/// Decodes and splits `body` into log entries for `source`, each carrying `metadata`.
/// Nothing is written; a [`BodyError`] means nothing of the body is usable.
pub fn build_entries(
    source: &str,
    body: &[u8],
    framing: Framing,
    limits: &Limits,
    metadata: &[(String, String)],
) -> Result<(Vec<Entry>, Vec<RecordWarning>), BodyError> {
    let decoded = decode_body(body, limits)?;
    let split = split_records(&decoded, framing, limits)?;
    let received_at_ns = now_ns();
    let entries = split
        .records
        .iter()
        .map(|r| Entry {
            kind: EntryKind::Log,
            received_at_ns,
            source: source.to_owned(),
            metadata: metadata.to_vec(),
            body: r.bytes.to_vec(),
        })
        .collect();
    Ok((entries, split.warnings))
}

/// Appends prepared entries durably and reports the outcome (blocking: call from a
/// blocking thread in async code).
pub fn ingest(
    ledger: &Ledger,
    entries: Vec<Entry>,
    warnings: Vec<RecordWarning>,
) -> Result<IngestOutcome, LedgerError> {
    let AppendReceipt {
        first_index,
        count,
        tree_size,
    } = ledger.append(entries)?;
    Ok(IngestOutcome {
        accepted: count,
        tree_size,
        first_index,
        errors: warnings,
    })
}
