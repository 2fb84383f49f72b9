//! `GET/POST /login` and `POST /logout`: the sign-in form (username, password, one-time
//! code), which starts a session through [`crate::auth::session_api::login`], and sign-out.
//! After signing in the browser goes to `next`, but only to a path on this server.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::form_fields;
use crate::api::AppState;
use crate::auth::Principal;
use crate::auth::session_api::{self, LoginError, LoginForm};

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
}

pub(super) async fn form(State(s): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let page = login_page(&safe_next(q.next.as_deref()), "", None, sso(&s));
    Html(page.into_string()).into_response()
}

/// Whether single sign-on is configured (the page then offers it).
fn sso(s: &AppState) -> bool {
    s.node.config.auth.oidc.is_some()
}

pub(super) async fn submit(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let mut f = form_fields(&body);
    let mut take = |k: &str| f.remove(k).unwrap_or_default();
    let next = safe_next(Some(&take("next")));
    let username = take("username");
    let password = take("password");
    let totp = Some(take("totp")).filter(|t| !t.trim().is_empty());
    let login = LoginForm {
        username: username.clone(),
        password,
        totp,
    };
    match session_api::login(&s, login, Some(peer.ip().to_string())).await {
        Ok(started) => {
            let mut resp = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&started.set_cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(LoginError::Refused(why)) => (
            StatusCode::UNAUTHORIZED,
            Html(login_page(&next, &username, Some(&why.to_string()), sso(&s)).into_string()),
        )
            .into_response(),
        Err(LoginError::Internal) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html(
                login_page(
                    &next,
                    &username,
                    Some("Evident could not check the sign-in; see the server log"),
                    sso(&s),
                )
                .into_string(),
            ),
        )
            .into_response(),
    }
}

pub(super) async fn logout(
    State(s): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Response {
    let clear = session_api::logout(&s, &principal, &headers).await;
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// `next` when it is a path on this server (`/…`, not `//host` or `/\host`), else `/`:
/// the login page must not send anyone elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn login_page(next: &str, username: &str, error: Option<&str>, sso: bool) -> Markup {
    let sso_href = format!(
        "/auth/oidc/login?next={}",
        form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in — Evident" }
                link rel="stylesheet" href="/assets/evident.css";
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
            }
            body.login {
                main #main {
                    h1 { "Sign in to Evident" }
                    @if let Some(e) = error {
                        p.error role="alert" #login-error { (e) }
                    }
                    form method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        label for="username" { "Username" }
                        input #username name="username" type="text" autocomplete="username"
                            required autofocus value=(username);
                        label for="password" { "Password" }
                        input #password name="password" type="password"
                            autocomplete="current-password" required;
                        label for="totp" { "One-time code " span.hint { "(if you enrolled an authenticator)" } }
                        input #totp name="totp" type="text" inputmode="numeric"
                            autocomplete="one-time-code" pattern="[0-9]{6}";
                        button type="submit" { "Sign in" }
                    }
                    @if sso {
                        p.sso { a #sso href=(sso_href) { "Sign in with your company account (SSO)" } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_goes_only_to_local_paths() {
        assert_eq!(safe_next(Some("/cases/3?x=1")), "/cases/3?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/a\r\nSet-Cookie: x")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
