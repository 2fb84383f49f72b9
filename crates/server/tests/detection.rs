//! Detection in the server: the pipeline evaluates every ledger entry, stores alerts with
//! the watermark, keeps folding repeats into the open alert across a restart, and the
//! change-ticket and alert API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use evident_ledger::{Entry, EntryKind};
use evident_model::Format;
use evident_server::{DataDir, Evident, Pipeline, app, detector_for};
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2026-11-26T10:00:00Z
const T0_MS: i64 = 1_795_687_200_000;

fn node() -> (tempfile::TempDir, Evident) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/detection").unwrap();
    let node = Evident::open(&data).unwrap();
    node.db
        .add_source(&"okta".parse().unwrap(), Format::Okta)
        .unwrap();
    (dir, node)
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn failed_login(i: i64, t: i64) -> Entry {
    let body = json!({"uuid": format!("f{i}"), "published": iso(t), "eventType": "user.session.start",
        "displayMessage": "User login to Okta", "actor": {"alternateId": format!("u{i}@example.com"), "type": "User"},
        "client": {"ipAddress": "203.0.113.9"}, "outcome": {"result": "FAILURE"}, "version": "0",
        "legacyEventType": "core.user_auth.login_failed"});
    entry(body, t)
}

fn group_add(user: &str, group: &str, t: i64) -> Entry {
    let body = json!({"uuid": format!("g-{user}"), "published": iso(t), "eventType": "group.user_membership.add",
        "displayMessage": "Add user to group membership", "actor": {"alternateId": "it-admin@example.com", "type": "User"},
        "target": [{"type": "User", "alternateId": user, "displayName": user},
                   {"type": "UserGroup", "displayName": group}],
        "outcome": {"result": "SUCCESS"}, "version": "0"});
    entry(body, t)
}

fn entry(body: Value, t: i64) -> Entry {
    Entry {
        kind: EntryKind::Log,
        received_at_ns: t as u64 * 1_000_000,
        source: "okta".into(),
        metadata: vec![],
        body: body.to_string().into_bytes(),
    }
}

fn pipeline(node: &Evident) -> Pipeline {
    Pipeline::new(Default::default()).with_detector(detector_for(&node.config, &node.db).unwrap())
}

fn alerts_of(node: &Evident, rule_title_prefix: &str) -> Vec<Value> {
    node.db
        .alerts(100, None)
        .unwrap()
        .into_iter()
        .map(|r| r.alert)
        .filter(|a| {
            a["rule_title"]
                .as_str()
                .unwrap()
                .starts_with(rule_title_prefix)
        })
        .collect()
}

#[test]
fn brute_force_alerts_once_and_repeats_fold_in_across_a_restart() {
    let (_dir, node) = node();
    node.ledger
        .append(
            (0..10)
                .map(|i| failed_login(i, T0_MS + i * 20_000))
                .collect(),
        )
        .unwrap();
    let mut p = pipeline(&node);
    assert_eq!(p.catch_up(&node.ledger, &node.db).unwrap(), 10);
    let got = alerts_of(&node, "Brute force");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["count"], 1);
    assert_eq!(got[0]["group"], json!({"src_endpoint.ip": "203.0.113.9"}));
    let indexes: Vec<u64> = got[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ledger_index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..10).collect::<Vec<u64>>());
    assert_eq!(got[0]["tsc"], json!(["CC6.1", "CC7.2"]));
    assert_eq!(got[0]["author"], "Evident");

    // A restart: a fresh pipeline learns the open alert (correlation windows start empty:
    // they are not persisted); ten more failures fire again and fold into it.
    drop(p);
    node.ledger
        .append(
            (10..20)
                .map(|i| failed_login(i, T0_MS + 200_000 + i * 1000))
                .collect(),
        )
        .unwrap();
    let mut p = pipeline(&node);
    assert_eq!(p.catch_up(&node.ledger, &node.db).unwrap(), 10);
    let got = alerts_of(&node, "Brute force");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["count"], 2);
}

#[test]
fn a_privilege_grant_alerts_unless_a_stored_ticket_covers_it() {
    let (_dir, node) = node();
    node.db
        .add_change_ticket(
            "CHG-1",
            &json!({"id": "CHG-1", "status": "approved", "target": "bob@example.com",
                    "group": "Super Admins", "start": iso(T0_MS - 3_600_000), "end": iso(T0_MS + 3_600_000)}),
        )
        .unwrap();
    node.ledger
        .append(vec![
            group_add("bob@example.com", "Super Admins", T0_MS),
            group_add("carol@example.com", "Super Admins", T0_MS + 60_000),
        ])
        .unwrap();
    let mut p = pipeline(&node);
    assert_eq!(p.catch_up(&node.ledger, &node.db).unwrap(), 2);
    let got = alerts_of(&node, "User added to a high-privilege group");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["group"]["user"], "carol@example.com");
    assert_eq!(got[0]["events"], json!([{"ledger_index": 1}]));
}

async fn call(router: axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn change_tickets_and_alerts_over_the_api() {
    let (_dir, node) = node();
    let token = node
        .db
        .create_api_token("ops", evident_model::Role::Analyst, None)
        .unwrap();
    let node = Arc::new(node);
    let post = |uri: &str, body: Value, auth: Option<&str>| {
        let mut b = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = auth {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        b.body(Body::from(body.to_string())).unwrap()
    };
    let ticket = json!({"id": "CHG-123", "status": "approved", "actor": "it-admin@example.com",
        "target": "bob@example.com", "group": "Super Admins",
        "start": "2026-11-26T10:00:00Z", "end": "2026-11-26T12:00:00Z"});
    let (status, body) = call(
        app(node.clone()),
        post("/api/v1/change-tickets", ticket.clone(), None),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "missing_credentials");
    let (status, body) = call(
        app(node.clone()),
        post("/api/v1/change-tickets", ticket, Some(&token)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body, json!({"id": "CHG-123", "seq": 1}));
    let bad = json!({"id": "CHG-9", "status": "approved", "target": "x", "start": "soon", "end": "2026-11-26T12:00:00Z"});
    let (status, body) = call(
        app(node.clone()),
        post("/api/v1/change-tickets", bad, Some(&token)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_ticket");
    assert_eq!(
        body["error"]["message"],
        "invalid change ticket: `start` \"soon\" is not an RFC 3339 time: premature end of input"
    );

    let jira = json!({"webhookEvent": "jira:issue_updated", "user": {"emailAddress": "cab@example.com"},
        "issue": {"key": "CHG-200", "fields": {"customfield_10100": "dave@example.com",
            "customfield_10102": "2026-11-26T10:00:00Z", "customfield_10103": "2026-11-26T11:00:00Z"}},
        "changelog": {"items": [{"field": "status", "toString": "Approved"}]}});
    let uri = format!("/api/v1/integrations/jira/webhook?token={token}");
    let (status, body) = call(app(node.clone()), post(&uri, jira.clone(), None)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body, json!({"id": "CHG-200", "seq": 2}));
    let mut comment = jira;
    comment["changelog"] = json!({"items": [{"field": "comment", "toString": "hi"}]});
    let (status, _) = call(app(node.clone()), post(&uri, comment, None)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let stored = node.db.change_tickets_after(0).unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].1["target"], "dave@example.com");
    assert_eq!(stored[1].1["actor"], "cab@example.com");

    node.ledger
        .append((0..10).map(|i| failed_login(i, T0_MS + i * 1000)).collect())
        .unwrap();
    pipeline(&node).catch_up(&node.ledger, &node.db).unwrap();
    let req = Request::get("/api/v1/alerts?limit=10")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, body) = call(app(node.clone()), req).await;
    assert_eq!(status, StatusCode::OK);
    let alerts = body["alerts"].as_array().unwrap();
    let stored = node.db.alert_count().unwrap() as usize;
    assert_eq!(alerts.len(), stored);
    let brute: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule_title"].as_str().unwrap().starts_with("Brute force"))
        .collect();
    assert_eq!(brute.len(), 1);
    assert_eq!(brute[0]["severity"], "High");
    assert_eq!(body["next_cursor"], Value::Null);
    // Pages of one: the cursor walks every alert once, newest first.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let req = Request::get(format!("/api/v1/alerts?limit=1{cursor}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let (_, page) = call(app(node.clone()), req).await;
        for a in page["alerts"].as_array().unwrap() {
            seen.push(a["id"].as_i64().unwrap());
        }
        match page["next_cursor"].as_i64() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let mut want: Vec<i64> = (1..=stored as i64).rev().collect();
    want.dedup();
    assert_eq!(seen, want);
}
