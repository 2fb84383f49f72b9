//! The package's data sections as CSV, Markdown, JSON and SVG: controls, sources, alerts
//! (population, sample, timelines), reviews, vulnerabilities, access, retention, IR plan,
//! metrics.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike};
use evident_charts::{BarChart, Frame, HBarChart, LineChart, Series};
use evident_ledger::Entry;
use evident_model::{CRITERIA, Format};
use evident_sources::{ParseContext, Parser};

use crate::export::{Period, day_ms};
use crate::package::Files;
use crate::sample::ALGORITHM;
use crate::{EvidenceError, ExportRequest, Progress};

/// One control of the matrix with everything the narrative links.
pub(crate) struct ControlRow {
    /// Criterion id (`CC6.1`).
    pub id: &'static str,
    /// What it asks.
    pub description: &'static str,
    /// Mapped sources with their events in the period.
    pub sources: Vec<(String, u64)>,
    /// Rules tagged with it: (id, title).
    pub rules: Vec<(String, String)>,
    /// Alerts in the period tagged with it.
    pub alerts: Vec<i64>,
    /// Cases holding those alerts.
    pub cases: Vec<i64>,
    /// Signed / due log reviews in the period (reviews evidence CC4.1 and CC7.2).
    pub reviews: Option<(usize, usize)>,
    /// `covered`, `gap` or `unmapped`.
    pub status: &'static str,
}

/// Criteria that scheduled log reviews evidence (monitoring activities, anomaly review).
const REVIEW_CRITERIA: [&str; 2] = ["CC4.1", "CC7.2"];

/// The control matrix for the period.
pub(crate) fn control_rows(request: &ExportRequest<'_>, period: &Period) -> Vec<ControlRow> {
    let signed = period.reviews.iter().filter(|r| r.signed.is_some()).count();
    CRITERIA
        .iter()
        .map(|c| {
            let sources: Vec<(String, u64)> = period
                .sources
                .iter()
                .filter(|s| s.criteria.iter().any(|k| k.eq_ignore_ascii_case(c.id)))
                .map(|s| {
                    let n = period.daily.get(&s.name).map_or(0, |d| d.iter().sum());
                    (s.name.clone(), n)
                })
                .collect();
            let rules = request
                .rules
                .iter()
                .filter(|r| r.tsc.iter().any(|t| t.eq_ignore_ascii_case(c.id)))
                .map(|r| (r.id.clone(), r.title.clone()))
                .collect();
            let alerts: Vec<i64> = period
                .alerts
                .iter()
                .filter(|a| {
                    a.alert
                        .get("tsc")
                        .and_then(|t| t.as_array())
                        .is_some_and(|t| t.iter().any(|v| v.as_str() == Some(c.id)))
                })
                .map(|a| a.id)
                .collect();
            let cases: BTreeSet<i64> = period
                .all_cases
                .iter()
                .filter(|k| k.alerts.iter().any(|a| alerts.contains(a)))
                .map(|k| k.id)
                .collect();
            let events: u64 = sources.iter().map(|s| s.1).sum();
            let status = if sources.is_empty() {
                "unmapped"
            } else if events == 0 {
                "gap"
            } else {
                "covered"
            };
            ControlRow {
                id: c.id,
                description: c.description,
                sources,
                rules,
                alerts,
                cases: cases.into_iter().collect(),
                reviews: REVIEW_CRITERIA
                    .contains(&c.id)
                    .then_some((signed, period.reviews.len())),
                status,
            }
        })
        .collect()
}

/// Writes every data section into `files`.
pub(crate) fn write_all(
    request: &ExportRequest<'_>,
    period: &Period,
    files: &mut Files,
    progress: &mut dyn Progress,
) -> Result<(), EvidenceError> {
    progress.update("controls and sources", 0, 1);
    controls(request, period, files);
    sources(period, files);
    progress.update("alerts and cases", 0, 1);
    alerts(period, files);
    reviews(period, files);
    access(request, period, files)?;
    files.insert(
        "retention/retention.md".into(),
        request.retention_markdown.clone().into_bytes(),
    );
    files.insert(
        "ir-plan.md".into(),
        request.ir_plan_markdown.clone().into_bytes(),
    );
    metrics(period, files);
    vulnerabilities(request, period, files, progress)?;
    Ok(())
}

/// A CSV field, quoted when it must be (RFC 4180).
pub(crate) fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// One CSV line from fields.
fn row(fields: &[&str]) -> String {
    let mut line = fields.iter().map(|f| csv(f)).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

/// An RFC 3339 UTC time (seconds) for ms since the epoch.
pub(crate) fn time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn opt_time(ms: Option<i64>) -> String {
    ms.map(time).unwrap_or_default()
}

fn controls(request: &ExportRequest<'_>, period: &Period, files: &mut Files) {
    let mut out = String::from(
        "control,status,description,events,sources,rules,alerts,cases,reviews_signed,reviews_due\n",
    );
    for r in control_rows(request, period) {
        let sources = r
            .sources
            .iter()
            .map(|(n, e)| format!("{n} ({e})"))
            .collect::<Vec<_>>()
            .join("; ");
        let events: u64 = r.sources.iter().map(|s| s.1).sum();
        let (signed, due) = r
            .reviews
            .map(|(s, d)| (s.to_string(), d.to_string()))
            .unwrap_or_default();
        out.push_str(&row(&[
            r.id,
            r.status,
            r.description,
            &events.to_string(),
            &sources,
            &r.rules
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            &r.alerts.len().to_string(),
            &r.cases.len().to_string(),
            &signed,
            &due,
        ]));
    }
    files.insert("controls.csv".into(), out.into_bytes());
}

/// Runs of days without events: (first day, last day, days).
pub(crate) fn gaps(period: &Period, counts: &[u64]) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, n) in counts.iter().enumerate() {
        match (start, *n == 0) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.push((
                    period.days[s].to_string(),
                    period.days[i - 1].to_string(),
                    i - s,
                ));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        let last = counts.len() - 1;
        out.push((
            period.days[s].to_string(),
            period.days[last].to_string(),
            last + 1 - s,
        ));
    }
    out
}

fn sources(period: &Period, files: &mut Files) {
    let mut summary = String::from(
        "source,format,criteria,events_in_period,first_event_in_period,last_event_in_period,days_without_events,first_event_ever,last_event_ever,parse_errors\n",
    );
    let mut daily = String::from("date,source,events\n");
    let mut gap_csv = String::from("source,first_day,last_day,days\n");
    for s in &period.sources {
        let counts = period.daily.get(&s.name).cloned().unwrap_or_default();
        let first = counts.iter().position(|n| *n > 0);
        let last = counts.iter().rposition(|n| *n > 0);
        let h = period.health.get(&s.name);
        summary.push_str(&row(&[
            &s.name,
            s.format.as_str(),
            &s.criteria.join("; "),
            &counts.iter().sum::<u64>().to_string(),
            &first
                .map(|i| period.days[i].to_string())
                .unwrap_or_default(),
            &last.map(|i| period.days[i].to_string()).unwrap_or_default(),
            &counts.iter().filter(|n| **n == 0).count().to_string(),
            &opt_time(h.and_then(|h| h.first_event_ms)),
            &opt_time(h.and_then(|h| h.last_event_ms)),
            &h.map_or(0, |h| h.parse_errors).to_string(),
        ]));
        for (day, n) in period.days.iter().zip(&counts) {
            daily.push_str(&row(&[&day.to_string(), &s.name, &n.to_string()]));
        }
        for (a, b, n) in gaps(period, &counts) {
            gap_csv.push_str(&row(&[&s.name, &a, &b, &n.to_string()]));
        }
    }
    files.insert("sources/sources.csv".into(), summary.into_bytes());
    files.insert("sources/daily-counts.csv".into(), daily.into_bytes());
    files.insert("sources/gaps.csv".into(), gap_csv.into_bytes());
}

/// The case holding `alert`, if any.
fn case_of(period: &Period, alert: i64) -> Option<i64> {
    period
        .all_cases
        .iter()
        .find(|c| c.alerts.contains(&alert))
        .map(|c| c.id)
}

/// Path of a sampled case's timeline.
pub(crate) fn case_file(id: i64) -> String {
    format!("alerts/sample/case-{id}.csv")
}

fn alerts(period: &Period, files: &mut Files) {
    let mut out = String::from(
        "alert_id,rule_id,rule_title,severity,first_seen,last_seen,matches,tsc,case,ledger_events\n",
    );
    for a in &period.alerts {
        let s = |k: &str| {
            a.alert
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let tsc = a
            .alert
            .get("tsc")
            .and_then(|t| t.as_array())
            .map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let events = crate::export::alert_event_indexes(a)
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        out.push_str(&row(&[
            &a.id.to_string(),
            &a.rule_id,
            &s("rule_title"),
            &s("severity"),
            &time(a.first_seen_ms),
            &time(a.last_seen_ms),
            &a.count.to_string(),
            &tsc,
            &case_of(period, a.id)
                .map(|c| c.to_string())
                .unwrap_or_default(),
            &events,
        ]));
    }
    files.insert("alerts/alerts.csv".into(), out.into_bytes());

    let mut cases = String::from(
        "case_id,title,severity,rule,stage,disposition,opened,acknowledged,closed,alerts,sampled\n",
    );
    for id in &period.period_cases {
        let Some(c) = period.case(*id) else { continue };
        cases.push_str(&row(&[
            &c.id.to_string(),
            &c.title,
            &c.severity,
            c.rule.as_deref().unwrap_or(""),
            c.stage.as_str(),
            c.disposition.map(|d| d.as_str()).unwrap_or(""),
            &time(c.opened_at_ms),
            &opt_time(c.acknowledged_at_ms),
            &opt_time(c.closed_at_ms),
            &c.alerts.len().to_string(),
            if period.sample.items.contains(id) {
                "yes"
            } else {
                "no"
            },
        ]));
    }
    files.insert("alerts/cases.csv".into(), cases.into_bytes());

    let sample = serde_json::json!({
        "control": "alert response: every alert opens or joins a case that is worked to closure",
        "population": "cases opened in the period (alerts/cases.csv)",
        "population_size": period.sample.population,
        "frequency": period.sample.frequency.as_str(),
        "size_table": {"annual": 1, "quarterly": 2, "monthly": 2, "weekly": 5, "daily": 25, "many-times-a-day": 25},
        "size_source": "AICPA audit guide, tests of controls: sample size by control frequency",
        "seed": period.sample.seed,
        "algorithm": ALGORITHM,
        "sample": period.sample.items,
    });
    files.insert("alerts/sample.json".into(), pretty(&sample));
    for (id, history) in &period.histories {
        let mut t = String::from("seq,at,actor,change,detail,ledger_index\n");
        for h in history {
            let mut detail = serde_json::to_value(&h.record.change).unwrap_or_default();
            if let Some(m) = detail.as_object_mut() {
                m.remove("type");
            }
            t.push_str(&row(&[
                &h.record.seq.to_string(),
                &time(h.record.at_ms),
                &h.record.actor,
                h.record.change.kind(),
                &detail.to_string(),
                &h.ledger_index.map(|i| i.to_string()).unwrap_or_default(),
            ]));
        }
        files.insert(case_file(*id), t.into_bytes());
        if let Some(c) = period.case(*id) {
            files.insert(format!("alerts/sample/case-{id}.json"), pretty(c));
        }
    }
}

fn pretty<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

fn reviews(period: &Period, files: &mut Files) {
    let mut out = String::from(
        "review_id,schedule,period_start,period_end,due,status,reviewer,signed_at,findings,follow_ups,packet_sha256,overdue_case\n",
    );
    for r in &period.reviews {
        let status = match &r.signed {
            Some(s) if s.at_ms > r.overdue_at_ms => "signed late",
            Some(_) => "signed",
            None => "not signed",
        };
        let s = r.signed.as_ref();
        out.push_str(&row(&[
            &r.id.to_string(),
            &r.schedule,
            &time(r.period_start_ms),
            &time(r.period_end_ms),
            &time(r.due_at_ms),
            status,
            s.map_or("", |s| s.reviewer.as_str()),
            &s.map(|s| time(s.at_ms)).unwrap_or_default(),
            s.map_or("", |s| s.findings.as_str()),
            &s.map(|s| s.follow_ups.join("; ")).unwrap_or_default(),
            s.map_or("", |s| s.packet_sha256.as_str()),
            &r.overdue_case.map(|c| c.to_string()).unwrap_or_default(),
        ]));
    }
    files.insert("reviews/reviews.csv".into(), out.into_bytes());
}

fn access(
    request: &ExportRequest<'_>,
    period: &Period,
    files: &mut Files,
) -> Result<(), EvidenceError> {
    files.insert(
        "access/access-list.csv".into(),
        request.access_csv.clone().into_bytes(),
    );
    let mut log =
        String::from("audit_row,kind,subject,seq,at,actor,action,outcome,target,ledger_index\n");
    for r in request.db.all_audit_rows()? {
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
        // Trail rows carry `at_ms`; access entries are OCSF events with `time`.
        let Some(at) = body
            .get("at_ms")
            .or_else(|| body.get("time"))
            .and_then(|v| v.as_i64())
        else {
            continue;
        };
        if at < period.start_ms || at >= period.end_ms {
            continue;
        }
        let access = &body["evident"]["access"];
        let actor = body["actor"]
            .as_str()
            .or_else(|| body["actor"]["user"]["name"].as_str())
            .unwrap_or("");
        let action = access["action"]
            .as_str()
            .or_else(|| body["change"]["type"].as_str())
            .unwrap_or("");
        log.push_str(&row(&[
            &r.id.to_string(),
            &r.kind,
            &r.subject.to_string(),
            &r.seq.to_string(),
            &time(at),
            actor,
            action,
            access["outcome"].as_str().unwrap_or(""),
            access["target"].as_str().unwrap_or(""),
            &r.ledger_index.map(|i| i.to_string()).unwrap_or_default(),
        ]));
    }
    files.insert("access/audit-trail.csv".into(), log.into_bytes());
    Ok(())
}

/// Severities in display order.
const SEVERITIES: [&str; 6] = [
    "Critical",
    "High",
    "Medium",
    "Low",
    "Informational",
    "Other",
];

/// A colour per severity, darker for worse, shared with the web UI's badges.
fn severity_color(severity: &str) -> &'static str {
    match severity {
        "Critical" => "#7f0000",
        "High" => "#d62728",
        "Medium" => "#ff7f0e",
        "Low" => "#1f77b4",
        _ => "#7f7f7f",
    }
}

/// The three metrics charts (SVG + CSV each).
pub(crate) fn metrics(period: &Period, files: &mut Files) {
    // Alert volume per ISO week, stacked by severity.
    let mut weeks: Vec<String> = Vec::new();
    for d in &period.days {
        let w = d.iso_week();
        let label = format!("{}-W{:02}", w.year(), w.week());
        if weeks.last() != Some(&label) {
            weeks.push(label);
        }
    }
    let mut per: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for a in &period.alerts {
        let Some(day) = DateTime::from_timestamp_millis(a.first_seen_ms.max(period.start_ms))
        else {
            continue;
        };
        let w = day.date_naive().iso_week();
        let label = format!("{}-W{:02}", w.year(), w.week());
        let Some(i) = weeks.iter().position(|x| *x == label) else {
            continue;
        };
        let sev = a
            .alert
            .get("severity")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let sev = SEVERITIES
            .iter()
            .find(|s| **s == sev)
            .copied()
            .unwrap_or("Other");
        per.entry(sev).or_insert_with(|| vec![0.0; weeks.len()])[i] += 1.0;
    }
    let mut csv_out = String::from("week,severity,alerts\n");
    let mut series = Vec::new();
    for sev in SEVERITIES {
        if let Some(v) = per.get(sev) {
            for (w, n) in weeks.iter().zip(v) {
                csv_out.push_str(&row(&[w, sev, &n.to_string()]));
            }
            series.push(Series::new(sev, v.clone()).with_color(severity_color(sev)));
        }
    }
    let chart = BarChart {
        frame: Frame::new(
            "alerts-per-week",
            "Alerts per week",
            "Alerts raised per ISO week of the audit period, stacked by severity.",
        ),
        x_label: "ISO week".into(),
        y_label: "Alerts".into(),
        categories: weeks,
        series,
    };
    files.insert("metrics/alerts-per-week.csv".into(), csv_out.into_bytes());
    files.insert(
        "metrics/alerts-per-week.svg".into(),
        chart.to_svg().into_bytes(),
    );

    // Mean time to resolve per severity, cases closed in the period.
    let mut ttr: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for c in &period.all_cases {
        let Some(closed) = c.closed_at_ms else {
            continue;
        };
        if closed < period.start_ms || closed >= period.end_ms {
            continue;
        }
        let sev = SEVERITIES
            .iter()
            .find(|s| **s == c.severity)
            .copied()
            .unwrap_or("Other");
        ttr.entry(sev)
            .or_default()
            .push((closed - c.opened_at_ms) as f64 / 3_600_000.0);
    }
    let mut csv_out = String::from("severity,cases_closed,mean_hours_to_resolve\n");
    let mut bars = Vec::new();
    for sev in SEVERITIES {
        if let Some(v) = ttr.get(sev) {
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let mean = (mean * 10.0).round() / 10.0;
            csv_out.push_str(&row(&[sev, &v.len().to_string(), &mean.to_string()]));
            bars.push((sev.to_string(), mean));
        }
    }
    let chart = HBarChart {
        frame: Frame::new(
            "mttr-by-severity",
            "Mean time to resolve by severity",
            "Mean hours from opening to closing, for cases closed in the audit period.",
        ),
        x_label: "Hours".into(),
        bars,
    };
    files.insert("metrics/mttr-by-severity.csv".into(), csv_out.into_bytes());
    files.insert(
        "metrics/mttr-by-severity.svg".into(),
        chart.to_svg().into_bytes(),
    );

    // Open cases at the end of each day.
    let mut csv_out = String::from("date,open_cases\n");
    let mut values = Vec::new();
    for d in &period.days {
        let end = day_ms(*d) + 86_400_000;
        let open = period
            .all_cases
            .iter()
            .filter(|c| c.opened_at_ms < end && c.closed_at_ms.is_none_or(|t| t >= end))
            .count();
        csv_out.push_str(&row(&[&d.to_string(), &open.to_string()]));
        values.push(open as f64);
    }
    let chart = LineChart {
        frame: Frame::new(
            "open-cases",
            "Open cases over time",
            "Cases open at the end of each day of the audit period.",
        ),
        x_label: "Day".into(),
        y_label: "Open cases".into(),
        labels: period
            .days
            .iter()
            .map(|d| d.format("%m-%d").to_string())
            .collect(),
        values,
    };
    files.insert("metrics/open-cases.csv".into(), csv_out.into_bytes());
    files.insert("metrics/open-cases.svg".into(), chart.to_svg().into_bytes());
}

/// One finding in one scan.
struct Finding {
    index: u64,
    time_ms: i64,
    source: String,
    artifact: String,
    uid: String,
    title: String,
    severity: String,
    status: String,
}

fn vulnerabilities(
    request: &ExportRequest<'_>,
    period: &Period,
    files: &mut Files,
    progress: &mut dyn Progress,
) -> Result<(), EvidenceError> {
    let formats: BTreeMap<&str, Format> = period
        .sources
        .iter()
        .filter(|s| matches!(s.format, Format::Trivy | Format::Inspector2))
        .map(|s| (s.name.as_str(), s.format))
        .collect();
    let mut findings: Vec<Finding> = Vec::new();
    if !formats.is_empty() {
        let size = request.ledger.size();
        let mut parsers: BTreeMap<String, Parser> = BTreeMap::new();
        request.ledger.for_each_entry(0, size, |index, bytes| {
            if index % 65_536 == 0 {
                progress.update("scanning the ledger for vulnerability scans", index, size);
            }
            let Ok(entry) = Entry::decode(bytes) else {
                return;
            };
            let Some(format) = formats.get(entry.source.as_str()) else {
                return;
            };
            let parser = parsers
                .entry(entry.source.clone())
                .or_insert_with(|| Parser::new(*format));
            let ctx = ParseContext::new(&entry.source, entry.received_at_ns);
            let Ok(events) = parser.parse(&entry.body, &ctx) else {
                return;
            };
            for e in events {
                let s = |p: &str| e.get_str(p).unwrap_or("").to_string();
                let artifact = e
                    .get("resources")
                    .and_then(|r| r.get(0))
                    .and_then(|r| r.get("name").or_else(|| r.get("uid")))
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string();
                findings.push(Finding {
                    index,
                    time_ms: e.time_ms().unwrap_or(ctx.received_at_ms()),
                    source: entry.source.clone(),
                    artifact,
                    uid: s("finding_info.uid"),
                    title: s("finding_info.title"),
                    severity: s("severity"),
                    status: s("status"),
                });
            }
        })?;
    }
    // Scans: (source, entry) → artifact, time, finding uids.
    let mut scans: BTreeMap<(String, u64), (String, i64, BTreeSet<String>)> = BTreeMap::new();
    for f in &findings {
        let s = scans
            .entry((f.source.clone(), f.index))
            .or_insert_with(|| (f.artifact.clone(), f.time_ms, BTreeSet::new()));
        if !f.uid.is_empty() {
            s.2.insert(f.uid.clone());
        }
    }
    let mut scan_csv = String::from("source,ledger_index,scan_time,artifact,findings\n");
    for ((source, index), (artifact, t, uids)) in &scans {
        if *t >= period.start_ms && *t < period.end_ms {
            scan_csv.push_str(&row(&[
                source,
                &index.to_string(),
                &time(*t),
                artifact,
                &uids.len().to_string(),
            ]));
        }
    }
    let mut out = String::from(
        "source,ledger_index,scan_time,artifact,finding_uid,title,severity,remediation,evidence\n",
    );
    for f in findings
        .iter()
        .filter(|f| !f.uid.is_empty() && f.time_ms >= period.start_ms && f.time_ms < period.end_ms)
    {
        let (remediation, evidence) = remediation(f, &findings, &scans, &formats);
        out.push_str(&row(&[
            &f.source,
            &f.index.to_string(),
            &time(f.time_ms),
            &f.artifact,
            &f.uid,
            &f.title,
            &f.severity,
            &remediation,
            &evidence,
        ]));
    }
    files.insert("vulnerabilities/scans.csv".into(), scan_csv.into_bytes());
    files.insert("vulnerabilities/findings.csv".into(), out.into_bytes());
    Ok(())
}

/// Whether a finding was remediated: for scan reports (Trivy), absent from a later scan of
/// the same artifact; for per-finding feeds (Inspector2), a later record marking it resolved.
fn remediation(
    f: &Finding,
    findings: &[Finding],
    scans: &BTreeMap<(String, u64), (String, i64, BTreeSet<String>)>,
    formats: &BTreeMap<&str, Format>,
) -> (String, String) {
    if formats.get(f.source.as_str()) == Some(&Format::Inspector2) {
        let latest = findings
            .iter()
            .rfind(|g| g.uid == f.uid && g.index > f.index);
        return match latest {
            Some(g) if g.status.eq_ignore_ascii_case("resolved") => (
                "remediated".into(),
                format!("resolved at {} (entry {})", time(g.time_ms), g.index),
            ),
            _ => ("open".into(), format!("status {}", f.status)),
        };
    }
    let later = scans.iter().find(|((source, index), (artifact, t, _))| {
        *source == f.source && *artifact == f.artifact && *t > f.time_ms && *index != f.index
    });
    match later {
        Some(((_, index), (_, t, uids))) if !uids.contains(&f.uid) => (
            "remediated".into(),
            format!("absent from the scan of {} (entry {index})", time(*t)),
        ),
        Some(((_, index), (_, t, _))) => (
            "open".into(),
            format!("still present in the scan of {} (entry {index})", time(*t)),
        ),
        None => ("open".into(), "no later scan of this artifact".into()),
    }
}
