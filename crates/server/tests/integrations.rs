//! Ticket integrations against local fake servers that implement the documented endpoints
//! (Jira Cloud REST v3, ServiceNow Table API, PagerDuty Events v2, a Slack incoming
//! webhook, a signed generic webhook) and check auth headers and request shapes: a case's
//! life produces exactly the expected requests; 429 with Retry-After and 5xx are retried;
//! a lost answer does not make a second ticket; a failing endpoint ends dead with its last
//! error; a restarted worker sends nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::State;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use evident_model::{CaseChange, Disposition, Stage};
use evident_server::cases::{change_case, open_case};
use evident_server::integrations::{IntegrationConfig, Outbox, Round};
use evident_server::{DataDir, Evident, app};
use evident_store::OutboxState;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use tower::ServiceExt;

const JIRA_AUTH: &str = "bot@acme.test:jira-token";
const SNOW_AUTH: &str = "evident:snow-pass";
const ROUTING_KEY: &str = "R0UT1NGKEY0000000000000000000000";
const SECRET: &str = "whsec-test";

/// One request the fake saw.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Value,
    raw: Bytes,
}

/// A scripted answer that replaces the normal one.
#[derive(Clone, Debug)]
enum Script {
    /// Answer with this status (and `Retry-After` seconds).
    Fail(u16, Option<u64>),
    /// Do the work, then answer 500 as if the answer was lost on the way.
    DoThenFail,
}

#[derive(Default)]
struct FakeState {
    seen: Vec<Seen>,
    scripts: HashMap<String, VecDeque<Script>>,
    jira_issues: Vec<(String, Vec<String>)>,
    snow_incidents: Vec<(String, String)>,
    broken: bool,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<FakeState>>);

impl Fake {
    async fn start() -> (Fake, String) {
        let fake = Fake::default();
        let router = Router::new().fallback(handle).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (fake, format!("http://{addr}"))
    }

    fn script(&self, method_path: &str, steps: &[Script]) {
        self.0
            .lock()
            .unwrap()
            .scripts
            .insert(method_path.to_owned(), steps.iter().cloned().collect());
    }

    fn seen(&self, prefix: &str) -> Vec<Seen> {
        self.0
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| s.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    fn calls(&self, prefix: &str) -> Vec<String> {
        self.seen(prefix)
            .iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect()
    }
}

fn basic(credentials: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

fn answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

async fn handle(
    State(fake): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let mut st = fake.0.lock().unwrap();
    st.seen.push(Seen {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or("").to_owned(),
        headers: headers.clone(),
        body: body.clone(),
        raw,
    });
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut lose_answer = false;
    if let Some(step) = st
        .scripts
        .get_mut(&format!("{method} {path}"))
        .and_then(VecDeque::pop_front)
    {
        match step {
            Script::Fail(status, retry_after) => {
                let mut resp = answer(status, json!({"error": "scripted"}));
                if let Some(s) = retry_after {
                    resp.headers_mut()
                        .insert(header::RETRY_AFTER, s.to_string().parse().unwrap());
                }
                return resp;
            }
            Script::DoThenFail => lose_answer = true,
        }
    }
    let resp = if path == "/broken" {
        if st.broken {
            answer(500, json!({"error": "boom"}))
        } else {
            answer(200, json!({}))
        }
    } else if let Some(rest) = path.strip_prefix("/jira/rest/api/3/") {
        if auth != basic(JIRA_AUTH) {
            return answer(401, json!({"errorMessages": ["unauthorized"]}));
        }
        jira(&mut st, &method, rest, &body, uri.query().unwrap_or(""))
    } else if let Some(rest) = path.strip_prefix("/snow/api/now/table/incident") {
        if auth != basic(SNOW_AUTH) || headers.get("accept").is_none() {
            return answer(401, json!({"error": {"message": "User Not Authenticated"}}));
        }
        servicenow(&mut st, &method, rest, &body, uri.query().unwrap_or(""))
    } else if path == "/pd/v2/enqueue" {
        let ok_action = matches!(
            body["event_action"].as_str(),
            Some("trigger" | "resolve" | "acknowledge")
        );
        let ok_trigger = body["event_action"] != "trigger"
            || (body["payload"]["summary"].is_string()
                && body["payload"]["source"].is_string()
                && matches!(
                    body["payload"]["severity"].as_str(),
                    Some("critical" | "error" | "warning" | "info")
                ));
        if body["routing_key"] != ROUTING_KEY || !ok_action || !ok_trigger {
            answer(
                400,
                json!({"status": "invalid event", "message": "Event object is invalid"}),
            )
        } else {
            answer(
                202,
                json!({"status": "success", "message": "Event processed", "dedup_key": body["dedup_key"]}),
            )
        }
    } else if path == "/slack/services/T0/B0/XYZ" {
        if body["text"].as_str().is_none_or(str::is_empty) || !body["blocks"].is_array() {
            (StatusCode::BAD_REQUEST, "invalid_payload").into_response()
        } else {
            (StatusCode::OK, "ok").into_response()
        }
    } else if path == "/hook" {
        answer(200, json!({"received": true}))
    } else {
        answer(404, json!({"error": "no such endpoint"}))
    };
    if lose_answer {
        return answer(500, json!({"error": "lost"}));
    }
    resp
}

fn jira(st: &mut FakeState, method: &Method, rest: &str, body: &Value, query: &str) -> Response {
    match (
        method.as_str(),
        rest.split('/').collect::<Vec<_>>().as_slice(),
    ) {
        ("POST", ["issue"]) => {
            let f = &body["fields"];
            let desc = &f["description"];
            if f["project"]["key"] != "SEC"
                || f["issuetype"]["name"] != "Task"
                || !f["summary"].is_string()
                || desc["type"] != "doc"
                || desc["version"] != 1
                || !desc["content"].is_array()
            {
                return answer(400, json!({"errors": {"fields": "invalid"}}));
            }
            let key = format!("SEC-{}", st.jira_issues.len() + 1);
            let labels = f["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_owned())
                .collect();
            st.jira_issues.push((key.clone(), labels));
            answer(
                201,
                json!({"id": "10001", "key": key, "self": format!("/rest/api/3/issue/{key}")}),
            )
        }
        ("GET", ["search", "jql"]) => {
            let jql: String = url_decode(query);
            let issues: Vec<Value> = st
                .jira_issues
                .iter()
                .filter(|(_, labels)| {
                    labels
                        .iter()
                        .any(|l| jql.contains(&format!("labels = \"{l}\"")) && l != "evident")
                })
                .map(|(k, _)| json!({"id": "10001", "key": k}))
                .collect();
            answer(200, json!({"issues": issues}))
        }
        ("POST", ["issue", key, "transitions"]) => {
            if !st.jira_issues.iter().any(|(k, _)| k == key)
                || !body["transition"]["id"].is_string()
            {
                return answer(404, json!({"errorMessages": ["Issue does not exist"]}));
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["issue", key, "comment"]) => {
            if !st.jira_issues.iter().any(|(k, _)| k == key) || body["body"]["type"] != "doc" {
                return answer(400, json!({"errorMessages": ["bad comment"]}));
            }
            answer(201, json!({"id": "1"}))
        }
        _ => answer(404, json!({"errorMessages": ["no such resource"]})),
    }
}

fn servicenow(
    st: &mut FakeState,
    method: &Method,
    rest: &str,
    body: &Value,
    query: &str,
) -> Response {
    match (method.as_str(), rest.trim_start_matches('/')) {
        ("POST", "") => {
            if !body["short_description"].is_string() || !body["correlation_id"].is_string() {
                return answer(400, json!({"error": {"message": "bad request"}}));
            }
            let sys_id = format!("{:032x}", st.snow_incidents.len() + 1);
            st.snow_incidents.push((
                sys_id.clone(),
                body["correlation_id"].as_str().unwrap().into(),
            ));
            answer(
                201,
                json!({"result": {"sys_id": sys_id, "number": "INC0010001"}}),
            )
        }
        ("GET", "") => {
            let q = url_decode(query);
            let result: Vec<Value> = st
                .snow_incidents
                .iter()
                .filter(|(_, corr)| q.contains(&format!("correlation_id={corr}&")))
                .map(|(id, _)| json!({"sys_id": id}))
                .collect();
            answer(200, json!({"result": result}))
        }
        ("PATCH", sys_id) => {
            if !st.snow_incidents.iter().any(|(id, _)| id == sys_id) {
                return answer(404, json!({"error": {"message": "No Record found"}}));
            }
            answer(200, json!({"result": {"sys_id": sys_id}}))
        }
        _ => answer(405, json!({"error": {"message": "method not allowed"}})),
    }
}

fn url_decode(q: &str) -> String {
    let q = q.replace('+', " ");
    let mut out = Vec::new();
    let b = q.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&q[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap() + "&"
}

fn integrations(base: &str, extra: &str) -> Vec<IntegrationConfig> {
    #[derive(serde::Deserialize)]
    struct Doc {
        integrations: Vec<IntegrationConfig>,
    }
    let text = format!(
        r#"
        [[integrations]]
        kind = "jira"
        name = "jira"
        base_url = "{base}/jira"
        email = "bot@acme.test"
        api_token = "jira-token"
        project = "SEC"
        on = ["opened", "advanced", "closed", "noted"]
        transitions = {{ investigation = "21", closed = "31" }}
        retry_initial = "50ms"
        [[integrations]]
        kind = "servicenow"
        name = "snow"
        base_url = "{base}/snow"
        username = "evident"
        password = "snow-pass"
        retry_initial = "50ms"
        [[integrations]]
        kind = "pagerduty"
        name = "pd"
        base_url = "{base}/pd"
        routing_key = "{ROUTING_KEY}"
        retry_initial = "50ms"
        [[integrations]]
        kind = "slack"
        name = "slack"
        url = "{base}/slack/services/T0/B0/XYZ"
        retry_initial = "50ms"
        [[integrations]]
        kind = "webhook"
        name = "hook"
        url = "{base}/hook"
        secret = "{SECRET}"
        retry_initial = "50ms"
        {extra}
        "#
    );
    let doc: Doc = toml::from_str(&text).unwrap();
    evident_server::integrations::validate(&doc.integrations).unwrap();
    doc.integrations
}

struct Fixture {
    _dir: tempfile::TempDir,
    node: Arc<Evident>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/integrations").unwrap();
    let node = Evident::open(&data).unwrap();
    Fixture {
        _dir: dir,
        node: Arc::new(node),
    }
}

impl Fixture {
    fn outbox(&self, configs: Vec<IntegrationConfig>) -> Outbox {
        Outbox::new(
            self.node.db.clone(),
            configs,
            "https://evident.acme.test/cases/{id}".into(),
        )
        .unwrap()
    }

    fn open(&self, alert: i64) -> i64 {
        let opened = CaseChange::Opened {
            title: "Brute force against sshd".into(),
            severity: "High".into(),
            rule: Some("ssh_brute_force".into()),
            group_key: format!("ssh_brute_force|{alert}"),
            alert: Some(alert),
        };
        open_case(&self.node.ledger, &self.node.db, "evident", opened)
            .unwrap()
            .0
            .id
    }

    fn change(&self, id: i64, change: CaseChange) {
        change_case(&self.node.ledger, &self.node.db, id, "alice", &change).unwrap();
    }

    /// Triage, every stage, a note, the post-mortem, closed.
    fn work_to_close(&self, id: i64) {
        self.change(
            id,
            CaseChange::Triaged {
                disposition: Disposition::TruePositive,
                justification: None,
            },
        );
        self.change(
            id,
            CaseChange::Advanced {
                to: Stage::Investigation,
            },
        );
        self.change(
            id,
            CaseChange::Noted {
                text: "attacker IP 203.0.113.9".into(),
            },
        );
        for to in [
            Stage::Containment,
            Stage::EradicationRecovery,
            Stage::PostMortem,
        ] {
            self.change(id, CaseChange::Advanced { to });
        }
        self.change(
            id,
            CaseChange::PostMortemRecorded {
                root_cause: "password login left on".into(),
                preventive_measures: "keys only".into(),
                follow_ups: vec![],
            },
        );
        self.change(id, CaseChange::Advanced { to: Stage::Closed });
    }
}

/// Steps the worker until nothing is pending (or 20 s pass), returning the rounds' sum.
async fn drain(outbox: &Outbox, db: &evident_store::StateDb) -> Round {
    let start = Instant::now();
    let mut total = Round::default();
    loop {
        let r = outbox.step().await.unwrap();
        total.enqueued += r.enqueued;
        total.sent += r.sent;
        total.retried += r.retried;
        total.dead += r.dead;
        let pending = db
            .outbox_messages(false, 1000)
            .unwrap()
            .iter()
            .filter(|m| m.state == OutboxState::Pending)
            .count();
        if pending == 0 {
            return total;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "outbox did not drain"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_case_life_makes_exactly_the_expected_requests_and_a_restart_sends_nothing_twice() {
    let (fake, base) = Fake::start().await;
    let f = fixture();
    let id = f.open(7);
    f.work_to_close(id);
    let outbox = f.outbox(integrations(&base, ""));
    let round = drain(&outbox, &f.node.db).await;
    // Jira: 7 (opened, 5 stage changes, note); ServiceNow, Slack, webhook: 6 each
    // (opened, 4 advanced, closed); PagerDuty: 2 sent and 4 skipped.
    assert_eq!(
        round,
        Round {
            enqueued: 31,
            sent: 31,
            retried: 0,
            dead: 0
        }
    );

    assert_eq!(
        fake.calls("/jira"),
        [
            "POST /jira/rest/api/3/issue",
            "POST /jira/rest/api/3/issue/SEC-1/transitions",
            "POST /jira/rest/api/3/issue/SEC-1/comment",
            "POST /jira/rest/api/3/issue/SEC-1/comment",
            "POST /jira/rest/api/3/issue/SEC-1/comment",
            "POST /jira/rest/api/3/issue/SEC-1/comment",
            "POST /jira/rest/api/3/issue/SEC-1/transitions",
        ]
    );
    let jira = fake.seen("/jira");
    let create = &jira[0].body["fields"];
    assert_eq!(create["summary"], "[Evident] Brute force against sshd");
    assert_eq!(
        create["labels"],
        json!(["evident", format!("evident-case-{id}")])
    );
    let description = create["description"].to_string();
    for needle in [
        "\"text\":\"High\"",
        "\"text\":\"ssh_brute_force\"",
        "\"text\":\"7\"",
        &format!("\"href\":\"https://evident.acme.test/cases/{id}\""),
    ] {
        assert!(
            description.contains(needle),
            "{needle} not in {description}"
        );
    }
    assert_eq!(jira[1].body, json!({"transition": {"id": "21"}}));
    assert_eq!(
        jira[2].body["body"]["content"][0]["content"][0]["text"],
        "Note by alice: attacker IP 203.0.113.9"
    );
    assert_eq!(jira[6].body, json!({"transition": {"id": "31"}}));
    assert_eq!(
        f.node
            .db
            .external_link("jira", id)
            .unwrap()
            .unwrap()
            .url
            .as_deref(),
        Some(format!("{base}/jira/browse/SEC-1").as_str())
    );

    let snow = fake.seen("/snow");
    let sys_id = format!("{:032x}", 1);
    let patch = format!("PATCH /snow/api/now/table/incident/{sys_id}");
    assert_eq!(
        fake.calls("/snow"),
        [
            "POST /snow/api/now/table/incident",
            &patch,
            &patch,
            &patch,
            &patch,
            &patch
        ]
    );
    assert_eq!(
        (
            &snow[0].body["impact"],
            &snow[0].body["urgency"],
            &snow[0].body["correlation_id"]
        ),
        (
            &json!("1"),
            &json!("2"),
            &json!(format!("evident-case-{id}"))
        )
    );
    assert_eq!(
        snow[1].body,
        json!({"state": "2", "work_notes": "Moved to stage investigation by alice"})
    );
    assert_eq!(
        snow[5].body,
        json!({
            "state": "6",
            "close_code": "Solved (Permanently)",
            "close_notes": "Root cause: password login left on. Preventive measures: keys only.",
            "work_notes": "Moved to stage closed by alice",
        })
    );

    let pd = fake.seen("/pd");
    assert_eq!(pd.len(), 2);
    assert_eq!(
        (
            &pd[0].body["event_action"],
            &pd[0].body["payload"]["severity"]
        ),
        (&json!("trigger"), &json!("error"))
    );
    assert_eq!(
        pd[1].body,
        json!({"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": format!("evident-case-{id}")})
    );
    assert_eq!(pd[0].body["dedup_key"], pd[1].body["dedup_key"]);

    let slack = fake.seen("/slack");
    let texts: Vec<&str> = slack
        .iter()
        .map(|s| s.body["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 6);
    assert_eq!(
        texts[0],
        format!("[Evident] opened case {id}: Brute force against sshd (High, stage triage)")
    );
    assert_eq!(
        texts[5],
        format!("[Evident] closed case {id}: Brute force against sshd (High, stage closed)")
    );

    let hooks = fake.seen("/hook");
    assert_eq!(hooks.len(), 6);
    let mut deliveries = Vec::new();
    for h in &hooks {
        let header = |n: &str| h.headers.get(n).unwrap().to_str().unwrap().to_owned();
        let ts = header("x-evident-timestamp");
        let mut signed = format!("{ts}.").into_bytes();
        signed.extend_from_slice(&h.raw);
        assert_eq!(
            header("x-evident-signature"),
            format!("sha256={}", hmac_hex(SECRET, &signed))
        );
        assert_eq!(header("x-evident-delivery"), h.body["delivery"]);
        deliveries.push(header("x-evident-delivery"));
    }
    assert_eq!(hooks[0].body["event"], "opened");
    assert_eq!(hooks[0].body["record"]["change"]["type"], "opened");
    assert_eq!(hooks[5].body["case"]["stage"], "closed");
    deliveries.dedup();
    assert_eq!(deliveries.len(), 6);

    // A restarted worker (same database) finds nothing new and nothing due.
    let seen_before = fake.seen("/").len();
    let again = f.outbox(integrations(&base, ""));
    assert_eq!(again.step().await.unwrap(), Round::default());
    assert_eq!(fake.seen("/").len(), seen_before);
    let all = f.node.db.outbox_messages(false, 100).unwrap();
    assert!(
        all.iter()
            .all(|m| m.state == OutboxState::Sent && m.attempts == 1)
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_and_a_lost_answer_makes_no_second_ticket() {
    let (fake, base) = Fake::start().await;
    fake.script("POST /jira/rest/api/3/issue", &[Script::DoThenFail]);
    fake.script(
        "POST /snow/api/now/table/incident",
        &[Script::Fail(429, Some(1)), Script::DoThenFail],
    );
    fake.script(
        "POST /pd/v2/enqueue",
        &[Script::Fail(503, None), Script::Fail(502, None)],
    );
    fake.script(
        "POST /slack/services/T0/B0/XYZ",
        &[Script::Fail(429, Some(1))],
    );
    fake.script("POST /hook", &[Script::Fail(500, None)]);
    let f = fixture();
    let id = f.open(8);
    let outbox = f.outbox(integrations(&base, ""));
    let started = Instant::now();
    let round = drain(&outbox, &f.node.db).await;
    assert_eq!(
        round,
        Round {
            enqueued: 5,
            sent: 5,
            retried: 7,
            dead: 0
        }
    );
    // Retry-After: 1 was honoured.
    assert!(started.elapsed() >= Duration::from_secs(1));
    // Jira: the create landed but its answer was lost; the retry found the issue by label.
    assert_eq!(
        fake.calls("/jira"),
        [
            "POST /jira/rest/api/3/issue",
            "GET /jira/rest/api/3/search/jql"
        ]
    );
    assert!(url_decode(&fake.seen("/jira")[1].query).contains(&format!(
        "project = \"SEC\" AND labels = \"evident-case-{id}\""
    )));
    assert_eq!(fake.0.lock().unwrap().jira_issues.len(), 1);
    assert_eq!(
        f.node
            .db
            .external_link("jira", id)
            .unwrap()
            .unwrap()
            .external_id,
        "SEC-1"
    );
    // ServiceNow: 429; then (every retry looks first) nothing found, created but the
    // answer lost; then found by correlation_id.
    assert_eq!(
        fake.calls("/snow"),
        [
            "POST /snow/api/now/table/incident",
            "GET /snow/api/now/table/incident",
            "POST /snow/api/now/table/incident",
            "GET /snow/api/now/table/incident"
        ]
    );
    assert_eq!(fake.0.lock().unwrap().snow_incidents.len(), 1);
    assert_eq!(fake.seen("/pd").len(), 3);
    assert_eq!(fake.seen("/slack").len(), 2);
    let hooks = fake.seen("/hook");
    assert_eq!(hooks.len(), 2);
    assert_eq!(
        hooks[0].headers.get("x-evident-delivery"),
        hooks[1].headers.get("x-evident-delivery")
    );
    let attempts: HashMap<String, u32> = f
        .node
        .db
        .outbox_messages(false, 10)
        .unwrap()
        .into_iter()
        .map(|m| (m.integration, m.attempts))
        .collect();
    assert_eq!(
        attempts,
        HashMap::from([
            ("jira".into(), 2),
            ("snow".into(), 3),
            ("pd".into(), 3),
            ("slack".into(), 2),
            ("hook".into(), 2)
        ])
    );
}

#[tokio::test]
async fn a_failing_endpoint_ends_dead_with_its_last_error_and_retry_revives_it() {
    let (fake, base) = Fake::start().await;
    fake.0.lock().unwrap().broken = true;
    let f = fixture();
    let configs: Vec<IntegrationConfig> = {
        #[derive(serde::Deserialize)]
        struct Doc {
            integrations: Vec<IntegrationConfig>,
        }
        toml::from_str::<Doc>(&format!(
            "[[integrations]]\nkind = \"webhook\"\nname = \"broken\"\nurl = \"{base}/broken\"\nsecret = \"s\"\nmax_attempts = 3\nretry_initial = \"20ms\"\n"
        ))
        .unwrap()
        .integrations
    };
    let id = f.open(9);
    let outbox = f.outbox(configs);
    let round = drain(&outbox, &f.node.db).await;
    assert_eq!(
        round,
        Round {
            enqueued: 1,
            sent: 0,
            retried: 2,
            dead: 1
        }
    );
    assert_eq!(fake.seen("/broken").len(), 3);
    let dead = f.node.db.outbox_messages(true, 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (
            dead[0].case_id,
            dead[0].attempts,
            dead[0].last_error.clone()
        ),
        (
            id,
            3,
            Some(format!(
                "POST {base}/broken: HTTP 500: {{\"error\":\"boom\"}}"
            ))
        )
    );

    // The dead-letter list over the API.
    let token = f
        .node
        .db
        .create_api_token("ops", evident_model::Role::Admin, None)
        .unwrap();
    let router = app(f.node.clone()).layer(MockConnectInfo(std::net::SocketAddr::from((
        [127, 0, 0, 1],
        40000,
    ))));
    let get = |auth: Option<String>| {
        let mut req = Request::builder().uri("/api/v1/outbox?dead=true");
        if let Some(t) = auth {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        router.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let resp = get(None).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = get(Some(token)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let listed: Value =
        serde_json::from_slice(&to_bytes(resp.into_body(), usize::MAX).await.unwrap()).unwrap();
    assert_eq!(listed["messages"].as_array().unwrap().len(), 1);
    assert_eq!(listed["messages"][0]["state"], "dead");
    assert_eq!(
        listed["messages"][0]["idempotency_key"],
        dead[0].idempotency_key
    );
    assert_eq!(listed["messages"][0]["payload"]["event"], "opened");

    // Fixed endpoint, retried by hand: delivered once.
    fake.0.lock().unwrap().broken = false;
    f.node.db.retry_outbox(dead[0].id, 0).unwrap();
    let round = drain(&outbox, &f.node.db).await;
    assert_eq!(round.sent, 1);
    assert_eq!(fake.seen("/broken").len(), 4);
    let m = f.node.db.outbox_message(dead[0].id).unwrap().unwrap();
    assert_eq!(
        (m.state, m.attempts, m.last_error),
        (OutboxState::Sent, 1, None)
    );
}

#[tokio::test]
async fn only_sealed_changes_become_messages_and_a_false_positive_closes_the_pagerduty_alert() {
    let (fake, base) = Fake::start().await;
    let f = fixture();
    let id = f.open(10);
    // A change stored but not sealed (as when the CLI writes while a server holds the
    // ledger) waits.
    f.node
        .db
        .change_case(
            id,
            "bob",
            1,
            &CaseChange::Triaged {
                disposition: Disposition::FalsePositive,
                justification: Some("pen test from the agreed IP".into()),
            },
            f.node.ledger.size(),
        )
        .unwrap();
    let pd_only: Vec<IntegrationConfig> = integrations(&base, "")
        .into_iter()
        .filter(|c| c.name == "pd" || c.name == "snow")
        .collect();
    let outbox = f.outbox(pd_only);
    let round = drain(&outbox, &f.node.db).await;
    assert_eq!((round.enqueued, round.sent), (2, 2));
    assert_eq!(f.node.db.outbox_cursor().unwrap(), 1);
    evident_server::audit::seal_audit_trail(&f.node.ledger, &f.node.db).unwrap();
    let round = drain(&outbox, &f.node.db).await;
    assert_eq!((round.enqueued, round.sent), (2, 2));
    let pd = fake.seen("/pd");
    assert_eq!(
        pd.iter()
            .map(|s| s.body["event_action"].clone())
            .collect::<Vec<_>>(),
        [json!("trigger"), json!("resolve")]
    );
    let snow = fake.seen("/snow");
    assert_eq!(snow[1].body["close_notes"], "pen test from the agreed IP");
    assert_eq!(snow[1].body["state"], "6");
}
