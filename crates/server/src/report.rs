//! What operators and auditors read: per-source health (with silent and skewed flags) and
//! the control-mapping matrix (criterion → sources → event counts, gaps called out).

use std::collections::BTreeMap;

use evident_model::{CRITERIA, Format, SourceCategory};
use serde::Serialize;

use crate::{Config, Error, Evident};

/// One row of the sources table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Declared format.
    pub format: String,
    /// Category (decides default criteria).
    pub category: SourceCategory,
    /// Expected cadence in seconds, if configured.
    pub cadence_secs: Option<i64>,
    /// Events normalized so far.
    pub events: u64,
    /// Records that failed to normalize.
    pub parse_errors: u64,
    /// Events received in the last hour.
    pub events_last_hour: u64,
    /// Events received in the last 24 hours.
    pub events_last_24h: u64,
    /// Events per received hour for the last 24 hours, oldest first (for sparklines).
    pub hourly: Vec<u64>,
    /// When the last record arrived (ms since the epoch).
    pub last_received_ms: Option<i64>,
    /// Latest event time (ms since the epoch).
    pub last_event_ms: Option<i64>,
    /// Message of the latest parse error.
    pub last_error: Option<String>,
    /// Median clock skew, seconds (receive time − event time).
    pub skew_p50_secs: Option<f64>,
    /// 99th percentile clock skew, seconds.
    pub skew_p99_secs: Option<f64>,
    /// No record within the cadence (or never, for a source with a cadence).
    pub silent: bool,
    /// |median skew| above the configured threshold.
    pub skewed: bool,
}

/// Health of every registered source as of `now_ms`.
pub fn source_report(node: &Evident, now_ms: i64) -> Result<Vec<SourceReport>, Error> {
    let health: BTreeMap<String, evident_store::SourceHealth> = node
        .db
        .source_health()?
        .into_iter()
        .map(|h| (h.source.clone(), h))
        .collect();
    let now_hour = now_ms.div_euclid(3_600_000);
    let threshold = node.config.health.skew_threshold_secs;
    let mut out = Vec::new();
    for s in node.db.sources()? {
        let name = s.name.to_string();
        let h = health.get(&name);
        let volume = node.db.hourly_volume(&name, now_hour - 23, now_hour + 1)?;
        let mut hourly = vec![0u64; 24];
        for (hour, events, _) in &volume {
            if let Some(slot) = hourly.get_mut((hour - (now_hour - 23)) as usize) {
                *slot = *events;
            }
        }
        let last_received_ms = h
            .and_then(|h| h.last_received_ns)
            .map(|n| (n / 1_000_000) as i64);
        let silent = match (s.cadence_secs, last_received_ms) {
            (Some(c), Some(last)) => now_ms - last > c * 1000,
            (Some(c), None) => now_ms - s.created_at_ns / 1_000_000 > c * 1000,
            (None, _) => false,
        };
        let skew_p50_secs = h.and_then(|h| h.skew_p50_secs);
        out.push(SourceReport {
            category: s.format.category(),
            format: s.format.as_str().to_owned(),
            cadence_secs: s.cadence_secs,
            events: h.map_or(0, |h| h.events),
            parse_errors: h.map_or(0, |h| h.parse_errors),
            events_last_hour: hourly[23],
            events_last_24h: hourly.iter().sum(),
            hourly,
            last_received_ms,
            last_event_ms: h.and_then(|h| h.last_event_ms),
            last_error: h.and_then(|h| h.last_error.clone()),
            skew_p50_secs,
            skew_p99_secs: h.and_then(|h| h.skew_p99_secs),
            silent,
            skewed: skew_p50_secs.is_some_and(|s| s.abs() > threshold),
            name,
        });
    }
    Ok(out)
}

/// The criteria a source evidences: its own override, else its category's (overridden or
/// default).
pub fn criteria_for(config: &Config, source: &str, format: Format) -> Vec<String> {
    if let Some(ids) = config.controls.sources.get(source) {
        return ids.clone();
    }
    let category = format.category();
    match config.controls.categories.get(category.as_str()) {
        Some(ids) => ids.clone(),
        None => category
            .default_criteria()
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    }
}

/// One row of the control-mapping matrix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ControlRow {
    /// Criterion id.
    pub id: String,
    /// What it asks, briefly.
    pub description: String,
    /// Sources mapped to it, with their event counts in the period.
    pub sources: Vec<ControlSource>,
    /// Sum of those counts.
    pub events: u64,
    /// `covered` (a mapped source had events in the period), `gap` (mapped sources, none
    /// live) or `unmapped` (no source maps to it).
    pub status: &'static str,
}

/// A source under a criterion.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ControlSource {
    /// Source name.
    pub name: String,
    /// Events with event time in the period.
    pub events: u64,
}

/// The matrix for event days `[from_day, to_day)` (days since the epoch). Criteria that
/// logs cannot evidence (governance, HR) appear as `unmapped`, not as gaps: a gap is a
/// criterion some source is meant to cover that has no live source.
pub fn controls_matrix(
    node: &Evident,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<ControlRow>, Error> {
    let counts = node.db.event_counts(from_day, to_day)?;
    let mut by_criterion: BTreeMap<String, Vec<ControlSource>> = BTreeMap::new();
    for s in node.db.sources()? {
        let name = s.name.to_string();
        for id in criteria_for(&node.config, &name, s.format) {
            by_criterion
                .entry(id.to_ascii_uppercase())
                .or_default()
                .push(ControlSource {
                    events: counts.get(&name).copied().unwrap_or(0),
                    name: name.clone(),
                });
        }
    }
    Ok(CRITERIA
        .iter()
        .map(|c| {
            let sources = by_criterion
                .remove(&c.id.to_ascii_uppercase())
                .unwrap_or_default();
            let events = sources.iter().map(|s| s.events).sum();
            let status = if sources.is_empty() {
                "unmapped"
            } else if events == 0 {
                "gap"
            } else {
                "covered"
            };
            ControlRow {
                id: c.id.to_owned(),
                description: c.description.to_owned(),
                sources,
                events,
                status,
            }
        })
        .collect())
}
