//! Watching the ledger itself: the server re-verifies the whole log on a schedule
//! (`[health] verify_every_secs`, daily by default) and whenever someone asks from the
//! integrity page. Each run is an audit row, sealed into the ledger like every other action
//! on Evident, so the trail shows when the log was last proven intact — the monitoring an
//! auditor asks about for CC7.2. A run that finds damage also raises the `integrity.failure`
//! system event, which the pack's `evident_ledger_integrity_failure` rule turns into a
//! critical alert and a case; the same (earliest) damage found again raises nothing new.

use evident_ledger::{Entry, EntryKind, now_ns};
use evident_model::Severity;
use serde::{Deserialize, Serialize};

use crate::system_events::{SYSTEM_EVENT_KEY, system_event};
use crate::{Error, Evident};

pub use evident_store::INTEGRITY_AUDIT_KIND;

/// System event type raised when a run finds damage.
pub const INTEGRITY_FAILURE: &str = "integrity.failure";

/// Who the scheduled runs are attributed to.
pub const SCHEDULER: &str = "scheduler";

/// How many damage lines a failure event's message quotes (the run's audit row has all).
const MESSAGE_DAMAGE_LINES: usize = 5;

/// The outcome of one verification run, as sealed in its audit row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyRun {
    /// When it finished, ms since the epoch.
    pub at_ms: i64,
    /// Who ran it: a user's name or [`SCHEDULER`].
    pub by: String,
    /// Entries re-read and re-hashed.
    pub entries: u64,
    /// Segment bytes read.
    pub bytes: u64,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: u64,
    /// Each piece of damage, first entry first; empty when clean.
    pub damage: Vec<String>,
    /// How long it took, ms.
    pub millis: u64,
}

impl VerifyRun {
    /// Whether nothing was damaged.
    pub fn is_clean(&self) -> bool {
        self.damage.is_empty()
    }
}

/// Verifies the whole ledger now, records the run (sealed by the server's next tick) and,
/// when its earliest damage is not the previous run's, appends the `integrity.failure` system
/// event. Blocking: the caller runs it off the async threads.
pub fn verify_now(node: &Evident, by: &str) -> Result<VerifyRun, Error> {
    let started = std::time::Instant::now();
    let dir = node.data.ledger_path();
    let verifier = node.ledger.verifier();
    let mut report = evident_ledger::verify(&dir, &verifier, &mut |_, _| {})?;
    // The server signs a checkpoint every second while the log grows; one signed while
    // verify read the checkpoint files can look like a mismatch. Damage survives a second
    // read; a race does not.
    if !report.is_clean() {
        report = evident_ledger::verify(&dir, &verifier, &mut |_, _| {})?;
    }
    let previous = runs(node)?.into_iter().next();
    let run = VerifyRun {
        at_ms: (now_ns() / 1_000_000) as i64,
        by: by.to_owned(),
        entries: report.entries,
        bytes: report.bytes,
        checkpoints: report.checkpoints,
        damage: report.damage.iter().map(ToString::to_string).collect(),
        millis: started.elapsed().as_millis() as u64,
    };
    let mut body = serde_json::to_value(&run).unwrap_or_default();
    body["type"] = "integrity.verify".into();
    node.db.record_audit(
        INTEGRITY_AUDIT_KIND,
        0,
        &body.to_string(),
        node.ledger.size(),
    )?;
    // Checkpoints signed after the damage add lines of their own; the earliest damage is
    // what identifies the incident.
    let known = previous.is_some_and(|p| p.damage.first() == run.damage.first());
    if !run.is_clean() && !known && !node.ledger.is_read_only() {
        node.ledger.append(vec![failure_entry(&run)])?;
    }
    Ok(run)
}

/// Recorded runs, newest first.
pub fn runs(node: &Evident) -> Result<Vec<VerifyRun>, Error> {
    let mut runs: Vec<VerifyRun> = node
        .db
        .audit_rows(INTEGRITY_AUDIT_KIND, None)?
        .into_iter()
        .filter_map(|r| serde_json::from_str(&r.body).ok())
        .collect();
    runs.reverse();
    Ok(runs)
}

/// Whether a scheduled run is due at `now_ms`: never run, or the last run (by anyone) is
/// `every_secs` old. `every_secs == 0` turns the schedule off.
pub fn scheduled_run_due(last: Option<&VerifyRun>, every_secs: u64, now_ms: i64) -> bool {
    if every_secs == 0 {
        return false;
    }
    last.is_none_or(|r| now_ms.saturating_sub(r.at_ms) >= (every_secs as i64).saturating_mul(1000))
}

/// The sealed `integrity.failure` system event for a damaged run.
fn failure_entry(run: &VerifyRun) -> Entry {
    let mut quoted: Vec<&str> = run
        .damage
        .iter()
        .take(MESSAGE_DAMAGE_LINES)
        .map(String::as_str)
        .collect();
    let more = run.damage.len().saturating_sub(MESSAGE_DAMAGE_LINES);
    let tail = format!("and {more} more");
    if more > 0 {
        quoted.push(&tail);
    }
    let message = format!(
        "ledger verification by {} found {} problem(s): {}",
        run.by,
        run.damage.len(),
        quoted.join("; ")
    );
    let mut event = system_event(INTEGRITY_FAILURE, "ledger", message, run.at_ms);
    event
        .set_severity(Severity::Critical)
        .set("count", run.damage.len() as u64);
    Entry {
        kind: EntryKind::Audit,
        received_at_ns: now_ns(),
        source: crate::audit::AUDIT_SOURCE.to_owned(),
        metadata: vec![(SYSTEM_EVENT_KEY.to_owned(), INTEGRITY_FAILURE.to_owned())],
        body: serde_json::to_vec(&event).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_at(at_ms: i64) -> VerifyRun {
        VerifyRun {
            at_ms,
            by: SCHEDULER.into(),
            entries: 1,
            bytes: 1,
            checkpoints: 1,
            damage: vec![],
            millis: 1,
        }
    }

    #[test]
    fn a_scheduled_run_is_due_when_none_ran_or_the_last_is_old_enough() {
        assert!(scheduled_run_due(None, 60, 0));
        assert!(!scheduled_run_due(Some(&run_at(1_000)), 60, 60_999));
        assert!(scheduled_run_due(Some(&run_at(1_000)), 60, 61_000));
        assert!(!scheduled_run_due(None, 0, 0), "0 turns the schedule off");
    }

    #[test]
    fn a_failure_event_quotes_the_first_damage_and_counts_the_rest() {
        let mut run = run_at(5_000);
        run.damage = (0..7)
            .map(|i| format!("entry {i}: hash mismatch"))
            .collect();
        let entry = failure_entry(&run);
        let event: serde_json::Value = serde_json::from_slice(&entry.body).unwrap();
        assert_eq!(event["type"], INTEGRITY_FAILURE);
        assert_eq!(event["severity"], "Critical");
        assert_eq!(event["count"], 7);
        assert_eq!(
            event["message"],
            "ledger verification by scheduler found 7 problem(s): entry 0: hash mismatch; \
             entry 1: hash mismatch; entry 2: hash mismatch; entry 3: hash mismatch; \
             entry 4: hash mismatch; and 2 more"
        );
    }
}
