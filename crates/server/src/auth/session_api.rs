//! Signing in and out: `POST /api/v1/session` (JSON) and the [`login`] the web UI's form
//! uses too. A login always starts a new session (no fixation), answers with the CSRF token
//! later changes must carry, and is an audit entry whether it succeeds or not.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use evident_store::{LoginRefused, User};
use serde::Deserialize;
use serde_json::json;

use super::access_log::{self, AccessEvent, Outcome};
use super::{Credential, Principal, SESSION_COOKIE, clear_session_cookie, cookie, session_cookie};
use crate::api::{ApiError, AppState};
use crate::cases_api::now_ms;

/// The routes: `/api/v1/session`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/session",
        axum::routing::post(create).get(show).delete(destroy),
    )
}

/// What a login form or JSON body carries.
#[derive(Deserialize)]
pub struct LoginForm {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The TOTP code, when the user enrolled a second factor.
    #[serde(default)]
    pub totp: Option<String>,
}

/// A started session: the cookie value and its CSRF token.
pub struct Started {
    /// Who signed in.
    pub user: User,
    /// `Set-Cookie` header value.
    pub set_cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
}

/// Why a login failed, for the caller to show.
pub enum LoginError {
    /// Refused (message safe to show).
    Refused(LoginRefused),
    /// Evident failed (logged).
    Internal,
}

/// Checks a password login and starts a session; records the attempt either way.
pub async fn login(
    s: &AppState,
    form: LoginForm,
    peer: Option<String>,
) -> Result<Started, LoginError> {
    let db = s.node.db.clone();
    let now = now_ms();
    let username = form.username.clone();
    let result = tokio::task::spawn_blocking(move || {
        let outcome = db.check_login(&form.username, &form.password, form.totp.as_deref(), now)?;
        match outcome {
            Ok(user) => {
                let (token, csrf) = db.create_session(user.id, now)?;
                Ok(Ok((user, token, csrf)))
            }
            Err(refused) => Ok(Err(refused)),
        }
    })
    .await;
    let result: Result<_, evident_store::StoreError> = match result {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "login task failed");
            return Err(LoginError::Internal);
        }
    };
    let event = |outcome, role, detail| AccessEvent {
        actor: username.clone(),
        role,
        action: "login".into(),
        target: "password".into(),
        outcome,
        detail,
        peer: peer.clone(),
    };
    match result {
        Ok(Ok((user, token, csrf))) => {
            access_log::record(&s.node, event(Outcome::Success, Some(user.role), None)).await;
            Ok(Started {
                set_cookie: session_cookie(&token, s.node.config.server.tls.is_some()),
                user,
                csrf,
            })
        }
        Ok(Err(refused)) => {
            access_log::record(
                &s.node,
                event(Outcome::Denied, None, Some(refused.to_string())),
            )
            .await;
            Err(LoginError::Refused(refused))
        }
        Err(e) => {
            tracing::error!(error = %e, "login failed");
            Err(LoginError::Internal)
        }
    }
}

/// Ends the session named by the request's cookie; records the logout.
pub async fn logout(s: &AppState, principal: &Principal, headers: &HeaderMap) -> String {
    if let Some(token) = cookie(headers, SESSION_COOKIE).map(str::to_owned) {
        let db = s.node.db.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || db.delete_session(&token)).await {
            tracing::error!(error = %e, "cannot end a session");
        }
    }
    access_log::record(
        &s.node,
        AccessEvent {
            actor: principal.actor(),
            role: Some(principal.role),
            action: "logout".into(),
            target: "session".into(),
            outcome: Outcome::Success,
            detail: None,
            peer: None,
        },
    )
    .await;
    clear_session_cookie(s.node.config.server.tls.is_some())
}

async fn create(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(form): Json<LoginForm>,
) -> Result<Response, ApiError> {
    match login(&s, form, Some(peer.ip().to_string())).await {
        Ok(started) => {
            let mut resp = Json(json!({
                "user": started.user.username,
                "role": started.user.role,
                "csrf": started.csrf,
            }))
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&started.set_cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        Err(LoginError::Refused(r)) => {
            let code = match r {
                LoginRefused::Locked { .. } => "locked",
                LoginRefused::OutsideWindow { .. } => "outside_window",
                LoginRefused::BadSecondFactor => "second_factor",
                _ => "bad_credentials",
            };
            Err(ApiError::new(StatusCode::UNAUTHORIZED, code, r.to_string()))
        }
        Err(LoginError::Internal) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )),
    }
}

async fn show(principal: Principal) -> Response {
    let csrf = match &principal.credential {
        Credential::Session { csrf } => Some(csrf.clone()),
        Credential::Token(_) => None,
    };
    Json(json!({
        "user": principal.name,
        "role": principal.role,
        "csrf": csrf,
    }))
    .into_response()
}

async fn destroy(State(s): State<AppState>, principal: Principal, headers: HeaderMap) -> Response {
    let clear = logout(&s, &principal, &headers).await;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}
