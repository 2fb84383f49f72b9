//! Sealing the audit trail: rows the state DB wrote for case changes, review sign-offs and
//! other actions on Evident itself become ledger audit entries, in order, exactly once.

use std::collections::HashMap;

use evident_ledger::{Entry, EntryKind, Ledger, now_ns};
use evident_store::{AuditRow, SealState, StateDb};

use crate::Error;

/// The ledger source name of Evident's own audit entries.
pub const AUDIT_SOURCE: &str = "evident";

/// Entry metadata naming the audit row an entry seals.
pub const AUDIT_RECORD_KEY: &str = "audit_record";

/// Held while sealing (see [`seal_audit_trail`]).
static SEALING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Seals every unsealed audit row into the ledger, in order, and returns how many it
/// appended. A row left `sealing` by a crash is looked up in the ledger first, so it is
/// never sealed twice. Does nothing on a read-only ledger (the server seals later).
pub fn seal_audit_trail(ledger: &Ledger, db: &StateDb) -> Result<u64, Error> {
    if ledger.is_read_only() {
        return Ok(0);
    }
    // One sealer at a time in this process: two threads reading the same pending rows
    // would both append them (the server's checkpointer, the pipeline's case changes,
    // start-up records and HTTP handlers all seal).
    let _one_at_a_time = SEALING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let rows = db.unsealed_audit_rows()?;
    let interrupted: Vec<&AuditRow> = rows
        .iter()
        .filter(|r| r.seal == SealState::Sealing)
        .collect();
    if !interrupted.is_empty() {
        let from = interrupted
            .iter()
            .map(|r| r.requested_size)
            .min()
            .unwrap_or(0);
        let wanted: HashMap<String, i64> = interrupted
            .iter()
            .map(|r| (r.id.to_string(), r.id))
            .collect();
        let mut found = Vec::new();
        ledger.for_each_entry(from, ledger.size(), |index, bytes| {
            if let Ok(e) = Entry::decode(bytes)
                && e.kind == EntryKind::Audit
                && let Some(id) = audit_record_id(&e).and_then(|v| wanted.get(v))
            {
                found.push((*id, index));
            }
        })?;
        for (id, index) in &found {
            db.mark_audit_sealed(*id, *index)?;
        }
    }
    let rows = db.unsealed_audit_rows()?;
    if rows.is_empty() {
        return Ok(0);
    }
    for r in &rows {
        db.mark_audit_sealing(r.id)?;
    }
    let received_at_ns = now_ns();
    let entries = rows
        .iter()
        .map(|r| audit_entry(r, received_at_ns))
        .collect();
    let receipt = ledger.append(entries)?;
    for (i, r) in rows.iter().enumerate() {
        db.mark_audit_sealed(r.id, receipt.first_index + i as u64)?;
    }
    Ok(rows.len() as u64)
}

/// The ledger entry sealing `row`: source `evident`, metadata `audit=<kind>` and
/// `audit_record=<row id>`, the row's JSON as the body.
pub fn audit_entry(row: &AuditRow, received_at_ns: u64) -> Entry {
    let mut metadata = vec![
        ("audit".to_owned(), row.kind.clone()),
        (AUDIT_RECORD_KEY.to_owned(), row.id.to_string()),
    ];
    // Access entries are normalized events: detection watches them like system events.
    if row.kind == crate::auth::access_log::ACCESS_AUDIT_KIND {
        metadata.push((
            crate::system_events::SYSTEM_EVENT_KEY.to_owned(),
            row.kind.clone(),
        ));
    }
    Entry {
        kind: EntryKind::Audit,
        received_at_ns,
        source: AUDIT_SOURCE.to_owned(),
        metadata,
        body: row.body.clone().into_bytes(),
    }
}

/// The audit row an entry seals, from its metadata.
pub fn audit_record_id(e: &Entry) -> Option<&str> {
    e.metadata
        .iter()
        .find(|(k, _)| k == AUDIT_RECORD_KEY)
        .map(|(_, v)| v.as_str())
}
