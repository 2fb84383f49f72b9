//! Retention state: legal holds per case (placed and released through the audit trail, so
//! each is sealed into the ledger) and the alert bodies a hold needs to find the ledger
//! entries it covers.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use crate::audit::insert_audit_row;
use crate::{StateDb, StoreError};

/// Audit-trail kind of legal-hold changes (subject: the case id).
pub const LEGAL_HOLD_AUDIT_KIND: &str = "legal_hold";

/// Schema of the retention tables (one entry of the store's migration list).
pub(crate) const MIGRATION: &str = "CREATE TABLE legal_holds (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL,
        placed_at_ms INTEGER NOT NULL,
        placed_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        released_at_ms INTEGER,
        released_by TEXT
    );
    CREATE UNIQUE INDEX legal_holds_active ON legal_holds(case_id) WHERE released_at_ms IS NULL;";

/// An active legal hold.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LegalHold {
    /// The case whose evidence is held.
    pub case_id: i64,
    /// When it was placed, ms since the epoch.
    pub placed_at_ms: i64,
    /// Who placed it.
    pub placed_by: String,
    /// Why (matter, counsel's reference).
    pub reason: String,
}

impl StateDb {
    /// Places a legal hold on `case_id` (audited). Returns false if one is already active.
    pub fn place_legal_hold(
        &self,
        case_id: i64,
        at_ms: i64,
        by: &str,
        reason: &str,
        requested_size: u64,
    ) -> Result<bool, StoreError> {
        self.hold_change(case_id, at_ms, by, reason, requested_size, true)
    }

    /// Releases the active legal hold on `case_id` (audited). Returns false if none was
    /// active.
    pub fn release_legal_hold(
        &self,
        case_id: i64,
        at_ms: i64,
        by: &str,
        requested_size: u64,
    ) -> Result<bool, StoreError> {
        self.hold_change(case_id, at_ms, by, "", requested_size, false)
    }

    fn hold_change(
        &self,
        case_id: i64,
        at_ms: i64,
        by: &str,
        reason: &str,
        requested_size: u64,
        place: bool,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        let known: Option<i64> = tx
            .query_row("SELECT id FROM cases WHERE id = ?1", [case_id], |r| {
                r.get(0)
            })
            .optional()?;
        if known.is_none() {
            return Err(StoreError::UnknownCase(case_id));
        }
        let changed = if place {
            tx.execute(
                "INSERT OR IGNORE INTO legal_holds (case_id, placed_at_ms, placed_by, reason)
                 VALUES (?1, ?2, ?3, ?4)",
                params![case_id, at_ms, by, reason],
            )?
        } else {
            tx.execute(
                "UPDATE legal_holds SET released_at_ms = ?2, released_by = ?3
                 WHERE case_id = ?1 AND released_at_ms IS NULL",
                params![case_id, at_ms, by],
            )?
        };
        if changed == 0 {
            return Ok(false);
        }
        let seq: u32 = tx.query_row(
            "SELECT COUNT(*) FROM legal_holds WHERE case_id = ?1",
            [case_id],
            |r| r.get(0),
        )?;
        let body = serde_json::json!({
            "type": if place { "legal_hold.placed" } else { "legal_hold.released" },
            "case": case_id,
            "at_ms": at_ms,
            "actor": by,
            "reason": reason,
        })
        .to_string();
        let seq = if place { 2 * seq - 1 } else { 2 * seq };
        insert_audit_row(
            &tx,
            LEGAL_HOLD_AUDIT_KIND,
            case_id,
            seq,
            &body,
            requested_size,
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Active legal holds, by case id.
    pub fn legal_holds(&self) -> Result<Vec<LegalHold>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT case_id, placed_at_ms, placed_by, reason FROM legal_holds
             WHERE released_at_ms IS NULL ORDER BY case_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(LegalHold {
                case_id: r.get(0)?,
                placed_at_ms: r.get(1)?,
                placed_by: r.get(2)?,
                reason: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored JSON of the alerts with these ids (unknown ids are skipped).
    pub fn alert_bodies(&self, ids: &[i64]) -> Result<Vec<Value>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT body FROM alerts WHERE id = ?1")?;
        let mut out = Vec::new();
        for id in ids {
            let body: Option<String> = stmt.query_row([id], |r| r.get(0)).optional()?;
            if let Some(b) = body {
                out.push(serde_json::from_str(&b).map_err(|_| StoreError::Invalid {
                    what: "alert body",
                    value: b.clone(),
                })?);
            }
        }
        Ok(out)
    }
}
