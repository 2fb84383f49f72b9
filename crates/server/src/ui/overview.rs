//! `GET /`: the overview that tells the month at a glance — alert volume by week, open
//! cases by stage and age, mean time to resolve by severity, source health, control
//! coverage and the next review due.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use chrono::{Datelike, Duration};
use evident_charts::{BarChart, Frame, HBarChart, Series};
use evident_model::{Case, Stage};
use evident_store::{AlertRow, CaseFilter};
use maud::html;

use super::{SEVERITIES, blocking, day, render, severity_rank, span, svg, when};
use crate::api::AppState;
use crate::auth::Principal;
use crate::cases_api::now_ms;
use crate::report::{ControlRow, SourceReport};
use crate::reviews::{ReviewStatus, ReviewView};

/// Alerts read for the weekly chart (newest first), of which those in the period count.
const ALERTS_SHOWN: u32 = 10_000;
/// Days the overview looks back.
const PERIOD_DAYS: i64 = 30;

struct Overview {
    alerts: Vec<AlertRow>,
    cases: Vec<Case>,
    sources: Vec<SourceReport>,
    controls: Vec<ControlRow>,
    reviews: Vec<ReviewView>,
}

pub(super) async fn page(
    State(s): State<AppState>,
    principal: Principal,
) -> Result<Response, super::UiError> {
    let node = s.node.clone();
    let now = now_ms();
    let o = blocking(move || {
        let today = now.div_euclid(86_400_000);
        Ok(Overview {
            alerts: node
                .db
                .alerts(ALERTS_SHOWN, None)?
                .into_iter()
                .filter(|a| a.first_seen_ms >= now - PERIOD_DAYS * 86_400_000)
                .collect(),
            cases: node.db.cases(CaseFilter::All)?,
            sources: crate::report::source_report(&node, now)?,
            controls: crate::report::controls_matrix(&node, today - PERIOD_DAYS + 1, today + 1)?,
            reviews: crate::reviews::list(&node, now)?,
        })
    })
    .await?;
    let ledger = &s.node.ledger;
    let open: Vec<&Case> = o
        .cases
        .iter()
        .filter(|c| c.stage != Stage::Closed)
        .collect();
    let closed = o.cases.len() - open.len();
    let silent = o.sources.iter().filter(|r| r.silent).count();
    let skewed = o.sources.iter().filter(|r| r.skewed).count();
    let with_errors = o.sources.iter().filter(|r| r.parse_errors > 0).count();
    let status_count = |st: &str| o.controls.iter().filter(|c| c.status == st).count();
    let overdue = o
        .reviews
        .iter()
        .filter(|r| r.status == ReviewStatus::Overdue)
        .count();
    let signed = o
        .reviews
        .iter()
        .filter(|r| r.status == ReviewStatus::Signed)
        .count();
    let next_due = o
        .reviews
        .iter()
        .filter(|r| r.status != ReviewStatus::Signed)
        .min_by_key(|r| r.review.due_at_ms);
    let healthy = o.sources.iter().filter(|r| !r.silent && !r.skewed).count();
    let slas = s.node.config.cases.slas().unwrap_or_default();
    let breaches = open
        .iter()
        .filter(|c| {
            slas.get(&c.severity)
                .map(|sla| {
                    let b = c.sla_breaches(sla, now);
                    b.acknowledge || b.resolve
                })
                .unwrap_or(false)
        })
        .count();
    let body = html! {
        p.lede {
            "Tamper-evident log " strong { (s.node.config.origin) } " holds "
            strong { (ledger.size()) } " entries."
        }
        section aria-labelledby="story" {
            h2 #story { "The last " (PERIOD_DAYS) " days" }
            ul.tiles {
                li { a href="/alerts" { strong { (o.alerts.len()) } " alerts" } }
                li { a href="/alerts" { strong { (open.len()) } " open cases" } }
                li { strong { (closed) } " closed cases" }
                li class=(if breaches > 0 { "warn" } else { "" }) {
                    strong { (breaches) } " open cases past an SLA"
                }
                li class=(if silent + skewed > 0 { "warn" } else { "" }) {
                    a href="/sources" { strong { (healthy) } " of " (o.sources.len()) " sources healthy" }
                }
                li class=(if status_count("gap") > 0 { "warn" } else { "" }) {
                    a href="/controls" { strong { (status_count("covered")) } " criteria covered, " (status_count("gap")) " gaps" }
                }
                li class=(if overdue > 0 { "warn" } else { "" }) {
                    a href="/reviews" { strong { (signed) } " reviews signed, " (overdue) " overdue" }
                }
            }
        }
        div.grid {
            section aria-labelledby="alerts-week-h" {
                h2 #alerts-week-h { "Alert volume by week" }
                (svg(alerts_by_week(&o.alerts)))
            }
            section aria-labelledby="mttr-h" {
                h2 #mttr-h { "Mean time to resolve by severity" }
                (svg(mttr(&o.cases)))
            }
            section aria-labelledby="stages-h" {
                h2 #stages-h { "Open cases by stage" }
                (svg(by_stage(&open)))
            }
            section aria-labelledby="age-h" {
                h2 #age-h { "Open cases by age" }
                (age_table(&open, now))
            }
        }
        div.grid {
            section aria-labelledby="health-h" {
                h2 #health-h { "Source health" }
                p { (silent) " silent, " (skewed) " skewed, " (with_errors) " with parse errors. "
                    a href="/sources" { "All sources" } }
                table {
                    caption.sr { "Sources needing attention" }
                    thead { tr { th scope="col" { "Source" } th scope="col" { "Format" } th scope="col" { "Events" } th scope="col" { "Flags" } } }
                    tbody {
                        @for r in &o.sources {
                            tr { td { (r.name) } td { (r.format) } td.num { (r.events) }
                                td { (super::sources::flags(r)) } }
                        }
                    }
                }
            }
            section aria-labelledby="cov-h" {
                h2 #cov-h { "Control coverage (last " (PERIOD_DAYS) " days)" }
                p { (status_count("covered")) " covered, " (status_count("gap")) " gaps, "
                    (status_count("unmapped")) " not evidenced by logs. " a href="/controls" { "The matrix" } }
                @let gaps: Vec<&ControlRow> = o.controls.iter().filter(|c| c.status == "gap").collect();
                @if !gaps.is_empty() {
                    ul { @for g in gaps { li.gap { strong { (g.id) } " " (g.description) } } }
                }
                h2 { "Next review due" }
                @match next_due {
                    Some(r) => p {
                        a href=(format!("/reviews/{}", r.review.id)) { (r.review.schedule) " for " (day(r.review.period_start_ms)) "–" (day(r.review.period_end_ms)) }
                        ", due " (when(r.review.due_at_ms))
                        @if r.status == ReviewStatus::Overdue { " " span.badge.bad { "overdue" } }
                    },
                    None => p { "No review is due." },
                }
                h2 { "Integrity" }
                p {
                    @match ledger.latest_checkpoint() {
                        Some(cp) => { "Latest signed checkpoint covers " (cp.checkpoint.size) " entries. " },
                        None => { "No checkpoint yet. " },
                    }
                    a href="/integrity" { "Verify" }
                }
                p.hint { "Verifier key: " code #overview-key { (ledger.verifier().to_string()) } }
            }
        }
    };
    Ok(render(&principal, "Overview", "/", body))
}

/// Monday of the ISO week holding `ms`.
fn week_start(ms: i64) -> Option<chrono::NaiveDate> {
    let d = chrono::DateTime::from_timestamp_millis(ms)?.date_naive();
    Some(d - Duration::days(i64::from(d.weekday().num_days_from_monday())))
}

/// OCSF severity id → caption.
fn severity_caption(id: i64) -> &'static str {
    match id {
        5 | 6 => "Critical",
        4 => "High",
        3 => "Medium",
        _ => "Low",
    }
}

fn alerts_by_week(alerts: &[AlertRow]) -> String {
    let mut weeks: BTreeMap<chrono::NaiveDate, [f64; 4]> = BTreeMap::new();
    for a in alerts {
        if let Some(w) = week_start(a.first_seen_ms) {
            let sev = severity_rank(severity_caption(a.severity_id)).min(3);
            weeks.entry(w).or_default()[sev] += 1.0;
        }
    }
    // Lowest severity at the bottom of each stack.
    let series = SEVERITIES
        .iter()
        .enumerate()
        .rev()
        .map(|(i, (name, color))| {
            Series::new(name, weeks.values().map(|v| v[i]).collect()).with_color(color)
        })
        .collect();
    BarChart {
        frame: Frame::new(
            "alerts-week",
            "Alerts per week",
            "Alerts by the week of their first event, stacked by severity",
        ),
        x_label: "Week starting".into(),
        y_label: "Alerts".into(),
        categories: weeks
            .keys()
            .map(|d| d.format("%m-%d").to_string())
            .collect(),
        series,
    }
    .to_svg()
}

fn mttr(cases: &[Case]) -> String {
    let mut sums: BTreeMap<usize, (f64, u32)> = BTreeMap::new();
    for c in cases {
        if let Some(closed) = c.closed_at_ms {
            let e = sums.entry(severity_rank(&c.severity)).or_default();
            e.0 += (closed - c.opened_at_ms) as f64 / 3_600_000.0;
            e.1 += 1;
        }
    }
    let colors: Vec<&str> = sums
        .keys()
        .map(|rank| SEVERITIES.get(*rank).map_or("#7f7f7f", |s| s.1))
        .collect();
    HBarChart {
        frame: Frame::new(
            "mttr",
            "Mean time to resolve",
            "Mean hours from a case opening to its closing, per severity, over closed cases",
        ),
        x_label: "Hours".into(),
        bars: sums
            .iter()
            .map(|(rank, (sum, n))| {
                let name = SEVERITIES.get(*rank).map_or("Other", |s| s.0);
                (format!("{name} ({n})"), sum / f64::from(*n))
            })
            .collect(),
    }
    .to_svg_with_colors(&colors)
}

fn by_stage(open: &[&Case]) -> String {
    HBarChart {
        frame: Frame::new("stages", "Open cases by stage", "Open cases in each stage"),
        x_label: "Cases".into(),
        bars: Stage::ALL
            .iter()
            .filter(|s| **s != Stage::Closed)
            .map(|s| {
                (
                    match s {
                        Stage::EradicationRecovery => "eradication".to_owned(),
                        other => other.as_str().replace('_', " "),
                    },
                    open.iter().filter(|c| c.stage == *s).count() as f64,
                )
            })
            .collect(),
    }
    .to_svg()
}

/// Age buckets in days: label, lower bound (inclusive), upper bound (exclusive).
const AGES: [(&str, i64, i64); 4] = [
    ("under 1 day", 0, 1),
    ("1–7 days", 1, 7),
    ("7–30 days", 7, 30),
    ("30 days or more", 30, i64::MAX),
];

fn age_table(open: &[&Case], now: i64) -> maud::Markup {
    let age_days = |c: &Case| (now - c.opened_at_ms).div_euclid(86_400_000);
    let oldest = open.iter().max_by_key(|c| now - c.opened_at_ms);
    html! {
        table {
            caption.sr { "Open cases by age" }
            thead { tr { th scope="col" { "Age" } th scope="col" { "Open cases" } } }
            tbody {
                @for (label, lo, hi) in AGES {
                    tr { th scope="row" { (label) }
                        td.num { (open.iter().filter(|c| (lo..hi).contains(&age_days(c))).count()) } }
                }
            }
        }
        @if let Some(c) = oldest {
            p { "Oldest: " a href=(format!("/cases/{}", c.id)) { "#" (c.id) " " (c.title) }
                " (" (span(now - c.opened_at_ms)) ")" }
        }
    }
}
