//! `GET /api/v1/outbox`: the integration outbox (`?dead=true` for the dead-letter list),
//! newest first, for an API token.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::api::{ApiError, AppState};
use crate::cases_api::blocking;

/// The routes, mounted under `/api/v1/outbox`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/", get(list))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    dead: bool,
    limit: Option<usize>,
}

async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let db = s.node.db.clone();
    let messages = blocking(move || Ok(db.outbox_messages(q.dead, limit)?)).await?;
    Ok(Json(json!({"messages": messages})).into_response())
}
