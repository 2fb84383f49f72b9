//! `/api/v1/cases`: list, show, open and change cases with an API token. Every change is
//! stored, sealed into the ledger and attributed to the token (`token:<name>`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use evident_model::{CaseChange, Sla};
use evident_store::StoreError;
use serde::Deserialize;
use serde_json::json;

use crate::Error;
use crate::api::{ApiError, AppState};
use crate::auth::Principal;
use crate::cases::{CaseView, case_filter, change_case, open_case};

/// The routes, mounted under `/api/v1/cases`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(show).patch(patch))
        .route("/{id}/notes", post(note))
}

#[derive(Deserialize)]
struct ListQuery {
    stage: Option<String>,
    #[serde(default)]
    open: bool,
    /// Cursor: list cases with a smaller id.
    before: Option<i64>,
    limit: Option<usize>,
}

async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Response, ApiError> {
    let filter = case_filter(q.stage.as_deref(), q.open)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.to_string()))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let node = s.node.clone();
    let slas = slas(&s)?;
    let cases = blocking(move || Ok(node.db.cases(filter)?)).await?;
    let now = now_ms();
    let page: Vec<CaseView> = cases
        .into_iter()
        .filter(|c| q.before.is_none_or(|b| c.id < b))
        .take(limit)
        .map(|c| CaseView::new(c, &slas, now))
        .collect();
    let next = (page.len() == limit)
        .then(|| page.last().map(|c| c.case.id))
        .flatten();
    Ok(Json(json!({"cases": page, "next_before": next})).into_response())
}

async fn show(State(s): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let node = s.node.clone();
    let slas = slas(&s)?;
    let (case, history, links) = blocking(move || {
        let case = node.db.case(id)?.ok_or(StoreError::UnknownCase(id))?;
        Ok((case, node.db.case_history(id)?, node.db.external_links(id)?))
    })
    .await?;
    Ok(Json(json!({
        "case": CaseView::new(case, &slas, now_ms()),
        "history": history,
        "tickets": links,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCase {
    title: String,
    severity: String,
    group_key: Option<String>,
}

async fn create(
    State(s): State<AppState>,
    principal: Principal,
    Json(body): Json<NewCase>,
) -> Result<Response, ApiError> {
    let actor = principal.actor();
    let node = s.node.clone();
    let slas = slas(&s)?;
    let opened = CaseChange::Opened {
        title: body.title,
        severity: body.severity,
        rule: None,
        group_key: body
            .group_key
            .unwrap_or_else(|| format!("manual:{}", evident_ledger::now_ns())),
        alert: None,
    };
    let (case, created) =
        blocking(move || open_case(&node.ledger, &node.db, &actor, opened)).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(CaseView::new(case, &slas, now_ms()))).into_response())
}

async fn patch(
    State(s): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(change): Json<CaseChange>,
) -> Result<Response, ApiError> {
    let actor = principal.actor();
    apply(&s, id, actor, change).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Note {
    text: String,
}

async fn note(
    State(s): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(note): Json<Note>,
) -> Result<Response, ApiError> {
    let actor = principal.actor();
    apply(&s, id, actor, CaseChange::Noted { text: note.text }).await
}

async fn apply(
    s: &AppState,
    id: i64,
    actor: String,
    change: CaseChange,
) -> Result<Response, ApiError> {
    if matches!(change, CaseChange::Opened { .. }) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_change",
            "`opened` starts a case: POST /api/v1/cases instead",
        ));
    }
    let node = s.node.clone();
    let slas = slas(s)?;
    let case = blocking(move || change_case(&node.ledger, &node.db, id, &actor, &change)).await?;
    Ok(Json(CaseView::new(case, &slas, now_ms())).into_response())
}

fn slas(s: &AppState) -> Result<HashMap<String, Sla>, ApiError> {
    s.node.config.cases.slas().map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "bad_config",
            e.to_string(),
        )
    })
}

/// Runs a state change on a blocking thread, mapping refusals to 404/409.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "case task failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; see the server log",
            )
        })?
        .map_err(|e| match e {
            Error::Store(e) => refused(e),
            other => {
                tracing::error!(error = %other, "case change failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_error",
                    "the change could not be stored; retry later",
                )
            }
        })
}

/// Store errors a client can act on; the rest are internal.
pub(crate) fn refused(e: StoreError) -> ApiError {
    match e {
        StoreError::UnknownCase(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_case", e.to_string())
        }
        StoreError::UnknownReview(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_review", e.to_string())
        }
        StoreError::Case(_) | StoreError::Review(_) => {
            ApiError::new(StatusCode::CONFLICT, "refused_change", e.to_string())
        }
        other => {
            tracing::error!(error = %other, "state database");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; see the server log",
            )
        }
    }
}

/// Now, ms since the epoch.
pub(crate) fn now_ms() -> i64 {
    (evident_ledger::now_ns() / 1_000_000) as i64
}
