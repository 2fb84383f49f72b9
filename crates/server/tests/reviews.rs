//! Log reviews: schedules across daylight-saving changes, due and overdue reviews (an
//! overdue one opens a case, once), and a sign-off through the API sealed in the ledger.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use evident_ledger::EntryKind;
use evident_server::reviews::{ReviewSchedule, tick_and_seal};
use evident_server::{DataDir, Evident, app};
use serde_json::{Value, json};
use tower::ServiceExt;

fn utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

fn schedule(every: &str, at: &str, tz: &str, start: &str) -> ReviewSchedule {
    ReviewSchedule {
        every: every.into(),
        at: at.into(),
        timezone: tz.into(),
        ..ReviewSchedule::weekly(start)
    }
}

#[test]
fn a_weekly_review_stays_at_nine_local_across_the_autumn_clock_change() {
    let s = schedule("week", "09:00", "Europe/Berlin", "2026-10-12");
    let due = s.due_times(utc("2026-11-03T00:00:00Z")).unwrap();
    assert_eq!(
        due,
        vec![
            utc("2026-10-19T07:00:00Z"), // CEST, UTC+2
            utc("2026-10-26T08:00:00Z"), // CET, UTC+1 (clocks went back on 25 October)
            utc("2026-11-02T08:00:00Z"),
        ]
    );
}

#[test]
fn a_time_skipped_by_the_spring_clock_change_moves_to_the_next_valid_minute() {
    let s = schedule("day", "02:30", "Europe/Berlin", "2026-03-27");
    let due = s.due_times(utc("2026-03-30T12:00:00Z")).unwrap();
    assert_eq!(
        due,
        vec![
            utc("2026-03-28T01:30:00Z"), // CET
            utc("2026-03-29T01:00:00Z"), // 02:30 does not exist; 03:00 CEST
            utc("2026-03-30T00:30:00Z"), // CEST
        ]
    );
}

#[test]
fn bad_schedules_name_the_field() {
    let mut s = schedule("fortnight", "09:00", "UTC", "2026-01-01");
    assert_eq!(
        s.validate().unwrap_err(),
        "reviews \"weekly log review\": every: \"fortnight\" is not day, week or month"
    );
    s.every = "week".into();
    s.timezone = "Mars/Olympus".into();
    assert_eq!(
        s.validate().unwrap_err(),
        "reviews \"weekly log review\": timezone: \"Mars/Olympus\" is not an IANA time zone"
    );
}

struct Fixture {
    _dir: tempfile::TempDir,
    node: Arc<Evident>,
    token: String,
}

fn fixture(start: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/reviews").unwrap();
    let cfg = std::fs::read_to_string(data.config_path()).unwrap();
    let cfg = cfg
        .lines()
        .map(|l| {
            // The review schedule's start date (business hours have a `start` time).
            if l.starts_with("start = \"20") {
                format!("start = \"{start}\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(data.config_path(), cfg).unwrap();
    let node = Evident::open(&data).unwrap();
    let token = node
        .db
        .create_api_token("rita", evident_model::Role::Reviewer, None)
        .unwrap();
    Fixture {
        _dir: dir,
        node: Arc::new(node),
        token,
    }
}

impl Fixture {
    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
            .unwrap();
        let router = app(self.node.clone()).layer(MockConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            1,
        ))));
        let resp = router.oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn due_reviews_are_created_once_overdue_ones_open_a_case_and_sign_off_is_sealed() {
    // `evident init` writes a weekly Monday 09:00 UTC review starting today; start it on a
    // Monday three weeks ago instead.
    let f = fixture("2026-11-02");
    let now = utc("2026-11-24T10:00:00Z"); // Tuesday
    // A case in the last review's period shows up in its packet.
    let opened = evident_model::CaseChange::Opened {
        title: "Root login".into(),
        severity: "High".into(),
        rule: None,
        group_key: "root".into(),
        alert: None,
    };
    f.node
        .db
        .open_case("evident", utc("2026-11-17T03:00:00Z"), opened, 0)
        .unwrap();
    let first = tick_and_seal(&f.node, now).unwrap();
    assert_eq!((first.scheduled, first.overdue_cases), (3, 2));
    let again = tick_and_seal(&f.node, now).unwrap();
    assert_eq!((again.scheduled, again.overdue_cases), (0, 0));
    let reviews = f.node.db.reviews().unwrap();
    let dues: Vec<i64> = reviews.iter().map(|r| r.due_at_ms).collect();
    assert_eq!(
        dues,
        vec![
            utc("2026-11-23T09:00:00Z"),
            utc("2026-11-16T09:00:00Z"),
            utc("2026-11-09T09:00:00Z"),
        ]
    );
    assert_eq!(reviews[1].period_start_ms, utc("2026-11-09T09:00:00Z"));
    assert_eq!(reviews[2].period_start_ms, utc("2026-11-02T00:00:00Z"));
    let cases = f.node.db.cases(evident_store::CaseFilter::Open).unwrap();
    let titles: Vec<&str> = cases
        .iter()
        .filter(|c| c.rule.as_deref() == Some("evident.review_overdue"))
        .map(|c| c.title.as_str())
        .collect();
    assert_eq!(
        titles,
        vec![
            "Log review overdue: weekly log review due 2026-11-16",
            "Log review overdue: weekly log review due 2026-11-09",
        ]
    );

    let (status, list) = f.call("GET", "/api/v1/reviews", None).await;
    assert_eq!(status, StatusCode::OK);
    let statuses: Vec<&str> = list["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    // The clock of the API is the real one: all three are past their grace by now.
    assert_eq!(statuses, vec!["overdue", "overdue", "overdue"]);
    let id = reviews[0].id;
    let (status, shown) = f.call("GET", &format!("/api/v1/reviews/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        shown["packet"]["period"],
        json!({"from_ms": utc("2026-11-16T09:00:00Z"), "to_ms": utc("2026-11-23T09:00:00Z")})
    );
    assert_eq!(shown["packet"]["cases"]["opened"], 1);
    assert_eq!(
        shown["packet"]["cases"]["opened_in_period"],
        json!([{"id": 1, "title": "Root login", "severity": "High", "stage": "triage"}])
    );

    let uri = format!("/api/v1/reviews/{id}/sign");
    let (status, body) = f.call("POST", &uri, Some(json!({"findings": ""}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"]["message"],
        format!(
            "review {id}: findings must not be empty (write what you checked and what you found)"
        )
    );
    let (status, body) = f
        .call(
            "POST",
            &uri,
            Some(json!({"findings": "two overdue reviews followed up", "follow_ups": ["OPS-7"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "signed");
    assert_eq!(body["signed"]["reviewer"], "token:rita");
    let (status, body) = f
        .call("POST", &uri, Some(json!({"findings": "again"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"]["message"],
        format!("review {id} was already signed off by token:rita")
    );

    // The case, the scheduling (3), the overdue cases (2) and the sign-off are sealed
    // audit entries, in order.
    let audit: Vec<Value> = (0..f.node.ledger.size())
        .map(|i| f.node.ledger.entry(i).unwrap())
        .filter(|e| e.kind == EntryKind::Audit)
        // Refused sign-offs are also access entries (outcome failure); this checks the trail.
        .filter(|e| {
            !e.metadata
                .iter()
                .any(|(k, v)| k == "audit" && v == "access")
        })
        .map(|e| serde_json::from_slice(&e.body).unwrap())
        .collect();
    let kinds: Vec<&str> = audit
        .iter()
        .map(|b| b["change"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "opened",
            "scheduled",
            "scheduled",
            "scheduled",
            "opened",
            "opened",
            "signed"
        ]
    );
    let signed = audit.last().unwrap();
    let stored = f.node.db.review(id).unwrap().unwrap();
    assert_eq!(
        signed["change"]["packet_sha256"],
        stored.signed.unwrap().packet_sha256
    );
}

#[test]
fn the_incident_response_plan_is_rendered_from_config_and_sealed_per_version() {
    let f = fixture("2026-11-02");
    let text = evident_server::ir_plan::render(&f.node).unwrap();
    assert!(text.starts_with("# Incident response plan — evident.test/reviews\n"));
    assert!(
        text.contains("| Critical | 15 minute(s) | 1 day(s) |\n| High | 1 hour(s) | 3 day(s) |\n")
    );
    assert!(text.contains("3. **containment** — Stop the spread"));
    assert!(text.contains("- weekly log review: every week at 09:00 (UTC), overdue after 2d"));
    assert_eq!(
        evident_server::ir_plan::record_if_changed(&f.node).unwrap(),
        Some(1)
    );
    assert_eq!(
        evident_server::ir_plan::record_if_changed(&f.node).unwrap(),
        None
    );
    // A new contact is a new version.
    let mut config = f.node.config.clone();
    config.ir_plan = evident_server::ir_plan::IrPlanConfig {
        organization: "Acme".into(),
        contacts: vec![evident_server::ir_plan::Contact {
            role: "Incident commander".into(),
            name: "Ines".into(),
            email: "ines@acme.test".into(),
            phone: String::new(),
        }],
        report_to: "security@acme.test".into(),
    };
    let node = Evident {
        config,
        ..Arc::try_unwrap(f.node).ok().unwrap()
    };
    let text = evident_server::ir_plan::render(&node).unwrap();
    assert!(text.contains("| Incident commander | Ines | ines@acme.test |  |"));
    assert_eq!(
        evident_server::ir_plan::record_if_changed(&node).unwrap(),
        Some(2)
    );
    let versions: Vec<Value> = (0..node.ledger.size())
        .map(|i| node.ledger.entry(i).unwrap())
        .filter(|e| {
            e.metadata
                .iter()
                .any(|(k, v)| k == "audit" && v == "ir_plan")
        })
        .map(|e| serde_json::from_slice(&e.body).unwrap())
        .collect();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["change"]["text"], text);
}
