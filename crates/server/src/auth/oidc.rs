//! Single sign-on through an OpenID Connect provider (Okta, Entra ID, Google, Keycloak):
//! the authorization code flow with PKCE (S256), `state` and `nonce` (OpenID Connect Core
//! §3.1, RFC 7636).
//!
//! `GET /auth/oidc/login` keeps a PKCE verifier, a state and a nonce in memory (ten minutes,
//! single use, bound to the browser by a `SameSite=Lax` cookie so a stranger's callback URL
//! cannot sign someone in as the stranger) and redirects to the provider.
//! `GET /auth/oidc/callback` takes the state back, exchanges the code at the token endpoint
//! with the client secret and the verifier, verifies the ID token (signature against the
//! provider's JWKS, `iss`, `aud`/`azp`, `exp`/`iat` with a minute of leeway, `nonce`), maps
//! the groups claim to a role (`[auth.oidc.roles]`, highest role wins), and starts a
//! session like a password login. Discovery and the JWKS are cached for an hour; an
//! unknown key id fetches the JWKS again (key rotation). Every outcome is an access audit
//! entry (`login` / `oidc`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use evident_model::Role;
use evident_store::{LoginRefused, StoreError};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::access_log::{self, AccessEvent, Outcome};
use super::{cookie, session_cookie};
use crate::api::AppState;
use crate::cases_api::now_ms;
use crate::config::{OidcConfig, OidcTokenAuth};

/// Where the browser starts a single sign-on.
pub const LOGIN_PATH: &str = "/auth/oidc/login";
/// Where the provider sends the browser back.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";
/// The cookie binding a sign-in in progress to the browser that started it.
pub const FLOW_COOKIE: &str = "evident_oidc";
/// How long a started sign-in may take at the provider.
pub const FLOW_TTL: Duration = Duration::from_secs(10 * 60);
/// Clock leeway for `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 60;
/// Sign-ins in progress at once: a bound on what unauthenticated requests can make the
/// server remember.
const MAX_PENDING: usize = 10_000;
/// How long discovery and the JWKS are trusted before they are fetched again.
const PROVIDER_TTL: Duration = Duration::from_secs(60 * 60);
/// Signature algorithms accepted on ID tokens: asymmetric only (never `none` or HMAC).
const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// The routes: `/auth/oidc/login` and `/auth/oidc/callback` (public; they answer 404 when
/// `[auth.oidc]` is not configured).
pub(crate) fn routes(config: Option<&OidcConfig>) -> Router<AppState> {
    let oidc = Arc::new(Oidc::new(config.cloned()));
    Router::new()
        .route(LOGIN_PATH, get(login))
        .route(CALLBACK_PATH, get(callback))
        .layer(Extension(oidc))
}

/// Per-server single sign-on state: the config, the provider's cached metadata and keys,
/// and the sign-ins in progress.
struct Oidc {
    config: Option<OidcConfig>,
    http: Option<reqwest::Client>,
    provider: tokio::sync::Mutex<Option<Arc<Provider>>>,
    pending: Mutex<HashMap<String, Pending>>,
}

/// What discovery says about the provider (OpenID Connect Discovery §3), and its keys.
struct Provider {
    metadata: Metadata,
    keys: Vec<Jwk>,
    fetched: Instant,
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// A sign-in waiting for the provider's answer.
struct Pending {
    verifier: String,
    nonce: String,
    /// The flow cookie's value in the browser that started it.
    browser: String,
    /// Where to go after signing in (a local path).
    next: String,
    started: Instant,
}

/// A refused or failed sign-in: the HTTP status and the message shown and audited.
struct Refusal {
    status: StatusCode,
    message: String,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

impl Oidc {
    fn new(config: Option<OidcConfig>) -> Oidc {
        let http = config.as_ref().and_then(|_| {
            reqwest::Client::builder()
                .user_agent(concat!("evident/", env!("CARGO_PKG_VERSION")))
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .inspect_err(|e| tracing::error!(error = %e, "OIDC: cannot build the HTTP client"))
                .ok()
        });
        Oidc {
            config,
            http,
            provider: tokio::sync::Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn configured(&self) -> Result<(&OidcConfig, &reqwest::Client), Refusal> {
        match (&self.config, &self.http) {
            (Some(c), Some(h)) => Ok((c, h)),
            (None, _) => Err(refuse(
                StatusCode::NOT_FOUND,
                "single sign-on is not configured: an admin adds [auth.oidc] to evident.toml",
            )),
            (Some(_), None) => Err(refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "single sign-on cannot start: see the server log",
            )),
        }
    }

    /// The provider's metadata and keys: cached, fetched when older than an hour or when
    /// `refresh` asks (an unknown key id). A failed refresh keeps using what it had.
    async fn provider(&self, refresh: bool) -> Result<Arc<Provider>, Refusal> {
        let (config, http) = self.configured()?;
        let mut cached = self.provider.lock().await;
        if let Some(p) = cached.as_ref()
            && !refresh
            && p.fetched.elapsed() < PROVIDER_TTL
        {
            return Ok(p.clone());
        }
        match discover(config, http).await {
            Ok(p) => {
                let p = Arc::new(p);
                *cached = Some(p.clone());
                Ok(p)
            }
            Err(r) => match cached.as_ref() {
                Some(p) => {
                    tracing::warn!(error = %r.message, "OIDC: refreshing the provider failed; using the cached metadata");
                    Ok(p.clone())
                }
                None => Err(r),
            },
        }
    }

    /// Remembers a started sign-in under its state, forgetting expired ones.
    fn remember(&self, state: String, pending: Pending) -> Result<(), Refusal> {
        let mut map = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, p| p.started.elapsed() < FLOW_TTL);
        if map.len() >= MAX_PENDING {
            return Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many sign-ins in progress; try again in a few minutes",
            ));
        }
        map.insert(state, pending);
        Ok(())
    }

    /// Takes (and so spends) the sign-in started under `state`.
    fn take(&self, state: &str) -> Option<Pending> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(state)
    }
}

async fn get_json(http: &reqwest::Client, what: &str, url: &str) -> Result<Value, Refusal> {
    let unreachable = |why: String| {
        refuse(
            StatusCode::BAD_GATEWAY,
            format!("cannot read the identity provider's {what} at {url}: {why}"),
        )
    };
    let resp = http
        .get(url)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(unreachable(format!("HTTP {}", resp.status().as_u16())));
    }
    resp.json::<Value>()
        .await
        .map_err(|e| unreachable(format!("not JSON: {e}")))
}

/// Reads `{issuer}/.well-known/openid-configuration` and the JWKS it names.
async fn discover(config: &OidcConfig, http: &reqwest::Client) -> Result<Provider, Refusal> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        config.issuer.trim_end_matches('/')
    );
    let doc = get_json(http, "discovery document", &url).await?;
    let metadata: Metadata = serde_json::from_value(doc).map_err(|e| {
        refuse(
            StatusCode::BAD_GATEWAY,
            format!("the identity provider's discovery document at {url} is incomplete: {e}"),
        )
    })?;
    // OpenID Connect Discovery §4.3: the document must name the issuer we asked.
    if metadata.issuer != config.issuer {
        return Err(refuse(
            StatusCode::BAD_GATEWAY,
            format!(
                "the discovery document at {url} names the issuer {:?}, not the configured {:?}",
                metadata.issuer, config.issuer
            ),
        ));
    }
    let jwks = get_json(http, "signing keys (JWKS)", &metadata.jwks_uri).await?;
    let keys = usable_keys(&jwks);
    if keys.is_empty() {
        return Err(refuse(
            StatusCode::BAD_GATEWAY,
            format!(
                "the identity provider's JWKS at {} has no signing key Evident can use",
                metadata.jwks_uri
            ),
        ));
    }
    tracing::info!(issuer = %metadata.issuer, keys = keys.len(), "OIDC provider discovered");
    Ok(Provider {
        metadata,
        keys,
        fetched: Instant::now(),
    })
}

/// The signature keys of a JWKS; encryption keys and key types Evident cannot read are
/// skipped one by one, so one odd key does not hide the rest.
fn usable_keys(jwks: &Value) -> Vec<Jwk> {
    jwks.get("keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter(|k| k.get("use").and_then(Value::as_str) != Some("enc"))
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .filter(|k| DecodingKey::from_jwk(k).is_ok())
                .collect()
        })
        .unwrap_or_default()
}

fn random_token() -> Result<String, Refusal> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| {
        tracing::error!(error = %e, "OIDC: no randomness");
        refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "single sign-on cannot start: see the server log",
        )
    })?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

/// RFC 7636 §4.2: `BASE64URL(SHA256(verifier))`.
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The query parameters of a request (last value wins).
fn query_params(query: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// A local path to return to after signing in; anything else (other hosts, `//evil`,
/// characters a header cannot carry) becomes `/`, so the login is no open redirect.
fn local_path(next: Option<&String>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.chars().all(|c| c.is_ascii_graphic() && c != '\\') =>
        {
            n.clone()
        }
        _ => "/".into(),
    }
}

/// `GET /auth/oidc/login[?next=/path]`: starts a sign-in and redirects to the provider.
async fn login(
    State(s): State<AppState>,
    Extension(oidc): Extension<Arc<Oidc>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
) -> Response {
    match start(&s, &oidc, query.as_deref()).await {
        Ok(resp) => resp,
        Err(r) => {
            audit(
                &s,
                "unknown",
                None,
                Outcome::Failure,
                Some(&r.message),
                peer,
            )
            .await;
            page(&s, r)
        }
    }
}

async fn start(s: &AppState, oidc: &Oidc, query: Option<&str>) -> Result<Response, Refusal> {
    let (config, _) = oidc.configured()?;
    let provider = oidc.provider(false).await?;
    let (state, nonce, verifier, browser) = (
        random_token()?,
        random_token()?,
        random_token()?,
        random_token()?,
    );
    let mut url = reqwest::Url::parse(&provider.metadata.authorization_endpoint).map_err(|e| {
        refuse(
            StatusCode::BAD_GATEWAY,
            format!(
                "the identity provider's authorization_endpoint {:?} is not a URL: {e}",
                provider.metadata.authorization_endpoint
            ),
        )
    })?;
    let mut scopes = vec!["openid"];
    scopes.extend(
        config
            .scopes
            .iter()
            .map(String::as_str)
            .filter(|s| *s != "openid"),
    );
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &config.redirect_url)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256");
    let next = local_path(query_params(query).get("next"));
    oidc.remember(
        state,
        Pending {
            verifier,
            nonce,
            browser: browser.clone(),
            next,
            started: Instant::now(),
        },
    )?;
    let secure = if tls(s) { "; Secure" } else { "" };
    let flow_cookie = format!(
        "{FLOW_COOKIE}={browser}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        FLOW_TTL.as_secs()
    );
    Ok(redirect(url.as_str(), &[flow_cookie]))
}

/// `GET /auth/oidc/callback?code=…&state=…`: finishes the sign-in.
async fn callback(
    State(s): State<AppState>,
    Extension(oidc): Extension<Arc<Oidc>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = query_params(query.as_deref());
    let mut who: Option<(String, Option<Role>)> = None;
    match finish(&s, &oidc, &headers, &params, &mut who).await {
        Ok((resp, user, role)) => {
            audit(&s, &user, Some(role), Outcome::Success, None, peer).await;
            resp
        }
        Err(r) => {
            s.counters
                .rejected_unauthorized
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (actor, role) = who.unwrap_or_else(|| ("unknown".into(), None));
            let outcome = if r.status.is_server_error() {
                Outcome::Failure
            } else {
                Outcome::Denied
            };
            audit(&s, &actor, role, outcome, Some(&r.message), peer).await;
            page(&s, r)
        }
    }
}

/// The callback's checks in order; `who` learns the user once the ID token names them,
/// for the audit entry of a later refusal.
async fn finish(
    s: &AppState,
    oidc: &Oidc,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    who: &mut Option<(String, Option<Role>)>,
) -> Result<(Response, String, Role), Refusal> {
    let (config, http) = oidc.configured()?;
    let restart = format!("start again at {LOGIN_PATH}");
    let state = params.get("state").ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("the sign-in answer carries no state; {restart}"),
        )
    })?;
    let pending = oidc.take(state).ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("unknown or already used sign-in state; {restart}"),
        )
    })?;
    if pending.started.elapsed() >= FLOW_TTL {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "the sign-in took longer than {} minutes; {restart}",
                FLOW_TTL.as_secs() / 60
            ),
        ));
    }
    if cookie(headers, FLOW_COOKIE) != Some(pending.browser.as_str()) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "this sign-in was started in another browser (no matching {FLOW_COOKIE} cookie); {restart}"
            ),
        ));
    }
    if let Some(error) = params.get("error") {
        let detail = params
            .get("error_description")
            .map(|d| format!(" ({})", clip(d)))
            .unwrap_or_default();
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            format!(
                "the identity provider refused the sign-in: {}{detail}",
                clip(error)
            ),
        ));
    }
    let code = params.get("code").ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "the sign-in answer carries no authorization code",
        )
    })?;
    let provider = oidc.provider(false).await?;
    let id_token = exchange(config, http, &provider, code, &pending.verifier).await?;
    let claims = match verify(config, &provider, &id_token) {
        Err(VerifyError::UnknownKey(_)) => {
            // The provider may have rotated its keys since they were cached.
            let fresh = oidc.provider(true).await?;
            verify(config, &fresh, &id_token).map_err(VerifyError::refusal)?
        }
        other => other.map_err(VerifyError::refusal)?,
    };
    let nonce_ok = claims.get("nonce").and_then(Value::as_str) == Some(pending.nonce.as_str());
    if !nonce_ok {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "the ID token's nonce does not match this sign-in (a replayed token?)",
        ));
    }
    let username = username(config, &claims)?;
    *who = Some((username.clone(), None));
    let groups = groups(&claims, &config.groups_claim);
    let role = role_for(config, &groups).ok_or_else(|| {
        let listed = if groups.is_empty() {
            "none".to_owned()
        } else {
            groups.join(", ")
        };
        refuse(
            StatusCode::FORBIDDEN,
            format!(
                "{username} is in no group mapped to an Evident role (groups: {listed}); an admin maps groups to roles in [auth.oidc.roles]"
            ),
        )
    })?;
    *who = Some((username.clone(), Some(role)));
    let (user, token) = start_session(s, &username, role).await?;
    let secure = if tls(s) { "; Secure" } else { "" };
    let cleared =
        format!("{FLOW_COOKIE}=; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0{secure}");
    let resp = redirect(&pending.next, &[session_cookie(&token, tls(s)), cleared]);
    Ok((resp, user, role))
}

/// Exchanges the code (RFC 6749 §4.1.3 + RFC 7636 §4.5) and returns the ID token.
async fn exchange(
    config: &OidcConfig,
    http: &reqwest::Client,
    provider: &Provider,
    code: &str,
    verifier: &str,
) -> Result<String, Refusal> {
    let url = &provider.metadata.token_endpoint;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", config.redirect_url.as_str()),
        ("code_verifier", verifier),
    ];
    let mut req = http.post(url).header(header::ACCEPT, "application/json");
    match config.token_auth {
        OidcTokenAuth::ClientSecretBasic => {
            // RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
            let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            let basic = STANDARD.encode(format!(
                "{}:{}",
                enc(&config.client_id),
                enc(&config.client_secret)
            ));
            req = req.header(header::AUTHORIZATION, format!("Basic {basic}"));
        }
        OidcTokenAuth::ClientSecretPost => {
            form.push(("client_id", config.client_id.as_str()));
            form.push(("client_secret", config.client_secret.as_str()));
        }
    }
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let resp = req
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| {
            refuse(
                StatusCode::BAD_GATEWAY,
                format!("cannot reach the identity provider's token endpoint {url}: {e}"),
            )
        })?;
    let status = resp.status();
    let json: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let error = json.get("error").and_then(Value::as_str);
        let detail = json
            .get("error_description")
            .and_then(Value::as_str)
            .map(|d| format!(" ({})", clip(d)))
            .unwrap_or_default();
        return Err(match error {
            Some(e) => refuse(
                StatusCode::UNAUTHORIZED,
                format!(
                    "the identity provider refused the authorization code: {}{detail}",
                    clip(e)
                ),
            ),
            None => refuse(
                StatusCode::BAD_GATEWAY,
                format!(
                    "the identity provider's token endpoint {url} answered HTTP {}",
                    status.as_u16()
                ),
            ),
        });
    }
    json.get("id_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_GATEWAY,
                "the token response has no id_token (is the provider an OpenID Connect provider?)",
            )
        })
}

/// Why an ID token does not verify.
enum VerifyError {
    /// No key in the JWKS for the token's `kid` (maybe rotated).
    UnknownKey(Option<String>),
    /// Everything else, with its message.
    Invalid(String),
}

impl VerifyError {
    fn refusal(self) -> Refusal {
        let message = match self {
            VerifyError::UnknownKey(Some(kid)) => {
                format!("the ID token is signed with key {kid:?}, which is not in the identity provider's JWKS")
            }
            VerifyError::UnknownKey(None) => {
                "the ID token names no key (kid) and the identity provider's JWKS has no single key for its algorithm".into()
            }
            VerifyError::Invalid(m) => m,
        };
        refuse(StatusCode::UNAUTHORIZED, message)
    }
}

/// Checks the ID token's signature and standard claims (OpenID Connect Core §3.1.3.7);
/// returns its claims. The nonce is checked by the caller.
fn verify(config: &OidcConfig, provider: &Provider, token: &str) -> Result<Value, VerifyError> {
    let invalid = |m: String| VerifyError::Invalid(m);
    let head = jsonwebtoken::decode_header(token)
        .map_err(|e| invalid(format!("the ID token is not a well-formed JWT: {e}")))?;
    if !ALGORITHMS.contains(&head.alg) {
        return Err(invalid(format!(
            "the ID token is signed with {:?}, which Evident does not accept (RS256, ES256, and the other RSA and ECDSA algorithms)",
            head.alg
        )));
    }
    let family = head.alg.family();
    let key = match &head.kid {
        Some(kid) => provider
            .keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid)),
        None => {
            let mut of_family = provider
                .keys
                .iter()
                .filter(|k| DecodingKey::from_jwk(k).is_ok_and(|d| d.family() == family));
            match (of_family.next(), of_family.next()) {
                (Some(k), None) => Some(k),
                _ => None,
            }
        }
    }
    .ok_or_else(|| VerifyError::UnknownKey(head.kid.clone()))?;
    let decoding = DecodingKey::from_jwk(key)
        .map_err(|e| invalid(format!("the identity provider's key cannot be used: {e}")))?;
    if decoding.family() != family {
        return Err(invalid(format!(
            "the ID token's algorithm {:?} does not fit the type of key {:?}",
            head.alg,
            key.common.key_id.as_deref().unwrap_or("")
        )));
    }
    let mut v = Validation::new(head.alg);
    v.leeway = LEEWAY_SECS;
    v.set_issuer(&[&config.issuer]);
    v.set_audience(&[&config.client_id]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    v.validate_nbf = true;
    let data = jsonwebtoken::decode::<Value>(token, &decoding, &v).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        invalid(match e.kind() {
            K::InvalidSignature => {
                "the ID token's signature does not verify against the identity provider's keys"
                    .into()
            }
            K::ExpiredSignature => "the ID token has expired".into(),
            K::ImmatureSignature => "the ID token is not valid yet (nbf)".into(),
            K::InvalidAudience => format!(
                "the ID token is for another client: its audience does not include {:?}",
                config.client_id
            ),
            K::InvalidIssuer => format!("the ID token was not issued by {:?}", config.issuer),
            K::MissingRequiredClaim(c) => format!("the ID token lacks the {c:?} claim"),
            _ => format!("the ID token is invalid: {e}"),
        })
    })?;
    let claims = data.claims;
    let now = now_ms() / 1000;
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .unwrap_or(i64::MAX);
    if iat > now + LEEWAY_SECS as i64 {
        return Err(invalid(format!(
            "the ID token was issued in the future (iat {iat}, now {now}); check both clocks"
        )));
    }
    // Core §3.1.3.7 (4, 5): with several audiences, the token must be issued to us.
    let several = claims
        .get("aud")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() > 1);
    let azp = claims.get("azp").and_then(Value::as_str);
    if (several || azp.is_some()) && azp != Some(config.client_id.as_str()) {
        return Err(invalid(format!(
            "the ID token was issued to another client (azp {:?}, not {:?})",
            azp.unwrap_or(""),
            config.client_id
        )));
    }
    Ok(claims)
}

/// The Evident user name from the configured claim; an unverified e-mail is refused.
fn username(config: &OidcConfig, claims: &Value) -> Result<String, Refusal> {
    let claim = &config.username_claim;
    let name = claims
        .get(claim)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            refuse(
                StatusCode::UNAUTHORIZED,
                format!("the ID token has no {claim:?} claim to use as the user name (auth.oidc.username_claim)"),
            )
        })?;
    if claim == "email" && claims.get("email_verified").and_then(Value::as_bool) == Some(false) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            format!("the e-mail address {name} is not verified at the identity provider"),
        ));
    }
    Ok(name.to_owned())
}

/// The groups claim: an array of names, or one name.
fn groups(claims: &Value, claim: &str) -> Vec<String> {
    match claims.get(claim) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The highest role any of `groups` maps to (admin, analyst, reviewer, auditor).
fn role_for(config: &OidcConfig, groups: &[String]) -> Option<Role> {
    let mapped: Vec<Role> = groups
        .iter()
        .filter_map(|g| config.roles.get(g).copied())
        .collect();
    Role::ALL.into_iter().find(|r| mapped.contains(r))
}

/// Creates or updates the SSO user and starts a session; returns the user name and the
/// session token.
async fn start_session(
    s: &AppState,
    username: &str,
    role: Role,
) -> Result<(String, String), Refusal> {
    let db = s.node.db.clone();
    let now = now_ms();
    let name = username.to_owned();
    let result = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
        match db.sso_login(&name, role, now)? {
            Ok(user) => {
                let (token, _csrf) = db.create_session(user.id, now)?;
                Ok(Ok((user.username, token)))
            }
            Err(refused) => Ok(Err(refused)),
        }
    })
    .await;
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "OIDC: starting the session failed");
        refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "signing in failed inside Evident; see the server log",
        )
    };
    match result {
        Ok(Ok(Ok(started))) => Ok(started),
        Ok(Ok(Err(refused))) => Err(refuse(
            match refused {
                LoginRefused::Disabled
                | LoginRefused::OutsideWindow { .. }
                | LoginRefused::LocalAccount { .. } => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            },
            refused.to_string(),
        )),
        // A name the store refuses (characters, length) is the provider's data, not ours.
        Ok(Err(StoreError::Access(message))) => Err(refuse(StatusCode::FORBIDDEN, message)),
        Ok(Err(e)) => Err(internal(&e)),
        Err(e) => Err(internal(&e)),
    }
}

fn tls(s: &AppState) -> bool {
    s.node.config.server.tls.is_some()
}

/// At most 200 characters of a provider-supplied string, for messages.
fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

async fn audit(
    s: &AppState,
    actor: &str,
    role: Option<Role>,
    outcome: Outcome,
    detail: Option<&str>,
    peer: SocketAddr,
) {
    let event = AccessEvent {
        actor: actor.to_owned(),
        role,
        action: "login".into(),
        target: "oidc".into(),
        outcome,
        detail: detail.map(str::to_owned),
        peer: Some(peer.ip().to_string()),
    };
    access_log::record(&s.node, event).await;
}

/// The page a refused sign-in shows: the reason, and a way to start again. The flow
/// cookie is cleared (the sign-in is spent either way).
fn page(s: &AppState, r: Refusal) -> Response {
    let secure = if tls(s) { "; Secure" } else { "" };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in failed · Evident</title></head>\n<body><h1>Sign-in failed</h1>\n<p id=\"reason\">{}</p>\n<p><a href=\"{LOGIN_PATH}\">Sign in again</a></p></body></html>\n",
        escape(&r.message)
    );
    let mut resp = (
        r.status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    let cleared =
        format!("{FLOW_COOKIE}=; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0{secure}");
    if let Ok(v) = HeaderValue::from_str(&cleared) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// HTML-escapes text for the refusal page.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        let p = |s: &str| local_path(Some(&s.to_owned()));
        assert_eq!(p("/api/v1/cases?x=1"), "/api/v1/cases?x=1");
        assert_eq!(p("//evil.example/"), "/");
        assert_eq!(p("https://evil.example/"), "/");
        assert_eq!(p("/\\evil.example"), "/");
        assert_eq!(p("/cases\r\nSet-Cookie: x=1"), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn the_highest_mapped_role_wins() {
        let config: OidcConfig = toml::from_str(
            r#"
            issuer = "https://idp.example"
            client_id = "evident"
            client_secret = "s"
            redirect_url = "https://evident.example/auth/oidc/callback"
            [roles]
            "sec-auditors" = "auditor"
            "sec-analysts" = "analyst"
            "sec-admins" = "admin"
            "#,
        )
        .unwrap();
        let g = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            role_for(&config, &g(&["sec-auditors", "sec-analysts", "other"])),
            Some(Role::Analyst)
        );
        assert_eq!(
            role_for(&config, &g(&["sec-admins", "sec-auditors"])),
            Some(Role::Admin)
        );
        assert_eq!(role_for(&config, &g(&["other"])), None);
        assert_eq!(config.groups_claim, "groups");
        assert_eq!(config.username_claim, "email");
        assert_eq!(config.token_auth, OidcTokenAuth::ClientSecretBasic);
    }

    #[test]
    fn config_validation_names_the_field_and_the_fix() {
        let base = r#"
            issuer = "https://idp.example"
            client_id = "evident"
            client_secret = "s"
            redirect_url = "https://evident.example/auth/oidc/callback"
        "#;
        let check = |extra: &str, roles: &str| {
            let text = format!("{base}{extra}\n[roles]\n{roles}");
            toml::from_str::<OidcConfig>(&text).unwrap().validate()
        };
        assert_eq!(check("", "\"g\" = \"admin\""), Ok(()));
        assert_eq!(
            check("", ""),
            Err("auth.oidc.roles: map at least one group to a role, e.g. \"evident-admins\" = \"admin\"".into())
        );
        let http = base.replace("https://idp.example", "http://idp.example");
        let text = format!("{http}\n[roles]\n\"g\" = \"admin\"");
        assert_eq!(
            toml::from_str::<OidcConfig>(&text).unwrap().validate(),
            Err("auth.oidc.issuer: \"http://idp.example\" must be an https:// URL (http only for localhost)".into())
        );
        let local = base.replace("https://idp.example", "http://127.0.0.1:9000");
        let text = format!("{local}\n[roles]\n\"g\" = \"admin\"");
        assert_eq!(
            toml::from_str::<OidcConfig>(&text).unwrap().validate(),
            Ok(())
        );
        let wrong = base.replace("/auth/oidc/callback", "/callback");
        let text = format!("{wrong}\n[roles]\n\"g\" = \"admin\"");
        assert_eq!(
            toml::from_str::<OidcConfig>(&text).unwrap().validate(),
            Err("auth.oidc.redirect_url: \"https://evident.example/callback\" must end in /auth/oidc/callback, where Evident receives the provider's answer".into())
        );
        let debug = format!(
            "{:?}",
            toml::from_str::<OidcConfig>(&format!("{base}\n[roles]\n")).unwrap()
        );
        assert!(debug.contains("client_secret: \"<redacted>\""), "{debug}");
    }

    #[test]
    fn groups_are_an_array_or_one_name() {
        let claims = serde_json::json!({"groups": ["a", "b", 3], "role": "c"});
        assert_eq!(groups(&claims, "groups"), vec!["a", "b"]);
        assert_eq!(groups(&claims, "role"), vec!["c"]);
        assert!(groups(&claims, "missing").is_empty());
    }

    #[test]
    fn refusal_pages_escape_provider_text() {
        assert_eq!(
            escape("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }
}
