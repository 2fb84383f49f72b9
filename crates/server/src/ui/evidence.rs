//! `GET /evidence`: the form an admin or auditor fills to download the evidence package of an
//! audit period (DESIGN.md §11), and the recent exports from the access trail;
//! `POST /evidence` builds the package off the async threads in a temporary directory, zips
//! it, records exactly one access entry (action [`EXPORT_ACTION`], target the period, seed and
//! the manifest's SHA-256) and answers with the zip as a download. A package that cannot be
//! recorded is not handed out. Failures are recorded by the auth middleware (the route is
//! `Audited::ByHandler`), so every attempt leaves one entry.

use std::net::SocketAddr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike as _, NaiveDate};
use evident_evidence::{EvidenceError, ExportRequest};
use maud::html;

use super::{UiError, blocking, csrf_field, form_fields, render, when};
use crate::api::AppState;
use crate::auth::Principal;
use crate::auth::access_log::{ACCESS_AUDIT_KIND, AccessEvent, Outcome, record_blocking};
use crate::cases_api::now_ms;
use crate::evidence::{
    EXPORT_ACTION, default_seed, export_target, manifest_sha256, package_sections,
};
use crate::{Error, Evident};

/// Exports listed on the page, newest first.
const RECENT_SHOWN: usize = 20;

/// One export as the access trail recorded it.
struct PastExport {
    at_ms: i64,
    actor: String,
    role: String,
    target: String,
    outcome: String,
}

/// The trail's evidence exports, newest first (at most [`RECENT_SHOWN`]).
fn recent_exports(node: &Evident) -> Result<Vec<PastExport>, Error> {
    let rows = node.db.audit_rows(ACCESS_AUDIT_KIND, None)?;
    Ok(rows
        .iter()
        .rev()
        .filter_map(|r| serde_json::from_str::<evident_model::Event>(&r.body).ok())
        .filter(|e| e.get_str("evident.access.action") == Some(EXPORT_ACTION))
        .take(RECENT_SHOWN)
        .map(|e| {
            let s = |path: &str| e.get_str(path).unwrap_or("").to_owned();
            PastExport {
                at_ms: e.time_ms().unwrap_or(0),
                actor: s("actor.user.name"),
                role: s("evident.actor.role"),
                target: s("evident.access.target"),
                outcome: s("evident.access.outcome"),
            }
        })
        .collect())
}

pub(super) async fn page(
    State(s): State<AppState>,
    principal: Principal,
) -> Result<Response, UiError> {
    let node = s.node.clone();
    let recent = blocking(move || recent_exports(&node)).await?;
    let today = chrono::Utc::now().date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    let body = html! {
        p.lede {
            "The package an auditor asks for, for any audit period: the narrative per control, "
            "alerts and a seeded sample of cases, reviews, access, retention, the IR plan, metrics, "
            "and the integrity proofs, with a manifest signed by the log key. Verify it offline with "
            code { "evident evidence verify PACKAGE.zip" } " (see VERIFY.md inside)."
        }
        section aria-labelledby="export-h" {
            h2 #export-h { "Download a package" }
            form #evidence-form method="post" action="/evidence" {
                (csrf_field(&principal))
                p {
                    label for="from" { "First day (UTC)" } " "
                    input #from type="date" name="from" required value=(month_start.to_string());
                }
                p {
                    label for="to" { "Last day (UTC)" } " "
                    input #to type="date" name="to" required value=(today.to_string());
                }
                p {
                    label for="seed" { "Sample seed (optional)" } " "
                    input #seed type="number" name="seed" min="0" inputmode="numeric";
                    span.hint { " Empty draws a random seed; the package records it so the sample can be redrawn." }
                }
                p { button type="submit" { "Build and download (.zip)" } }
                p.hint { "The export is recorded in the access trail with the period, the seed and the manifest's SHA-256." }
            }
        }
        section aria-labelledby="recent-h" {
            h2 #recent-h { "Recent exports" }
            @if recent.is_empty() {
                p #recent-exports { "No evidence export recorded yet." }
            } @else {
                table #recent-exports {
                    caption.sr { "Recent evidence exports, newest first" }
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "Who" }
                        th scope="col" { "Period, seed, manifest" } th scope="col" { "Outcome" }
                    } }
                    tbody {
                        @for e in &recent {
                            tr {
                                td { (when(e.at_ms)) }
                                td { (e.actor) @if !e.role.is_empty() { " (" (e.role) ")" } }
                                td { code { (e.target) } }
                                td { (e.outcome) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(render(&principal, "Evidence package", "/evidence", body))
}

/// A form date, or why not.
fn date_field(
    fields: &std::collections::HashMap<String, String>,
    name: &str,
) -> Result<NaiveDate, UiError> {
    let v = fields.get(name).map_or("", |v| v.trim());
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
        UiError::new(
            StatusCode::BAD_REQUEST,
            format!("{name}: `{v}` is not a date; give YYYY-MM-DD"),
        )
    })
}

/// The built package, ready to send.
struct Download {
    zip: Vec<u8>,
}

pub(super) async fn export(
    State(s): State<AppState>,
    principal: Principal,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Result<Response, UiError> {
    let fields = form_fields(&body);
    let from = date_field(&fields, "from")?;
    let to = date_field(&fields, "to")?;
    if from > to {
        return Err(UiError::new(
            StatusCode::BAD_REQUEST,
            format!("the period starts ({from}) after it ends ({to})"),
        ));
    }
    let seed = match fields.get("seed").map(|v| v.trim()).unwrap_or("") {
        "" => default_seed(),
        v => v.parse::<u64>().map_err(|_| {
            UiError::new(
                StatusCode::BAD_REQUEST,
                format!("seed: `{v}` is not a whole number from 0 to {}", u64::MAX),
            )
        })?,
    };
    let node = s.node.clone();
    let event = AccessEvent {
        actor: principal.actor(),
        role: Some(principal.role),
        action: EXPORT_ACTION.to_owned(),
        target: String::new(),
        outcome: Outcome::Success,
        detail: None,
        peer: peer.map(|Extension(ConnectInfo(a))| a.ip().to_string()),
    };
    let built = tokio::task::spawn_blocking(move || build(&node, from, to, seed, event))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "evidence export task failed");
            UiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the server log",
            )
        })?;
    let download = match built {
        Ok(d) => d,
        Err(Error::Evidence(EvidenceError::NoCheckpoint)) => {
            return Err(UiError::new(
                StatusCode::CONFLICT,
                "the ledger has no signed checkpoint yet; try again in a few seconds",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut resp = download.zip.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    let disposition = format!("attachment; filename=\"evident-evidence-{from}-{to}.zip\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Builds, zips and records the package; the temporary directory goes when this returns.
fn build(
    node: &Evident,
    from: NaiveDate,
    to: NaiveDate,
    seed: u64,
    mut event: AccessEvent,
) -> Result<Download, Error> {
    let io = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| EvidenceError::Io { path, source }
    };
    let tmp = tempfile::Builder::new()
        .prefix("evident-evidence-")
        .tempdir()
        .map_err(io(&std::env::temp_dir()))?;
    let out = tmp.path().join(format!("evident-evidence-{from}-{to}"));
    let signer = node.data.signer()?;
    let sections = package_sections(node)?;
    let request = ExportRequest {
        ledger: &node.ledger,
        signer: &signer,
        db: &node.db,
        from,
        to,
        out: out.clone(),
        zip: true,
        seed,
        generated_at_ms: now_ms(),
        source_criteria: sections.source_criteria,
        rules: sections.rules,
        access_csv: sections.access_csv,
        retention_markdown: sections.retention_markdown,
        ir_plan_markdown: sections.ir_plan_markdown,
    };
    let summary = evident_evidence::export(&request, &mut |_: &str, _: u64, _: u64| {})?;
    let sha = manifest_sha256(&summary.dir).map_err(io(&summary.dir))?;
    let zip_path = summary
        .zip
        .clone()
        .ok_or_else(|| EvidenceError::NotAPackage {
            path: out.clone(),
            reason: "the exporter wrote no zip".into(),
        })?;
    let zip = std::fs::read(&zip_path).map_err(io(&zip_path))?;
    event.target = export_target(from, to, seed, &sha);
    event.detail = Some(format!(
        "{} files, {} bytes; zip {} bytes",
        summary.files,
        summary.bytes,
        zip.len()
    ));
    record_blocking(&node.db, &event, node.ledger.size())?;
    tracing::info!(actor = %event.actor, target = %event.target, "evidence package exported");
    Ok(Download { zip })
}
