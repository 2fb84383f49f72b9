//! `GET /controls`: the control-mapping matrix — each SOC 2 criterion, the sources mapped
//! to it and their events in the period — with gaps (mapped, but no live source) called
//! out. `?from=YYYY-MM-DD&to=YYYY-MM-DD` picks the period (default: the last 30 days).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;

use super::{UiError, blocking, render};
use crate::api::AppState;
use crate::auth::Principal;
use crate::cases_api::now_ms;

#[derive(Deserialize)]
pub(super) struct Period {
    from: Option<String>,
    to: Option<String>,
}

/// Days since the epoch of a `YYYY-MM-DD` field, or why not.
fn epoch_day(field: &str, text: &str) -> Result<i64, UiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| {
            d.signed_duration_since(chrono::DateTime::UNIX_EPOCH.date_naive())
                .num_days()
        })
        .map_err(|e| {
            UiError::new(
                StatusCode::BAD_REQUEST,
                format!("{field} {text:?} is not a date like 2026-11-01: {e}"),
            )
        })
}

fn date_text(day: i64) -> String {
    super::day(day * 86_400_000)
}

pub(super) async fn page(
    State(s): State<AppState>,
    principal: Principal,
    Query(q): Query<Period>,
) -> Result<Response, UiError> {
    let today = now_ms().div_euclid(86_400_000);
    let to = match q.to.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => epoch_day("to", t)?,
        None => today,
    };
    let from = match q.from.as_deref().filter(|t| !t.is_empty()) {
        Some(f) => epoch_day("from", f)?,
        None => to - 29,
    };
    if from > to {
        return Err(UiError::new(
            StatusCode::BAD_REQUEST,
            format!("from {} is after to {}", date_text(from), date_text(to)),
        ));
    }
    let node = s.node.clone();
    let rows = blocking(move || crate::report::controls_matrix(&node, from, to + 1)).await?;
    let count = |st: &str| rows.iter().filter(|r| r.status == st).count();
    let body = html! {
        form.inline method="get" action="/controls" {
            label for="from" { "From" } input #from name="from" type="date" value=(date_text(from));
            label for="to" { "To" } input #to name="to" type="date" value=(date_text(to));
            button type="submit" { "Show" }
        }
        p #coverage-summary { (count("covered")) " criteria covered, " (count("gap")) " gaps, "
            (count("unmapped")) " not evidenced by logs, " (date_text(from)) " to " (date_text(to)) "." }
        table #matrix {
            thead { tr {
                th scope="col" { "Criterion" } th scope="col" { "What it asks" }
                th scope="col" { "Sources (events)" } th scope="col" { "Events" } th scope="col" { "Status" }
            } }
            tbody {
                @for r in &rows {
                    tr class=(r.status) {
                        th scope="row" { (r.id) }
                        td { (r.description) }
                        td { @for (i, src) in r.sources.iter().enumerate() {
                            @if i > 0 { ", " }
                            span class=(if src.events == 0 { "zero" } else { "" }) { (src.name) " (" (src.events) ")" }
                        } }
                        td.num { (r.events) }
                        td { @match r.status {
                            "covered" => span.badge.ok { "covered" },
                            "gap" => span.badge.bad { "GAP" },
                            other => span.badge { (other) },
                        } }
                    }
                }
            }
        }
    };
    Ok(render(&principal, "Controls", "/controls", body))
}
