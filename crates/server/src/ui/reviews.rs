//! `GET /reviews`: log reviews due, overdue and signed; `GET /reviews/{id}`: one review's
//! packet (what the reviewer must look at) and, for reviewers, the sign-off form, which
//! posts to `/reviews/{id}/sign` and goes through [`crate::reviews::sign`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use evident_model::Permission;
use evident_store::StoreError;
use maud::{Markup, html};
use serde_json::Value;

use super::case::lines;
use super::{UiError, blocking, csrf_field, day, form_fields, may, render, when};
use crate::api::AppState;
use crate::auth::Principal;
use crate::auth::access_log::{self, AccessEvent, Outcome};
use crate::cases_api::now_ms;
use crate::reviews::{self, ReviewStatus, ReviewView};

pub(super) async fn list(
    State(s): State<AppState>,
    principal: Principal,
) -> Result<Response, UiError> {
    let node = s.node.clone();
    let now = now_ms();
    let list = blocking(move || reviews::list(&node, now)).await?;
    let body = html! {
        table #reviews {
            thead { tr {
                th scope="col" { "Review" } th scope="col" { "Period" } th scope="col" { "Due" }
                th scope="col" { "Status" } th scope="col" { "Signed by" }
            } }
            tbody {
                @for r in &list {
                    tr {
                        td { a href=(format!("/reviews/{}", r.review.id)) { (r.review.schedule) " #" (r.review.id) } }
                        td { (day(r.review.period_start_ms)) " – " (day(r.review.period_end_ms)) }
                        td { (when(r.review.due_at_ms)) }
                        td { (status(r)) }
                        td { (r.review.signed.as_ref().map_or("—", |s| s.reviewer.as_str())) }
                    }
                }
            }
        }
    };
    Ok(render(&principal, "Reviews", "/reviews", body))
}

fn status(r: &ReviewView) -> Markup {
    html! {
        @match r.status {
            ReviewStatus::Signed => span.badge.ok { "signed" },
            ReviewStatus::Due => span.badge.warn { "due" },
            ReviewStatus::Overdue => span.badge.bad { "overdue" },
        }
        @if let Some(c) = r.review.overdue_case { " " a href=(format!("/cases/{c}")) { "case #" (c) } }
    }
}

pub(super) async fn show(
    State(s): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, UiError> {
    let node = s.node.clone();
    let now = now_ms();
    let (view, packet) = blocking(move || {
        let review = node.db.review(id)?.ok_or(StoreError::UnknownReview(id))?;
        let packet = match &review.packet {
            Some(p) => p.clone(),
            None => reviews::packet(&node, &review)?,
        };
        Ok((ReviewView::new(review, now), packet))
    })
    .await?;
    let r = &view.review;
    let body = html! {
        p.meta { "Period " (day(r.period_start_ms)) " – " (day(r.period_end_ms))
            " · due " (when(r.due_at_ms)) " · overdue after " (when(r.overdue_at_ms)) " · " (status(&view)) }
        @if let Some(sign) = &r.signed {
            section #signoff aria-labelledby="so-h" {
                h2 #so-h { "Signed off" }
                p { "By " strong { (sign.reviewer) } " on " (when(sign.at_ms)) "." }
                p { "Findings: " (sign.findings) }
                @if !sign.follow_ups.is_empty() { ul { @for f in &sign.follow_ups { li { (f) } } } }
                p.hint { "Packet SHA-256 " code { (sign.packet_sha256) } }
            }
        } @else if may(&principal, Permission::SignReviews) {
            form #sign method="post" action=(format!("/reviews/{id}/sign")) {
                (csrf_field(&principal))
                fieldset {
                    legend { "Sign off this review" }
                    label for="findings" { "Findings " span.hint { "(\"nothing unusual\" is a finding too)" } }
                    textarea #findings name="findings" rows="3" required {}
                    label for="follow_ups" { "Follow-ups " span.hint { "(one per line)" } }
                    textarea #follow_ups name="follow_ups" rows="2" {}
                    button type="submit" { "Sign off" }
                }
            }
        }
        section aria-labelledby="packet-h" {
            h2 #packet-h { "Packet" }
            (packet_view(&packet))
        }
    };
    Ok(render(
        &principal,
        &format!("{} #{id}", r.schedule),
        "/reviews",
        body,
    ))
}

/// The packet's sections as headings with their contents: lists of objects as tables,
/// everything else as definition lists.
fn packet_view(packet: &Value) -> Markup {
    html! {
        @if let Value::Object(map) = packet {
            @for (k, v) in map { section.packet { h3 { (k.replace('_', " ")) } (value(v)) } }
        } @else { (value(packet)) }
    }
}

fn value(v: &Value) -> Markup {
    match v {
        Value::Array(items) if items.is_empty() => html! { p.hint { "none" } },
        Value::Array(items) if items.iter().all(Value::is_object) => {
            let mut cols: Vec<&String> = Vec::new();
            for it in items.iter().filter_map(Value::as_object) {
                for k in it.keys() {
                    if !cols.contains(&k) {
                        cols.push(k);
                    }
                }
            }
            html! { table { thead { tr { @for c in &cols { th scope="col" { (c.replace('_', " ")) } } } }
            tbody { @for it in items { tr { @for c in &cols { td { (scalar(it.get(c.as_str()))) } } } } } } }
        }
        Value::Array(items) => html! { ul { @for it in items { li { (value(it)) } } } },
        Value::Object(map) => {
            html! { dl.facts { @for (k, v) in map { dt { (k.replace('_', " ")) } dd { (value(v)) } } } }
        }
        other => html! { (scalar(Some(other))) },
    }
}

fn scalar(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

pub(super) async fn sign(
    State(s): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let mut f = form_fields(&body);
    let findings = f.remove("findings").unwrap_or_default();
    let follow_ups = lines(&f.remove("follow_ups").unwrap_or_default());
    let node = s.node.clone();
    let reviewer = principal.actor();
    let now = now_ms();
    match blocking(move || reviews::sign(&node, id, &reviewer, &findings, follow_ups, now)).await {
        Ok(_) => Redirect::to(&format!("/reviews/{id}")).into_response(),
        Err(e) => {
            record_failure(&s, &principal, id, &e).await;
            e.into_response()
        }
    }
}

async fn record_failure(s: &AppState, principal: &Principal, id: i64, e: &UiError) {
    access_log::record(
        &s.node,
        AccessEvent {
            actor: principal.actor(),
            role: Some(principal.role),
            action: "POST /reviews/{id}/sign".into(),
            target: format!("/reviews/{id}/sign"),
            outcome: Outcome::Failure,
            detail: Some(e.message.clone()),
            peer: None,
        },
    )
    .await;
}
