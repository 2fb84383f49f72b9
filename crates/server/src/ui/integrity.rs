//! `GET /integrity`: the latest signed checkpoint, the tree size, the verifier key anyone
//! needs to check the log offline, and the recent verification runs (scheduled or asked
//! for); `POST /integrity/verify` re-reads and re-hashes the whole ledger now
//! ([`crate::integrity::verify_now`]: recorded, sealed, damage raised as an alert).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::{UiError, blocking, csrf_field, render, when};
use crate::api::AppState;
use crate::auth::Principal;
use crate::integrity::{VerifyRun, runs, verify_now};

/// Runs listed on the page (all of them are in the audit trail).
const RUNS_SHOWN: usize = 10;

pub(super) async fn page(State(s): State<AppState>, principal: Principal) -> Response {
    let ledger = &s.node.ledger;
    let cp = ledger.latest_checkpoint();
    let recent: Vec<VerifyRun> = match runs(&s.node) {
        Ok(r) => r.into_iter().take(RUNS_SHOWN).collect(),
        Err(e) => {
            tracing::error!(error = %e, "reading verification runs");
            Vec::new()
        }
    };
    let last = recent.first();
    let every = s.node.config.health.verify_every_secs;
    let body = html! {
        dl.facts #integrity {
            dt { "Origin" } dd { (s.node.config.origin) }
            dt { "Entries in the log" } dd #tree-size { (ledger.size()) }
            @if let Some(cp) = &cp {
                dt { "Checkpoint size" } dd #checkpoint-size { (cp.checkpoint.size) }
                dt { "Checkpoint signed" } dd { (when((cp.created_at_ns / 1_000_000) as i64)) }
            }
        }
        section aria-labelledby="cp-h" {
            h2 #cp-h { "Latest signed checkpoint" }
            @match &cp {
                Some(cp) => pre #checkpoint { (cp.note) },
                None => p { "No checkpoint yet." },
            }
            p { "Served publicly at " a href="/log/checkpoint" { "/log/checkpoint" }
                ", with hash tiles under " code { "/log/tile/" } "." }
        }
        section aria-labelledby="key-h" {
            h2 #key-h { "Verifier key" }
            pre #verifier-key { (ledger.verifier().to_string()) }
            p.hint { "Give this key to the auditor: with it, any C2SP tlog verifier checks the checkpoints and proofs offline." }
        }
        section aria-labelledby="ver-h" {
            h2 #ver-h { "Verification" }
            @match last {
                Some(v) if v.is_clean() => p #verify-status .ok {
                    span.badge.ok { "CLEAN" } " " (v.entries) " entries re-hashed, "
                    (v.checkpoints) " checkpoints checked, " (when(v.at_ms)) " by " (v.by) "." },
                Some(v) => div #verify-status {
                    p { span.badge.bad { "DAMAGE" } " found " (when(v.at_ms)) " by " (v.by) ":" }
                    ul { @for d in &v.damage { li { (d) } } }
                },
                None => p #verify-status { "Not verified yet." },
            }
            p.hint {
                @if every == 0 { "Scheduled verification is off ([health] verify_every_secs = 0)." }
                @else { "The server re-verifies the whole log every " (every / 3600) " h " ((every % 3600) / 60) " min; every run is sealed into the log." }
            }
            @if !recent.is_empty() {
                table #verify-runs {
                    caption { "Recent verification runs" }
                    thead { tr { th scope="col" { "When" } th scope="col" { "By" } th scope="col" { "Entries" } th scope="col" { "Checkpoints" } th scope="col" { "Seconds" } th scope="col" { "Result" } } }
                    tbody {
                        @for r in &recent {
                            tr {
                                td { (when(r.at_ms)) } td { (r.by) } td { (r.entries) } td { (r.checkpoints) }
                                td { (format!("{:.1}", r.millis as f64 / 1000.0)) }
                                td { @if r.is_clean() { span.badge.ok { "clean" } } @else { span.badge.bad { (r.damage.len()) " problem(s)" } } }
                            }
                        }
                    }
                }
            }
            form method="post" action="/integrity/verify" {
                (csrf_field(&principal))
                button type="submit" { "Verify the whole log now" }
            }
        }
    };
    render(&principal, "Integrity", "/integrity", body)
}

pub(super) async fn verify(
    State(s): State<AppState>,
    principal: Principal,
) -> Result<Response, UiError> {
    let node = s.node.clone();
    let by = principal.actor();
    blocking(move || {
        verify_now(&node, &by)?;
        Ok(())
    })
    .await?;
    Ok(Redirect::to("/integrity").into_response())
}
