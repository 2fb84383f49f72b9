//! `GET /cases/{id}`: one case — the stage timeline, what it is about, its history — and,
//! for those who may change cases, the forms that move it on: triage (a false positive or
//! benign verdict closes it, with a justification), advance to the next stage, add a note,
//! record the post-mortem. Each form posts to a route here that calls
//! [`crate::cases::change_case`], so the change is stored and sealed like any other.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use evident_model::{CaseChange, Disposition, Permission, Stage};
use maud::{Markup, html};

use super::{UiError, blocking, csrf_field, form_fields, may, render, severity_badge, span, when};
use crate::api::AppState;
use crate::auth::Principal;
use crate::auth::access_log::{self, AccessEvent, Outcome};
use crate::cases::{CaseView, change_case};
use crate::cases_api::now_ms;

pub(super) async fn page(
    State(s): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, UiError> {
    let node = s.node.clone();
    let (case, history) = blocking(move || {
        let case = node
            .db
            .case(id)?
            .ok_or(evident_store::StoreError::UnknownCase(id))?;
        Ok((case, node.db.case_history(id)?))
    })
    .await?;
    let now = now_ms();
    let slas = s.node.config.cases.slas().unwrap_or_default();
    let view = CaseView::new(case, &slas, now);
    let c = &view.case;
    let reached = |stage: Stage| -> Option<i64> {
        if stage == Stage::Triage {
            return Some(c.opened_at_ms);
        }
        if stage == Stage::Closed {
            return c.closed_at_ms;
        }
        history.iter().find_map(|h| match h.record.change {
            CaseChange::Advanced { to } if to == stage => Some(h.record.at_ms),
            _ => None,
        })
    };
    let body = html! {
        p.meta {
            (severity_badge(&c.severity)) " "
            "Opened " (when(c.opened_at_ms))
            @if let Some(r) = &c.rule { " by rule " code { (r) } }
            " · assignee " (c.assignee.as_deref().unwrap_or("nobody"))
            @if let Some(d) = c.disposition { " · " strong { (d.as_str().replace('_', " ")) } }
        }
        @if let Some(j) = &c.justification { p { "Justification: " (j) } }
        nav aria-label="Stage timeline" {
            ol.timeline #timeline {
                @for st in Stage::ALL {
                    @let current = st == c.stage;
                    @let at = reached(st);
                    li class=(if current { "current" } else if at.is_some() { "done" } else { "todo" })
                        aria-current=[current.then_some("step")] {
                        span.stage { (st.as_str().replace('_', " ")) }
                        @if let Some(t) = at { span.at { (when(t)) } }
                    }
                }
            }
        }
        dl.facts {
            dt { "Time to acknowledge" } dd { (span(view.time_to_acknowledge_secs * 1000))
                @if view.sla_breached.acknowledge { " " span.badge.bad { "SLA missed" } } }
            dt { "Time to resolve" } dd { (span(view.time_to_resolve_secs * 1000))
                @if view.sla_breached.resolve { " " span.badge.bad { "SLA missed" } } }
            dt { "Alerts" } dd { (c.alerts.len()) }
            dt { "Linked ledger entries" } dd { (c.linked_events.len()) }
        }
        @if let Some(pm) = &c.post_mortem {
            section aria-labelledby="pm-h" {
                h2 #pm-h { "Post-mortem" }
                p { strong { "Root cause: " } (pm.root_cause) }
                p { strong { "Preventive measures: " } (pm.preventive_measures) }
                @if !pm.follow_ups.is_empty() { ul { @for f in &pm.follow_ups { li { (f) } } } }
            }
        }
        @if may(&principal, Permission::WriteCases) && c.stage != Stage::Closed {
            (actions(&principal, c.id, c.stage, c.disposition, c.post_mortem.is_some()))
        }
        section aria-labelledby="hist-h" {
            h2 #hist-h { "History" }
            table #history {
                thead { tr { th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Ledger entry" } } }
                tbody {
                    @for h in &history {
                        tr {
                            td.num { (h.record.seq) }
                            td { (when(h.record.at_ms)) }
                            td { (h.record.actor) }
                            td { (describe(&h.record.change)) }
                            td.num { (h.ledger_index.map_or_else(|| "sealing…".to_owned(), |i| i.to_string())) }
                        }
                    }
                }
            }
        }
    };
    Ok(render(
        &principal,
        &format!("Case #{}: {}", c.id, c.title),
        "/alerts",
        body,
    ))
}

fn actions(
    principal: &Principal,
    id: i64,
    stage: Stage,
    disposition: Option<Disposition>,
    has_post_mortem: bool,
) -> Markup {
    let next = stage.next();
    html! {
        section #actions aria-labelledby="act-h" {
            h2 #act-h { "Actions" }
            @if stage == Stage::Triage && disposition.is_none() {
                form method="post" action=(format!("/cases/{id}/triage")) {
                    (csrf_field(principal))
                    fieldset {
                        legend { "Triage" }
                        label for="disposition" { "Verdict" }
                        select #disposition name="disposition" {
                            option value="true_positive" { "True positive — investigate" }
                            option value="false_positive" { "False positive — close" }
                            option value="benign" { "Benign — close" }
                        }
                        label for="justification" { "Justification " span.hint { "(required to close)" } }
                        textarea #justification name="justification" rows="2" {}
                        button type="submit" { "Record verdict" }
                    }
                }
            }
            @if let Some(to) = next.filter(|_| stage != Stage::PostMortem || has_post_mortem) {
                form method="post" action=(format!("/cases/{id}/advance")) {
                    (csrf_field(principal))
                    input type="hidden" name="to" value=(to.as_str());
                    button type="submit" #advance { "Advance to " (to.as_str().replace('_', " ")) }
                }
            }
            @if stage == Stage::PostMortem && !has_post_mortem {
                form method="post" action=(format!("/cases/{id}/postmortem")) {
                    (csrf_field(principal))
                    fieldset {
                        legend { "Post-mortem" }
                        label for="root_cause" { "Root cause" }
                        textarea #root_cause name="root_cause" rows="2" required {}
                        label for="preventive_measures" { "Preventive measures" }
                        textarea #preventive_measures name="preventive_measures" rows="2" required {}
                        label for="follow_ups" { "Follow-ups " span.hint { "(one per line)" } }
                        textarea #follow_ups name="follow_ups" rows="2" {}
                        button type="submit" { "Record post-mortem" }
                    }
                }
            }
            form method="post" action=(format!("/cases/{id}/note")) {
                (csrf_field(principal))
                label for="note" { "Note" }
                textarea #note name="text" rows="2" required {}
                button type="submit" { "Add note" }
            }
        }
    }
}

fn describe(change: &CaseChange) -> String {
    match change {
        CaseChange::Opened { title, .. } => format!("opened: {title}"),
        CaseChange::AlertJoined { alert } => format!("alert {alert} joined"),
        CaseChange::Triaged {
            disposition,
            justification,
        } => match justification {
            Some(j) => format!("triaged {} — {j}", disposition.as_str()),
            None => format!("triaged {}", disposition.as_str()),
        },
        CaseChange::Advanced { to } => format!("advanced to {}", to.as_str()),
        CaseChange::Assigned { assignee } => format!("assigned to {assignee}"),
        CaseChange::Noted { text } => format!("note: {text}"),
        CaseChange::ActionTaken { description } => format!("action: {description}"),
        CaseChange::EventsLinked { indexes } => format!("{} ledger entries linked", indexes.len()),
        CaseChange::PostMortemRecorded { root_cause, .. } => {
            format!("post-mortem recorded: {root_cause}")
        }
    }
}

pub(super) async fn triage(
    State(s): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = form_fields(&body);
    let change = match f.get("disposition").map(|d| d.parse::<Disposition>()) {
        Some(Ok(disposition)) => CaseChange::Triaged {
            disposition,
            justification: f
                .get("justification")
                .map(|j| j.trim().to_owned())
                .filter(|j| !j.is_empty()),
        },
        Some(Err(e)) => return bad_form(e.to_string()),
        None => return bad_form("the form has no disposition".into()),
    };
    apply(&s, &principal, id, "triage", change).await
}

pub(super) async fn advance(
    State(s): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = form_fields(&body);
    match f.get("to").map(|t| t.parse::<Stage>()) {
        Some(Ok(to)) => apply(&s, &principal, id, "advance", CaseChange::Advanced { to }).await,
        Some(Err(e)) => bad_form(e.to_string()),
        None => bad_form("the form has no stage to advance to".into()),
    }
}

pub(super) async fn note(
    State(s): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let text = form_fields(&body).remove("text").unwrap_or_default();
    apply(&s, &principal, id, "note", CaseChange::Noted { text }).await
}

pub(super) async fn postmortem(
    State(s): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let mut f = form_fields(&body);
    let change = CaseChange::PostMortemRecorded {
        root_cause: f.remove("root_cause").unwrap_or_default(),
        preventive_measures: f.remove("preventive_measures").unwrap_or_default(),
        follow_ups: lines(&f.remove("follow_ups").unwrap_or_default()),
    };
    apply(&s, &principal, id, "postmortem", change).await
}

/// Non-empty trimmed lines of a textarea.
pub(super) fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn bad_form(message: String) -> Response {
    UiError::new(StatusCode::BAD_REQUEST, message).into_response()
}

/// Applies `change` as the signed-in person and goes back to the case; a refused change
/// (a skipped stage, a missing justification) is shown and recorded as a failed access.
async fn apply(
    s: &AppState,
    principal: &Principal,
    id: i64,
    what: &str,
    change: CaseChange,
) -> Response {
    let node = s.node.clone();
    let actor = principal.actor();
    match blocking(move || change_case(&node.ledger, &node.db, id, &actor, &change)).await {
        Ok(_) => Redirect::to(&format!("/cases/{id}")).into_response(),
        Err(e) => {
            access_log::record(
                &s.node,
                AccessEvent {
                    actor: principal.actor(),
                    role: Some(principal.role),
                    action: format!("POST /cases/{{id}}/{what}"),
                    target: format!("/cases/{id}/{what}"),
                    outcome: Outcome::Failure,
                    detail: Some(e.message.clone()),
                    peer: None,
                },
            )
            .await;
            e.into_response()
        }
    }
}
