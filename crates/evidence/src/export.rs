//! [`export`]: gather the period's data once ([`Period`]), render every section into an
//! in-memory file map, add the integrity files, sign the manifest, write the directory and
//! the zip.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveDate};
use evident_model::Case;
use evident_store::{AlertRow, CaseFilter, CaseHistoryRow, Review, SourceHealth};

use crate::package::{self, Files};
use crate::sample::{self, Frequency, SampleDraw};
use crate::{EvidenceError, ExportRequest, MANIFEST, MANIFEST_SIG, Progress, Summary};
use crate::{html, integrity, sections};

/// Everything the sections read, gathered once.
pub(crate) struct Period {
    /// First day (inclusive).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// Every day of the period.
    pub days: Vec<NaiveDate>,
    /// Period start, ms since the epoch (00:00 UTC of `from`).
    pub start_ms: i64,
    /// Period end, exclusive (00:00 UTC after `to`).
    pub end_ms: i64,
    /// Registered sources: name, format, criteria.
    pub sources: Vec<SourceInfo>,
    /// Events per source per day of the period (same order as `days`).
    pub daily: BTreeMap<String, Vec<u64>>,
    /// Stored health per source (first/last event over all time).
    pub health: BTreeMap<String, SourceHealth>,
    /// Alerts whose activity overlaps the period, oldest first.
    pub alerts: Vec<AlertRow>,
    /// Every case (for open-over-time), oldest first.
    pub all_cases: Vec<Case>,
    /// Ids of cases opened in the period: the sample's population.
    pub period_cases: Vec<i64>,
    /// Reviews whose reviewed period overlaps the audit period, oldest first.
    pub reviews: Vec<Review>,
    /// The drawn sample.
    pub sample: SampleDraw,
    /// Full history of each sampled case.
    pub histories: BTreeMap<i64, Vec<CaseHistoryRow>>,
}

/// A registered source as the package shows it.
pub(crate) struct SourceInfo {
    /// Name.
    pub name: String,
    /// Declared format.
    pub format: evident_model::Format,
    /// TSC criteria it evidences.
    pub criteria: Vec<String>,
}

impl Period {
    /// Case by id.
    pub fn case(&self, id: i64) -> Option<&Case> {
        self.all_cases.iter().find(|c| c.id == id)
    }
}

/// Writes the evidence package for `request`'s period and returns what was written.
pub fn export(
    request: &ExportRequest<'_>,
    progress: &mut dyn Progress,
) -> Result<Summary, EvidenceError> {
    if request.from > request.to {
        return Err(EvidenceError::Period {
            from: request.from,
            to: request.to,
        });
    }
    package::check_empty(&request.out)?;
    progress.update("reading sources, alerts, cases", 0, 1);
    let period = gather(request)?;
    let mut files = Files::new();
    sections::write_all(request, &period, &mut files, progress)?;
    let integrity = integrity::write(request, &period, &mut files, progress)?;
    let index = html::index(request, &period, &integrity, &files);
    files.insert("index.html".into(), index.into_bytes());

    progress.update("signing the manifest", 0, 1);
    let header = serde_json::json!({
        "format": "evident.dev/evidence-package/v1",
        "origin": request.signer.name(),
        "period": {"from": request.from.to_string(), "to": request.to.to_string()},
        "generated_at": sections::time(request.generated_at_ms),
        "sample_seed": request.seed,
        "checkpoints": {"start": integrity.start_size, "end": integrity.end_size},
    });
    let manifest = package::manifest(&files, header);
    let sig = request
        .signer
        .sign(&package::manifest_note_text(&manifest))?;
    let listed = files.len();
    let bytes = files.values().map(|b| b.len() as u64).sum();
    files.insert(MANIFEST.into(), manifest);
    files.insert(MANIFEST_SIG.into(), sig.into_bytes());

    progress.update("writing files", 0, 1);
    // The zip first, then the directory, each renamed into place when complete: a crash
    // between them leaves a complete zip and no directory, and a re-run to the same place
    // succeeds (it replaces the zip).
    let zip = if request.zip {
        let path = package::zip_path(&request.out);
        let top = request
            .out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "evidence".into());
        package::write_zip(&path, &top, &files)?;
        Some(path)
    } else {
        None
    };
    package::write_dir(&request.out, &files)?;
    progress.update("done", 1, 1);
    Ok(Summary {
        dir: request.out.clone(),
        zip,
        files: listed,
        bytes,
        alerts: period.alerts.len(),
        cases: period.period_cases.len(),
        sampled_cases: period.sample.items.clone(),
        proofs: integrity.proofs,
        checkpoints: (integrity.start_size, integrity.end_size),
    })
}

/// Midnight UTC of `day`, ms since the epoch.
pub(crate) fn day_ms(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

/// Days since the epoch of `day` (the store's day buckets).
pub(crate) fn epoch_day(day: NaiveDate) -> i64 {
    day.signed_duration_since(DateTime::UNIX_EPOCH.date_naive())
        .num_days()
}

fn gather(request: &ExportRequest<'_>) -> Result<Period, EvidenceError> {
    let (from, to, db) = (request.from, request.to, request.db);
    let mut days = Vec::new();
    let mut d = from;
    while d <= to {
        days.push(d);
        match d.checked_add_days(Days::new(1)) {
            Some(next) => d = next,
            None => break,
        }
    }
    let start_ms = day_ms(from);
    let end_ms = start_ms + 86_400_000 * days.len() as i64;

    let sources: Vec<SourceInfo> = db
        .sources()?
        .into_iter()
        .map(|s| {
            let name = s.name.to_string();
            let criteria = request
                .source_criteria
                .get(&name)
                .cloned()
                .unwrap_or_default();
            SourceInfo {
                name,
                format: s.format,
                criteria,
            }
        })
        .collect();
    let mut daily: BTreeMap<String, Vec<u64>> = sources
        .iter()
        .map(|s| (s.name.clone(), vec![0; days.len()]))
        .collect();
    for (i, day) in days.iter().enumerate() {
        let e = epoch_day(*day);
        for (source, n) in db.event_counts(e, e + 1)? {
            daily.entry(source).or_insert_with(|| vec![0; days.len()])[i] = n;
        }
    }
    let health = db
        .source_health()?
        .into_iter()
        .map(|h| (h.source.clone(), h))
        .collect();

    let mut alerts = Vec::new();
    let mut before = None;
    loop {
        let page = db.alerts(1000, before)?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        alerts.extend(
            page.into_iter()
                .filter(|a| a.first_seen_ms < end_ms && a.last_seen_ms >= start_ms),
        );
    }
    alerts.sort_by_key(|a| (a.first_seen_ms, a.id));

    let mut all_cases = db.cases(CaseFilter::All)?;
    all_cases.sort_by_key(|c| c.id);
    let period_cases: Vec<i64> = all_cases
        .iter()
        .filter(|c| c.opened_at_ms >= start_ms && c.opened_at_ms < end_ms)
        .map(|c| c.id)
        .collect();
    let frequency = Frequency::from_occurrences(period_cases.len(), days.len() as u32);
    let sample = sample::draw_sample(&period_cases, frequency, request.seed);
    let mut histories = BTreeMap::new();
    for id in &sample.items {
        histories.insert(*id, db.case_history(*id)?);
    }

    let mut reviews: Vec<Review> = db
        .reviews()?
        .into_iter()
        .filter(|r| r.period_start_ms < end_ms && r.period_end_ms > start_ms)
        .collect();
    reviews.sort_by_key(|r| (r.period_start_ms, r.id));

    Ok(Period {
        from,
        to,
        days,
        start_ms,
        end_ms,
        sources,
        daily,
        health,
        alerts,
        all_cases,
        period_cases,
        reviews,
        sample,
        histories,
    })
}

/// Ledger entries of sampled cases: their timeline's audit entries, linked events, and the
/// events of their alerts. Sorted, no duplicates.
pub(crate) fn sampled_entries(period: &Period) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for (id, history) in &period.histories {
        out.extend(history.iter().filter_map(|h| h.ledger_index));
        if let Some(case) = period.case(*id) {
            out.extend(case.linked_events.iter().copied());
            for alert in period.alerts.iter().filter(|a| case.alerts.contains(&a.id)) {
                out.extend(alert_event_indexes(alert));
            }
        }
    }
    out
}

/// Ledger indexes of the events an alert matched (as far as the alert kept them).
pub(crate) fn alert_event_indexes(alert: &AlertRow) -> Vec<u64> {
    alert
        .alert
        .get("events")
        .and_then(|e| e.as_array())
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e.get("ledger_index").and_then(|i| i.as_u64()))
                .collect()
        })
        .unwrap_or_default()
}
