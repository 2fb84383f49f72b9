//! Access control (issue 7): the route × role matrix walked over every declared route,
//! credentials that must fail (none, ingest, expired, revoked), lockout, session fixation,
//! CSRF, security headers, and the meta-audit entry each action leaves.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use evident_model::{Format, Role};
use evident_server::auth::{Access, ROUTES};
use evident_server::{DataDir, Evident, Intake, app_with_intake};
use evident_store::NewUser;
use serde_json::{Value, json};
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";

struct Fixture {
    _dir: tempfile::TempDir,
    node: Arc<Evident>,
    intake: Intake,
    ingest_token: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/access").unwrap();
    let node = Evident::open(&data).unwrap();
    let ingest_token = node
        .db
        .add_source(&"app".parse().unwrap(), Format::JsonApp)
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    for role in Role::ALL {
        let window = (role == Role::Auditor).then_some((now - 86_400_000, now + 86_400_000));
        node.db
            .create_user(
                &NewUser {
                    username: role.as_str(),
                    role,
                    password: Some(PASSWORD),
                    window,
                },
                now,
            )
            .unwrap();
    }
    let intake = Intake::new(node.config.ingest.queue_records);
    Fixture {
        _dir: dir,
        node: Arc::new(node),
        intake,
        ingest_token,
    }
}

impl Fixture {
    fn router(&self) -> Router {
        app_with_intake(self.node.clone(), self.intake.clone()).layer(MockConnectInfo(
            std::net::SocketAddr::from(([10, 0, 0, 7], 40000)),
        ))
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let resp = self.router().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, headers, body)
    }

    fn token(&self, role: Role) -> String {
        self.node
            .db
            .create_api_token(&format!("t-{role}"), role, None)
            .unwrap()
    }

    async fn login(&self, user: &str, password: &str) -> (StatusCode, HeaderMap, Value) {
        self.send(
            Request::post("/api/v1/session")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"username": user, "password": password}).to_string(),
                ))
                .unwrap(),
        )
        .await
    }

    /// The access audit rows' events, oldest first.
    fn access_events(&self) -> Vec<Value> {
        self.node
            .db
            .audit_rows("access", None)
            .unwrap()
            .into_iter()
            .map(|r| serde_json::from_str(&r.body).unwrap())
            .collect()
    }
}

/// The error codes the access middleware refuses with.
const MIDDLEWARE_REFUSALS: [&str; 5] = [
    "missing_credentials",
    "invalid_token",
    "session_expired",
    "forbidden",
    "undeclared_route",
];

/// A concrete path for a route pattern.
fn concrete(pattern: &str) -> String {
    pattern
        .replace("{id}", "1")
        .replace("{name}", "nobody")
        .replace("{source}", "app")
        .replace("{*path}", "0/000")
}

fn request(method: &Method, path: &str, bearer: Option<&str>) -> Request<Body> {
    let mut r = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = bearer {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(Body::from("{}")).unwrap()
}

#[tokio::test]
async fn every_route_allows_exactly_the_roles_the_matrix_gives_it() {
    let f = fixture();
    let tokens: Vec<(Role, String)> = Role::ALL.into_iter().map(|r| (r, f.token(r))).collect();
    let mut checked = 0;
    for route in ROUTES {
        let path = concrete(route.path);
        let needed = match route.access {
            Access::Api(p) | Access::Page(p) => Some(p),
            _ => None,
        };
        // Without credentials: only public routes answer.
        let (status, headers, body) = f.send(request(&route.method, &path, None)).await;
        match route.access {
            // Public routes may refuse bad input (a wrong password), never for lack of
            // credentials.
            Access::Public => assert!(
                !MIDDLEWARE_REFUSALS.contains(&body["error"]["code"].as_str().unwrap_or("")),
                "{} {path}: public route answered {status} {body}",
                route.method
            ),
            Access::Page(_) => {
                assert_eq!(status, StatusCode::SEE_OTHER, "{} {path}", route.method);
                assert!(
                    headers[header::LOCATION]
                        .to_str()
                        .unwrap()
                        .starts_with("/login?next="),
                    "{path}"
                );
            }
            _ => assert_eq!(status, StatusCode::UNAUTHORIZED, "{} {path}", route.method),
        }
        if matches!(route.access, Access::Public | Access::Ingest) {
            continue;
        }
        // An ingest credential is write-only: it reads nothing.
        let (status, _, _) = f
            .send(request(&route.method, &path, Some(&f.ingest_token)))
            .await;
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::SEE_OTHER,
            "{} {path} with an ingest token: {status}",
            route.method
        );
        for (role, token) in &tokens {
            let (status, _, body) = f.send(request(&route.method, &path, Some(token))).await;
            let allowed = needed.is_none_or(|p| role.allows(p));
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{} {path} as {role}: {status} {body}",
                    route.method
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{} {path} as {role}",
                    route.method
                );
                assert_eq!(body["error"]["code"], "forbidden");
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 4 * 25,
        "walked only {checked} route × role pairs"
    );
}

#[tokio::test]
async fn only_health_the_public_log_and_sign_in_answer_strangers() {
    let public: Vec<String> = ROUTES
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let allowed = [
        "GET /healthz",
        "GET /log/checkpoint",
        "GET /log/tile/{*path}",
        "POST /api/v1/session",
        "GET /services/collector/health",
        "GET /services/collector/health/1.0",
        "GET /login",
        "POST /login",
        "GET /auth/oidc/login",
        "GET /auth/oidc/callback",
    ];
    for p in &public {
        let static_asset = p.starts_with("GET /assets/");
        assert!(
            static_asset || allowed.contains(&p.as_str()),
            "{p} answers without credentials"
        );
    }
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused_with_the_reason() {
    let f = fixture();
    let now = chrono::Utc::now().timestamp_millis();
    let expired = f
        .node
        .db
        .create_api_token("old", Role::Admin, Some(now - 1000))
        .unwrap();
    let revoked = f
        .node
        .db
        .create_api_token("gone", Role::Admin, None)
        .unwrap();
    f.node.db.revoke_api_token("gone", now).unwrap();
    let (status, _, body) = f
        .send(request(&Method::GET, "/api/v1/sources", Some(&expired)))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the API token \"old\" expired at "),
        "{body}"
    );
    let (status, _, body) = f
        .send(request(&Method::GET, "/api/v1/sources", Some(&revoked)))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the API token \"gone\" was revoked at "),
        "{body}"
    );
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_and_each_attempt_is_audited() {
    let f = fixture();
    for _ in 0..4 {
        let (status, _, body) = f.login("analyst", "wrong password!!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["message"], "wrong username or password");
    }
    let (_, _, body) = f.login("analyst", "wrong password!!").await;
    assert_eq!(body["error"]["code"], "locked");
    let (status, _, body) = f.login("analyst", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "locked");
    let events = f.access_events();
    assert_eq!(events.len(), 6);
    for e in &events {
        assert_eq!(e["class_uid"], 3002);
        assert_eq!(e["user"]["name"], "analyst");
        assert_eq!(e["status"], "Failure");
        assert_eq!(e["src_endpoint"]["ip"], "10.0.0.7");
    }
    assert!(
        events[5]["status_detail"]
            .as_str()
            .unwrap()
            .starts_with("account locked after 5 failed logins")
    );
}

fn session_cookie(headers: &HeaderMap) -> String {
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn login_issues_a_new_session_so_a_planted_one_is_never_promoted() {
    let f = fixture();
    let planted = "evident_session=evd_attacker_chosen";
    let (status, headers, body) = f
        .send(
            Request::post("/api/v1/session")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::COOKIE, planted)
                .body(Body::from(
                    json!({"username": "analyst", "password": PASSWORD}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = session_cookie(&headers);
    assert_ne!(cookie, planted);
    let whoami = |c: &str| {
        Request::get("/api/v1/session")
            .header(header::COOKIE, c)
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, _) = f.send(whoami(planted)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, me) = f.send(whoami(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["user"].as_str(), me["role"].as_str()),
        (Some("analyst"), Some("analyst"))
    );
    // Logout ends it server-side, not only in the browser.
    let (status, _, _) = f
        .send(
            Request::delete("/api/v1/session")
                .header(header::COOKIE, &cookie)
                .header("x-csrf-token", body["csrf"].as_str().unwrap())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = f.send(whoami(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let actions: Vec<(String, String)> = f
        .access_events()
        .iter()
        .map(|e| {
            (
                e["evident"]["access"]["action"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                e["evident"]["access"]["outcome"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("login".to_owned(), "success".to_owned()),
            ("logout".to_owned(), "success".to_owned())
        ]
    );
}

#[tokio::test]
async fn cookie_changes_need_the_csrf_token() {
    let f = fixture();
    let (_, headers, body) = f.login("analyst", PASSWORD).await;
    let cookie = session_cookie(&headers);
    let csrf = body["csrf"].as_str().unwrap().to_owned();
    let new_case = |token: Option<&str>| {
        let mut r = Request::post("/api/v1/cases")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            r = r.header("x-csrf-token", t);
        }
        r.body(Body::from(
            json!({"title": "Suspicious login", "severity": "high"}).to_string(),
        ))
        .unwrap()
    };
    for token in [None, Some("evd_wrong")] {
        let (status, _, body) = f.send(new_case(token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "csrf");
    }
    let (status, _, body) = f.send(new_case(Some(&csrf))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().unwrap();
    let history = f.node.db.case_history(id).unwrap();
    assert_eq!(history[0].record.actor, "analyst");
    // A form post carries it as a field.
    let (status, _, _) = f
        .send(
            Request::post("/api/v1/cases")
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={csrf}&title=x")))
                .unwrap(),
        )
        .await;
    assert_ne!(status, StatusCode::FORBIDDEN);
    // GETs need none.
    let (status, _, _) = f
        .send(
            Request::get("/api/v1/cases")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn auditors_are_read_only_and_bound_to_their_window() {
    let f = fixture();
    let (status, headers, body) = f.login("auditor", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = session_cookie(&headers);
    let (status, _, body) = f
        .send(
            Request::patch("/api/v1/cases/1")
                .header(header::COOKIE, &cookie)
                .header("x-csrf-token", body["csrf"].as_str().unwrap())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"]["message"],
        "auditor (auditor) lacks the write_cases permission for PATCH /api/v1/cases/{id}"
    );
    let now = chrono::Utc::now().timestamp_millis();
    f.node
        .db
        .create_user(
            &NewUser {
                username: "last-year",
                role: Role::Auditor,
                password: Some(PASSWORD),
                window: Some((now - 10 * 86_400_000, now - 5 * 86_400_000)),
            },
            now,
        )
        .unwrap();
    let (status, _, body) = f.login("last-year", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "outside_window");
    let denied = f.access_events().into_iter().last().unwrap();
    assert_eq!(denied["user"]["name"], "last-year");
    assert_eq!(denied["status"], "Failure");
}

#[tokio::test]
async fn each_admin_action_leaves_exactly_one_audit_entry_with_actor_action_target_outcome() {
    let f = fixture();
    let admin = f.token(Role::Admin);
    let post = |path: &str, body: Value| {
        Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (status, _, created) = f
        .send(post(
            "/api/v1/users",
            json!({"username": "carol", "role": "reviewer"}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["one_time_password"].as_str().unwrap().len(), 20);
    let (status, _, _) = f
        .send(post(
            "/api/v1/tokens",
            json!({"name": "ci", "role": "analyst"}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = f
        .send(
            Request::get("/api/v1/access/export?format=csv")
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let analyst = f.token(Role::Analyst);
    let (status, _, _) = f
        .send(request(&Method::GET, "/api/v1/users", Some(&analyst)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let summary: Vec<String> = f
        .access_events()
        .iter()
        .map(|e| {
            format!(
                "{} | {} | {} | {}",
                e["actor"]["user"]["name"].as_str().unwrap(),
                e["evident"]["access"]["action"].as_str().unwrap(),
                e["evident"]["access"]["target"].as_str().unwrap(),
                e["evident"]["access"]["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "token:t-admin | POST /api/v1/users | /api/v1/users | success",
            "token:t-admin | POST /api/v1/tokens | /api/v1/tokens | success",
            "token:t-admin | GET /api/v1/access/export | /api/v1/access/export?format=csv | success",
            "token:t-analyst | GET /api/v1/users | /api/v1/users | denied",
        ]
    );
}

#[tokio::test]
async fn access_entries_are_sealed_as_evident_events_and_detection_sees_them() {
    let f = fixture();
    for _ in 0..5 {
        f.login("reviewer", "not the password").await;
    }
    let sealed = evident_server::audit::seal_audit_trail(&f.node.ledger, &f.node.db).unwrap();
    assert_eq!(sealed, 5);
    let index = f.node.ledger.size() - 1;
    let entry = f.node.ledger.entry(index).unwrap();
    assert!(evident_server::system_events::is_system_event(&entry));
    let mut pipeline = evident_server::Pipeline::new(Default::default())
        .with_detector(evident_server::detector_for(&f.node.config, &f.node.db).unwrap());
    pipeline.catch_up(&f.node.ledger, &f.node.db).unwrap();
    let alerts = f.node.db.alerts(100, None).unwrap();
    let rules: Vec<&str> = alerts
        .iter()
        .map(|a| a.alert["rule_title"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["Repeated failed sign-ins to Evident"]);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let f = fixture();
    let (_, headers, _) = f.send(request(&Method::GET, "/healthz", None)).await;
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(headers.get("strict-transport-security").is_none());
}

#[test]
fn config_and_rule_changes_are_recorded_once_per_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/config").unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let cfg = std::fs::read_to_string(data.config_path()).unwrap();
    let rules_dirs = format!("rules_dirs = [{:?}]", rules.display().to_string());
    let cfg = cfg.replacen("rules_dirs = []", &rules_dirs, 1);
    std::fs::write(data.config_path(), cfg).unwrap();
    let config = data.config_path().display().to_string();
    let rule = rules.join("mine.yml").display().to_string();

    let node = Evident::open(&data).unwrap();
    use evident_server::auth::config_audit::record_if_changed;
    assert_eq!(
        record_if_changed(&node).unwrap(),
        Some(vec![format!("+{config}")])
    );
    assert_eq!(record_if_changed(&node).unwrap(), None);
    std::fs::write(&rule, "title: x\n").unwrap();
    assert_eq!(
        record_if_changed(&node).unwrap(),
        Some(vec![format!("+{rule}")])
    );
    std::fs::write(&rule, "title: y\n").unwrap();
    assert_eq!(
        record_if_changed(&node).unwrap(),
        Some(vec![format!("~{rule}")])
    );
    std::fs::remove_file(&rule).unwrap();
    assert_eq!(
        record_if_changed(&node).unwrap(),
        Some(vec![format!("-{rule}")])
    );
    // Each change is one sealed entry.
    let rows = node.db.audit_rows("access", None).unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.ledger_index.is_some()));
}
