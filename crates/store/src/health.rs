//! Source health: what the pipeline learned from each source's records (volume per hour,
//! daily event counts, last event, parse errors, clock skew), and the pipeline's watermark.
//! A [`HealthDelta`] is gathered in memory over a run of ledger entries and applied in one
//! transaction together with the watermark move, so a crash never counts a record twice.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use crate::{StateDb, StoreError};

/// Buckets on each side of zero in the skew histogram: bucket k covers |skew| in
/// [2^(k-1), 2^k) seconds, so 32 buckets reach past a century.
const SKEW_BUCKETS: usize = 32;

/// Signed clock skew (received time − event time, in seconds) as a log-scale histogram:
/// bounded memory for any volume, percentiles within a factor of √2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkewHistogram {
    /// Index SKEW_BUCKETS is |skew| < 1 s; above it positive skew (event older than its
    /// receipt: a slow or lagging clock), below it negative (event from the future).
    counts: Vec<u64>,
}

impl Default for SkewHistogram {
    fn default() -> Self {
        SkewHistogram {
            counts: vec![0; 2 * SKEW_BUCKETS + 1],
        }
    }
}

impl SkewHistogram {
    /// Counts one observation.
    pub fn add(&mut self, skew_secs: f64) {
        let mag = skew_secs.abs();
        let k = if mag < 1.0 {
            0
        } else {
            ((mag.log2().floor() as usize) + 1).min(SKEW_BUCKETS)
        };
        let i = if skew_secs >= 0.0 {
            SKEW_BUCKETS + k
        } else {
            SKEW_BUCKETS - k
        };
        self.counts[i] += 1;
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &SkewHistogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// Observations counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `p`-quantile (0..=1) in seconds, as the middle of its bucket; `None` when empty.
    pub fn quantile(&self, p: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let k = i as i64 - SKEW_BUCKETS as i64;
                if k == 0 {
                    return Some(0.0);
                }
                let mid = 1.5 * 2f64.powi(k.unsigned_abs() as i32 - 1);
                return Some(if k > 0 { mid } else { -mid });
            }
        }
        None
    }

    fn to_json(&self) -> String {
        serde_json::to_string(&self.counts).unwrap_or_else(|_| "[]".into())
    }

    fn from_json(s: &str) -> SkewHistogram {
        match serde_json::from_str::<Vec<u64>>(s) {
            Ok(counts) if counts.len() == 2 * SKEW_BUCKETS + 1 => SkewHistogram { counts },
            _ => SkewHistogram::default(),
        }
    }
}

/// A `source_health` row: events, errors, last received, first event, last event, last
/// error, skew histogram JSON.
type StoredHealth = (
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
);

/// What one source contributed over a run of entries.
#[derive(Clone, Debug, Default)]
struct SourceDelta {
    /// Received hour (epoch hours) → (events, parse errors).
    hourly: BTreeMap<i64, (u64, u64)>,
    /// Event day (epoch days) → events.
    daily: BTreeMap<i64, u64>,
    events: u64,
    errors: u64,
    last_received_ns: u64,
    first_event_ms: Option<i64>,
    last_event_ms: Option<i64>,
    last_error: Option<String>,
    skew: SkewHistogram,
}

/// Health observations gathered by the pipeline, applied with [`StateDb::apply_health`].
#[derive(Clone, Debug, Default)]
pub struct HealthDelta {
    sources: BTreeMap<String, SourceDelta>,
}

impl HealthDelta {
    /// A record of `source` received at `received_ns` normalized to events at these times.
    pub fn record_events(&mut self, source: &str, received_ns: u64, event_times_ms: &[i64]) {
        let d = self.sources.entry(source.to_owned()).or_default();
        let hour = (received_ns / 3_600_000_000_000) as i64;
        d.hourly.entry(hour).or_default().0 += event_times_ms.len() as u64;
        d.last_received_ns = d.last_received_ns.max(received_ns);
        for &t in event_times_ms {
            d.events += 1;
            *d.daily.entry(t.div_euclid(86_400_000)).or_default() += 1;
            d.first_event_ms = Some(d.first_event_ms.map_or(t, |f| f.min(t)));
            d.last_event_ms = Some(d.last_event_ms.map_or(t, |l| l.max(t)));
            let received_ms = (received_ns / 1_000_000) as i64;
            d.skew.add((received_ms - t) as f64 / 1000.0);
        }
    }

    /// A record of `source` that could not be normalized.
    pub fn record_error(&mut self, source: &str, received_ns: u64, message: &str) {
        let d = self.sources.entry(source.to_owned()).or_default();
        let hour = (received_ns / 3_600_000_000_000) as i64;
        d.hourly.entry(hour).or_default().1 += 1;
        d.errors += 1;
        d.last_received_ns = d.last_received_ns.max(received_ns);
        d.last_error = Some(message.to_owned());
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Adds another delta's observations (pipelines gather per thread, then merge).
    pub fn merge(&mut self, other: HealthDelta) {
        for (source, o) in other.sources {
            let d = self.sources.entry(source).or_default();
            for (hour, (events, errors)) in o.hourly {
                let slot = d.hourly.entry(hour).or_default();
                slot.0 += events;
                slot.1 += errors;
            }
            for (day, events) in o.daily {
                *d.daily.entry(day).or_default() += events;
            }
            d.events += o.events;
            d.errors += o.errors;
            d.last_received_ns = d.last_received_ns.max(o.last_received_ns);
            d.first_event_ms = match (d.first_event_ms, o.first_event_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            d.last_event_ms = match (d.last_event_ms, o.last_event_ms) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if o.last_error.is_some() {
                d.last_error = o.last_error;
            }
            d.skew.merge(&o.skew);
        }
    }
}

/// A source's health as stored, with the derived figures reports show.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SourceHealth {
    /// Source name.
    pub source: String,
    /// Events normalized so far.
    pub events: u64,
    /// Records that failed to normalize.
    pub parse_errors: u64,
    /// Last time a record arrived (ns since the epoch).
    pub last_received_ns: Option<u64>,
    /// Earliest event time seen (ms).
    pub first_event_ms: Option<i64>,
    /// Latest event time seen (ms).
    pub last_event_ms: Option<i64>,
    /// Message of the latest parse error.
    pub last_error: Option<String>,
    /// Median skew, seconds (received − event time).
    pub skew_p50_secs: Option<f64>,
    /// 99th percentile skew, seconds.
    pub skew_p99_secs: Option<f64>,
}

impl StateDb {
    /// Index of the next ledger entry the pipeline has to process.
    pub fn watermark(&self) -> Result<u64, StoreError> {
        let w: Option<i64> = self
            .conn()
            .query_row("SELECT next_index FROM pipeline WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(w.unwrap_or(0) as u64)
    }

    /// Applies `delta` (the health of entries `from..to`) and moves the watermark from
    /// `from` to `to`, atomically. Returns false, changing nothing, when the watermark is
    /// no longer `from` (another pipeline got there first).
    pub fn apply_health(
        &self,
        delta: &HealthDelta,
        from: u64,
        to: u64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        if !apply_health_in(&tx, delta, from, to)? {
            return Ok(false);
        }
        tx.commit()?;
        Ok(true)
    }

    /// Health of every source that has sent something.
    pub fn source_health(&self) -> Result<Vec<SourceHealth>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT source, events, parse_errors, last_received_ns, first_event_ms, last_event_ms, last_error, skew
             FROM source_health ORDER BY source",
        )?;
        let rows = stmt.query_map([], |r| {
            let skew = SkewHistogram::from_json(&r.get::<_, String>(7)?);
            Ok(SourceHealth {
                source: r.get(0)?,
                events: r.get::<_, i64>(1)? as u64,
                parse_errors: r.get::<_, i64>(2)? as u64,
                last_received_ns: r
                    .get::<_, Option<i64>>(3)?
                    .filter(|&n| n > 0)
                    .map(|n| n as u64),
                first_event_ms: r.get(4)?,
                last_event_ms: r.get(5)?,
                last_error: r.get(6)?,
                skew_p50_secs: skew.quantile(0.5),
                skew_p99_secs: skew.quantile(0.99),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Events and parse errors per received hour for `source` in `[from_hour, to_hour)`.
    pub fn hourly_volume(
        &self,
        source: &str,
        from_hour: i64,
        to_hour: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT hour, events, parse_errors FROM source_hourly
             WHERE source = ?1 AND hour >= ?2 AND hour < ?3 ORDER BY hour",
        )?;
        let rows = stmt.query_map(params![source, from_hour, to_hour], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Events per source whose event time falls in days `[from_day, to_day)` (epoch days).
    pub fn event_counts(
        &self,
        from_day: i64,
        to_day: i64,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT source, SUM(events) FROM source_daily WHERE day >= ?1 AND day < ?2 GROUP BY source",
        )?;
        let rows = stmt.query_map(params![from_day, to_day], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// [`StateDb::apply_health`] inside a transaction the caller commits (the pipeline also
/// stores alerts in it).
pub(crate) fn apply_health_in(
    tx: &rusqlite::Transaction<'_>,
    delta: &HealthDelta,
    from: u64,
    to: u64,
) -> Result<bool, StoreError> {
    let current: i64 = tx
        .query_row("SELECT next_index FROM pipeline WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(0);
    if current as u64 != from {
        return Ok(false);
    }
    for (source, d) in &delta.sources {
        for (hour, (events, errors)) in &d.hourly {
            tx.execute(
                "INSERT INTO source_hourly (source, hour, events, parse_errors) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(source, hour) DO UPDATE SET events = events + ?3, parse_errors = parse_errors + ?4",
                params![source, hour, *events as i64, *errors as i64],
            )?;
        }
        for (day, events) in &d.daily {
            tx.execute(
                "INSERT INTO source_daily (source, day, events) VALUES (?1, ?2, ?3)
                 ON CONFLICT(source, day) DO UPDATE SET events = events + ?3",
                params![source, day, *events as i64],
            )?;
        }
        let old: Option<StoredHealth> = tx
            .query_row(
                "SELECT events, parse_errors, last_received_ns, first_event_ms, last_event_ms, last_error, skew
                 FROM source_health WHERE source = ?1",
                [source],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            )
            .optional()?;
        let (events, errors, last_rx, first_ev, last_ev, last_err, skew_json) =
            old.unwrap_or((0, 0, None, None, None, None, String::new()));
        let mut skew = SkewHistogram::from_json(&skew_json);
        skew.merge(&d.skew);
        let first = match (first_ev, d.first_event_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let last = match (last_ev, d.last_event_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        tx.execute(
            "INSERT INTO source_health (source, events, parse_errors, last_received_ns, first_event_ms, last_event_ms, last_error, skew)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(source) DO UPDATE SET events = ?2, parse_errors = ?3, last_received_ns = ?4,
               first_event_ms = ?5, last_event_ms = ?6, last_error = ?7, skew = ?8",
            params![
                source,
                events + d.events as i64,
                errors + d.errors as i64,
                last_rx.unwrap_or(0).max(d.last_received_ns as i64),
                first,
                last,
                d.last_error.clone().or(last_err),
                skew.to_json()
            ],
        )?;
    }
    tx.execute(
        "INSERT INTO pipeline (id, next_index) VALUES (1, ?1)
         ON CONFLICT(id) DO UPDATE SET next_index = ?1",
        [to as i64],
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_deltas_equal_one_delta_of_everything() {
        let mut all = HealthDelta::default();
        let (mut a, mut b) = (HealthDelta::default(), HealthDelta::default());
        for (i, d) in [&mut a, &mut b].into_iter().enumerate() {
            let t = 1_764_150_000_000 + i as i64 * 86_400_000;
            d.record_events("s", 100 + i as u64, &[t]);
            d.record_error("s", 200 + i as u64, &format!("e{i}"));
            all.record_events("s", 100 + i as u64, &[t]);
            all.record_error("s", 200 + i as u64, &format!("e{i}"));
        }
        a.merge(b);
        assert_eq!(format!("{a:?}"), format!("{all:?}"));
    }

    #[test]
    fn skew_quantiles_land_in_the_right_bucket() {
        let mut h = SkewHistogram::default();
        for _ in 0..90 {
            h.add(0.2);
        }
        for _ in 0..10 {
            h.add(600.0);
        }
        assert_eq!(h.quantile(0.5), Some(0.0));
        // 600 s is in [512, 1024): reported as 768.
        assert_eq!(h.quantile(0.99), Some(768.0));
        let mut ahead = SkewHistogram::default();
        ahead.add(-3.0);
        assert_eq!(ahead.quantile(0.5), Some(-3.0));
        assert_eq!(SkewHistogram::default().quantile(0.5), None);
    }

    #[test]
    fn health_accumulates_and_the_watermark_guards_against_double_counting() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        let hour_ns = 3_600_000_000_000u64;
        let t0 = 1_764_150_000_000i64; // 2025-11-26T09:40:00Z
        let mut d = HealthDelta::default();
        d.record_events("okta", 490_041 * hour_ns, &[t0, t0 + 1000]);
        d.record_error("okta", 490_041 * hour_ns + 5, "invalid JSON: EOF");
        assert!(db.apply_health(&d, 0, 3).unwrap());
        assert!(
            !db.apply_health(&d, 0, 3).unwrap(),
            "stale watermark must not apply"
        );
        assert_eq!(db.watermark().unwrap(), 3);
        let mut d2 = HealthDelta::default();
        d2.record_events("okta", 490_042 * hour_ns, &[t0 - 86_400_000]);
        assert!(db.apply_health(&d2, 3, 4).unwrap());
        let h = &db.source_health().unwrap()[0];
        assert_eq!((h.events, h.parse_errors), (3, 1));
        assert_eq!(h.first_event_ms, Some(t0 - 86_400_000));
        assert_eq!(h.last_event_ms, Some(t0 + 1000));
        assert_eq!(h.last_received_ns, Some(490_042 * hour_ns));
        assert_eq!(h.last_error.as_deref(), Some("invalid JSON: EOF"));
        assert_eq!(
            db.hourly_volume("okta", 490_000, 490_100).unwrap(),
            vec![(490_041, 2, 1), (490_042, 1, 0)]
        );
        let day = t0.div_euclid(86_400_000);
        assert_eq!(db.event_counts(day, day + 1).unwrap()["okta"], 2);
        assert_eq!(db.event_counts(day - 1, day + 1).unwrap()["okta"], 3);
    }
}
