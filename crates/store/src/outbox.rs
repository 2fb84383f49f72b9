//! The integrations outbox: messages for ticketing tools (Jira, ServiceNow, PagerDuty, Slack,
//! webhooks) made from sealed case changes. A message is written once per integration and
//! audit row (`UNIQUE (integration, audit_row_id)`), in the same transaction that moves the
//! persisted cursor past the rows it came from, so a restart neither loses nor duplicates a
//! message. Delivery moves a message `pending` → `sent`, or `dead` after its last attempt;
//! the external ids a target returned (a Jira issue key, a ServiceNow `sys_id`) are kept
//! per case in `external_links`, so later changes update the same ticket.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::audit::{AuditRow, SealState};
use crate::{StateDb, StoreError};

/// Where a message is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its next attempt.
    Pending,
    /// Delivered (or nothing to deliver for its target).
    Sent,
    /// Gave up after the last attempt; `evident outbox retry` revives it.
    Dead,
}

impl OutboxState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Result<OutboxState, StoreError> {
        match s {
            "pending" => Ok(OutboxState::Pending),
            "sent" => Ok(OutboxState::Sent),
            "dead" => Ok(OutboxState::Dead),
            other => Err(StoreError::Invalid {
                what: "outbox state",
                value: other.to_owned(),
            }),
        }
    }
}

/// A message to write into the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOutboxMessage {
    /// The integration's configured name.
    pub integration: String,
    /// The case the change belongs to.
    pub case_id: i64,
    /// The audit row the change was sealed from.
    pub audit_row_id: i64,
    /// What happened (`opened`, `advanced`, `closed`, `noted`, …).
    pub kind: String,
    /// What the target renders its request from (JSON).
    pub payload: String,
}

/// One outbox message, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    /// Row id (`evident outbox retry ID`).
    pub id: i64,
    /// The integration's configured name.
    pub integration: String,
    /// The case.
    pub case_id: i64,
    /// The audit row it came from.
    pub audit_row_id: i64,
    /// What happened.
    pub kind: String,
    /// What the target renders its request from (JSON).
    #[serde(serialize_with = "raw_json")]
    pub payload: String,
    /// `<integration>:<audit row id>`: unique, sent to receivers that deduplicate.
    pub idempotency_key: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Earliest time of the next attempt, ms since the epoch.
    pub next_attempt_ms: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Delivery state.
    pub state: OutboxState,
    /// When it was written, ms since the epoch.
    pub created_ms: i64,
    /// When it was delivered, ms since the epoch.
    pub sent_ms: Option<i64>,
}

/// A ticket (or alert) a target made for a case, reused by later changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExternalLink {
    /// The integration's configured name.
    pub integration: String,
    /// The case.
    pub case_id: i64,
    /// The target's id: Jira issue key, ServiceNow `sys_id`, PagerDuty `dedup_key`.
    pub external_id: String,
    /// Where a person can open it, when the target says.
    pub url: Option<String>,
}

/// What a failed attempt leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptFailure {
    /// Try again at this time (ms since the epoch).
    RetryAt(i64),
    /// That was the last attempt.
    Dead,
}

/// The idempotency key of the message for `integration` made from `audit_row_id`.
pub fn idempotency_key(integration: &str, audit_row_id: i64) -> String {
    format!("{integration}:{audit_row_id}")
}

const COLUMNS: &str = "id, integration, case_id, audit_row_id, kind, payload, idempotency_key,
    attempts, next_attempt_ms, last_error, state, created_ms, sent_ms";

impl StateDb {
    /// The last audit row already turned into outbox messages (0 before the first).
    pub fn outbox_cursor(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT last_audit_row FROM outbox_cursor WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// Up to `limit` audit rows after row `after`, in row order, stopping before the first
    /// row not sealed yet: messages are made only from what the ledger holds, and in order.
    pub fn sealed_audit_rows_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, kind, subject, seq, body, seal, requested_size, ledger_index
             FROM audit_trail WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
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
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, subject, seq, body, seal, requested, index) = row?;
            if seal != SealState::Sealed.as_str() {
                break;
            }
            out.push(AuditRow {
                id,
                kind,
                subject,
                seq,
                body,
                seal: SealState::Sealed,
                requested_size: requested.max(0) as u64,
                ledger_index: index.map(|i| i.max(0) as u64),
            });
        }
        Ok(out)
    }

    /// Writes `messages` and moves the cursor from `from` to `to` in one transaction;
    /// returns how many messages were new. When the cursor is no longer at `from` (another
    /// worker moved it), nothing is written and 0 is returned. A message already present
    /// for its integration and audit row is skipped.
    pub fn enqueue_outbox(
        &self,
        from: i64,
        to: i64,
        messages: &[NewOutboxMessage],
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        let cursor: i64 = tx
            .query_row(
                "SELECT last_audit_row FROM outbox_cursor WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        if cursor != from {
            return Ok(0);
        }
        let mut added = 0;
        for m in messages {
            added += tx.execute(
                "INSERT OR IGNORE INTO outbox (integration, case_id, audit_row_id, kind, payload,
                    idempotency_key, attempts, next_attempt_ms, state, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, 'pending', ?7)",
                params![
                    m.integration,
                    m.case_id,
                    m.audit_row_id,
                    m.kind,
                    m.payload,
                    idempotency_key(&m.integration, m.audit_row_id),
                    now_ms
                ],
            )?;
        }
        tx.execute(
            "INSERT INTO outbox_cursor (id, last_audit_row) VALUES (1, ?1)
             ON CONFLICT(id) DO UPDATE SET last_audit_row = ?1",
            [to],
        )?;
        tx.commit()?;
        Ok(added)
    }

    /// Pending messages due at `now_ms`, oldest first, at most `limit`. A message waits
    /// while an older message of the same integration and case is still pending, so a
    /// ticket is created before it is updated.
    pub fn due_outbox(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        // The pending set is small (the partial index `outbox_pending` covers it); the
        // oldest pending message of each integration and case is the only one that may go.
        // (No ORDER BY: with one, SQLite scans the whole table instead of the index.)
        let mut pending = self.outbox_where("o.state = 'pending'", [])?;
        pending.sort_by_key(|m| m.id);
        let mut blocked = std::collections::HashSet::new();
        let mut due = Vec::new();
        for m in pending {
            if !blocked.insert((m.integration.clone(), m.case_id)) {
                continue;
            }
            if m.next_attempt_ms <= now_ms {
                due.push(m);
                if due.len() == limit {
                    break;
                }
            }
        }
        Ok(due)
    }

    /// Messages newest first (only dead ones with `dead_only`), at most `limit`.
    pub fn outbox_messages(
        &self,
        dead_only: bool,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let condition = if dead_only {
            "o.state = 'dead' ORDER BY o.id DESC LIMIT ?1"
        } else {
            "1 = 1 ORDER BY o.id DESC LIMIT ?1"
        };
        self.outbox_where(condition, params![limit as i64])
    }

    /// One message.
    pub fn outbox_message(&self, id: i64) -> Result<Option<OutboxMessage>, StoreError> {
        Ok(self
            .outbox_where("o.id = ?1", params![id])?
            .into_iter()
            .next())
    }

    /// Records a delivery.
    pub fn mark_outbox_sent(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_ms = ?2,
                 last_error = NULL
             WHERE id = ?1",
            params![id, now_ms],
        )?;
        Ok(())
    }

    /// Records a failed attempt with its error: the message waits for its retry, or is
    /// dead with the error kept.
    pub fn mark_outbox_failed(
        &self,
        id: i64,
        error: &str,
        outcome: &AttemptFailure,
    ) -> Result<(), StoreError> {
        let (state, next) = match outcome {
            AttemptFailure::RetryAt(at) => (OutboxState::Pending, Some(*at)),
            AttemptFailure::Dead => (OutboxState::Dead, None),
        };
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, state = ?3,
                 next_attempt_ms = coalesce(?4, next_attempt_ms)
             WHERE id = ?1",
            params![id, error, state.as_str(), next],
        )?;
        Ok(())
    }

    /// Makes a dead (or waiting) message due now with a fresh count of attempts. A sent
    /// message is refused: sending it again could make a second ticket.
    pub fn retry_outbox(&self, id: i64, now_ms: i64) -> Result<OutboxMessage, StoreError> {
        let message = self
            .outbox_message(id)?
            .ok_or_else(|| StoreError::Outbox(format!("no outbox message {id}")))?;
        if message.state == OutboxState::Sent {
            return Err(StoreError::Outbox(format!(
                "outbox message {id} was sent; only pending or dead messages are retried"
            )));
        }
        self.conn().execute(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_ms = ?2
             WHERE id = ?1",
            params![id, now_ms],
        )?;
        self.outbox_message(id)?
            .ok_or_else(|| StoreError::Outbox(format!("no outbox message {id}")))
    }

    /// The ticket `integration` made for `case_id`, if any.
    pub fn external_link(
        &self,
        integration: &str,
        case_id: i64,
    ) -> Result<Option<ExternalLink>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT external_id, url FROM external_links
                 WHERE integration = ?1 AND case_id = ?2",
                params![integration, case_id],
                |r| {
                    Ok(ExternalLink {
                        integration: integration.to_owned(),
                        case_id,
                        external_id: r.get(0)?,
                        url: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Every ticket made for `case_id`, by integration.
    pub fn external_links(&self, case_id: i64) -> Result<Vec<ExternalLink>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT integration, external_id, url FROM external_links
             WHERE case_id = ?1 ORDER BY integration",
        )?;
        let rows = stmt.query_map([case_id], |r| {
            Ok(ExternalLink {
                integration: r.get(0)?,
                case_id,
                external_id: r.get(1)?,
                url: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Remembers the ticket `integration` made for a case (replacing an older one).
    pub fn set_external_link(&self, link: &ExternalLink, now_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO external_links (integration, case_id, external_id, url, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(integration, case_id) DO UPDATE SET external_id = ?3, url = ?4",
            params![
                link.integration,
                link.case_id,
                link.external_id,
                link.url,
                now_ms
            ],
        )?;
        Ok(())
    }

    fn outbox_where(
        &self,
        condition: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let conn = self.conn();
        let columns = COLUMNS
            .split(',')
            .map(|c| format!("o.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt =
            conn.prepare(&format!("SELECT {columns} FROM outbox o WHERE {condition}"))?;
        let rows = stmt.query_map(args, |r| {
            Ok((
                OutboxMessage {
                    id: r.get(0)?,
                    integration: r.get(1)?,
                    case_id: r.get(2)?,
                    audit_row_id: r.get(3)?,
                    kind: r.get(4)?,
                    payload: r.get(5)?,
                    idempotency_key: r.get(6)?,
                    attempts: r.get(7)?,
                    next_attempt_ms: r.get(8)?,
                    last_error: r.get(9)?,
                    state: OutboxState::Pending,
                    created_ms: r.get(11)?,
                    sent_ms: r.get(12)?,
                },
                r.get::<_, String>(10)?,
            ))
        })?;
        rows.map(|row| {
            let (mut m, state) = row?;
            m.state = OutboxState::parse(&state)?;
            Ok(m)
        })
        .collect()
    }
}

fn raw_json<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    match serde_json::value::RawValue::from_string(text.to_owned()) {
        Ok(raw) => raw.serialize(s),
        Err(_) => s.serialize_str(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(integration: &str, case_id: i64, row: i64) -> NewOutboxMessage {
        NewOutboxMessage {
            integration: integration.into(),
            case_id,
            audit_row_id: row,
            kind: "opened".into(),
            payload: r#"{"n":1}"#.into(),
        }
    }

    #[test]
    fn enqueue_moves_the_cursor_once_and_never_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(db.outbox_cursor().unwrap(), 0);
        let batch = [message("jira", 1, 1), message("slack", 1, 1)];
        assert_eq!(db.enqueue_outbox(0, 1, &batch, 100).unwrap(), 2);
        assert_eq!(db.outbox_cursor().unwrap(), 1);
        // A second worker that read the same cursor writes nothing.
        assert_eq!(db.enqueue_outbox(0, 1, &batch, 100).unwrap(), 0);
        // The same message again after the cursor is skipped by its unique key.
        assert_eq!(
            db.enqueue_outbox(1, 2, &[message("jira", 1, 1)], 100)
                .unwrap(),
            0
        );
        let all = db.outbox_messages(false, 10).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].idempotency_key, "jira:1");
        assert_eq!(
            serde_json::to_value(&all[1]).unwrap()["payload"],
            serde_json::json!({"n": 1})
        );
    }

    #[test]
    fn a_later_message_waits_for_the_earlier_one_of_its_case() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        let batch = [
            message("jira", 1, 1),
            message("jira", 1, 2),
            message("jira", 2, 3),
        ];
        db.enqueue_outbox(0, 3, &batch, 100).unwrap();
        let due: Vec<i64> = db
            .due_outbox(100, 10)
            .unwrap()
            .iter()
            .map(|m| m.audit_row_id)
            .collect();
        assert_eq!(due, [1, 3]);
        db.mark_outbox_failed(1, "HTTP 500", &AttemptFailure::RetryAt(200))
            .unwrap();
        assert_eq!(db.due_outbox(150, 10).unwrap().len(), 1);
        db.mark_outbox_failed(1, "HTTP 503", &AttemptFailure::Dead)
            .unwrap();
        let dead = db.outbox_messages(true, 10).unwrap();
        assert_eq!(
            (dead.len(), dead[0].attempts, dead[0].last_error.as_deref()),
            (1, 2, Some("HTTP 503"))
        );
        // A dead message no longer holds back its case.
        let due: Vec<i64> = db
            .due_outbox(150, 10)
            .unwrap()
            .iter()
            .map(|m| m.audit_row_id)
            .collect();
        assert_eq!(due, [2, 3]);
        let revived = db.retry_outbox(1, 300).unwrap();
        assert_eq!(
            (revived.state, revived.attempts, revived.next_attempt_ms),
            (OutboxState::Pending, 0, 300)
        );
        db.mark_outbox_sent(1, 301).unwrap();
        assert_eq!(
            db.retry_outbox(1, 400).unwrap_err().to_string(),
            "outbox message 1 was sent; only pending or dead messages are retried"
        );
        assert_eq!(
            db.retry_outbox(99, 400).unwrap_err().to_string(),
            "no outbox message 99"
        );
    }

    #[test]
    fn only_sealed_rows_in_order_become_messages() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        for subject in 1..=3 {
            db.record_audit("case", subject, "{}", 0).unwrap();
        }
        db.mark_audit_sealed(1, 10).unwrap();
        db.mark_audit_sealed(3, 12).unwrap();
        let rows = db.sealed_audit_rows_after(0, 10).unwrap();
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [1]);
        db.mark_audit_sealed(2, 11).unwrap();
        let rows = db.sealed_audit_rows_after(1, 10).unwrap();
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [2, 3]);
    }

    #[test]
    fn links_are_kept_per_integration_and_case() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        let link = ExternalLink {
            integration: "jira".into(),
            case_id: 4,
            external_id: "SEC-1".into(),
            url: Some("https://x/browse/SEC-1".into()),
        };
        db.set_external_link(&link, 1).unwrap();
        assert_eq!(db.external_link("jira", 4).unwrap(), Some(link.clone()));
        assert_eq!(db.external_link("jira", 5).unwrap(), None);
        assert_eq!(db.external_links(4).unwrap(), [link]);
    }
}
