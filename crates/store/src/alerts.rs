//! Alerts and change tickets. An alert is stored as the detector's JSON with its dedup key
//! and first-seen time as the identity: the pipeline writes the current state of every
//! alert it opened or updated, in the same transaction as its watermark, so a replay after
//! a crash rewrites the same rows instead of adding new ones. Change tickets (from the API
//! or the Jira webhook) are kept by id; the pipeline reads the ones it has not seen yet.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use crate::{HealthDelta, StateDb, StoreError};

/// One alert as the detector describes it (`evident_detect::Alert` as JSON); the store
/// reads only the identity and sort fields.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AlertRow {
    /// Row id (a stable alert id for cases and the API).
    pub id: i64,
    /// Rule + group fields.
    pub dedup_key: String,
    /// First matching event time, ms.
    pub first_seen_ms: i64,
    /// Latest matching event time, ms.
    pub last_seen_ms: i64,
    /// The rule's id.
    pub rule_id: String,
    /// OCSF severity id.
    pub severity_id: i64,
    /// Matches folded in.
    pub count: i64,
    /// The whole alert.
    pub alert: Value,
}

/// The fields an alert's JSON must carry to be stored.
fn identity(alert: &Value) -> Result<(String, i64, i64, String, i64, i64), StoreError> {
    let s = |k: &'static str| {
        alert
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(StoreError::Invalid {
                what: k,
                value: alert.to_string(),
            })
    };
    let n = |k: &'static str| {
        alert
            .get(k)
            .and_then(Value::as_i64)
            .ok_or(StoreError::Invalid {
                what: k,
                value: alert.to_string(),
            })
    };
    Ok((
        s("dedup_key")?,
        n("first_seen_ms")?,
        n("last_seen_ms")?,
        s("rule_id")?,
        n("severity_id")?,
        n("count")?,
    ))
}

fn upsert(tx: &rusqlite::Transaction<'_>, alerts: &[Value]) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO alerts (dedup_key, first_seen_ms, last_seen_ms, rule_id, severity_id, count, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(dedup_key, first_seen_ms) DO UPDATE SET
           last_seen_ms = excluded.last_seen_ms, count = excluded.count, body = excluded.body",
    )?;
    for a in alerts {
        let (key, first, last, rule, sev, count) = identity(a)?;
        stmt.execute(params![key, first, last, rule, sev, count, a.to_string()])?;
    }
    Ok(())
}

impl StateDb {
    /// Applies the health of entries `from..to`, stores the alerts they opened or updated
    /// (each in its current state) and moves the watermark to `to`, in one transaction.
    /// Returns false, changing nothing, when the watermark is no longer `from`.
    pub fn apply_pipeline(
        &self,
        delta: &HealthDelta,
        alerts: &[Value],
        from: u64,
        to: u64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        if !crate::health::apply_health_in(&tx, delta, from, to)? {
            return Ok(false);
        }
        upsert(&tx, alerts)?;
        tx.commit()?;
        Ok(true)
    }

    /// Stores alerts that changed without new entries (a deferred rule fired when its
    /// change-ticket grace period ended).
    pub fn store_alerts(&self, alerts: &[Value]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        upsert(&tx, alerts)?;
        tx.commit()?;
        Ok(())
    }

    /// Alerts, newest first, `limit` at most, with ids below `before` (the cursor).
    pub fn alerts(&self, limit: u32, before: Option<i64>) -> Result<Vec<AlertRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, dedup_key, first_seen_ms, last_seen_ms, rule_id, severity_id, count, body
             FROM alerts WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        rows.map(|r| {
            let (id, dedup_key, first_seen_ms, last_seen_ms, rule_id, severity_id, count, body) =
                r?;
            let alert = serde_json::from_str(&body).map_err(|_| StoreError::Invalid {
                what: "alert",
                value: body.clone(),
            })?;
            Ok(AlertRow {
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

    /// The latest alert of each dedup key whose last event is at or after `since_ms`: what
    /// a restarted detector must know to keep folding repeats into them.
    pub fn open_alerts(&self, since_ms: i64) -> Result<Vec<Value>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT body FROM alerts a WHERE last_seen_ms >= ?1 AND first_seen_ms =
               (SELECT MAX(first_seen_ms) FROM alerts b WHERE b.dedup_key = a.dedup_key)",
        )?;
        let rows = stmt.query_map([since_ms], |r| r.get::<_, String>(0))?;
        rows.map(|r| {
            let body = r?;
            serde_json::from_str(&body).map_err(|_| StoreError::Invalid {
                what: "alert",
                value: body,
            })
        })
        .collect()
    }

    /// Stores a change ticket (a newer one with the same id replaces it); returns its
    /// sequence number.
    pub fn add_change_ticket(&self, id: &str, ticket: &Value) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO change_tickets (ticket_id, body) VALUES (?1, ?2)",
            params![id, ticket.to_string()],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Change tickets stored after sequence number `after`, in order, with their numbers.
    pub fn change_tickets_after(&self, after: i64) -> Result<Vec<(i64, Value)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT seq, body FROM change_tickets WHERE seq > ?1 ORDER BY seq")?;
        let rows = stmt.query_map([after], |r| Ok((r.get(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|r| {
            let (seq, body) = r?;
            let v = serde_json::from_str(&body).map_err(|_| StoreError::Invalid {
                what: "change ticket",
                value: body,
            })?;
            Ok((seq, v))
        })
        .collect()
    }

    /// The latest event time of any stored alert, ms.
    pub fn latest_alert_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT MAX(last_seen_ms) FROM alerts", [], |r| r.get(0))?)
    }

    /// The number of alerts stored.
    pub fn alert_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM alerts", [], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(key: &str, first: i64, last: i64, count: i64) -> Value {
        json!({"dedup_key": key, "first_seen_ms": first, "last_seen_ms": last, "rule_id": "r",
               "severity_id": 4, "count": count, "events": []})
    }

    #[test]
    fn alerts_upsert_by_identity_with_the_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        let d = HealthDelta::default();
        assert!(
            db.apply_pipeline(&d, &[alert("k", 10, 10, 1)], 0, 5)
                .unwrap()
        );
        // A stale watermark stores nothing.
        assert!(!db.apply_pipeline(&d, &[alert("x", 1, 1, 1)], 0, 5).unwrap());
        assert!(
            db.apply_pipeline(&d, &[alert("k", 10, 20, 2)], 5, 9)
                .unwrap()
        );
        db.store_alerts(&[alert("k", 100, 100, 1)]).unwrap();
        assert_eq!(db.alert_count().unwrap(), 2);
        assert_eq!(db.latest_alert_ms().unwrap(), Some(100));
        let rows = db.alerts(10, None).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[1].first_seen_ms, rows[1].count, rows[1].last_seen_ms),
            (10, 2, 20)
        );
        let page = db.alerts(1, Some(rows[0].id)).unwrap();
        assert_eq!(page[0].id, rows[1].id);
        let open = db.open_alerts(50).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0]["first_seen_ms"], 100);
        let bad = db.store_alerts(&[json!({"dedup_key": "k"})]).unwrap_err();
        assert!(
            bad.to_string()
                .starts_with("state database holds an invalid first_seen_ms")
        );
    }

    #[test]
    fn change_tickets_are_read_in_order_after_a_sequence_number() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        let a = db
            .add_change_ticket("CHG-1", &json!({"id": "CHG-1"}))
            .unwrap();
        db.add_change_ticket("CHG-2", &json!({"id": "CHG-2"}))
            .unwrap();
        let all = db.change_tickets_after(0).unwrap();
        assert_eq!(all.len(), 2);
        let later = db.change_tickets_after(a).unwrap();
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].1["id"], "CHG-2");
    }
}
