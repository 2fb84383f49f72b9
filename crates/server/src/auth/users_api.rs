//! Managing people and credentials over the API (admins only): users and their roles, API
//! tokens, and the access-control list export the evidence package includes.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch};
use axum::{Json, Router};
use evident_model::Role;
use evident_store::{ApiTokenInfo, NewUser, StateDb, StoreError, User};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{ApiError, AppState};
use crate::cases_api::{blocking, now_ms};

/// The routes: `/api/v1/users`, `/api/v1/tokens`, `/api/v1/access/export`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{name}", patch(change_user))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{name}", delete(revoke_token))
        .route("/api/v1/access/export", get(export))
}

/// A source's write-only ingest credential, as the access list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IngestCredential {
    /// The source it may write.
    pub source: String,
    /// When it was issued (ms).
    pub created_at_ms: i64,
}

/// Who can access the log system, with what, as of now: the evidence package's `access/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessList {
    /// People.
    pub users: Vec<User>,
    /// API tokens (no secrets).
    pub tokens: Vec<ApiTokenInfo>,
    /// Per-source ingest credentials (write-only).
    pub ingest_credentials: Vec<IngestCredential>,
}

/// Reads the access-control list.
pub fn access_list(db: &StateDb) -> Result<AccessList, StoreError> {
    Ok(AccessList {
        users: db.users()?,
        tokens: db.api_tokens()?,
        ingest_credentials: db
            .sources()?
            .into_iter()
            .map(|s| IngestCredential {
                source: s.name.to_string(),
                created_at_ms: s.created_at_ns / 1_000_000,
            })
            .collect(),
    })
}

impl AccessList {
    /// One CSV row per principal: kind, name, role, auth, MFA, created, last use, expiry,
    /// state — what an auditor samples for access reviews.
    pub fn to_csv(&self) -> String {
        let ms = |v: Option<i64>| v.map(evident_store_rfc3339).unwrap_or_default();
        let mut out =
            String::from("kind,name,role,auth,mfa,created,last_used,expires,access_window,state\n");
        for u in &self.users {
            let state = if u.disabled {
                "disabled"
            } else if u.locked_until_ms.is_some_and(|l| l > now_ms()) {
                "locked"
            } else {
                "active"
            };
            let window = match (u.access_from_ms, u.access_until_ms) {
                (None, None) => String::new(),
                (f, t) => format!("{}/{}", ms(f), ms(t)),
            };
            out.push_str(&format!(
                "user,{},{},{},{},{},{},,{},{}\n",
                csv(&u.username),
                u.role,
                match u.auth {
                    evident_store::AuthMethod::Local => "password",
                    evident_store::AuthMethod::Oidc => "sso",
                },
                if u.mfa { "yes" } else { "no" },
                ms(Some(u.created_at_ms)),
                ms(u.last_login_ms),
                window,
                state
            ));
        }
        for t in &self.tokens {
            let state = if t.revoked_at_ms.is_some() {
                "revoked"
            } else if t.expires_at_ms.is_some_and(|e| e < now_ms()) {
                "expired"
            } else {
                "active"
            };
            out.push_str(&format!(
                "api_token,{},{},token,n/a,{},{},{},,{}\n",
                csv(&t.name),
                t.role,
                ms(Some(t.created_at_ms)),
                ms(t.last_used_at_ms),
                ms(t.expires_at_ms),
                state
            ));
        }
        for c in &self.ingest_credentials {
            out.push_str(&format!(
                "ingest_token,{},ingest:{},token,n/a,{},,,,active\n",
                csv(&c.source),
                csv(&c.source),
                ms(Some(c.created_at_ms))
            ));
        }
        out
    }
}

fn evident_store_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn refused(e: StoreError) -> Result<Response, crate::Error> {
    match e {
        StoreError::Access(_) | StoreError::TokenExists(_) => {
            Ok(
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", e.to_string())
                    .into_response(),
            )
        }
        other => Err(other.into()),
    }
}

async fn list_users(State(s): State<AppState>) -> Result<Response, ApiError> {
    let db = s.node.db.clone();
    let users = blocking(move || Ok(db.users()?)).await?;
    Ok(Json(json!({ "users": users })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    username: String,
    role: Role,
    /// Omitted: a one-time password is generated and returned.
    password: Option<String>,
    /// Auditors: access window, RFC 3339.
    access_from: Option<chrono::DateTime<chrono::Utc>>,
    access_until: Option<chrono::DateTime<chrono::Utc>>,
}

async fn create_user(
    State(s): State<AppState>,
    Json(body): Json<NewUserBody>,
) -> Result<Response, ApiError> {
    let window = match (body.access_from, body.access_until) {
        (Some(f), Some(u)) => Some((f.timestamp_millis(), u.timestamp_millis())),
        (None, None) if body.role == Role::Auditor => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refused",
                "auditor accounts need an access window: access_from and access_until",
            ));
        }
        (None, None) => None,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refused",
                "give both access_from and access_until, or neither",
            ));
        }
    };
    let db = s.node.db.clone();
    blocking(move || {
        let generated = body.password.is_none();
        let password = match body.password {
            Some(p) => p,
            None => one_time_password()?,
        };
        let new = NewUser {
            username: &body.username,
            role: body.role,
            password: Some(&password),
            window,
        };
        match db.create_user(&new, now_ms()) {
            Ok(user) => {
                let mut out = json!({ "user": user });
                if generated {
                    out["one_time_password"] = json!(password);
                }
                Ok((StatusCode::CREATED, Json(out)).into_response())
            }
            Err(e) => refused(e),
        }
    })
    .await
}

/// A random 20-character password for a new account, shown once.
pub fn one_time_password() -> Result<String, crate::Error> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| crate::Error::Random(e.to_string()))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    role: Option<Role>,
    disabled: Option<bool>,
}

async fn change_user(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Json(change): Json<UserChange>,
) -> Result<Response, ApiError> {
    let db = s.node.db.clone();
    blocking(move || {
        let mut user = None;
        if let Some(role) = change.role {
            match db.set_user_role(&name, role) {
                Ok(u) => user = Some(u),
                Err(e) => return refused(e),
            }
        }
        if let Some(disabled) = change.disabled {
            match db.set_user_disabled(&name, disabled) {
                Ok(u) => user = Some(u),
                Err(e) => return refused(e),
            }
        }
        match user {
            Some(u) => Ok(Json(json!({ "user": u })).into_response()),
            None => Ok(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refused",
                "nothing to change: give role and/or disabled",
            )
            .into_response()),
        }
    })
    .await
}

async fn list_tokens(State(s): State<AppState>) -> Result<Response, ApiError> {
    let db = s.node.db.clone();
    let tokens = blocking(move || Ok(db.api_tokens()?)).await?;
    Ok(Json(json!({ "tokens": tokens })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: Role,
    /// Days until it expires (default 90; 0 = never).
    expires_days: Option<u32>,
}

async fn create_token(
    State(s): State<AppState>,
    Json(body): Json<NewToken>,
) -> Result<Response, ApiError> {
    let db = s.node.db.clone();
    blocking(move || {
        let days = body.expires_days.unwrap_or(90);
        let expires = (days > 0).then(|| now_ms() + i64::from(days) * 86_400_000);
        match db.create_api_token(&body.name, body.role, expires) {
            Ok(token) => Ok((
                StatusCode::CREATED,
                Json(json!({"name": body.name, "role": body.role, "token": token, "expires_at_ms": expires})),
            )
                .into_response()),
            Err(e) => refused(e),
        }
    })
    .await
}

async fn revoke_token(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let db = s.node.db.clone();
    blocking(move || match db.revoke_api_token(&name, now_ms()) {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) => refused(e),
    })
    .await
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

async fn export(
    State(s): State<AppState>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let db = s.node.db.clone();
    let list = blocking(move || Ok(access_list(&db)?)).await?;
    match q.format.as_deref() {
        Some("csv") => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            list.to_csv(),
        )
            .into_response()),
        None | Some("json") => Ok(Json(list).into_response()),
        Some(other) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("unknown format {other:?}; use json or csv"),
        )),
    }
}
