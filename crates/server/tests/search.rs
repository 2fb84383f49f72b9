//! Search through the pipeline and the HTTP API: records ingested, parsed by the pipeline
//! into the index (gaps re-indexed once), found by `GET /api/v1/search`, and each hit's
//! ledger entry shown with its inclusion proof by `GET /api/v1/entries/{index}`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use evident_ledger::TlogProof;
use evident_model::{Format, Framing};
use evident_server::indexer::Indexer;
use evident_server::search_api::{open_index, writer_for};
use evident_server::{DataDir, Evident, Pipeline, app, build_entries, ingest};
use evident_sources::Limits;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    node: Arc<Evident>,
    token: String,
}

const FROM: &str = "2026-11-26T00:00:00Z";
const TO: &str = "2026-11-27";

fn okta(i: usize, user: &str, ip: &str, result: &str) -> String {
    json!({
        "uuid": format!("e{i}"), "published": format!("2026-11-26T10:00:0{i}.000Z"),
        "eventType": "user.session.start", "displayMessage": format!("User login to Okta {result}"),
        "actor": {"alternateId": user, "type": "User"}, "client": {"ipAddress": ip},
        "outcome": {"result": result}, "legacyEventType": "core.user_auth.login_success",
        "severity": "INFO", "version": "0",
    })
    .to_string()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/search").unwrap();
    let node = Evident::open(&data).unwrap();
    node.db
        .add_source(&"okta".parse().unwrap(), Format::Okta)
        .unwrap();
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
    fn ingest(&self, lines: &[String]) {
        let body = lines.join("\n");
        let (entries, warnings) = build_entries(
            "okta",
            body.as_bytes(),
            Framing::Lines,
            &Limits::default(),
            &[],
        )
        .unwrap();
        ingest(&self.node.ledger, entries, warnings).unwrap();
    }

    /// `GET uri` through the router, with the token as a bearer: status and body bytes.
    async fn get_bytes(&self, uri: &str, token: Option<&str>) -> (StatusCode, Vec<u8>) {
        let mut req = Request::get(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let router: Router = app(self.node.clone()).layer(MockConnectInfo(
            std::net::SocketAddr::from(([127, 0, 0, 1], 40000)),
        ));
        let resp = router
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, bytes.to_vec())
    }

    async fn get(&self, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
        let (status, bytes) = self.get_bytes(uri, token).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A web UI page as the analyst (the API token works as a bearer for the UI too).
    async fn page(&self, uri: &str) -> (StatusCode, String) {
        let (status, bytes) = self.get_bytes(uri, Some(&self.token)).await;
        (status, String::from_utf8(bytes).unwrap())
    }

    async fn search(&self, q: &str) -> (StatusCode, Value) {
        let q: String = q
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        self.get(
            &format!("/api/v1/search?q={q}&from={FROM}&to={TO}"),
            Some(&self.token.clone()),
        )
        .await
    }
}

fn five() -> Vec<String> {
    vec![
        okta(1, "alice@example.com", "10.0.0.1", "SUCCESS"),
        okta(2, "alice@example.com", "10.0.0.2", "FAILURE"),
        okta(3, "bob@example.com", "192.168.0.3", "FAILURE"),
        okta(4, "bob@example.com", "10.9.0.4", "SUCCESS"),
        okta(5, "carol@example.com", "203.0.113.5", "SUCCESS"),
    ]
}

#[tokio::test]
async fn the_pipeline_indexes_and_the_api_finds_with_ledger_links() {
    let f = fixture();
    f.ingest(&five());
    let mut p = Pipeline::new(Default::default()).with_search(writer_for(&f.node));
    assert_eq!(p.catch_up(&f.node.ledger, &f.node.db).unwrap(), 5);
    f.node.ledger.checkpoint().unwrap();

    let (status, body) = f.search("user:alice@example.com").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // How far search reaches: all 5 entries.
    assert_eq!(
        (&body["searchable_through"], &body["tree_size"]),
        (&json!(5), &json!(5))
    );
    let r = &body["result"];
    assert_eq!(r["total"], 2);
    let hits = r["hits"].as_array().unwrap();
    assert_eq!(
        hits.iter()
            .map(|h| (
                h["ledger_index"].as_u64().unwrap(),
                h["source"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        vec![(1, "okta"), (0, "okta")]
    );
    assert_eq!(hits[0]["class_name"], "Authentication");
    assert_eq!(hits[0]["raw"], five()[1]);
    assert_eq!(hits[0]["time"], 1_795_687_202_000i64);

    let (_, body) = f
        .search("src_endpoint.ip:10.0.0.0/8 | stats count by user")
        .await;
    assert_eq!(
        body["result"]["table"],
        json!({"columns": ["user", "count"], "rows": [["alice@example.com", 2], ["bob@example.com", 1]]})
    );
    let (_, body) = f.search("status:failure | timechart 1d count").await;
    assert_eq!(
        body["result"]["timechart"],
        json!({"span_ms": 86_400_000, "buckets": [{"start_ms": 1_795_651_200_000i64, "count": 2}]})
    );

    // The hit's entry: the exact record and an inclusion proof that verifies.
    let (status, entry) = f.get("/api/v1/entries/2", Some(&f.token)).await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["source"], "okta");
    assert_eq!(entry["body"], five()[2]);
    assert_eq!(entry["inclusion_proof"]["tree_size"], 5);
    let proof = TlogProof::parse(entry["inclusion_proof"]["tlog_proof"].as_str().unwrap()).unwrap();
    assert_eq!(proof.index, 2);
    proof
        .verify(
            &f.node.ledger.verifier(),
            &f.node.ledger.entry_bytes(2).unwrap(),
        )
        .unwrap();
    let (status, body) = f.get("/api/v1/entries/9", Some(&f.token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"]["message"],
        "no entry 9: the log holds 5 entries"
    );
}

#[tokio::test]
async fn bad_requests_say_what_is_wrong() {
    let f = fixture();
    let (status, body) = f.search("class_name: x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        json!({"code": "bad_query", "message": "query:1:12: expected a field value after ':'"})
    );
    let (status, body) = f
        .get("/api/v1/search?q=x&from=2026-11-26", Some(&f.token))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        json!({"code": "missing_time_window", "message": "to is required: every search is time-bounded (RFC 3339, YYYY-MM-DD or ms since the epoch)"})
    );
    let (status, body) = f
        .get(
            "/api/v1/search?q=x&from=yesterday&to=2026-11-26",
            Some(&f.token),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "from=\"yesterday\" is not a time (RFC 3339, YYYY-MM-DD or ms since the epoch)"
    );
    let (status, _) = f.get("/api/v1/search?q=x&from=1&to=2", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn a_gap_left_by_a_pipeline_without_the_index_is_indexed_exactly_once() {
    let f = fixture();
    f.ingest(&five()[..3]);
    // A CLI command ran the pipeline without the index (or the server died between the
    // pipeline's commit and the index's): the watermark is at 3, the index at 0.
    assert_eq!(
        Pipeline::new(Default::default())
            .catch_up(&f.node.ledger, &f.node.db)
            .unwrap(),
        3
    );
    f.ingest(&five()[3..]);
    let mut p = Pipeline::new(Default::default()).with_search(writer_for(&f.node));
    assert_eq!(p.catch_up(&f.node.ledger, &f.node.db).unwrap(), 2);
    let index = open_index(&f.node.data).unwrap();
    assert_eq!(index.indexed_through().unwrap(), 5);
    let all = index
        .search("*", 1_795_651_200_000, 1_795_737_600_000, 100)
        .unwrap();
    assert_eq!(all.total, 5);
    let mut ledger_indexes: Vec<u64> = all.hits.iter().map(|h| h.ledger_index).collect();
    ledger_indexes.sort_unstable();
    assert_eq!(ledger_indexes, vec![0, 1, 2, 3, 4]);
    // Nothing new: another run changes nothing.
    assert_eq!(p.catch_up(&f.node.ledger, &f.node.db).unwrap(), 0);
    assert_eq!(
        index
            .search("*", 1_795_651_200_000, 1_795_737_600_000, 100)
            .unwrap()
            .total,
        5
    );
}

#[test]
fn an_idle_pipeline_indexes_what_another_pipeline_processed() {
    let f = fixture();
    f.ingest(&five());
    // Everything was processed without the index (the demo's response step, a CLI command).
    Pipeline::new(Default::default())
        .catch_up(&f.node.ledger, &f.node.db)
        .unwrap();
    let mut p = Pipeline::new(Default::default()).with_search(writer_for(&f.node));
    // Nothing to process, but the idle step fills the index's gap and commits it.
    assert_eq!(p.run_once(&f.node.ledger, &f.node.db, 100).unwrap(), 0);
    let index = open_index(&f.node.data).unwrap();
    assert_eq!(index.indexed_through().unwrap(), 5);
    assert_eq!(
        index
            .search("*", 1_795_651_200_000, 1_795_737_600_000, 100)
            .unwrap()
            .total,
        5
    );
}

#[test]
fn retention_deletes_events_past_their_hot_days_through_the_indexer() {
    let f = fixture();
    f.ingest(&five());
    Pipeline::new(Default::default())
        .catch_up(&f.node.ledger, &f.node.db)
        .unwrap();
    let mut indexer = Indexer::new(writer_for(&f.node).unwrap(), Default::default());
    assert_eq!(indexer.step(&f.node.ledger, &f.node.db, 5, 100).unwrap(), 5);
    // Caught up: the step commits what is pending.
    assert_eq!(indexer.step(&f.node.ledger, &f.node.db, 5, 100).unwrap(), 0);
    let index = open_index(&f.node.data).unwrap();
    // okta events 1..=5 are at 10:00:01..10:00:05; the cutoff keeps the last two.
    let cutoff = 1_795_651_200_000 + 10 * 3_600_000 + 4_000;
    let cutoffs = vec![("okta".to_owned(), cutoff), ("github".to_owned(), cutoff)];
    assert_eq!(indexer.expire(&index, &cutoffs).unwrap(), 3);
    let left = index
        .search("*", 1_795_651_200_000, 1_795_737_600_000, 100)
        .unwrap();
    let mut ledger_indexes: Vec<u64> = left.hits.iter().map(|h| h.ledger_index).collect();
    ledger_indexes.sort_unstable();
    assert_eq!(ledger_indexes, vec![3, 4]);
    // The mark is unchanged: nothing deleted is re-indexed.
    assert_eq!(index.indexed_through().unwrap(), 5);
}

#[test]
fn the_indexer_follows_the_pipeline_watermark_and_never_passes_it() {
    let f = fixture();
    f.ingest(&five());
    let mut indexer = Indexer::new(writer_for(&f.node).unwrap(), Default::default());
    // The pipeline has seen nothing: nothing is searchable yet.
    let watermark = f.node.db.watermark().unwrap();
    assert_eq!(watermark, 0);
    assert_eq!(
        indexer
            .step(&f.node.ledger, &f.node.db, watermark, 100)
            .unwrap(),
        0
    );
    Pipeline::new(Default::default())
        .catch_up(&f.node.ledger, &f.node.db)
        .unwrap();
    let watermark = f.node.db.watermark().unwrap();
    assert_eq!(watermark, 5);
    // Bounded steps: 2, 2, 1, then caught up (and committed).
    let steps: Vec<u64> = (0..4)
        .map(|_| {
            indexer
                .step(&f.node.ledger, &f.node.db, watermark, 2)
                .unwrap()
        })
        .collect();
    assert_eq!(steps, vec![2, 2, 1, 0]);
    assert_eq!(indexer.indexed_through(), 5);
    // Two more records the pipeline has not processed stay out of the index.
    f.ingest(&[okta(6, "dave@example.com", "10.0.0.6", "SUCCESS")]);
    assert_eq!(
        indexer
            .step(&f.node.ledger, &f.node.db, watermark, 100)
            .unwrap(),
        0
    );
    let index = open_index(&f.node.data).unwrap();
    assert_eq!(index.indexed_through().unwrap(), 5);
    let found = index
        .search(
            "alice@example.com",
            1_795_651_200_000,
            1_795_737_600_000,
            100,
        )
        .unwrap();
    assert_eq!(found.total, 2);
    let found = index
        .search(
            "dave@example.com",
            1_795_651_200_000,
            1_795_737_600_000,
            100,
        )
        .unwrap();
    assert_eq!(found.total, 0);
}

#[tokio::test]
async fn search_says_when_it_is_behind_the_ledger() {
    let f = fixture();
    f.ingest(&five());
    let mut p = Pipeline::new(Default::default()).with_search(writer_for(&f.node));
    p.catch_up(&f.node.ledger, &f.node.db).unwrap();
    drop(p);
    // 1,500 more entries nobody has indexed yet.
    let more: Vec<String> = (0..1_500).map(|i| json!({"n": i}).to_string()).collect();
    f.ingest(&more);
    let (status, body) = f.search("user:alice@example.com").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["searchable_through"], &body["tree_size"]),
        (&json!(5), &json!(1_505))
    );
    let (status, page) = f
        .page("/search?q=alice&from=2026-11-26&to=2026-11-26")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Search is behind: it covers ledger entries below 5 of 1505; the newest 1500 are not searchable yet."),
        "{page}"
    );
    // Caught up: no notice.
    let mut indexer = Indexer::new(writer_for(&f.node).unwrap(), Default::default());
    indexer
        .step(&f.node.ledger, &f.node.db, 1_505, 10_000)
        .unwrap();
    indexer
        .step(&f.node.ledger, &f.node.db, 1_505, 10_000)
        .unwrap();
    let (_, page) = f
        .page("/search?q=alice&from=2026-11-26&to=2026-11-26")
        .await;
    assert!(page.contains("matching entries"), "{page}");
    assert!(!page.contains("Search is behind"), "{page}");
}
