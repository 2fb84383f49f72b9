//! `GET /integrity`: the latest signed checkpoint, the tree size, the verifier key anyone
//! needs to check the log offline, and the last verification run from this page;
//! `POST /integrity/verify` re-reads and re-hashes the whole ledger ([`evident_ledger::verify`])
//! and shows what it found.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, PoisonError};

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::{UiError, blocking, csrf_field, render, when};
use crate::api::AppState;
use crate::auth::Principal;
use crate::cases_api::now_ms;

/// The outcome of one verification run.
#[derive(Clone, Debug)]
struct LastVerify {
    at_ms: i64,
    by: String,
    entries: u64,
    checkpoints: u64,
    damage: Vec<String>,
}

/// The last run per ledger directory, for as long as the server runs (a fresh start
/// shows "not verified since the server started": the CLI's `evident verify` is the
/// scheduled check).
static LAST: LazyLock<Mutex<HashMap<PathBuf, LastVerify>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

pub(super) async fn page(State(s): State<AppState>, principal: Principal) -> Response {
    let ledger = &s.node.ledger;
    let cp = ledger.latest_checkpoint();
    let last = LAST
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&s.node.data.ledger_path())
        .cloned();
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
            @match &last {
                Some(v) if v.damage.is_empty() => p #verify-status .ok {
                    span.badge.ok { "CLEAN" } " " (v.entries) " entries re-hashed, "
                    (v.checkpoints) " checkpoints checked, " (when(v.at_ms)) " by " (v.by) "." },
                Some(v) => div #verify-status {
                    p { span.badge.bad { "DAMAGE" } " found " (when(v.at_ms)) " by " (v.by) ":" }
                    ul { @for d in &v.damage { li { (d) } } }
                },
                None => p #verify-status { "Not verified from this page since the server started." },
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
        let dir = node.data.ledger_path();
        let verifier = node.ledger.verifier();
        let mut report = evident_ledger::verify(&dir, &verifier, &mut |_, _| {})?;
        // The server signs a checkpoint every second while the log grows; one signed while
        // verify read the checkpoint files looks like a mismatch. Damage survives a second
        // read; a race does not.
        if !report.is_clean() {
            report = evident_ledger::verify(&dir, &verifier, &mut |_, _| {})?;
        }
        let run = LastVerify {
            at_ms: now_ms(),
            by,
            entries: report.entries,
            checkpoints: report.checkpoints,
            damage: report.damage.iter().map(ToString::to_string).collect(),
        };
        LAST.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(dir, run);
        Ok(())
    })
    .await?;
    Ok(Redirect::to("/integrity").into_response())
}
