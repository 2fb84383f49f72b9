//! `/api/v1/reviews`: due and overdue log reviews, their packets, and sign-off.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use evident_store::StoreError;
use serde::Deserialize;
use serde_json::json;

use crate::api::{ApiError, AppState};
use crate::auth::Principal;
use crate::cases_api::{blocking, now_ms};
use crate::reviews::{self, ReviewView};

/// The routes, mounted under `/api/v1/reviews`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/{id}", get(show))
        .route("/{id}/sign", post(sign))
}

async fn list(State(s): State<AppState>) -> Result<Response, ApiError> {
    let node = s.node.clone();
    let now = now_ms();
    let list = blocking(move || reviews::list(&node, now)).await?;
    Ok(Json(json!({ "reviews": list })).into_response())
}

/// The review with its packet: the one signed off, or the one a reviewer would sign now.
async fn show(State(s): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
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
    Ok(Json(json!({ "review": view, "packet": packet })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignRequest {
    findings: String,
    #[serde(default)]
    follow_ups: Vec<String>,
}

async fn sign(
    State(s): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(body): Json<SignRequest>,
) -> Result<Response, ApiError> {
    let reviewer = principal.actor();
    let node = s.node.clone();
    let now = now_ms();
    let review =
        blocking(move || reviews::sign(&node, id, &reviewer, &body.findings, body.follow_ups, now))
            .await?;
    Ok(Json(ReviewView::new(review, now)).into_response())
}
