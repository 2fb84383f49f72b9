//! OIDC single sign-on (issue 7): a small OpenID Connect provider runs in the test (discovery,
//! an authorize endpoint that answers at once, a token endpoint checking the client secret
//! and the PKCE verifier, a JWKS with keys made here), and reqwest drives the browser's
//! side through the real server router, following no redirect by itself.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use evident_server::auth::access_log::ACCESS_AUDIT_KIND;
use evident_server::{DataDir, Evident, app};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = "evident-client";
const CLIENT_SECRET: &str = "s3cret/with:odd&chars";

/// What the provider puts in the next ID token, or how it misbehaves.
#[derive(Clone)]
struct Behavior {
    email: String,
    groups: Vec<String>,
    alg: Algorithm,
    kid: String,
    /// Seconds from now until `exp`.
    exp_in: i64,
    aud: String,
    /// Replace the nonce the client sent.
    nonce: Option<String>,
    /// Sign with a key that is not in the JWKS (under a published kid).
    forged: bool,
    /// Answer the authorization request with `error=access_denied`.
    deny: bool,
}

impl Default for Behavior {
    fn default() -> Behavior {
        Behavior {
            email: "alice@example.com".into(),
            groups: vec!["evident-analysts".into()],
            alg: Algorithm::ES256,
            kid: "es-1".into(),
            exp_in: 300,
            aud: CLIENT_ID.into(),
            nonce: None,
            forged: false,
            deny: false,
        }
    }
}

/// An authorization request waiting for its code to be exchanged.
struct Grant {
    challenge: String,
    nonce: String,
    redirect_uri: String,
}

struct Idp {
    issuer: String,
    keys: HashMap<String, (Algorithm, EncodingKey)>,
    forger: EncodingKey,
    published: Mutex<Vec<Jwk>>,
    behavior: Mutex<Behavior>,
    grants: Mutex<HashMap<String, Grant>>,
    discovery_hits: Mutex<u32>,
    jwks_hits: Mutex<u32>,
}

/// PKCS#8 (rcgen) → PKCS#1 RSAPrivateKey (what jsonwebtoken's aws-lc backend signs with).
fn pkcs1_of(pkcs8: &[u8]) -> Vec<u8> {
    fn item(b: &[u8]) -> (u8, &[u8], &[u8]) {
        let (len, hdr) = if b[1] < 0x80 {
            (b[1] as usize, 2)
        } else {
            let n = (b[1] & 0x7f) as usize;
            (
                b[2..2 + n].iter().fold(0, |a, x| a << 8 | *x as usize),
                2 + n,
            )
        };
        (b[0], &b[hdr..hdr + len], &b[hdr + len..])
    }
    let (_, seq, _) = item(pkcs8);
    let (_, _, rest) = item(seq); // version
    let (_, _, rest) = item(rest); // algorithm identifier
    let (tag, key, _) = item(rest);
    assert_eq!(tag, 0x04, "PKCS#8 privateKey is an OCTET STRING");
    key.to_vec()
}

fn es256_key() -> EncodingKey {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    EncodingKey::from_ec_der(&kp.serialize_der())
}

fn rs256_key() -> EncodingKey {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    EncodingKey::from_rsa_der(&pkcs1_of(&kp.serialize_der()))
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut j = Jwk::from_encoding_key(key, alg).unwrap();
    j.common.key_id = Some(kid.into());
    j
}

impl Idp {
    async fn start() -> Arc<Idp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let keys = HashMap::from([
            ("es-1".to_owned(), (Algorithm::ES256, es256_key())),
            ("rs-1".to_owned(), (Algorithm::RS256, rs256_key())),
            ("es-2".to_owned(), (Algorithm::ES256, es256_key())),
        ]);
        // es-2 is the next key: published only when the test rotates.
        let published = ["es-1", "rs-1"]
            .iter()
            .map(|kid| jwk(&keys[*kid].1, keys[*kid].0, kid))
            .collect();
        let idp = Arc::new(Idp {
            issuer,
            keys,
            forger: es256_key(),
            published: Mutex::new(published),
            behavior: Mutex::new(Behavior::default()),
            grants: Mutex::new(HashMap::new()),
            discovery_hits: Mutex::new(0),
            jwks_hits: Mutex::new(0),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(idp.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        idp
    }

    fn behave(&self, b: Behavior) {
        *self.behavior.lock().unwrap() = b;
    }

    fn rotate(&self) {
        let (alg, key) = &self.keys["es-2"];
        self.published.lock().unwrap().push(jwk(key, *alg, "es-2"));
    }
}

async fn discovery(State(idp): State<Arc<Idp>>) -> Response {
    *idp.discovery_hits.lock().unwrap() += 1;
    let i = &idp.issuer;
    axum::Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}

async fn jwks(State(idp): State<Arc<Idp>>) -> Response {
    *idp.jwks_hits.lock().unwrap() += 1;
    let keys = idp.published.lock().unwrap().clone();
    axum::Json(json!({ "keys": keys })).into_response()
}

fn params(query: Option<String>) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

async fn authorize(State(idp): State<Arc<Idp>>, RawQuery(q): RawQuery) -> Response {
    let p = params(q);
    assert_eq!(p["response_type"], "code");
    assert_eq!(p["client_id"], CLIENT_ID);
    assert_eq!(p["code_challenge_method"], "S256");
    assert_eq!(p["scope"], "openid email groups");
    let state = form_urlencoded::byte_serialize(p["state"].as_bytes()).collect::<String>();
    let back = if idp.behavior.lock().unwrap().deny {
        format!(
            "{}?error=access_denied&error_description=user+cancelled&state={state}",
            p["redirect_uri"]
        )
    } else {
        let code = format!(
            "code-{}",
            p["state"].len() + idp.grants.lock().unwrap().len()
        );
        idp.grants.lock().unwrap().insert(
            code.clone(),
            Grant {
                challenge: p["code_challenge"].clone(),
                nonce: p["nonce"].clone(),
                redirect_uri: p["redirect_uri"].clone(),
            },
        );
        format!("{}?code={code}&state={state}", p["redirect_uri"])
    };
    (StatusCode::FOUND, [(header::LOCATION, back)]).into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn token(State(idp): State<Arc<Idp>>, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(CLIENT_ID), enc(CLIENT_SECRET)))
    );
    if headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()) != Some(expected.as_bytes()) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "bad client secret",
        );
    }
    assert_eq!(form["grant_type"], "authorization_code");
    let Some(grant) = idp.grants.lock().unwrap().remove(&form["code"]) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code");
    };
    assert_eq!(form["redirect_uri"], grant.redirect_uri);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(form["code_verifier"].as_bytes()));
    if challenge != grant.challenge {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "PKCE verification failed",
        );
    }
    let b = idp.behavior.lock().unwrap().clone();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": idp.issuer,
        "sub": format!("sub-{}", b.email),
        "aud": b.aud,
        "iat": now,
        "exp": now + b.exp_in,
        "nonce": b.nonce.unwrap_or(grant.nonce),
        "email": b.email,
        "email_verified": true,
        "groups": b.groups,
    });
    let mut head = Header::new(b.alg);
    head.kid = Some(b.kid.clone());
    let key = if b.forged {
        &idp.forger
    } else {
        &idp.keys[&b.kid].1
    };
    let id_token = jsonwebtoken::encode(&head, &claims, key).unwrap();
    axum::Json(json!({
        "access_token": "at",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

/// Evident serving its real router on a port, configured for the provider.
struct Server {
    _dir: tempfile::TempDir,
    node: Arc<Evident>,
    base: String,
    http: reqwest::Client,
}

async fn server(idp: Option<&Idp>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/oidc").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    if let Some(idp) = idp {
        let mut cfg = std::fs::read_to_string(data.config_path()).unwrap();
        cfg.push_str(&format!(
            r#"
[auth.oidc]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
redirect_url = "{base}/auth/oidc/callback"
scopes = ["openid", "email", "groups"]

[auth.oidc.roles]
"evident-admins" = "admin"
"evident-analysts" = "analyst"
"evident-auditors" = "auditor"
"#,
            issuer = idp.issuer
        ));
        std::fs::write(data.config_path(), cfg).unwrap();
    }
    let node = Arc::new(Evident::open(&data).unwrap());
    let router = app(node.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Server {
        _dir: dir,
        node,
        base,
        http,
    }
}

/// A response, read whole.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }

    fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The value `name` is set to by this response.
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().iter().find_map(|c| {
            let (k, rest) = c.split_once('=')?;
            (k == name).then(|| rest.split(';').next().unwrap_or("").to_owned())
        })
    }

    /// The refusal page's reason, unescaped.
    fn reason(&self) -> String {
        let start = self.body.find("<p id=\"reason\">").expect(&self.body) + 15;
        let end = start + self.body[start..].find("</p>").unwrap();
        self.body[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }
}

/// A sign-in stopped just before the browser returns to Evident.
struct Returning {
    callback: String,
    flow_cookie: String,
}

impl Server {
    async fn get(&self, url: &str, cookie: Option<&str>) -> Answer {
        let mut req = self.http.get(url);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        Answer {
            status: resp.status(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    /// Starts a sign-in at Evident and lets the provider answer; `tamper` may change the
    /// authorization request on its way (a man in the middle).
    async fn to_provider_and_back(
        &self,
        path: &str,
        tamper: impl FnOnce(&mut String),
    ) -> Returning {
        let start = self.get(&format!("{}{path}", self.base), None).await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
        let flow = start.cookie("evident_oidc").unwrap();
        let mut authorize = start.location().to_owned();
        tamper(&mut authorize);
        let idp = self.get(&authorize, None).await;
        assert_eq!(idp.status, StatusCode::FOUND);
        Returning {
            callback: idp.location().to_owned(),
            flow_cookie: format!("evident_oidc={flow}"),
        }
    }

    async fn finish(&self, r: &Returning) -> Answer {
        self.get(&r.callback, Some(&r.flow_cookie)).await
    }

    /// The access audit entries so far, as (actor, outcome, detail, role).
    fn logins(&self) -> Vec<(String, String, Option<String>, Option<String>)> {
        self.node
            .db
            .audit_rows(ACCESS_AUDIT_KIND, None)
            .unwrap()
            .iter()
            .map(|row| {
                let e: Value = serde_json::from_str(&row.body).unwrap();
                let s = |p: &str| e.pointer(p).and_then(Value::as_str).map(str::to_owned);
                assert_eq!(s("/evident/access/action").as_deref(), Some("login"));
                assert_eq!(s("/evident/access/target").as_deref(), Some("oidc"));
                assert_eq!(s("/src_endpoint/ip").as_deref(), Some("127.0.0.1"));
                (
                    s("/actor/user/name").unwrap(),
                    s("/evident/access/outcome").unwrap(),
                    s("/evident/access/detail"),
                    s("/evident/actor/role"),
                )
            })
            .collect()
    }

    async fn whoami(&self, session: &str) -> (StatusCode, Value) {
        let a = self
            .get(
                &format!("{}/api/v1/session", self.base),
                Some(&format!("evident_session={session}")),
            )
            .await;
        (a.status, serde_json::from_str(&a.body).unwrap())
    }
}

#[tokio::test]
async fn es256_sign_in_starts_a_session_with_the_highest_mapped_role() {
    let idp = Idp::start().await;
    let s = server(Some(&idp)).await;
    idp.behave(Behavior {
        groups: vec![
            "evident-auditors".into(),
            "evident-analysts".into(),
            "staff".into(),
        ],
        ..Behavior::default()
    });
    let back = s
        .to_provider_and_back("/auth/oidc/login?next=/api/v1/cases", |_| {})
        .await;
    let done = s.finish(&back).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/api/v1/cases");
    let session = done.cookie("evident_session").unwrap();
    let set = done.cookies();
    assert!(set.contains(&format!(
        "evident_session={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
    )));
    assert!(
        set.contains(
            &"evident_oidc=; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0".to_owned()
        )
    );
    let (status, me) = s.whoami(&session).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"], "alice@example.com");
    assert_eq!(me["role"], "analyst");
    let user = s.node.db.user("alice@example.com").unwrap().unwrap();
    assert_eq!(user.auth, evident_store::AuthMethod::Oidc);
    assert_eq!(
        s.logins(),
        vec![(
            "alice@example.com".into(),
            "success".into(),
            None,
            Some("analyst".into())
        )]
    );

    // The same answer again (a replayed callback URL) is refused: the state is spent.
    let replay = s.finish(&back).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        replay.reason(),
        "unknown or already used sign-in state; start again at /auth/oidc/login"
    );
    assert_eq!(replay.cookie("evident_session"), None);
    assert_eq!(s.logins().len(), 2);
    assert_eq!(s.logins()[1].1, "denied");

    // A second sign-in reuses the cached discovery document and keys.
    let again = s.to_provider_and_back("/auth/oidc/login", |_| {}).await;
    let done = s.finish(&again).await;
    assert_eq!(done.location(), "/");
    assert_eq!(*idp.discovery_hits.lock().unwrap(), 1);
    assert_eq!(*idp.jwks_hits.lock().unwrap(), 1);
}

#[tokio::test]
async fn rs256_tokens_verify_and_rotated_keys_are_fetched_again() {
    let idp = Idp::start().await;
    let s = server(Some(&idp)).await;
    idp.behave(Behavior {
        email: "root@example.com".into(),
        groups: vec!["evident-auditors".into(), "evident-admins".into()],
        alg: Algorithm::RS256,
        kid: "rs-1".into(),
        ..Behavior::default()
    });
    let done = s
        .finish(&s.to_provider_and_back("/auth/oidc/login", |_| {}).await)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (_, me) = s.whoami(&done.cookie("evident_session").unwrap()).await;
    assert_eq!(
        (me["user"].as_str(), me["role"].as_str()),
        (Some("root@example.com"), Some("admin"))
    );

    // The provider starts signing with a key Evident has not seen: one JWKS fetch more.
    idp.rotate();
    idp.behave(Behavior {
        kid: "es-2".into(),
        ..Behavior::default()
    });
    let done = s
        .finish(&s.to_provider_and_back("/auth/oidc/login", |_| {}).await)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(*idp.jwks_hits.lock().unwrap(), 2);
    let outcomes: Vec<_> = s.logins().into_iter().map(|l| (l.0, l.1, l.3)).collect();
    assert_eq!(
        outcomes,
        vec![
            (
                "root@example.com".into(),
                "success".into(),
                Some("admin".into())
            ),
            (
                "alice@example.com".into(),
                "success".into(),
                Some("analyst".into())
            ),
        ]
    );
}

/// How a refused sign-in goes wrong.
enum Attack {
    Behave(Behavior),
    WrongState,
    OtherBrowser,
    PkceSwap,
}

#[tokio::test]
async fn each_refusal_has_its_exact_message_status_and_audit_entry() {
    let idp = Idp::start().await;
    let s = server(Some(&idp)).await;
    let b = Behavior::default;
    let cases: Vec<(&str, Attack, StatusCode, &str, String)> = vec![
        (
            "wrong state",
            Attack::WrongState,
            StatusCode::BAD_REQUEST,
            "unknown",
            "unknown or already used sign-in state; start again at /auth/oidc/login".into(),
        ),
        (
            "another browser's callback",
            Attack::OtherBrowser,
            StatusCode::BAD_REQUEST,
            "unknown",
            "this sign-in was started in another browser (no matching evident_oidc cookie); start again at /auth/oidc/login".into(),
        ),
        (
            "wrong nonce",
            Attack::Behave(Behavior {
                nonce: Some("someone-elses-nonce".into()),
                ..b()
            }),
            StatusCode::UNAUTHORIZED,
            "unknown",
            "the ID token's nonce does not match this sign-in (a replayed token?)".into(),
        ),
        (
            "expired token",
            Attack::Behave(Behavior {
                exp_in: -120,
                ..b()
            }),
            StatusCode::UNAUTHORIZED,
            "unknown",
            "the ID token has expired".into(),
        ),
        (
            "wrong audience",
            Attack::Behave(Behavior {
                aud: "another-app".into(),
                ..b()
            }),
            StatusCode::UNAUTHORIZED,
            "unknown",
            "the ID token is for another client: its audience does not include \"evident-client\"".into(),
        ),
        (
            "bad signature",
            Attack::Behave(Behavior {
                forged: true,
                ..b()
            }),
            StatusCode::UNAUTHORIZED,
            "unknown",
            "the ID token's signature does not verify against the identity provider's keys".into(),
        ),
        (
            "PKCE mismatch",
            Attack::PkceSwap,
            StatusCode::UNAUTHORIZED,
            "unknown",
            "the identity provider refused the authorization code: invalid_grant (PKCE verification failed)".into(),
        ),
        (
            "provider refused",
            Attack::Behave(Behavior { deny: true, ..b() }),
            StatusCode::UNAUTHORIZED,
            "unknown",
            "the identity provider refused the sign-in: access_denied (user cancelled)".into(),
        ),
        (
            "unmapped group",
            Attack::Behave(Behavior {
                email: "bob@example.com".into(),
                groups: vec!["contractors".into()],
                ..b()
            }),
            StatusCode::FORBIDDEN,
            "bob@example.com",
            "bob@example.com is in no group mapped to an Evident role (groups: contractors); an admin maps groups to roles in [auth.oidc.roles]".into(),
        ),
    ];
    let total = cases.len();
    for (i, (name, attack, status, actor, message)) in cases.into_iter().enumerate() {
        idp.behave(b());
        let answer = match attack {
            Attack::Behave(behavior) => {
                idp.behave(behavior);
                s.finish(&s.to_provider_and_back("/auth/oidc/login", |_| {}).await)
                    .await
            }
            Attack::WrongState => {
                let mut r = s.to_provider_and_back("/auth/oidc/login", |_| {}).await;
                let at = r.callback.find("state=").unwrap();
                r.callback.replace_range(at.., "state=forged");
                s.finish(&r).await
            }
            Attack::OtherBrowser => {
                let mut r = s.to_provider_and_back("/auth/oidc/login", |_| {}).await;
                // The attacker's own, valid, flow cookie does not match this state.
                let theirs = s.to_provider_and_back("/auth/oidc/login", |_| {}).await;
                r.flow_cookie = theirs.flow_cookie;
                s.finish(&r).await
            }
            Attack::PkceSwap => {
                let r = s
                    .to_provider_and_back("/auth/oidc/login", |url| {
                        let at = url.find("code_challenge=").unwrap() + 15;
                        let end = at + url[at..].find('&').unwrap();
                        url.replace_range(
                            at..end,
                            &URL_SAFE_NO_PAD.encode(Sha256::digest(b"mine")),
                        );
                    })
                    .await;
                s.finish(&r).await
            }
        };
        assert_eq!(answer.status, status, "{name}: {}", answer.body);
        assert_eq!(answer.reason(), message, "{name}");
        assert_eq!(answer.cookie("evident_session"), None, "{name}");
        let logins = s.logins();
        assert_eq!(logins.len(), i + 1, "{name}: one audit entry per attempt");
        assert_eq!(
            logins[i],
            (actor.to_owned(), "denied".to_owned(), Some(message), None),
            "{name}"
        );
    }
    assert!(s.node.db.user("bob@example.com").unwrap().is_none());
    let counted = s
        .node
        .counters
        .rejected_unauthorized
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(counted, total as u64);
}

#[tokio::test]
async fn without_auth_oidc_the_routes_say_sso_is_not_configured() {
    let s = server(None).await;
    let a = s.get(&format!("{}/auth/oidc/login", s.base), None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        a.reason(),
        "single sign-on is not configured: an admin adds [auth.oidc] to evident.toml"
    );
    let a = s
        .get(
            &format!("{}/auth/oidc/callback?code=x&state=y", s.base),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // The sign-in page offers only the password form.
    let page = s.get(&format!("{}/login", s.base), None).await;
    assert!(!page.body.contains("/auth/oidc/login"), "{}", page.body);
}

#[tokio::test]
async fn the_sign_in_page_offers_sso_when_it_is_configured() {
    let idp = Idp::start().await;
    let s = server(Some(&idp)).await;
    let page = s.get(&format!("{}/login?next=/alerts", s.base), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"<a id="sso" href="/auth/oidc/login?next=%2Falerts">"#),
        "{}",
        page.body
    );
}
