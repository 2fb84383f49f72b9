//! Change tickets in, alerts out: `POST /api/v1/change-tickets` (an API token, the
//! DESIGN.md §6 ticket JSON), `POST /api/v1/integrations/jira/webhook` (a Jira
//! `jira:issue_updated` webhook; the field mapping is `[change_tickets.jira]`, and the token
//! comes as a Bearer header or `?token=`, since Jira webhooks cannot set headers), and
//! `GET /api/v1/alerts`. Tickets are stored in the state DB; the pipeline's detector reads
//! the new ones on its next step, and rules waiting out the grace period see them.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use evident_detect::ChangeTicket;
use serde_json::{Value, json};

use crate::api::{ApiError, AppState};

/// Alerts a page holds at most.
const MAX_PAGE: u32 = 500;

/// The routes, for `app_with_intake` to merge.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/change-tickets", post(create_ticket))
        .route("/api/v1/integrations/jira/webhook", post(jira_webhook))
        .route("/api/v1/alerts", get(list_alerts))
}

/// `?limit=&cursor=` for pages.
#[derive(Debug, Default, serde::Deserialize)]
struct Params {
    limit: Option<u32>,
    cursor: Option<i64>,
}

async fn create_ticket(
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(&body).map_err(|_| invalid("the body is not UTF-8"))?;
    let ticket = ChangeTicket::from_json(text).map_err(|e| invalid(&e.to_string()))?;
    store(&s, ticket).await
}

async fn jira_webhook(
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| invalid(&format!("the body is not JSON: {e}")))?;
    let jira = &s.node.config.change_tickets.jira;
    match ChangeTicket::from_jira(&payload, jira).map_err(|e| invalid(&e.to_string()))? {
        Some(ticket) => store(&s, ticket).await,
        None => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"ignored": "not an update that moved the issue into an approved status"})),
        )
            .into_response()),
    }
}

async fn list_alerts(
    State(s): State<AppState>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let limit = params.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let db = s.node.db.clone();
    let rows = tokio::task::spawn_blocking(move || db.alerts(limit, params.cursor))
        .await
        .map_err(|e| internal(&e.to_string()))?
        .map_err(|e| internal(&e.to_string()))?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let alerts: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let mut a = r.alert;
            a["id"] = json!(r.id);
            a
        })
        .collect();
    Ok(Json(json!({"alerts": alerts, "next_cursor": next})).into_response())
}

async fn store(s: &AppState, ticket: ChangeTicket) -> Result<Response, ApiError> {
    let db = s.node.db.clone();
    let value = serde_json::to_value(&ticket).map_err(|e| internal(&e.to_string()))?;
    let id = ticket.id.clone();
    let seq = tokio::task::spawn_blocking(move || db.add_change_ticket(&id, &value))
        .await
        .map_err(|e| internal(&e.to_string()))?
        .map_err(|e| internal(&e.to_string()))?;
    tracing::info!(ticket = %ticket.id, seq, "change ticket stored");
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": ticket.id, "seq": seq})),
    )
        .into_response())
}

fn invalid(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_ticket", message)
}

fn internal(detail: &str) -> ApiError {
    tracing::error!(detail, "internal error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; see the server log",
    )
}
