//! HTTP API behaviour, driven in-process with `oneshot`: exact statuses, bodies and what
//! reached the ledger for good and bad requests.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::io::Write;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use evident_ledger::{Checkpoint, TILE_WIDTH};
use evident_model::Format;
use evident_server::{DataDir, Evident, Intake, app_with_intake};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    node: Arc<Evident>,
    intake: Intake,
    token: String,
    other_token: String,
}

fn fixture(edit_config: impl FnOnce(&mut String)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/api").unwrap();
    let mut cfg = std::fs::read_to_string(data.config_path()).unwrap();
    edit_config(&mut cfg);
    std::fs::write(data.config_path(), cfg).unwrap();
    let node = Evident::open(&data).unwrap();
    let token = node
        .db
        .add_source(&"app".parse().unwrap(), Format::JsonApp)
        .unwrap();
    let other_token = node
        .db
        .add_source(&"auth".parse().unwrap(), Format::AuthLog)
        .unwrap();
    let intake = Intake::new(node.config.ingest.queue_records);
    Fixture {
        _dir: dir,
        node: Arc::new(node),
        intake,
        token,
        other_token,
    }
}

impl Fixture {
    fn router(&self) -> Router {
        app_with_intake(self.node.clone(), self.intake.clone()).layer(MockConnectInfo(
            std::net::SocketAddr::from(([10, 0, 0, 7], 40000)),
        ))
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let resp = self.router().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, headers, body)
    }

    async fn ingest(
        &self,
        source: &str,
        token: Option<&str>,
        ct: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = Request::post(format!("/api/v1/ingest/{source}"));
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = ct {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let (status, _, body) = self.send(req.body(Body::from(body)).unwrap()).await;
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn bodies(&self) -> Vec<Vec<u8>> {
        (0..self.node.ledger.size())
            .map(|i| self.node.ledger.entry(i).unwrap().body)
            .collect()
    }
}

#[tokio::test]
async fn ndjson_is_stored_line_by_line_with_bad_lines_kept_and_named() {
    let f = fixture(|_| {});
    let (status, body) = f
        .ingest(
            "app",
            Some(&f.token),
            Some("application/x-ndjson"),
            b"{\"a\":1}\n{\"b\":\n{\"c\":3}\n".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["accepted"], 3);
    assert_eq!(body["tree_size"], 3);
    assert_eq!(body["errors"][0]["line"], 2);
    assert!(
        body["errors"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("not valid JSON")
    );
    assert_eq!(
        f.bodies(),
        vec![
            b"{\"a\":1}".to_vec(),
            b"{\"b\":".to_vec(),
            b"{\"c\":3}".to_vec()
        ]
    );
    let e = f.node.ledger.entry(0).unwrap();
    assert_eq!(e.source, "app");
    assert_eq!(e.meta("peer"), Some("10.0.0.7:40000"));
    assert_eq!(e.meta("credential"), Some("ingest-token:1"));
    assert_eq!(e.meta("format"), Some("json"));
}

#[tokio::test]
async fn json_array_and_gzip_bodies_are_split_into_their_records() {
    let f = fixture(|_| {});
    let (status, body) = f
        .ingest(
            "app",
            Some(&f.token),
            Some("application/json"),
            b"[{\"x\":1}, {\"y\":2}]".to_vec(),
        )
        .await;
    assert_eq!(
        (status, body["accepted"].clone()),
        (StatusCode::OK, json!(2))
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"line one\nline two\n").unwrap();
    let gz = gz.finish().unwrap();
    let req = Request::post("/api/v1/ingest/auth")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.other_token))
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(gz.clone()))
        .unwrap();
    let (status, _, body) = f.send(req).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        f.bodies(),
        vec![
            b"{\"x\":1}".to_vec(),
            b"{\"y\":2}".to_vec(),
            b"line one".to_vec(),
            b"line two".to_vec()
        ]
    );
    let (status, body) = f
        .ingest(
            "auth",
            Some(&f.other_token),
            None,
            gz[..gz.len() - 8].to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_body");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("gzip data is corrupt or truncated")
    );
    assert_eq!(f.node.ledger.size(), 4);
}

#[tokio::test]
async fn invalid_utf8_lines_are_kept_and_flagged() {
    let f = fixture(|_| {});
    let (status, body) = f
        .ingest(
            "auth",
            Some(&f.other_token),
            Some("text/plain"),
            b"ok\nbad \xff byte\n".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["errors"],
        json!([{"line": 2, "error": "invalid UTF-8 at byte 4"}])
    );
    assert_eq!(f.bodies()[1], b"bad \xff byte".to_vec());
}

#[tokio::test]
async fn credentials_are_checked_and_nothing_is_stored_without_them() {
    let f = fixture(|_| {});
    let (status, body) = f.ingest("app", None, None, b"{}".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("missing_token"))
    );
    let (status, body) = f
        .ingest("app", Some("evd_wrong"), None, b"{}".to_vec())
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_token"))
    );
    // A valid token for another source is still the wrong token.
    let (status, _) = f
        .ingest("app", Some(&f.other_token), None, b"{}".to_vec())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = f.ingest("nope", Some(&f.token), None, b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"]["message"],
        "no source named \"nope\"; register it with `evident source add`"
    );
    assert_eq!(f.node.ledger.size(), 0);
}

#[tokio::test]
async fn limits_give_413_and_store_nothing() {
    let f = fixture(|c| {
        *c = c
            .replace("max_body_bytes = 10485760", "max_body_bytes = 1000")
            .replace("max_record_bytes = 1048576", "max_record_bytes = 10");
    });
    let (status, body) = f
        .ingest("app", Some(&f.token), None, vec![b'x'; 1001])
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["error"]["message"],
        "request body exceeds the limit of 1000 bytes"
    );
    let (status, body) = f
        .ingest(
            "app",
            Some(&f.token),
            None,
            b"{\"a\":1}\n{\"aaaaaaaaaaaa\":1}\n".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["error"]["message"],
        "record on line 2 is 18 bytes, over the record limit of 10 bytes"
    );
    assert_eq!(f.node.ledger.size(), 0);
    let (status, body) = f
        .ingest(
            "app",
            Some(&f.token),
            Some("application/xml"),
            b"<a/>".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn full_intake_answers_503_with_retry_after_then_recovers() {
    let f = fixture(|c| *c = c.replace("queue_records = 500000", "queue_records = 4"));
    let held = f.intake.try_admit(4).unwrap();
    let req = Request::post("/api/v1/ingest/app")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.token))
        .body(Body::from("{}\n{}\n"))
        .unwrap();
    let (status, headers, body) = f.send(req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "overloaded"
    );
    assert_eq!(f.node.ledger.size(), 0);
    drop(held);
    let (status, _) = f
        .ingest("app", Some(&f.token), None, b"{}\n{}\n".to_vec())
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, health) = f
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    let health: Value = serde_json::from_slice(&health).unwrap();
    assert_eq!(health["counters"]["rejected_overloaded"], 1);
    assert_eq!(health["counters"]["records_accepted"], 2);
    assert_eq!(health["tree_size"], 2);
}

#[tokio::test]
async fn log_api_serves_signed_checkpoints_and_tiles() {
    let f = fixture(|_| {});
    let (_, _, none) = f
        .send(Request::get("/log/checkpoint").body(Body::empty()).unwrap())
        .await;
    assert!(String::from_utf8_lossy(&none).contains("no_checkpoint"));
    let body: Vec<u8> = (0..300)
        .flat_map(|i| format!("{{\"i\":{i}}}\n").into_bytes())
        .collect();
    let (status, _) = f.ingest("app", Some(&f.token), None, body).await;
    assert_eq!(status, StatusCode::OK);
    f.node.ledger.checkpoint().unwrap();
    let (status, headers, note) = f
        .send(Request::get("/log/checkpoint").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    let cp =
        Checkpoint::open(&String::from_utf8(note).unwrap(), &f.node.ledger.verifier()).unwrap();
    assert_eq!((cp.size, cp.root), (300, f.node.ledger.root()));
    let (status, _, full) = f
        .send(Request::get("/log/tile/0/000").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (status, full.len()),
        (StatusCode::OK, 32 * TILE_WIDTH as usize)
    );
    let leaf0 = evident_ledger::leaf_hash(&f.node.ledger.entry_bytes(0).unwrap());
    assert_eq!(&full[..32], &leaf0.0);
    let (status, _, partial) = f
        .send(
            Request::get("/log/tile/0/001.p/44")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((status, partial.len()), (StatusCode::OK, 44 * 32));
    // A partial tile of a width the log never reached, or a non-canonical path: 404.
    for path in [
        "/log/tile/0/001.p/45",
        "/log/tile/0/1",
        "/log/tile/0/002",
        "/log/tile/entries/000",
    ] {
        let (status, _, _) = f
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn home_page_shows_the_log_and_escapes_what_it_prints() {
    let f = fixture(|_| {});
    let api = f
        .node
        .db
        .create_api_token("ops", evident_model::Role::Analyst, None)
        .unwrap();
    let (status, headers, page) = f
        .send(
            Request::get("/")
                .header(header::AUTHORIZATION, format!("Bearer {api}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains(
        "Tamper-evident log <strong>evident.test/api</strong> holds <strong>0</strong> entries."
    ));
    assert!(page.contains(&f.node.ledger.verifier().to_string()));
    assert!(page.contains("<tr><td>app</td><td>json</td>"));
}

#[tokio::test]
async fn content_encoding_other_than_gzip_is_refused_and_false_gzip_is_caught() {
    let f = fixture(|_| {});
    let send = |enc: &'static str, body: &'static [u8]| {
        Request::post("/api/v1/ingest/app")
            .header(header::AUTHORIZATION, format!("Bearer {}", f.token))
            .header(header::CONTENT_ENCODING, enc)
            .body(Body::from(body))
            .unwrap()
    };
    let (status, _, body) = f.send(send("br", b"xyz")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["error"]["message"],
        "Content-Encoding \"br\" is not supported; use gzip or none"
    );
    let (status, _, body) = f.send(send("gzip", b"{\"plain\":1}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["error"]["message"],
        "Content-Encoding is gzip but the body does not start with the gzip magic bytes"
    );
    let (status, _, _) = f.send(send("identity", b"{\"plain\":1}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.node.ledger.size(), 1);
}

#[tokio::test]
async fn sources_api_needs_an_api_token_and_reports_health() {
    let f = fixture(|_| {});
    let get = |token: Option<&str>| {
        let mut r = Request::get("/api/v1/sources");
        if let Some(t) = token {
            r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        r.body(Body::empty()).unwrap()
    };
    let (status, _, body) = f.send(get(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "missing_credentials"
    );
    // An ingest token is write-only: it does not read the API.
    let (status, _, _) = f.send(get(Some(&f.token))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let api = f
        .node
        .db
        .create_api_token("ops", evident_model::Role::Admin, None)
        .unwrap();
    let (status, _, body) = f.send(get(Some(&api))).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = body["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app", "auth"]);
    assert_eq!(body["sources"][0]["category"], "application");
    assert_eq!(body["sources"][1]["format"], "authlog");
    assert!(body["clock"]["synchronized"].is_boolean() || body["clock"]["error"].is_string());
}
