//! Cases and their history. A change is validated by [`Case::apply`] and stored in one
//! transaction with its audit row (kind `case`), which is later sealed into the ledger
//! (see the `audit` module).

use evident_model::{Case, CaseChange, CaseRecord, Stage};
use rusqlite::{OptionalExtension, Transaction, params};

use crate::audit::{AuditRow, SealState, insert_audit_row};
use crate::{StateDb, StoreError};

/// The audit-trail kind of case changes.
pub const CASE_AUDIT_KIND: &str = "case";

/// One change of one case, as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CaseHistoryRow {
    /// Row id (the ledger entry's `case_history` metadata).
    pub id: i64,
    /// The change, decoded from `body`.
    pub record: CaseRecord,
    /// The exact bytes sealed into the ledger.
    #[serde(skip)]
    pub body: String,
    /// Sealing progress.
    pub seal: SealState,
    /// Ledger size when the change was made: the entry, if any, is at or after it.
    #[serde(skip)]
    pub requested_size: u64,
    /// The audit entry's index once sealed.
    pub ledger_index: Option<u64>,
}

/// A case row: its id and its state, which may not decode if the row was edited by hand.
pub type StoredCase = (i64, Result<Case, StoreError>);

/// Which cases [`StateDb::cases`] lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaseFilter {
    /// All cases.
    #[default]
    All,
    /// Cases not closed.
    Open,
    /// Cases in one stage.
    Stage(Stage),
}

impl StateDb {
    /// Opens a case for an alert — or, when an open case has the same grouping key, adds
    /// the alert to it. Idempotent per alert (a pipeline replay opens nothing twice).
    /// Returns the case and whether it was created.
    pub fn open_case(
        &self,
        actor: &str,
        at_ms: i64,
        opened: CaseChange,
        requested_size: u64,
    ) -> Result<(Case, bool), StoreError> {
        let CaseChange::Opened {
            group_key, alert, ..
        } = &opened
        else {
            return Err(StoreError::Invalid {
                what: "case opening change",
                value: opened.kind().to_owned(),
            });
        };
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        if let Some(alert) = alert {
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT case_id FROM case_alerts WHERE alert_id = ?1",
                    [alert],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = existing {
                let case = load_case(&tx, id)?;
                tx.commit()?;
                return Ok((case, false));
            }
        }
        let open: Option<i64> = tx
            .query_row(
                "SELECT id FROM cases WHERE group_key = ?1 AND stage <> 'closed'",
                [group_key],
                |r| r.get(0),
            )
            .optional()?;
        let (case, created) = match (open, alert) {
            (Some(id), Some(alert)) => {
                let case = apply_in(
                    &tx,
                    id,
                    actor,
                    at_ms,
                    &CaseChange::AlertJoined { alert: *alert },
                    requested_size,
                )?;
                (case, false)
            }
            (Some(id), None) => (load_case(&tx, id)?, false),
            (None, _) => {
                tx.execute(
                    "INSERT INTO cases (group_key, stage, severity, opened_at_ms, state)
                     VALUES (?1, 'triage', '', ?2, '{}')",
                    params![group_key, at_ms],
                )?;
                let id = tx.last_insert_rowid();
                let record = CaseRecord {
                    case: id,
                    seq: 1,
                    at_ms,
                    actor: actor.to_owned(),
                    change: opened.clone(),
                };
                let case = Case::open(&record)?;
                insert_history(&tx, &record, requested_size)?;
                save_case(&tx, &case)?;
                (case, true)
            }
        };
        if let Some(alert) = alert {
            tx.execute(
                "INSERT OR IGNORE INTO case_alerts (alert_id, case_id) VALUES (?1, ?2)",
                params![alert, case.id],
            )?;
        }
        tx.commit()?;
        Ok((case, created))
    }

    /// Applies `change` to case `id`, or refuses it ([`StoreError::Case`] with the reason).
    pub fn change_case(
        &self,
        id: i64,
        actor: &str,
        at_ms: i64,
        change: &CaseChange,
        requested_size: u64,
    ) -> Result<Case, StoreError> {
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        let case = apply_in(&tx, id, actor, at_ms, change, requested_size)?;
        if let CaseChange::AlertJoined { alert } = change {
            tx.execute(
                "INSERT OR IGNORE INTO case_alerts (alert_id, case_id) VALUES (?1, ?2)",
                params![alert, id],
            )?;
        }
        tx.commit()?;
        Ok(case)
    }

    /// One case, as stored.
    pub fn case(&self, id: i64) -> Result<Option<Case>, StoreError> {
        let conn = self.conn();
        let state: Option<String> = conn
            .query_row("SELECT state FROM cases WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        state.map(|s| decode_case(&s)).transpose()
    }

    /// Cases, newest first.
    pub fn cases(&self, filter: CaseFilter) -> Result<Vec<Case>, StoreError> {
        let conn = self.conn();
        let (sql, arg) = match filter {
            CaseFilter::All => ("SELECT state FROM cases ORDER BY id DESC", None),
            CaseFilter::Open => (
                "SELECT state FROM cases WHERE stage <> 'closed' ORDER BY id DESC",
                None,
            ),
            CaseFilter::Stage(s) => (
                "SELECT state FROM cases WHERE stage = ?1 ORDER BY id DESC",
                Some(s.as_str()),
            ),
        };
        let mut stmt = conn.prepare(sql)?;
        let states: Vec<String> = match arg {
            Some(a) => stmt
                .query_map([a], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
            None => stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
        };
        states.iter().map(|s| decode_case(s)).collect()
    }

    /// Every stored case as `(id, stored state)`: what the history cross-check compares
    /// against the replayed history.
    pub fn case_states(&self) -> Result<Vec<StoredCase>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id, state FROM cases ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|r| r.map(|(id, s)| (id, decode_case(&s))).map_err(Into::into))
            .collect()
    }

    /// Alerts no case holds yet, oldest first (at most `limit`): what the case opener
    /// works through after each pipeline step.
    pub fn alerts_without_case(&self, limit: u32) -> Result<Vec<crate::AlertRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT a.id, a.dedup_key, a.first_seen_ms, a.last_seen_ms, a.rule_id, a.severity_id,
                    a.count, a.body
             FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM case_alerts c WHERE c.alert_id = a.id)
             ORDER BY a.id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        rows.map(|r| {
            let (id, dedup_key, first_seen_ms, last_seen_ms, rule_id, severity_id, count, body) =
                r?;
            let alert = serde_json::from_str(&body).map_err(|e| StoreError::Invalid {
                what: "alert body",
                value: format!("alert {id}: {e}"),
            })?;
            Ok(crate::AlertRow {
                id,
                dedup_key,
                first_seen_ms,
                last_seen_ms,
                rule_id,
                severity_id,
                count,
                alert,
            })
        })
        .collect()
    }

    /// A case's history, oldest first.
    pub fn case_history(&self, id: i64) -> Result<Vec<CaseHistoryRow>, StoreError> {
        decode_rows(self.audit_rows(CASE_AUDIT_KIND, Some(id))?)
    }

    /// Every case's history, by case then sequence.
    pub fn all_case_history(&self) -> Result<Vec<CaseHistoryRow>, StoreError> {
        decode_rows(self.audit_rows(CASE_AUDIT_KIND, None)?)
    }
}

fn decode_rows(rows: Vec<AuditRow>) -> Result<Vec<CaseHistoryRow>, StoreError> {
    rows.into_iter()
        .map(|row| {
            let record = serde_json::from_str(&row.body).map_err(|e| StoreError::Invalid {
                what: "case history record",
                value: format!("row {}: {e}", row.id),
            })?;
            Ok(CaseHistoryRow {
                id: row.id,
                record,
                body: row.body,
                seal: row.seal,
                requested_size: row.requested_size,
                ledger_index: row.ledger_index,
            })
        })
        .collect()
}

fn apply_in(
    tx: &Transaction<'_>,
    id: i64,
    actor: &str,
    at_ms: i64,
    change: &CaseChange,
    requested_size: u64,
) -> Result<Case, StoreError> {
    let mut case = load_case(tx, id)?;
    case.apply(change, at_ms)?;
    let record = CaseRecord {
        case: id,
        seq: case.seq,
        at_ms,
        actor: actor.to_owned(),
        change: change.clone(),
    };
    insert_history(tx, &record, requested_size)?;
    save_case(tx, &case)?;
    Ok(case)
}

fn load_case(tx: &Transaction<'_>, id: i64) -> Result<Case, StoreError> {
    let state: Option<String> = tx
        .query_row("SELECT state FROM cases WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    decode_case(&state.ok_or(StoreError::UnknownCase(id))?)
}

fn decode_case(state: &str) -> Result<Case, StoreError> {
    serde_json::from_str(state).map_err(|e| StoreError::Invalid {
        what: "case state",
        value: e.to_string(),
    })
}

fn save_case(tx: &Transaction<'_>, case: &Case) -> Result<(), StoreError> {
    let state = serde_json::to_string(case).map_err(|e| StoreError::Invalid {
        what: "case state",
        value: e.to_string(),
    })?;
    tx.execute(
        "UPDATE cases SET stage = ?2, severity = ?3, state = ?4 WHERE id = ?1",
        params![case.id, case.stage.as_str(), case.severity, state],
    )?;
    Ok(())
}

fn insert_history(
    tx: &Transaction<'_>,
    record: &CaseRecord,
    requested_size: u64,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(record).map_err(|e| StoreError::Invalid {
        what: "case history record",
        value: e.to_string(),
    })?;
    insert_audit_row(
        tx,
        CASE_AUDIT_KIND,
        record.case,
        record.seq,
        &body,
        requested_size,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SealState;
    use evident_model::Disposition;

    fn opened(alert: i64, key: &str) -> CaseChange {
        CaseChange::Opened {
            title: "Brute force".into(),
            severity: "High".into(),
            rule: Some("brute_force".into()),
            group_key: key.into(),
            alert: Some(alert),
        }
    }

    #[test]
    fn alerts_open_join_and_replay_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        let (a, created) = db.open_case("evident", 1_000, opened(1, "k"), 5).unwrap();
        assert!(created);
        let (b, created) = db.open_case("evident", 2_000, opened(2, "k"), 6).unwrap();
        assert_eq!((b.id, created, b.alerts.clone()), (a.id, false, vec![1, 2]));
        // A replayed alert changes nothing.
        let (c, created) = db.open_case("evident", 3_000, opened(2, "k"), 7).unwrap();
        assert_eq!((c.id, created, c.seq), (a.id, false, 2));
        let other = db
            .open_case("evident", 3_000, opened(3, "other"), 7)
            .unwrap()
            .0;
        assert_ne!(other.id, a.id);
        let history = db.case_history(a.id).unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(
            history[1].record.change,
            CaseChange::AlertJoined { alert: 2 }
        );
        assert_eq!(history[1].seal, SealState::Pending);
        assert_eq!(db.unsealed_audit_rows().unwrap().len(), 3);
    }

    #[test]
    fn refused_changes_store_nothing_and_a_closed_case_lets_the_key_open_anew() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        let (a, _) = db.open_case("evident", 1_000, opened(1, "k"), 0).unwrap();
        let err = db
            .change_case(
                a.id,
                "alice",
                2_000,
                &CaseChange::Advanced { to: Stage::Closed },
                0,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "case 1 is in stage triage; it can only advance to investigation, not to closed"
        );
        assert_eq!(db.case_history(a.id).unwrap().len(), 1);
        let fp = CaseChange::Triaged {
            disposition: Disposition::FalsePositive,
            justification: Some("scanner".into()),
        };
        let closed = db.change_case(a.id, "alice", 3_000, &fp, 0).unwrap();
        assert_eq!(closed.stage, Stage::Closed);
        let (b, created) = db.open_case("evident", 4_000, opened(2, "k"), 0).unwrap();
        assert!(created);
        assert_ne!(b.id, a.id);
        assert_eq!(db.cases(CaseFilter::Open).unwrap().len(), 1);
        assert_eq!(
            db.cases(CaseFilter::Stage(Stage::Closed)).unwrap()[0].id,
            a.id
        );
        assert_eq!(
            db.change_case(99, "alice", 0, &fp, 0)
                .unwrap_err()
                .to_string(),
            "no case 99"
        );
    }

    #[test]
    fn sealing_moves_rows_through_their_states() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        db.open_case("evident", 1_000, opened(1, "k"), 0).unwrap();
        let row = db.unsealed_audit_rows().unwrap().remove(0);
        assert_eq!((row.kind.as_str(), row.subject, row.seq), ("case", 1, 1));
        db.mark_audit_sealing(row.id).unwrap();
        assert_eq!(
            db.unsealed_audit_rows().unwrap()[0].seal,
            SealState::Sealing
        );
        db.mark_audit_sealed(row.id, 42).unwrap();
        assert!(db.unsealed_audit_rows().unwrap().is_empty());
        assert_eq!(db.all_case_history().unwrap()[0].ledger_index, Some(42));
    }
}
