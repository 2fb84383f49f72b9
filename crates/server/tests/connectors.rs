//! Pull connectors end to end: Okta and GitHub against small fake servers implementing the
//! documented endpoints (Link paging, 429 / 403 rate limits), CloudTrail through moto's S3
//! and SQS, each with crashes and restarts: every event stored exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

#[path = "support/moto.rs"]
mod moto;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use evident_ledger::Entry;
use evident_server::connectors::{
    ConnectorConfig, GithubConfig, OktaConfig, S3Sqs, S3SqsConfig, StoreOutcome,
};
use evident_server::{DataDir, Evident};
use evident_store::ConnectorMark;
use tokio::sync::watch;

// ---------------------------------------------------------------- shared helpers

struct Node {
    _dir: tempfile::TempDir,
    node: Arc<Evident>,
}

fn node() -> Node {
    node_with_config("")
}

/// A fresh data directory whose evident.toml ends with `extra`.
fn node_with_config(extra: &str) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/connectors").unwrap();
    let mut cfg = std::fs::read_to_string(data.config_path()).unwrap();
    cfg.push_str(extra);
    std::fs::write(data.config_path(), cfg).unwrap();
    Node {
        node: Arc::new(Evident::open(&data).unwrap()),
        _dir: dir,
    }
}

/// The entries pull connectors appended, with their indices (`serve` appends audit entries
/// of its own).
fn indexed_entries(node: &Evident) -> Vec<(u64, Entry)> {
    (0..node.ledger.size())
        .map(|i| (i, node.ledger.entry(i).unwrap()))
        .filter(|(_, e)| e.meta("connector").is_some())
        .collect()
}

fn entries(node: &Evident) -> Vec<Entry> {
    indexed_entries(node).into_iter().map(|(_, e)| e).collect()
}

fn bodies(node: &Evident) -> Vec<String> {
    entries(node)
        .into_iter()
        .map(|e| String::from_utf8(e.body).unwrap())
        .collect()
}

async fn wait_for_size(node: &Evident, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while entries(node).len() < n {
        assert!(
            Instant::now() < deadline,
            "waited for {n} connector entries: {:?}",
            bodies(node)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a connector in the background; `stop` ends it and waits.
struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn spawn(node: &Arc<Evident>, config: ConnectorConfig) -> Running {
    let (stop, rx) = watch::channel(false);
    Running {
        stop,
        task: tokio::spawn(evident_server::connectors::run(node.clone(), config, rx)),
    }
}

impl Running {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

async fn serve_fake(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

// ---------------------------------------------------------------- fake Okta / GitHub

/// An audit-log API: a growing list of events, cursor paging, and one rate-limited answer
/// on demand. Cursors are `c<index>`.
#[derive(Default)]
struct FakeApi {
    events: Vec<String>,
    /// Every request: (Unix time, query string).
    requests: Vec<(f64, String)>,
    /// Answer the next request for this cursor with a rate-limit error, once.
    limit_cursor: Option<String>,
    /// When the rate-limit answer told us to come back (Unix seconds).
    limited_until: Option<f64>,
    /// Answer the request for this cursor normally but with the budget spent (Okta's
    /// `X-Rate-Limit-Remaining: 0`), once.
    spent_cursor: Option<String>,
    /// The reset time that answer gave.
    spent_until: Option<f64>,
}

type Shared = Arc<Mutex<FakeApi>>;

fn cursor_index(q: &HashMap<String, String>) -> usize {
    q.get("after")
        .and_then(|a| a.strip_prefix('c'))
        .map_or(0, |n| n.parse().unwrap())
}

async fn okta_logs(
    State(api): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response {
    if headers.get("authorization").unwrap().to_str().unwrap() != "SSWS okta-secret" {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut api = api.lock().unwrap();
    let query = uri.query().unwrap_or_default().to_owned();
    api.requests.push((unix_now(), query));
    let from = cursor_index(&q);
    let after = q.get("after").cloned().unwrap_or_default();
    if api.limit_cursor.as_deref() == Some(after.as_str()) {
        api.limit_cursor = None;
        let reset = unix_now().ceil() + 1.0;
        api.limited_until = Some(reset);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("x-rate-limit-limit", "20".to_owned()),
                ("x-rate-limit-remaining", "0".to_owned()),
                ("x-rate-limit-reset", format!("{reset}")),
            ],
            r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}"#,
        )
            .into_response();
    }
    let limit: usize = q["limit"].parse().unwrap();
    assert_eq!(q["sortOrder"], "ASCENDING");
    let page: Vec<&str> = api
        .events
        .iter()
        .skip(from)
        .take(limit)
        .map(String::as_str)
        .collect();
    // Okta always links to the next page when polling (`since`, no `until`).
    let next = format!(
        "<{}/api/v1/logs?limit={limit}&sortOrder=ASCENDING&after=c{}>; rel=\"next\"",
        "http://ignored.example",
        from + page.len()
    );
    let body = format!("[{}]", page.join(","));
    let (remaining, reset) = if api.spent_cursor.as_deref() == Some(after.as_str()) {
        api.spent_cursor = None;
        let reset = unix_now().ceil() + 1.0;
        api.spent_until = Some(reset);
        ("0", reset)
    } else {
        ("19", unix_now().ceil() + 60.0)
    };
    (
        [
            ("link", next),
            ("x-rate-limit-remaining", remaining.to_owned()),
            ("x-rate-limit-reset", format!("{reset}")),
            ("content-type", "application/json".to_owned()),
        ],
        body,
    )
        .into_response()
}

async fn github_audit_log(
    State(api): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response {
    if headers.get("authorization").unwrap().to_str().unwrap() != "Bearer gh-secret"
        || headers.get("x-github-api-version").is_none()
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    assert_eq!((q["include"].as_str(), q["order"].as_str()), ("all", "asc"));
    let mut api = api.lock().unwrap();
    api.requests
        .push((unix_now(), uri.query().unwrap_or_default().to_owned()));
    let after = q.get("after").cloned().unwrap_or_default();
    if api.limit_cursor.as_deref() == Some(after.as_str()) {
        api.limit_cursor = None;
        api.limited_until = Some(unix_now() + 1.0);
        // A secondary rate limit: 403 with retry-after.
        return (
            StatusCode::FORBIDDEN,
            [("retry-after", "1")],
            r#"{"message":"You have exceeded a secondary rate limit."}"#,
        )
            .into_response();
    }
    let from = cursor_index(&q);
    let per_page: usize = q["per_page"].parse().unwrap();
    let page: Vec<&str> = api
        .events
        .iter()
        .skip(from)
        .take(per_page)
        .map(String::as_str)
        .collect();
    let end = from + page.len();
    let mut link = format!("</orgs/acme/audit-log?before=c{from}>; rel=\"prev\"");
    // The last page has no next link.
    if end < api.events.len() {
        link = format!(
            "</orgs/acme/audit-log?include=all&order=asc&per_page={per_page}&after=c{end}&before=>; rel=\"next\", {link}"
        );
    }
    (
        [
            ("link", link),
            ("x-ratelimit-remaining", "4999".to_owned()),
            ("x-ratelimit-reset", format!("{}", unix_now() as u64 + 3600)),
        ],
        format!("[{}]", page.join(",")),
    )
        .into_response()
}

fn okta_event(i: usize) -> String {
    format!(
        r#"{{"uuid":"okta-{i}","published":"2026-11-20T10:00:{i:02}.000Z","eventType":"user.session.start","displayMessage":"User login to Okta","actor":{{"alternateId":"user{i}@example.com","type":"User"}},"outcome":{{"result":"SUCCESS"}},"severity":"INFO","version":"0"}}"#
    )
}

fn github_event(i: usize) -> String {
    format!(
        r#"{{"@timestamp":{},"action":"repo.create","actor":"dev{i}","org":"acme","_document_id":"gh-{i}"}}"#,
        1_763_632_800_000u64 + i as u64
    )
}

fn okta_toml(base: &str) -> String {
    format!(
        "source = \"okta\"\nbase_url = \"{base}\"\ntoken = \"okta-secret\"\nlimit = 2\ninterval = \"50ms\"\nretry_initial = \"50ms\"\nsince = \"2026-11-20T00:00:00Z\""
    )
}

fn okta_config(base: &str) -> ConnectorConfig {
    let c: OktaConfig = toml::from_str(&okta_toml(base)).unwrap();
    ConnectorConfig::Okta(c)
}

fn github_config(base: &str) -> ConnectorConfig {
    let c: GithubConfig = toml::from_str(&format!(
        "source = \"github\"\nbase_url = \"{base}\"\norg = \"acme\"\ntoken = \"gh-secret\"\nper_page = 2\ninterval = \"50ms\"\nretry_initial = \"50ms\""
    ))
    .unwrap();
    ConnectorConfig::Github(c)
}

#[tokio::test]
async fn okta_pages_back_off_on_429_and_resume_after_restart_without_duplicates() {
    let api: Shared = Arc::default();
    {
        let mut a = api.lock().unwrap();
        a.events = (1..=5).map(okta_event).collect();
        a.limit_cursor = Some("c2".into());
    }
    let base = serve_fake(
        Router::new()
            .route("/api/v1/logs", get(okta_logs))
            .with_state(api.clone()),
    )
    .await;
    // Through `serve`, as configured in evident.toml.
    let n = node_with_config(&format!(
        "\n[[connectors]]\nkind = \"okta\"\n{}\n",
        okta_toml(&base)
    ));
    let node = n.node.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (shutdown, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(evident_server::serve(node.clone(), listener, async {
        let _ = rx.await;
    }));
    wait_for_size(&node, 5).await;
    // The pipeline parses them as Okta events.
    let deadline = Instant::now() + Duration::from_secs(20);
    let last = indexed_entries(&node)[4].0;
    while node.db.watermark().unwrap() <= last {
        assert!(Instant::now() < deadline, "pipeline did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let health = node.db.source_health().unwrap();
    let okta = health.iter().find(|h| h.source == "okta").unwrap();
    assert_eq!((okta.events, okta.parse_errors), (5, 0), "{okta:?}");
    shutdown.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert_eq!(bodies(&node), (1..=5).map(okta_event).collect::<Vec<_>>());
    // The source was registered with the okta format for the pipeline.
    assert_eq!(
        node.db.source("okta").unwrap().unwrap().format,
        evident_model::Format::Okta
    );
    {
        let a = api.lock().unwrap();
        let limited = a
            .requests
            .iter()
            .position(|(_, q)| q.contains("after=c2"))
            .unwrap();
        let until = a.limited_until.unwrap();
        let (retry_at, retry_q) = &a.requests[limited + 1];
        assert!(retry_q.contains("after=c2"), "{retry_q}");
        assert!(
            *retry_at >= until,
            "retried at {retry_at}, before the reset {until}"
        );
        assert!(a.requests[0].1.contains("since=2026-11-20T00%3A00%3A00Z"));
    }
    let e = &entries(&node)[4];
    assert_eq!(
        e.metadata,
        [
            ("connector".to_owned(), "okta-api".to_owned()),
            (
                "cursor".to_owned(),
                "/api/v1/logs?limit=2&sortOrder=ASCENDING&after=c4".to_owned()
            )
        ]
    );

    let mark = node.db.connector_mark("okta-api").unwrap().unwrap();
    assert_eq!(mark.last_index, Some(last));
    assert!(mark.checked_to > last, "{mark:?}");
    // An older state DB (restored from a backup) than the ledger: the ledger wins.
    let second = indexed_entries(&node)[1].0;
    node.db
        .set_connector_mark(
            "okta-api",
            &ConnectorMark {
                last_index: Some(second),
                checked_to: second + 1,
            },
        )
        .unwrap();
    // Restart: three more events; the connector re-reads its last page (c4, holding event
    // 5, already stored) and goes on.
    // The page at c6 spends the request budget: the connector waits for its reset.
    {
        let mut a = api.lock().unwrap();
        a.events.extend((6..=8).map(okta_event));
        a.spent_cursor = Some("c6".into());
    }
    let before = api.lock().unwrap().requests.len();
    let run = spawn(&node, okta_config(&base));
    wait_for_size(&node, 8).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !api
        .lock()
        .unwrap()
        .requests
        .iter()
        .any(|(_, q)| q.ends_with("after=c8"))
    {
        assert!(
            Instant::now() < deadline,
            "no request after the budget reset"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    run.stop().await;
    {
        let a = api.lock().unwrap();
        let (at, _) = a
            .requests
            .iter()
            .find(|(_, q)| q.ends_with("after=c8"))
            .unwrap();
        let until = a.spent_until.unwrap();
        assert!(
            *at >= until,
            "asked at {at}, before the budget reset {until}"
        );
    }
    assert_eq!(bodies(&node), (1..=8).map(okta_event).collect::<Vec<_>>());
    assert!(
        api.lock().unwrap().requests[before].1.ends_with("after=c4"),
        "{:?}",
        api.lock().unwrap().requests[before]
    );
    let s = node.receivers.stats("okta-api").snapshot();
    assert_eq!((s.received, s.stored, s.rejected, s.dropped), (8, 8, 0, 0));
}

#[tokio::test]
async fn github_follows_cursors_waits_out_secondary_limits_and_recovers_a_torn_page() {
    let n = node();
    let node = n.node.clone();
    let api: Shared = Arc::default();
    {
        let mut a = api.lock().unwrap();
        a.events = (1..=3).map(github_event).collect();
        a.limit_cursor = Some("c2".into());
    }
    let base = serve_fake(
        Router::new()
            .route("/orgs/acme/audit-log", get(github_audit_log))
            .with_state(api.clone()),
    )
    .await;
    let run = spawn(&node, github_config(&base));
    wait_for_size(&node, 3).await;
    // The last page (event 3, no next link) grows: polling it again stores only the new.
    api.lock().unwrap().events.extend((4..=5).map(github_event));
    wait_for_size(&node, 5).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    run.stop().await;
    assert_eq!(bodies(&node), (1..=5).map(github_event).collect::<Vec<_>>());
    {
        let a = api.lock().unwrap();
        let limited = a
            .requests
            .iter()
            .position(|(_, q)| q.contains("after=c2"))
            .unwrap();
        assert!(a.requests[limited + 1].0 >= a.limited_until.unwrap());
    }

    assert_eq!(
        node.db.connector_mark("github-api").unwrap(),
        Some(ConnectorMark {
            last_index: Some(4),
            checked_to: 5
        })
    );
    // A state DB newer than the ledger (the ledger restored from a backup): its mark names
    // entries the ledger does not have, so the whole ledger is scanned.
    node.db
        .set_connector_mark(
            "github-api",
            &ConnectorMark {
                last_index: Some(90),
                checked_to: 100,
            },
        )
        .unwrap();
    // A crash that kept only the first record of a two-record page: append event 6 as the
    // connector would have, under the cursor of the page [6, 7].
    api.lock().unwrap().events.extend((6..=8).map(github_event));
    node.ledger
        .append(vec![Entry {
            kind: evident_ledger::EntryKind::Log,
            received_at_ns: evident_ledger::now_ns(),
            source: "github".into(),
            metadata: vec![
                ("connector".into(), "github-api".into()),
                (
                    "cursor".into(),
                    "/orgs/acme/audit-log?include=all&order=asc&per_page=2&after=c5&before=".into(),
                ),
            ],
            body: github_event(6).into_bytes(),
        }])
        .unwrap();
    let run = spawn(&node, github_config(&base));
    wait_for_size(&node, 8).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    run.stop().await;
    assert_eq!(bodies(&node), (1..=8).map(github_event).collect::<Vec<_>>());
}

// ---------------------------------------------------------------- moto: S3 + SQS

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn moto_cmd(endpoint: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(fixture("moto_s3sqs.py"))
        .arg(endpoint)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "moto_s3sqs.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, bytes).unwrap();
    gz.finish().unwrap()
}

/// The records of a fixture CloudTrail file, as serde_json prints each.
fn records(name: &str) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap();
    v["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect()
}

fn s3_config(endpoint: &str, queue_url: &str) -> S3SqsConfig {
    toml::from_str(&format!(
        "source = \"cloudtrail\"\nqueue_url = \"{queue_url}\"\nendpoint = \"{endpoint}\"\naccess_key_id = \"testing\"\nsecret_access_key = \"testing\"\nwait_time_secs = 1\nvisibility_timeout_secs = 1\ninterval = \"50ms\"\nretry_initial = \"50ms\""
    ))
    .unwrap()
}

/// Uploads `bytes` as `key`, gzipped CloudTrail style.
fn put(m: &moto::Moto, tmp: &Path, key: &str, bytes: &[u8]) {
    let path = tmp.join(key.replace('/', "_"));
    std::fs::write(&path, bytes).unwrap();
    moto_cmd(&m.endpoint, &["put", "trail", key, path.to_str().unwrap()]);
}

/// Receives until a message arrives (moto delivers at once; redeliveries after the 1 s
/// visibility timeout).
async fn receive_one(c: &S3Sqs) -> evident_server::connectors::SqsMessage {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut msgs = c.receive().await.unwrap();
        if let Some(m) = msgs.pop() {
            assert!(msgs.is_empty(), "one message at a time");
            return m;
        }
        assert!(Instant::now() < deadline, "no message arrived");
    }
}

/// Rewrites record bytes the way the fixtures are compared: parsed and printed by serde_json.
fn normalized(node: &Evident) -> Vec<String> {
    bodies(node)
        .iter()
        .map(|b| {
            serde_json::from_str::<serde_json::Value>(b)
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn s3_sqs_stores_every_record_once_across_crashes_and_flags_bad_objects() {
    if !moto::have("moto_server") {
        return;
    }
    let m = moto::moto();
    let tmp = tempfile::tempdir().unwrap();
    let queue_url = moto_cmd(&m.endpoint, &["setup", "trail", "ct"]);
    let n = node();
    let node = n.node.clone();
    let config = s3_config(&m.endpoint, &queue_url);

    // The s3:TestEvent sent when notifications were configured: nothing to store.
    let mut c = S3Sqs::new(node.clone(), &config).unwrap();
    let test_event = receive_one(&c).await;
    assert!(
        test_event.body.contains("s3:TestEvent"),
        "{}",
        test_event.body
    );
    assert_eq!(c.store(&test_event).await.unwrap(), StoreOutcome::default());
    c.ack(&test_event).await.unwrap();

    // Killed after receiving, before appending: the message comes back; nothing is lost.
    let a = std::fs::read(fixture("cloudtrail-a.json")).unwrap();
    put(
        &m,
        tmp.path(),
        "AWSLogs/123456789012/CloudTrail/us-east-1/a.json.gz",
        &gzip(&a),
    );
    let first = receive_one(&c).await;
    assert_eq!(first.receive_count, 1);
    drop(c);
    let mut c = S3Sqs::new(node.clone(), &config).unwrap();
    let again = receive_one(&c).await;
    assert_eq!(
        (again.message_id.as_str(), again.receive_count),
        (first.message_id.as_str(), 2)
    );
    let stored = c.store(&again).await.unwrap();
    assert_eq!(
        stored,
        StoreOutcome {
            objects: 1,
            records: 3,
            ..StoreOutcome::default()
        }
    );
    c.ack(&again).await.unwrap();
    assert_eq!(normalized(&node), records("cloudtrail-a.json"));

    // Killed after appending, before deleting: the redelivered message is deleted without
    // storing the object again.
    let b = std::fs::read(fixture("cloudtrail-b.json")).unwrap();
    put(
        &m,
        tmp.path(),
        "AWSLogs/123456789012/CloudTrail/us-east-1/b.json.gz",
        &gzip(&b),
    );
    let msg = receive_one(&c).await;
    assert_eq!(c.store(&msg).await.unwrap().records, 2);
    drop(c);
    let mut c = S3Sqs::new(node.clone(), &config).unwrap();
    let again = receive_one(&c).await;
    assert_eq!(again.message_id, msg.message_id);
    assert_eq!(
        c.store(&again).await.unwrap(),
        StoreOutcome {
            duplicates: 1,
            ..StoreOutcome::default()
        }
    );
    c.ack(&again).await.unwrap();
    assert_eq!(entries(&node).len(), 5);

    // Killed in the middle of the append (the ledger kept a prefix: 1 of 3 records): the
    // redelivery stores the other two.
    let cfile = std::fs::read(fixture("cloudtrail-c.json")).unwrap();
    let key_c = "AWSLogs/123456789012/CloudTrail/us-east-1/c.json.gz";
    put(&m, tmp.path(), key_c, &gzip(&cfile));
    let msg = receive_one(&c).await;
    let note: serde_json::Value = serde_json::from_str(&msg.body).unwrap();
    let etag = note["Records"][0]["s3"]["object"]["eTag"].as_str().unwrap();
    let first_c = records("cloudtrail-c.json")[0].clone();
    let entry_meta = entries(&node)[3].metadata.clone();
    assert_eq!(
        entry_meta,
        [
            ("connector".to_owned(), "s3-sqs".to_owned()),
            (
                "s3.object".to_owned(),
                "trail/AWSLogs/123456789012/CloudTrail/us-east-1/b.json.gz".to_owned()
            ),
            ("s3.etag".to_owned(), entry_meta[2].1.clone()),
            ("s3.records".to_owned(), "2".to_owned()),
            ("sqs.message_id".to_owned(), entry_meta[4].1.clone()),
        ]
    );
    node.ledger
        .append(vec![Entry {
            kind: evident_ledger::EntryKind::Log,
            received_at_ns: evident_ledger::now_ns(),
            source: "cloudtrail".into(),
            metadata: vec![
                ("connector".into(), "s3-sqs".into()),
                ("s3.object".into(), format!("trail/{key_c}")),
                ("s3.etag".into(), etag.into()),
                ("s3.records".into(), "3".into()),
                ("sqs.message_id".into(), msg.message_id.clone()),
            ],
            body: first_c.into_bytes(),
        }])
        .unwrap();
    drop(c);
    let mut c = S3Sqs::new(node.clone(), &config).unwrap();
    let again = receive_one(&c).await;
    assert_eq!(
        c.store(&again).await.unwrap(),
        StoreOutcome {
            objects: 1,
            records: 2,
            ..StoreOutcome::default()
        }
    );
    c.ack(&again).await.unwrap();
    drop(c);

    // Bad input, handled by the running connector without blocking the queue: a corrupt
    // gzip and a file that is not JSON are stored as flagged entries; a message that is
    // not a notification is counted and deleted; an SNS-wrapped notification works.
    let mut torn = gzip(&cfile);
    torn.truncate(40);
    put(&m, tmp.path(), "AWSLogs/1/torn.json.gz", &torn);
    put(
        &m,
        tmp.path(),
        "AWSLogs/1/text.json.gz",
        &gzip(b"hello, not json"),
    );
    moto_cmd(
        &m.endpoint,
        &["send", &queue_url, "this is not a notification"],
    );
    // The SNS-wrapped message names an object outside the notified prefix (AWSLogs/).
    let sns_inner = serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "trail"}, "object": {"key": "sns/via+sns.json"}}}]});
    put(&m, tmp.path(), "sns/via sns.json", &a);
    moto_cmd(
        &m.endpoint,
        &[
            "send",
            &queue_url,
            &serde_json::json!({"Type": "Notification", "Message": sns_inner.to_string()})
                .to_string(),
        ],
    );
    let run = spawn(&node, ConnectorConfig::S3Sqs(config.clone()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while moto_cmd(&m.endpoint, &["count", &queue_url]) != "0" {
        assert!(Instant::now() < deadline, "queue not drained");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    run.stop().await;

    let all = entries(&node);
    assert_eq!(all.len(), 3 + 2 + 3 + 2 + 3, "{:?}", bodies(&node));
    let mut want: Vec<String> = records("cloudtrail-a.json");
    want.extend(records("cloudtrail-b.json"));
    want.extend(records("cloudtrail-c.json"));
    let good: Vec<String> = all[..8]
        .iter()
        .map(|e| {
            serde_json::from_slice::<serde_json::Value>(&e.body)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(good, want);
    let flagged: HashMap<String, (String, Vec<u8>)> = all[8..]
        .iter()
        .filter_map(|e| {
            Some((
                e.meta("s3.object")?.to_owned(),
                (e.meta("error")?.to_owned(), e.body.clone()),
            ))
        })
        .collect();
    assert_eq!(
        flagged["trail/AWSLogs/1/torn.json.gz"],
        (
            "corrupt gzip: incomplete deflate stream".to_owned(),
            torn.clone()
        )
    );
    assert_eq!(
        flagged["trail/AWSLogs/1/text.json.gz"],
        (
            "not a CloudTrail log file ({\"Records\":[…]}): expected value at line 1 column 1"
                .to_owned(),
            b"hello, not json".to_vec()
        )
    );
    let via_sns: Vec<String> = all[8..]
        .iter()
        .filter(|e| e.meta("s3.object") == Some("trail/sns/via sns.json"))
        .map(|e| String::from_utf8(e.body.clone()).unwrap())
        .collect();
    assert_eq!(via_sns.len(), 3);
    // The pipeline parses the records as CloudTrail; the two flagged objects are its errors.
    let mut pipeline = evident_server::Pipeline::new(Default::default());
    assert_eq!(pipeline.run_once(&node.ledger, &node.db, 100).unwrap(), 13);
    let health = node.db.source_health().unwrap();
    let ct = health.iter().find(|h| h.source == "cloudtrail").unwrap();
    assert_eq!((ct.events, ct.parse_errors), (11, 2), "{ct:?}");
    let s = node.receivers.stats("s3-sqs").snapshot();
    assert_eq!((s.stored, s.rejected, s.dropped), (3 + 2 + 2 + 2 + 3, 1, 0));
}
