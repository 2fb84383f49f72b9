//! Events Evident raises about itself: a source gone silent past its cadence, a source whose
//! clock drifts past the threshold, the server's own clock losing NTP sync. They are sealed
//! into the ledger as Evident's own (audit) entries (source `evident`, metadata
//! `system_event=<type>`, the normalized event as the body) — so "we noticed the gap, at this time" is itself
//! evidence — and the pipeline hands them to detection unparsed, where the pack's
//! `evident_source_silent` and `evident_clock_skew` rules turn them into alerts and cases.

use std::collections::BTreeSet;

use evident_ledger::{Entry, EntryKind, now_ns};
use evident_model::{Class, Event, Severity};

use crate::{Error, Evident};

/// Entry metadata key marking a system event (its value is the event's `type`).
pub const SYSTEM_EVENT_KEY: &str = "system_event";

/// A system event of `kind` (`source.silent`, `clock.skew`, …) about `source`, in the shape
/// the rule pack documents (rules/README.md, "Evident system events").
pub fn system_event(kind: &str, source: &str, message: String, at_ms: i64) -> Event {
    let mut e = Event::new(Class::BaseEvent, 0, at_ms);
    e.set_severity(Severity::High)
        .set("type", kind)
        .set("message", message)
        .set("metadata.product.name", "Evident")
        .set("metadata.product.vendor_name", "Evident")
        .set("metadata.evident.source", source);
    e
}

/// Whether an entry is a system event (and not a record from a source).
pub fn is_system_event(e: &Entry) -> bool {
    e.kind == EntryKind::Audit
        && e.source == crate::audit::AUDIT_SOURCE
        && e.metadata.iter().any(|(k, _)| k == SYSTEM_EVENT_KEY)
}

/// Watches source health and the server clock, raising one event when a condition starts
/// (and again after it cleared and came back).
#[derive(Debug, Default)]
pub struct HealthWatch {
    raised: BTreeSet<(String, String)>,
}

impl HealthWatch {
    /// Checks every source at `now_ms` and appends events for new conditions; returns how
    /// many it raised.
    pub fn check(&mut self, node: &Evident, now_ms: i64) -> Result<u64, Error> {
        let mut now_conditions = BTreeSet::new();
        let mut events = Vec::new();
        for s in crate::report::source_report(node, now_ms)? {
            if s.silent {
                let since = s
                    .last_received_ms
                    .map(|t| format!("nothing since {}", time_text(t)))
                    .unwrap_or_else(|| "nothing yet".into());
                let cadence = s
                    .cadence_secs
                    .map(|c| format!(" (expected at least every {}s)", c))
                    .unwrap_or_default();
                now_conditions.insert(("source.silent".to_owned(), s.name.clone()));
                events.push((
                    "source.silent",
                    s.name.clone(),
                    format!("source {} is silent: {since}{cadence}", s.name),
                ));
            }
            let threshold = node.config.health.skew_threshold_secs;
            if let Some(p50) = s.skew_p50_secs.filter(|p| p.abs() > threshold) {
                now_conditions.insert(("clock.skew".to_owned(), s.name.clone()));
                events.push((
                    "clock.skew",
                    s.name.clone(),
                    format!(
                        "source {}'s event times are {p50:.0}s off the receive time (median; threshold {threshold:.0}s)",
                        s.name
                    ),
                ));
            }
        }
        if let Ok(c) = evident_clock::clock_status()
            && !c.synchronized
        {
            now_conditions.insert(("clock.skew".to_owned(), "server".to_owned()));
            events.push((
                "clock.skew",
                "server".to_owned(),
                format!(
                    "the server's clock is not synchronized by NTP (estimated error {} µs)",
                    c.max_error_us
                ),
            ));
        }
        let received_at_ns = now_ns();
        let entries: Vec<Entry> = events
            .into_iter()
            .filter(|(kind, source, _)| {
                !self.raised.contains(&((*kind).to_owned(), source.clone()))
            })
            .map(|(kind, source, message)| {
                let event = system_event(kind, &source, message, now_ms);
                Entry {
                    kind: EntryKind::Audit,
                    received_at_ns,
                    source: crate::audit::AUDIT_SOURCE.to_owned(),
                    metadata: vec![(SYSTEM_EVENT_KEY.to_owned(), kind.to_owned())],
                    body: serde_json::to_vec(&event).unwrap_or_default(),
                }
            })
            .collect();
        self.raised = now_conditions;
        let n = entries.len() as u64;
        if n > 0 && !node.ledger.is_read_only() {
            node.ledger.append(entries)?;
        }
        Ok(n)
    }
}

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Entry metadata `audit` value of the server clock's status record.
pub const CLOCK_STATUS_AUDIT: &str = "clock.status";

/// Records the kernel's clock status (synchronized, offset, error estimates; `adjtimex`) as
/// an audit entry, so the trail shows how trustworthy receive times were. The server does
/// this once a minute rather than with every checkpoint: checkpoints come every second while
/// logs arrive, and a per-second record would be most of a quiet log.
pub fn record_clock_status(node: &Evident, now_ms: i64) -> Result<bool, Error> {
    if node.ledger.is_read_only() {
        return Ok(false);
    }
    let Ok(c) = evident_clock::clock_status() else {
        return Ok(false);
    };
    let body = serde_json::json!({
        "type": CLOCK_STATUS_AUDIT,
        "at_ms": now_ms,
        "synchronized": c.synchronized,
        "offset_us": c.offset_us,
        "max_error_us": c.max_error_us,
        "est_error_us": c.est_error_us,
    });
    node.ledger.append(vec![Entry {
        kind: EntryKind::Audit,
        received_at_ns: now_ns(),
        source: crate::audit::AUDIT_SOURCE.to_owned(),
        metadata: vec![("audit".to_owned(), CLOCK_STATUS_AUDIT.to_owned())],
        body: body.to_string().into_bytes(),
    }])?;
    Ok(true)
}
