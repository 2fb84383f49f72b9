//! Log reviews: one row per due review of a schedule, and the reviewer's sign-off. Both the
//! scheduling and the sign-off are audit rows (kind `review`), sealed into the ledger like
//! case changes, so "someone reviewed the logs every week" is itself evidence.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::audit::insert_audit_row;
use crate::{StateDb, StoreError};

/// The audit-trail kind of review records.
pub const REVIEW_AUDIT_KIND: &str = "review";

/// A reviewer's sign-off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOff {
    /// Who reviewed.
    pub reviewer: String,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// What they found ("nothing unusual" is a finding too).
    pub findings: String,
    /// Work that follows.
    pub follow_ups: Vec<String>,
    /// SHA-256 (hex) of the packet they reviewed, as stored with the review.
    pub packet_sha256: String,
}

/// One due review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Row id.
    pub id: i64,
    /// The schedule's name.
    pub schedule: String,
    /// The reviewed period, [start, end), ms since the epoch.
    pub period_start_ms: i64,
    /// End of the period (the due time).
    pub period_end_ms: i64,
    /// When it is due.
    pub due_at_ms: i64,
    /// When it is overdue.
    pub overdue_at_ms: i64,
    /// The sign-off, once signed.
    pub signed: Option<SignOff>,
    /// The case opened because it went overdue.
    pub overdue_case: Option<i64>,
    /// The packet the reviewer saw (JSON), kept with the sign-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet: Option<serde_json::Value>,
}

impl StateDb {
    /// Records a due review unless the schedule already has one due at that time; returns
    /// it and whether it is new.
    pub fn schedule_review(
        &self,
        schedule: &str,
        period_start_ms: i64,
        due_at_ms: i64,
        overdue_at_ms: i64,
        requested_size: u64,
    ) -> Result<(Review, bool), StoreError> {
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT state FROM reviews WHERE schedule = ?1 AND due_at_ms = ?2",
                params![schedule, due_at_ms],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(state) = existing {
            return Ok((decode(&state)?, false));
        }
        tx.execute(
            "INSERT INTO reviews (schedule, due_at_ms, signed, state) VALUES (?1, ?2, 0, '{}')",
            params![schedule, due_at_ms],
        )?;
        let review = Review {
            id: tx.last_insert_rowid(),
            schedule: schedule.to_owned(),
            period_start_ms,
            period_end_ms: due_at_ms,
            due_at_ms,
            overdue_at_ms,
            signed: None,
            overdue_case: None,
            packet: None,
        };
        save(&tx, &review)?;
        let body = serde_json::json!({
            "review": review.id,
            "seq": 1,
            "change": {
                "type": "scheduled",
                "schedule": schedule,
                "period_start_ms": period_start_ms,
                "period_end_ms": due_at_ms,
                "overdue_at_ms": overdue_at_ms,
            },
        });
        insert_audit_row(
            &tx,
            REVIEW_AUDIT_KIND,
            review.id,
            1,
            &body.to_string(),
            requested_size,
        )?;
        tx.commit()?;
        Ok((review, true))
    }

    /// Signs review `id` off with `packet` (the JSON the reviewer saw). Refused when it is
    /// already signed or the findings are empty.
    pub fn sign_review(
        &self,
        id: i64,
        sign_off: SignOff,
        packet: serde_json::Value,
        requested_size: u64,
    ) -> Result<Review, StoreError> {
        if sign_off.findings.trim().is_empty() {
            return Err(StoreError::Review(format!(
                "review {id}: findings must not be empty (write what you checked and what you found)"
            )));
        }
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        let mut review = load(&tx, id)?;
        if let Some(s) = &review.signed {
            return Err(StoreError::Review(format!(
                "review {id} was already signed off by {}",
                s.reviewer
            )));
        }
        let body = serde_json::json!({
            "review": id,
            "seq": 2,
            "at_ms": sign_off.at_ms,
            "actor": sign_off.reviewer,
            "change": {
                "type": "signed",
                "findings": sign_off.findings,
                "follow_ups": sign_off.follow_ups,
                "packet_sha256": sign_off.packet_sha256,
            },
        });
        review.signed = Some(sign_off);
        review.packet = Some(packet);
        save(&tx, &review)?;
        insert_audit_row(
            &tx,
            REVIEW_AUDIT_KIND,
            id,
            2,
            &body.to_string(),
            requested_size,
        )?;
        tx.commit()?;
        Ok(review)
    }

    /// Notes the case opened for an overdue review, so it is opened once.
    pub fn set_review_overdue_case(&self, id: i64, case: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        let mut review = load(&tx, id)?;
        review.overdue_case = Some(case);
        save(&tx, &review)?;
        tx.commit()?;
        Ok(())
    }

    /// One review.
    pub fn review(&self, id: i64) -> Result<Option<Review>, StoreError> {
        let state: Option<String> = self
            .conn()
            .query_row("SELECT state FROM reviews WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        state.map(|s| decode(&s)).transpose()
    }

    /// Reviews, newest due first.
    pub fn reviews(&self) -> Result<Vec<Review>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT state FROM reviews ORDER BY due_at_ms DESC, id DESC")?;
        let states: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        states.iter().map(|s| decode(s)).collect()
    }

    /// The latest due time a schedule has a review for.
    pub fn last_review_due(&self, schedule: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.conn().query_row(
            "SELECT max(due_at_ms) FROM reviews WHERE schedule = ?1",
            [schedule],
            |r| r.get(0),
        )?)
    }
}

fn load(tx: &rusqlite::Transaction<'_>, id: i64) -> Result<Review, StoreError> {
    let state: Option<String> = tx
        .query_row("SELECT state FROM reviews WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    decode(&state.ok_or(StoreError::UnknownReview(id))?)
}

fn decode(state: &str) -> Result<Review, StoreError> {
    serde_json::from_str(state).map_err(|e| StoreError::Invalid {
        what: "review state",
        value: e.to_string(),
    })
}

fn save(tx: &rusqlite::Transaction<'_>, review: &Review) -> Result<(), StoreError> {
    let state = serde_json::to_string(review).map_err(|e| StoreError::Invalid {
        what: "review state",
        value: e.to_string(),
    })?;
    tx.execute(
        "UPDATE reviews SET state = ?2, signed = ?3 WHERE id = ?1",
        params![review.id, state, review.signed.is_some()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_is_scheduled_once_and_signed_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        let (r, new) = db.schedule_review("weekly", 0, 1_000, 2_000, 0).unwrap();
        assert!(new);
        let (again, new) = db.schedule_review("weekly", 0, 1_000, 2_000, 0).unwrap();
        assert_eq!((again.id, new), (r.id, false));
        assert_eq!(db.last_review_due("weekly").unwrap(), Some(1_000));
        let sign = |findings: &str| SignOff {
            reviewer: "rita".into(),
            at_ms: 1_500,
            findings: findings.into(),
            follow_ups: vec![],
            packet_sha256: "ab".into(),
        };
        assert_eq!(
            db.sign_review(r.id, sign(" "), serde_json::json!({}), 0)
                .unwrap_err()
                .to_string(),
            "review 1: findings must not be empty (write what you checked and what you found)"
        );
        let signed = db
            .sign_review(r.id, sign("all quiet"), serde_json::json!({"alerts": 0}), 0)
            .unwrap();
        assert_eq!(signed.signed.unwrap().findings, "all quiet");
        assert_eq!(
            db.sign_review(r.id, sign("again"), serde_json::json!({}), 0)
                .unwrap_err()
                .to_string(),
            "review 1 was already signed off by rita"
        );
        let rows = db.audit_rows(REVIEW_AUDIT_KIND, Some(r.id)).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[1].body.contains(r#""type":"signed""#));
        assert_eq!(
            db.sign_review(9, sign("x"), serde_json::json!({}), 0)
                .unwrap_err()
                .to_string(),
            "no review 9"
        );
    }
}
