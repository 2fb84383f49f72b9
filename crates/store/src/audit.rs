//! The audit trail: every change Evident's own records go through (case changes, review
//! sign-offs, …) as rows that are later sealed into the ledger as audit entries by
//! whoever holds the ledger (the server, or the CLI when no server runs). A row goes
//! pending → sealing → sealed, so a crash between the ledger append and the row update is
//! repaired by looking for the entry in the ledger range the row names, never by appending
//! twice.

use rusqlite::{Transaction, params};

use crate::{StateDb, StoreError};

/// Where an audit row is on its way into the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SealState {
    /// In the database only.
    Pending,
    /// Being appended: after a crash, look in the ledger before appending again.
    Sealing,
    /// In the ledger at `ledger_index`.
    Sealed,
}

impl SealState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SealState::Pending => "pending",
            SealState::Sealing => "sealing",
            SealState::Sealed => "sealed",
        }
    }

    fn parse(s: &str) -> Result<SealState, StoreError> {
        match s {
            "pending" => Ok(SealState::Pending),
            "sealing" => Ok(SealState::Sealing),
            "sealed" => Ok(SealState::Sealed),
            other => Err(StoreError::Invalid {
                what: "audit trail seal state",
                value: other.to_owned(),
            }),
        }
    }
}

/// Audit-trail kind of the server's ledger verification runs (body: the run as JSON,
/// `type: integrity.verify`); the evidence package lists those in its period.
pub const INTEGRITY_AUDIT_KIND: &str = "integrity";

/// One audit row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// Row id (the ledger entry's `audit_record` metadata).
    pub id: i64,
    /// What the row is about: `case`, `review`, ….
    pub kind: String,
    /// Which one (case id, review id).
    pub subject: i64,
    /// 1, 2, … per subject.
    pub seq: u32,
    /// The exact bytes sealed into the ledger (JSON).
    pub body: String,
    /// Sealing progress.
    pub seal: SealState,
    /// Ledger size when the change was made: the entry, if any, is at or after it.
    pub requested_size: u64,
    /// The audit entry's index once sealed.
    pub ledger_index: Option<u64>,
}

impl StateDb {
    /// Audit rows not yet sealed into the ledger, oldest first.
    pub fn unsealed_audit_rows(&self) -> Result<Vec<AuditRow>, StoreError> {
        self.audit_rows_where("seal <> 'sealed'", None, None)
    }

    /// Every audit row of `kind` (and `subject`, when given), in the order they were made.
    pub fn audit_rows(
        &self,
        kind: &str,
        subject: Option<i64>,
    ) -> Result<Vec<AuditRow>, StoreError> {
        match subject {
            Some(s) => self.audit_rows_where("kind = ?1 AND subject = ?2", Some(kind), Some(s)),
            None => self.audit_rows_where("kind = ?1", Some(kind), None),
        }
    }

    /// Every audit row.
    pub fn all_audit_rows(&self) -> Result<Vec<AuditRow>, StoreError> {
        self.audit_rows_where("1 = 1", None, None)
    }

    /// Appends a row for `kind`/`subject` with the next sequence number (1 for the first)
    /// and returns that number; for records with no table of their own (versions of the
    /// incident-response plan, exports, …).
    pub fn record_audit(
        &self,
        kind: &str,
        subject: i64,
        body: &str,
        requested_size: u64,
    ) -> Result<u32, StoreError> {
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        let last: Option<u32> = tx.query_row(
            "SELECT max(seq) FROM audit_trail WHERE kind = ?1 AND subject = ?2",
            params![kind, subject],
            |r| r.get(0),
        )?;
        let seq = last.unwrap_or(0) + 1;
        insert_audit_row(&tx, kind, subject, seq, body, requested_size)?;
        tx.commit()?;
        Ok(seq)
    }

    /// Marks a row as being appended (before the append).
    pub fn mark_audit_sealing(&self, id: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE audit_trail SET seal = 'sealing' WHERE id = ?1 AND seal = 'pending'",
            [id],
        )?;
        Ok(())
    }

    /// Records where a row's audit entry is in the ledger.
    pub fn mark_audit_sealed(&self, id: i64, ledger_index: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE audit_trail SET seal = 'sealed', ledger_index = ?2 WHERE id = ?1",
            params![id, ledger_index as i64],
        )?;
        Ok(())
    }

    fn audit_rows_where(
        &self,
        condition: &str,
        kind: Option<&str>,
        subject: Option<i64>,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT id, kind, subject, seq, body, seal, requested_size, ledger_index
             FROM audit_trail WHERE {condition} ORDER BY id"
        );
        let mut stmt = conn.prepare(&sql)?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, Option<i64>>(7)?,
            ))
        };
        let rows = match (kind, subject) {
            (Some(k), Some(s)) => stmt
                .query_map(params![k, s], map)?
                .collect::<Result<Vec<_>, _>>()?,
            (Some(k), None) => stmt.query_map([k], map)?.collect::<Result<Vec<_>, _>>()?,
            _ => stmt.query_map([], map)?.collect::<Result<Vec<_>, _>>()?,
        };
        rows.into_iter()
            .map(|(id, kind, subject, seq, body, seal, requested, index)| {
                Ok(AuditRow {
                    id,
                    kind,
                    subject,
                    seq,
                    body,
                    seal: SealState::parse(&seal)?,
                    requested_size: requested.max(0) as u64,
                    ledger_index: index.map(|i| i.max(0) as u64),
                })
            })
            .collect()
    }
}

/// Adds a pending audit row inside the caller's transaction.
pub(crate) fn insert_audit_row(
    tx: &Transaction<'_>,
    kind: &str,
    subject: i64,
    seq: u32,
    body: &str,
    requested_size: u64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_trail (kind, subject, seq, body, seal, requested_size)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            kind,
            subject,
            seq,
            body,
            SealState::Pending.as_str(),
            requested_size as i64
        ],
    )?;
    Ok(())
}
