//! Alerts and the noise control around them: one open alert per dedup key (rule + group
//! fields) that repeats within the suppression window update instead of duplicating, a cap
//! on new alerts per rule and hour, and per-rule counters so noisy rules are visible.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Matching events an alert keeps references to at most (its count keeps counting).
pub const MAX_ALERT_EVENTS: usize = 50;

/// Where a matching event is: a ledger entry, or (offline, `hunt`) a file and line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventRef {
    /// Ledger index of the entry holding the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_index: Option<u64>,
    /// File the record was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Line (1-based) in that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl EventRef {
    /// A ledger entry.
    pub fn ledger(index: u64) -> EventRef {
        EventRef {
            ledger_index: Some(index),
            file: None,
            line: None,
        }
    }

    /// A line of a file.
    pub fn file_line(file: &str, line: u64) -> EventRef {
        EventRef {
            ledger_index: None,
            file: Some(file.to_owned()),
            line: Some(line),
        }
    }
}

/// An alert: a rule fired, maybe repeatedly, on these events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule's `id` (its title when it has none).
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// `detection` or `correlation`.
    pub kind: String,
    /// Sigma level (`informational` … `critical`).
    pub level: String,
    /// OCSF severity caption derived from the level.
    pub severity: String,
    /// OCSF `severity_id`.
    pub severity_id: u8,
    /// All the rule's tags.
    pub tags: Vec<String>,
    /// TSC criteria from `tsc.*` tags (`tsc.cc6_1` → `CC6.1`).
    pub tsc: Vec<String>,
    /// The rule's author: SigmaHQ rules are DRL-1.1, which requires keeping it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The file the rule came from.
    pub rule_file: String,
    /// Rule id + group fields: repeats with the same key update this alert.
    pub dedup_key: String,
    /// The group fields and their values (correlation `group-by`, or the event's actor,
    /// target user and source IP for detection rules).
    pub group: BTreeMap<String, String>,
    /// Event time of the first match, ms since the epoch.
    pub first_seen_ms: i64,
    /// Event time of the latest match.
    pub last_seen_ms: i64,
    /// Matches (firings, for a correlation) folded into this alert.
    pub count: u64,
    /// The matching events (the first [`MAX_ALERT_EVENTS`]).
    pub events: Vec<EventRef>,
}

/// Per-rule quality counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCounters {
    /// Events the rule matched (detection) or firings (correlation).
    pub matches: u64,
    /// New alerts opened.
    pub alerts: u64,
    /// Matches folded into an open alert by dedup.
    pub suppressed: u64,
    /// Matches dropped because the rule hit its hourly alert cap.
    pub throttled: u64,
}

/// A match ready to become or update an alert.
pub(crate) struct Hit {
    pub(crate) template: Alert,
    pub(crate) time_ms: i64,
    pub(crate) events: Vec<EventRef>,
}

/// Open alerts by dedup key, the alerts changed since the caller last took them, and
/// per-rule counters.
#[derive(Debug)]
pub(crate) struct AlertBook {
    suppress_ms: i64,
    max_per_hour: u32,
    open: HashMap<String, Alert>,
    /// Dedup keys changed since [`AlertBook::take`].
    dirty: Vec<String>,
    /// Changed alerts a newer alert with the same key replaced before they were taken.
    closed: Vec<Alert>,
    /// (rule, hour) → new alerts in that hour.
    per_hour: HashMap<(String, i64), u32>,
    pub(crate) counters: BTreeMap<String, RuleCounters>,
}

impl AlertBook {
    pub(crate) fn new(suppress_ms: i64, max_per_hour: u32) -> AlertBook {
        AlertBook {
            suppress_ms,
            max_per_hour,
            open: HashMap::new(),
            dirty: Vec::new(),
            closed: Vec::new(),
            per_hour: HashMap::new(),
            counters: BTreeMap::new(),
        }
    }

    /// Counts a match that does not alert (a rule only a correlation uses).
    pub(crate) fn count_match(&mut self, rule: &str) {
        self.counters.entry(rule.to_owned()).or_default().matches += 1;
    }

    /// Folds a hit into its open alert, or opens one unless the rule is throttled.
    pub(crate) fn add(&mut self, hit: Hit) {
        let rule = hit.template.rule_id.clone();
        let counters = self.counters.entry(rule.clone()).or_default();
        counters.matches += 1;
        let key = hit.template.dedup_key.clone();
        if let Some(open) = self.open.get_mut(&key)
            && hit.time_ms - open.last_seen_ms <= self.suppress_ms
            && hit.time_ms >= open.first_seen_ms - self.suppress_ms
        {
            open.count += 1;
            open.last_seen_ms = open.last_seen_ms.max(hit.time_ms);
            open.first_seen_ms = open.first_seen_ms.min(hit.time_ms);
            for e in hit.events {
                if open.events.len() < MAX_ALERT_EVENTS && !open.events.contains(&e) {
                    open.events.push(e);
                }
            }
            counters.suppressed += 1;
            self.dirty.push(key);
            return;
        }
        let hour = hit.time_ms.div_euclid(3_600_000);
        let n = self.per_hour.entry((rule, hour)).or_default();
        if *n >= self.max_per_hour {
            counters.throttled += 1;
            return;
        }
        *n += 1;
        counters.alerts += 1;
        let mut alert = hit.template;
        alert.first_seen_ms = hit.time_ms;
        alert.last_seen_ms = hit.time_ms;
        alert.count = 1;
        alert.events = hit.events;
        alert.events.truncate(MAX_ALERT_EVENTS);
        if let Some(old) = self.open.insert(key.clone(), alert)
            && self.dirty.contains(&key)
        {
            self.closed.push(old);
        }
        self.dirty.push(key);
    }

    /// Makes a stored open alert known again (after a restart), so repeats update it.
    pub(crate) fn restore(&mut self, alert: Alert) {
        self.open.insert(alert.dedup_key.clone(), alert);
    }

    /// The alerts changed since the last call, in the state they are in now.
    pub(crate) fn take(&mut self) -> Vec<Alert> {
        let mut keys = std::mem::take(&mut self.dirty);
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert(k.clone()));
        let mut out = std::mem::take(&mut self.closed);
        out.extend(keys.iter().filter_map(|k| self.open.get(k).cloned()));
        out
    }

    /// Forgets alerts whose suppression window closed before `now_ms` and hour counts
    /// older than an hour before it; unchanged-since-taken alerts only.
    pub(crate) fn expire(&mut self, now_ms: i64) {
        if !self.dirty.is_empty() {
            return;
        }
        let window = self.suppress_ms;
        self.open.retain(|_, a| now_ms - a.last_seen_ms <= window);
        let hour = now_ms.div_euclid(3_600_000);
        self.per_hour.retain(|(_, h), _| *h >= hour - 1);
    }

    /// Open alerts held.
    pub(crate) fn open_count(&self) -> usize {
        self.open.len()
    }
}

/// `tsc.cc6_1` → `CC6.1`.
pub(crate) fn tsc_criterion(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("tsc.")?;
    Some(rest.to_ascii_uppercase().replace('_', "."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(key: &str) -> Alert {
        Alert {
            rule_id: "r".into(),
            rule_title: "R".into(),
            kind: "detection".into(),
            level: "high".into(),
            severity: "High".into(),
            severity_id: 4,
            tags: vec![],
            tsc: vec![],
            author: None,
            rule_file: "r.yml".into(),
            dedup_key: key.into(),
            group: BTreeMap::new(),
            first_seen_ms: 0,
            last_seen_ms: 0,
            count: 0,
            events: vec![],
        }
    }

    fn hit(key: &str, t: i64, line: u64) -> Hit {
        Hit {
            template: template(key),
            time_ms: t,
            events: vec![EventRef::file_line("f", line)],
        }
    }

    #[test]
    fn repeats_within_the_window_update_the_open_alert() {
        let mut book = AlertBook::new(60_000, 100);
        book.add(hit("k", 0, 1));
        book.add(hit("k", 30_000, 2));
        book.add(hit("k", 89_000, 3));
        book.add(hit("other", 89_000, 4));
        let taken = book.take();
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[0].count, 3);
        assert_eq!(taken[0].last_seen_ms, 89_000);
        assert_eq!(taken[0].events.len(), 3);
        // Past the window after the last repeat: a new alert, the old one kept.
        book.add(hit("k", 150_000, 5));
        book.add(hit("k", 300_000, 6));
        let taken = book.take();
        assert_eq!(taken.len(), 2);
        assert_eq!((taken[0].count, taken[0].first_seen_ms), (1, 150_000));
        assert_eq!((taken[1].count, taken[1].first_seen_ms), (1, 300_000));
        assert_eq!(
            book.counters["r"],
            RuleCounters {
                matches: 6,
                alerts: 4,
                suppressed: 2,
                throttled: 0
            }
        );
    }

    #[test]
    fn a_rule_is_throttled_per_hour() {
        let mut book = AlertBook::new(0, 2);
        for i in 0..5 {
            book.add(hit(&format!("k{i}"), 1000 + i, i as u64));
        }
        book.add(hit("k9", 3_600_000, 9));
        assert_eq!(book.take().len(), 3);
        assert_eq!(book.counters["r"].throttled, 3);
        assert_eq!(book.counters["r"].alerts, 3);
    }

    #[test]
    fn tsc_tags_become_criteria() {
        assert_eq!(tsc_criterion("tsc.cc6_1").as_deref(), Some("CC6.1"));
        assert_eq!(tsc_criterion("tsc.a1_2").as_deref(), Some("A1.2"));
        assert_eq!(tsc_criterion("attack.t1110"), None);
    }
}
