//! `GET /alerts`: the queue — open cases, most severe and oldest first — and the latest
//! alerts, each linked to the case it opened or joined.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use evident_model::{Case, Stage};
use evident_store::CaseFilter;
use maud::html;

use super::{blocking, render, severity_badge, severity_rank, span, when};
use crate::api::AppState;
use crate::auth::Principal;
use crate::cases_api::now_ms;

/// Alerts listed under the queue.
const RECENT_ALERTS: u32 = 200;

pub(super) async fn page(
    State(s): State<AppState>,
    principal: Principal,
) -> Result<Response, super::UiError> {
    let node = s.node.clone();
    let (cases, alerts) = blocking(move || {
        Ok((
            node.db.cases(CaseFilter::All)?,
            node.db.alerts(RECENT_ALERTS, None)?,
        ))
    })
    .await?;
    let now = now_ms();
    let case_of: HashMap<i64, &Case> = cases
        .iter()
        .flat_map(|c| c.alerts.iter().map(move |a| (*a, c)))
        .collect();
    let mut open: Vec<&Case> = cases.iter().filter(|c| c.stage != Stage::Closed).collect();
    open.sort_by_key(|c| (severity_rank(&c.severity), c.opened_at_ms));
    let mut closed: Vec<&Case> = cases.iter().filter(|c| c.stage == Stage::Closed).collect();
    closed.sort_by_key(|c| std::cmp::Reverse(c.closed_at_ms));
    let body = html! {
        section aria-labelledby="queue-h" {
            h2 #queue-h { "Open cases (" (open.len()) ")" }
            table #queue {
                thead { tr {
                    th scope="col" { "Case" } th scope="col" { "Severity" } th scope="col" { "Stage" }
                    th scope="col" { "Assignee" } th scope="col" { "Opened" } th scope="col" { "Age" }
                    th scope="col" { "Alerts" }
                } }
                tbody {
                    @for c in &open {
                        tr {
                            td { a href=(format!("/cases/{}", c.id)) { "#" (c.id) " " (c.title) } }
                            td { (severity_badge(&c.severity)) }
                            td { (c.stage.as_str().replace('_', " ")) }
                            td { (c.assignee.as_deref().unwrap_or("—")) }
                            td { (when(c.opened_at_ms)) }
                            td { (span(now - c.opened_at_ms)) }
                            td.num { (c.alerts.len()) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="alerts-h" {
            h2 #alerts-h { "Latest alerts" }
            table #alerts {
                thead { tr {
                    th scope="col" { "First event" } th scope="col" { "Rule" } th scope="col" { "Severity" }
                    th scope="col" { "Matches" } th scope="col" { "Case" }
                } }
                tbody {
                    @for a in &alerts {
                        @let title = a.alert.get("rule_title").and_then(|v| v.as_str()).unwrap_or(&a.rule_id);
                        @let sev = a.alert.get("severity").and_then(|v| v.as_str()).unwrap_or("Medium");
                        tr {
                            td { (when(a.first_seen_ms)) }
                            td { (title) }
                            td { (severity_badge(sev)) }
                            td.num { (a.count) }
                            td { @match case_of.get(&a.id) {
                                Some(c) => a href=(format!("/cases/{}", c.id)) { "#" (c.id) " (" (c.stage.as_str().replace('_', " ")) ")" },
                                None => "not yet in a case",
                            } }
                        }
                    }
                }
            }
        }
        section aria-labelledby="closed-h" {
            h2 #closed-h { "Closed cases (" (closed.len()) ")" }
            table {
                thead { tr { th scope="col" { "Case" } th scope="col" { "Severity" } th scope="col" { "Disposition" } th scope="col" { "Closed" } } }
                tbody {
                    @for c in &closed {
                        tr {
                            td { a href=(format!("/cases/{}", c.id)) { "#" (c.id) " " (c.title) } }
                            td { (severity_badge(&c.severity)) }
                            td { (c.disposition.map_or("—", |d| d.as_str()).replace('_', " ")) }
                            td { (c.closed_at_ms.map_or_else(|| "—".into(), when)) }
                        }
                    }
                }
            }
        }
    };
    Ok(render(&principal, "Alerts & cases", "/alerts", body))
}
