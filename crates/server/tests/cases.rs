//! Cases through the API: the stage machine with exact refusals, every change sealed into
//! the ledger, a crash between append and seal repaired without a duplicate, and a
//! database edited behind Evident's back caught by the history cross-check.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use evident_ledger::{Entry, EntryKind};
use evident_model::CaseChange;
use evident_server::audit::seal_audit_trail;
use evident_server::cases::{check_case_history, open_case};
use evident_server::{DataDir, Evident, app};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    node: Arc<Evident>,
    token: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/cases").unwrap();
    let node = Evident::open(&data).unwrap();
    let token = node
        .db
        .create_api_token("analyst", evident_model::Role::Analyst, None)
        .unwrap();
    Fixture {
        _dir: dir,
        node: Arc::new(node),
        token,
    }
}

impl Fixture {
    fn router(&self) -> Router {
        app(self.node.clone()).layer(MockConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40000,
        ))))
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json");
        let req = req
            .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
            .unwrap();
        let resp = self.router().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn alert_case(&self, alert: i64, key: &str) -> i64 {
        let opened = CaseChange::Opened {
            title: "Brute force against okta".into(),
            severity: "High".into(),
            rule: Some("brute_force_failed_logins".into()),
            group_key: key.into(),
            alert: Some(alert),
        };
        open_case(&self.node.ledger, &self.node.db, "evident", opened)
            .unwrap()
            .0
            .id
    }

    fn audit_bodies(&self) -> Vec<Value> {
        (0..self.node.ledger.size())
            .map(|i| self.node.ledger.entry(i).unwrap())
            .filter(|e| e.kind == EntryKind::Audit)
            .map(|e| serde_json::from_slice(&e.body).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn a_case_walks_the_stages_through_the_api_and_every_change_is_in_the_ledger() {
    let f = fixture();
    let id = f.alert_case(1, "brute|10.0.0.1");
    assert_eq!(f.alert_case(2, "brute|10.0.0.1"), id, "same key joins");
    let uri = format!("/api/v1/cases/{id}");
    let steps = [
        json!({"type": "assigned", "assignee": "alice"}),
        json!({"type": "triaged", "disposition": "true_positive"}),
        json!({"type": "advanced", "to": "investigation"}),
        json!({"type": "action_taken", "description": "disabled bob in Okta"}),
        json!({"type": "advanced", "to": "containment"}),
        json!({"type": "advanced", "to": "eradication_recovery"}),
        json!({"type": "advanced", "to": "post_mortem"}),
        json!({"type": "post_mortem_recorded", "root_cause": "password reuse", "preventive_measures": "enforce MFA", "follow_ups": ["SEC-12"]}),
        json!({"type": "advanced", "to": "closed"}),
    ];
    for step in steps {
        let (status, body) = f.call("PATCH", &uri, Some(step.clone())).await;
        assert_eq!(status, StatusCode::OK, "{step}: {body}");
    }
    let (status, body) = f
        .call(
            "POST",
            &format!("{uri}/notes"),
            Some(json!({"text": "too late"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"]["message"],
        format!("case {id} is closed; a closed case does not change (open a new case instead)")
    );
    let (status, body) = f.call("GET", &uri, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["case"]["stage"], "closed");
    assert_eq!(body["tickets"], json!([]), "no integrations configured");
    assert_eq!(body["case"]["alerts"], json!([1, 2]));
    assert_eq!(body["case"]["assignee"], "alice");
    assert_eq!(body["case"]["sla"]["acknowledge_ms"], 3_600_000);
    assert_eq!(body["case"]["sla_breached"]["resolve"], false);
    let history = body["history"].as_array().unwrap();
    assert_eq!(history.len(), 11);
    assert_eq!(history[2]["record"]["actor"], "token:analyst");
    // Every history row is sealed, in order, as an audit entry with the same body.
    let audit = f.audit_bodies();
    assert_eq!(audit.len(), 11);
    for (i, row) in history.iter().enumerate() {
        assert_eq!(audit[i], row["record"]);
        assert_eq!(row["seal"], "sealed");
    }
    let check = check_case_history(&f.node.ledger, &f.node.db).unwrap();
    assert_eq!((check.cases, check.sealed_rows), (1, 11));
    assert!(check.findings.is_empty(), "{:?}", check.findings);
}

#[tokio::test]
async fn illegal_changes_are_refused_with_the_reason() {
    let f = fixture();
    let (status, body) = f
        .call(
            "POST",
            "/api/v1/cases",
            Some(json!({"title": "Lost laptop", "severity": "Medium"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = body["id"].as_i64().unwrap();
    let uri = format!("/api/v1/cases/{id}");
    let cases = [
        (
            json!({"type": "advanced", "to": "containment"}),
            StatusCode::CONFLICT,
            format!(
                "case {id} is in stage triage; it can only advance to investigation, not to containment"
            ),
        ),
        (
            json!({"type": "triaged", "disposition": "false_positive"}),
            StatusCode::CONFLICT,
            format!(
                "case {id}: a false_positive disposition closes the case and needs a justification"
            ),
        ),
        (
            json!({"type": "opened", "title": "x", "severity": "Low", "group_key": "k"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`opened` starts a case: POST /api/v1/cases instead".to_owned(),
        ),
    ];
    for (change, want_status, want_message) in cases {
        let (status, body) = f.call("PATCH", &uri, Some(change)).await;
        assert_eq!(status, want_status);
        assert_eq!(body["error"]["message"], want_message);
    }
    let (status, body) = f.call("GET", "/api/v1/cases/999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "no case 999");
    let (status, body) = f
        .call(
            "PATCH",
            &uri,
            Some(json!({"type": "triaged", "disposition": "benign", "justification": "owner confirmed"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["stage"], "closed");
    let (_, list) = f.call("GET", "/api/v1/cases?open=true", None).await;
    assert_eq!(list["cases"], json!([]));
    let (status, body) = f.call("GET", "/api/v1/cases?stage=nonsense", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "unknown stage \"nonsense\"; stages are triage, investigation, containment, eradication_recovery, post_mortem, closed"
    );
}

#[test]
fn a_crash_between_append_and_seal_is_repaired_without_a_second_entry() {
    let f = fixture();
    let id = f.alert_case(1, "k");
    let before = f.node.ledger.size();
    // Crash after the append but before the row was marked sealed: the row is `sealing`
    // and its entry is in the ledger.
    let row = f
        .node
        .db
        .change_case(
            id,
            "alice",
            5,
            &CaseChange::Noted { text: "hi".into() },
            before,
        )
        .unwrap();
    let unsealed = f.node.db.unsealed_audit_rows().unwrap();
    assert_eq!(unsealed.len(), 1);
    f.node.db.mark_audit_sealing(unsealed[0].id).unwrap();
    f.node
        .ledger
        .append(vec![Entry {
            kind: EntryKind::Audit,
            received_at_ns: 1,
            source: "evident".into(),
            metadata: vec![
                ("audit".into(), "case".into()),
                ("audit_record".into(), unsealed[0].id.to_string()),
            ],
            body: unsealed[0].body.clone().into_bytes(),
        }])
        .unwrap();
    assert_eq!(row.seq, 2);
    assert_eq!(seal_audit_trail(&f.node.ledger, &f.node.db).unwrap(), 0);
    assert_eq!(f.node.ledger.size(), before + 1);
    assert_eq!(
        f.node.db.case_history(id).unwrap()[1].ledger_index,
        Some(before)
    );
    // A `sealing` row whose append never happened is appended once.
    f.node
        .db
        .change_case(
            id,
            "alice",
            6,
            &CaseChange::Noted {
                text: "again".into(),
            },
            before + 1,
        )
        .unwrap();
    let r = f.node.db.unsealed_audit_rows().unwrap().remove(0);
    f.node.db.mark_audit_sealing(r.id).unwrap();
    assert_eq!(seal_audit_trail(&f.node.ledger, &f.node.db).unwrap(), 1);
    assert_eq!(f.node.ledger.size(), before + 2);
    let check = check_case_history(&f.node.ledger, &f.node.db).unwrap();
    assert!(check.findings.is_empty(), "{:?}", check.findings);
}

#[test]
fn a_database_edited_behind_evidents_back_is_caught() {
    let f = fixture();
    let id = f.alert_case(1, "k");
    f.node
        .db
        .change_case(
            id,
            "alice",
            5,
            &CaseChange::Triaged {
                disposition: evident_model::Disposition::FalsePositive,
                justification: Some("scanner".into()),
            },
            0,
        )
        .unwrap();
    seal_audit_trail(&f.node.ledger, &f.node.db).unwrap();
    let db_path = f.node.data.state_db_path();
    let conn = rusqlite::Connection::open(&db_path).unwrap();
    // Someone rewrites the justification in the history and reopens the case.
    conn.execute(
        "UPDATE audit_trail SET body = replace(body, 'scanner', 'approved test') WHERE seq = 2",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE cases SET state = replace(state, '\"stage\":\"closed\"', '\"stage\":\"triage\"')",
        [],
    )
    .unwrap();
    let check = check_case_history(&f.node.ledger, &f.node.db).unwrap();
    let messages: Vec<&str> = check.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].starts_with(&format!(
            "case {id} record 2 (history row 2) differs from what ledger entry 1 sealed: database has "
        )),
        "{}",
        messages[0]
    );
    assert_eq!(
        messages[1],
        format!(
            "case {id}: the stored case differs from its history (stored stage triage, history says closed; stored seq 2, history has 2)"
        )
    );
    // Deleting a sealed row is caught from the ledger side.
    conn.execute("DELETE FROM audit_trail WHERE seq = 2", [])
        .unwrap();
    let check = check_case_history(&f.node.ledger, &f.node.db).unwrap();
    assert!(
        check.findings.iter().any(|x| x.message
            == "ledger entry 1 seals case history record 2, which the database no longer has"),
        "{:?}",
        check.findings
    );
}
