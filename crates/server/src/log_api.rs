//! The public C2SP tlog-tiles read API: `GET /log/checkpoint` and `GET /log/tile/…`.
//! Hash tiles only: entry bodies are never public.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use evident_ledger::TileId;

use crate::api::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
}

async fn checkpoint(State(s): State<AppState>) -> Result<Response, ApiError> {
    let cp = s.node.ledger.latest_checkpoint().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_checkpoint",
            "the log has not signed a checkpoint yet",
        )
    })?;
    let mut resp = cp.note.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

async fn tile(State(s): State<AppState>, Path(path): Path<String>) -> Result<Response, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_tile",
            format!("no tile at tile/{path}"),
        )
    };
    let (id, width) = TileId::parse_path(&format!("tile/{path}")).ok_or_else(not_found)?;
    let ledger = s.node.ledger.clone();
    let bytes = tokio::task::spawn_blocking(move || ledger.tile(id, width))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "tile read failed",
            )
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "tile read failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "tile read failed",
            )
        })?
        .ok_or_else(not_found)?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    // Full tiles never change; partial ones are served for checkpointed sizes and may be
    // replaced by the full tile later, which has the same prefix.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(resp)
}
