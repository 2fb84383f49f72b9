//! Splunk HEC against a real `serve` on a loopback port, driven with curl the way Vector's
//! and Fluent Bit's `splunk` outputs send (batched envelopes, gzip, the raw endpoint, the
//! channel header, Basic auth): exact Splunk answers, and exactly which records reached the
//! ledger with which metadata.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::io::Write;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use evident_ledger::{Entry, EntryKind};
use evident_model::Format;
use evident_server::{DataDir, Evident};

/// A server on 127.0.0.1:0 in its own runtime, stopped (gracefully) on drop.
struct Server {
    addr: SocketAddr,
    node: Arc<Evident>,
    token: String,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(edit_config: impl FnOnce(&mut String)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        data.init("evident.test/hec").unwrap();
        let mut cfg = std::fs::read_to_string(data.config_path()).unwrap();
        edit_config(&mut cfg);
        std::fs::write(data.config_path(), cfg).unwrap();
        let node = Evident::open(&data).unwrap();
        let token = node
            .db
            .add_source(&"app".parse().unwrap(), Format::JsonApp)
            .unwrap();
        let node = Arc::new(node);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let n = node.clone();
        let thread = std::thread::spawn(move || {
            rt.block_on(evident_server::serve(n, listener, async {
                let _ = stopped.await;
            }))
            .unwrap();
        });
        Server {
            addr,
            node,
            token,
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Runs curl with `args` plus the URL; returns status, response headers and body.
    fn curl(&self, path: &str, args: &[&str]) -> (u16, String, String) {
        let out = Command::new("curl")
            .args(["-sS", "-i"])
            .args(args)
            .arg(self.url(path))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_ascii_lowercase(), body.to_owned())
    }

    /// POSTs `body` (from a file, so bytes go as they are) with the given headers.
    fn post(&self, path: &str, headers: &[&str], body: &[u8]) -> (u16, String, String) {
        let file = self.dir.path().join("body.bin");
        std::fs::write(&file, body).unwrap();
        let data = format!("@{}", file.display());
        let mut args = vec!["-X", "POST", "--data-binary", data.as_str()];
        for h in headers {
            args.extend(["-H", h]);
        }
        self.curl(path, &args)
    }

    fn auth(&self) -> String {
        format!("Authorization: Splunk {}", self.token)
    }

    /// The log entries (not Evident's own audit entries, which the server seals into the
    /// same ledger whenever it likes).
    fn log_entries(&self) -> Vec<Entry> {
        (0..self.node.ledger.size())
            .map(|i| self.node.ledger.entry(i).unwrap())
            .filter(|e| e.kind == EntryKind::Log)
            .collect()
    }

    /// Every log entry as (body, metadata with the peer's port blanked).
    fn entries(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.log_entries()
            .into_iter()
            .map(|e| {
                assert_eq!(e.source, "app");
                let meta = e
                    .metadata
                    .into_iter()
                    .map(|(k, v)| {
                        if k == "peer" {
                            assert!(v.starts_with("127.0.0.1:"), "{v}");
                            (k, "127.0.0.1:*".to_owned())
                        } else {
                            (k, v)
                        }
                    })
                    .collect();
                (String::from_utf8(e.body).unwrap(), meta)
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Is curl here? Without it the test is skipped, unless `EVIDENT_REQUIRE_TOOLS=1` (CI).
fn have_curl() -> bool {
    let found = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("EVIDENT_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("skipped: curl not installed");
        }
        eprintln!("skipped: curl not installed");
    }
    found
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The metadata every HEC entry of the `app` source carries first.
fn shared(channel: Option<&str>) -> Vec<(String, String)> {
    let mut m = pairs(&[
        ("receiver", "hec"),
        ("peer", "127.0.0.1:*"),
        ("credential", "ingest-token:1"),
        ("format", "json"),
    ]);
    if let Some(c) = channel {
        m.push(("hec.channel".into(), c.into()));
    }
    m
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn with(mut base: Vec<(String, String)>, own: &[(&str, &str)]) -> Vec<(String, String)> {
    base.extend(pairs(own));
    base
}

const CHANNEL: &str = "0f6b5b8e-6d8e-4f5e-9c3c-3b1f1c5a9a01";

#[test]
fn vector_style_gzip_batch_is_stored_event_by_event() {
    if !have_curl() {
        return;
    }
    let s = Server::start(|_| {});
    // Vector's splunk_hec_logs sink: envelopes back to back, no separator, gzip, channel.
    let body = concat!(
        r#"{"event":{"message":"GET /health 200","status":200},"fields":{"env":"prod"},"time":1764150000.123,"host":"web-1","sourcetype":"vector","index":"main"}"#,
        r#"{"event":{"message":"POST /pay 402"},"time":1764150001.5,"host":"web-1","source":"/var/log/app.log"}"#,
        r#"{"event":"plain text line","time":1764150002}"#,
    );
    let auth = s.auth();
    let channel = format!("X-Splunk-Request-Channel: {CHANNEL}");
    let (status, _, resp) = s.post(
        "/services/collector/event",
        &[
            &auth,
            "Content-Type: application/json",
            "Content-Encoding: gzip",
            &channel,
        ],
        &gzip(body.as_bytes()),
    );
    assert_eq!(
        (status, resp.as_str()),
        (200, r#"{"text":"Success","code":0}"#)
    );
    assert_eq!(
        s.entries(),
        vec![
            (
                r#"{"message":"GET /health 200","status":200}"#.to_owned(),
                with(
                    shared(Some(CHANNEL)),
                    &[
                        ("hec.time", "1764150000.123"),
                        ("hec.host", "web-1"),
                        ("hec.sourcetype", "vector"),
                        ("hec.index", "main"),
                        ("hec.fields", r#"{"env":"prod"}"#),
                    ]
                )
            ),
            (
                r#"{"message":"POST /pay 402"}"#.to_owned(),
                with(
                    shared(Some(CHANNEL)),
                    &[
                        ("hec.time", "1764150001.5"),
                        ("hec.host", "web-1"),
                        ("hec.source", "/var/log/app.log"),
                    ]
                )
            ),
            (
                "plain text line".to_owned(),
                with(shared(Some(CHANNEL)), &[("hec.time", "1764150002")])
            ),
        ]
    );
}

#[test]
fn fluent_bit_style_lines_with_basic_auth_or_query_token_are_accepted() {
    if !have_curl() {
        return;
    }
    let s = Server::start(|_| {});
    // Fluent Bit's splunk output with http_user/http_passwd: Basic auth, envelopes back to
    // back, no Content-Type of its own (curl sends the form type).
    let body =
        r#"{"time":1764150000.25,"event":{"log":"a"}}{"time":1764150000.5,"event":{"log":"b"}}"#;
    let basic = format!("x:{}", s.token);
    let (status, _, resp) = s.curl(
        "/services/collector/event",
        &["-u", &basic, "--data-binary", body],
    );
    assert_eq!(
        (status, resp.as_str()),
        (200, r#"{"text":"Success","code":0}"#)
    );
    // Query-string authentication and the old `/services/collector` path.
    let path = format!("/services/collector?token={}&channel={CHANNEL}", s.token);
    let (status, _, resp) = s.curl(&path, &["--data-binary", r#"{"event":"c"}"#]);
    assert_eq!(
        (status, resp.as_str()),
        (200, r#"{"text":"Success","code":0}"#)
    );
    let got: Vec<(String, Vec<(String, String)>)> = s.entries();
    assert_eq!(
        got,
        vec![
            (
                r#"{"log":"a"}"#.to_owned(),
                with(shared(None), &[("hec.time", "1764150000.25")])
            ),
            (
                r#"{"log":"b"}"#.to_owned(),
                with(shared(None), &[("hec.time", "1764150000.5")])
            ),
            ("c".to_owned(), shared(Some(CHANNEL))),
        ]
    );
}

#[test]
fn raw_endpoint_stores_one_entry_per_line_with_query_metadata() {
    if !have_curl() {
        return;
    }
    let s = Server::start(|_| {});
    let auth = s.auth();
    let path = format!("/services/collector/raw?channel={CHANNEL}&sourcetype=syslog&host=db-1");
    let (status, _, resp) = s.post(
        &path,
        &[&auth, "Content-Encoding: gzip"],
        &gzip(b"Nov 26 09:40:00 db-1 sshd[1]: ok\r\n\n  \nsecond line\nthird line"),
    );
    assert_eq!(
        (status, resp.as_str()),
        (200, r#"{"text":"Success","code":0}"#)
    );
    let meta = with(
        shared(Some(CHANNEL)),
        &[("hec.host", "db-1"), ("hec.sourcetype", "syslog")],
    );
    assert_eq!(
        s.entries(),
        vec![
            ("Nov 26 09:40:00 db-1 sshd[1]: ok".to_owned(), meta.clone()),
            ("second line".to_owned(), meta.clone()),
            ("third line".to_owned(), meta),
        ]
    );
    // A time that is not epoch seconds.
    let (status, _, resp) = s.post("/services/collector/raw?time=soon", &[&auth], b"x");
    assert_eq!(
        (status, resp.as_str()),
        (400, r#"{"text":"Invalid data format","code":6}"#)
    );
    // Nothing but blank lines is no data.
    let (status, _, resp) = s.post("/services/collector/raw", &[&auth], b"\n \n");
    assert_eq!(
        (status, resp.as_str()),
        (400, r#"{"text":"No data","code":5}"#)
    );
    assert_eq!(s.log_entries().len(), 3);
}

#[test]
fn missing_malformed_and_unknown_tokens_get_splunks_answers_and_store_nothing() {
    if !have_curl() {
        return;
    }
    let s = Server::start(|_| {});
    let body = br#"{"event":"x"}"#;
    let cases: [(&[&str], u16, &str); 5] = [
        (&[], 401, r#"{"text":"Token is required","code":2}"#),
        (
            &["Authorization: evd_nope"],
            401,
            r#"{"text":"Invalid authorization","code":3}"#,
        ),
        (
            &["Authorization: Splunk "],
            401,
            r#"{"text":"Invalid authorization","code":3}"#,
        ),
        (
            &["Authorization: Splunk evd_wrong"],
            403,
            r#"{"text":"Invalid token","code":4}"#,
        ),
        (
            &["Authorization: Bearer evd_wrong"],
            403,
            r#"{"text":"Invalid token","code":4}"#,
        ),
    ];
    for (headers, want_status, want_body) in cases {
        let (status, _, resp) = s.post("/services/collector/event", headers, body);
        assert_eq!(
            (status, resp.as_str()),
            (want_status, want_body),
            "{headers:?}"
        );
    }
    let (status, _, resp) = s.post("/services/collector/raw", &[], body);
    assert_eq!(
        (status, resp.as_str()),
        (401, r#"{"text":"Token is required","code":2}"#)
    );
    assert_eq!(s.log_entries().len(), 0);
    let (_, _, health) = s.curl("/healthz", &[]);
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["counters"]["rejected_unauthorized"], 6);
}

#[test]
fn a_bad_event_stops_the_batch_there_and_names_its_number() {
    if !have_curl() {
        return;
    }
    let s = Server::start(|_| {});
    let auth = s.auth();
    let post = |body: &str| s.post("/services/collector/event", &[&auth], body.as_bytes());
    // Event 3 is cut off: events 0-2 are stored, the rest of the batch is not.
    let (status, _, resp) =
        post(r#"{"event":"e0"}{"event":"e1"}{"event":"e2"}{"event":"e3", "time":}{"event":"e4"}"#);
    assert_eq!(
        (status, resp.as_str()),
        (
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":3}"#
        )
    );
    // Event 1 has no `event` field.
    let (status, _, resp) = post(r#"{"event":"f0"} {"time":1764150000,"host":"h"} {"event":"f2"}"#);
    assert_eq!(
        (status, resp.as_str()),
        (
            400,
            r#"{"text":"Event field is required","code":12,"invalid-event-number":1}"#
        )
    );
    // Event 0 is blank.
    let (status, _, resp) = post(r#"{"event":""}{"event":"g1"}"#);
    assert_eq!(
        (status, resp.as_str()),
        (
            400,
            r#"{"text":"Event field cannot be blank","code":13,"invalid-event-number":0}"#
        )
    );
    // An index no Splunk index can be called.
    let (status, _, resp) = post(r#"{"event":"h0","index":"../etc"}"#);
    assert_eq!(
        (status, resp.as_str()),
        (
            400,
            r#"{"text":"Incorrect index","code":7,"invalid-event-number":0}"#
        )
    );
    // No data at all.
    let (status, _, resp) = post("  \n");
    assert_eq!(
        (status, resp.as_str()),
        (400, r#"{"text":"No data","code":5}"#)
    );
    let bodies: Vec<String> = s.entries().into_iter().map(|(b, _)| b).collect();
    assert_eq!(bodies, ["e0", "e1", "e2", "f0"]);
    // A gzip body that is not gzip.
    let (status, _, resp) = s.post(
        "/services/collector/event",
        &[&auth, "Content-Encoding: gzip"],
        br#"{"event":"x"}"#,
    );
    assert_eq!(
        (status, resp.as_str()),
        (400, r#"{"text":"Invalid data format","code":6}"#)
    );
    assert_eq!(s.log_entries().len(), 4);
}

#[test]
fn health_ack_and_a_full_intake_answer_as_splunk_does() {
    if !have_curl() {
        return;
    }
    let s = Server::start(|c| *c = c.replace("queue_records = 500000", "queue_records = 4"));
    let (status, _, resp) = s.curl("/services/collector/health", &[]);
    assert_eq!(
        (status, resp.as_str()),
        (200, r#"{"text":"HEC is healthy","code":17}"#)
    );
    let (status, _, resp) = s.curl("/services/collector/health/1.0", &[]);
    assert_eq!(
        (status, resp.as_str()),
        (200, r#"{"text":"HEC is healthy","code":17}"#)
    );
    let auth = s.auth();
    let (status, _, resp) = s.post("/services/collector/ack", &[&auth], br#"{"acks":[0]}"#);
    assert_eq!(
        (status, resp.as_str()),
        (400, r#"{"text":"ACK is disabled","code":14}"#)
    );

    let held = s.node.intake.try_admit(4).unwrap();
    let (status, head, resp) = s.post("/services/collector/event", &[&auth], br#"{"event":"x"}"#);
    assert_eq!(
        (status, resp.as_str()),
        (503, r#"{"text":"Server is busy","code":9}"#)
    );
    assert!(head.contains("\r\nretry-after: 1"), "{head}");
    let (status, _, resp) = s.post("/services/collector/raw", &[&auth], b"line");
    assert_eq!(
        (status, resp.as_str()),
        (503, r#"{"text":"Server is busy","code":9}"#)
    );
    let (status, _, resp) = s.curl("/services/collector/health", &[]);
    assert_eq!(
        (status, resp.as_str()),
        (
            503,
            r#"{"text":"HEC is unhealthy, queues are full","code":18}"#
        )
    );
    assert_eq!(s.log_entries().len(), 0);
    drop(held);
    let (status, _, resp) = s.post("/services/collector/event", &[&auth], br#"{"event":"x"}"#);
    assert_eq!(
        (status, resp.as_str()),
        (200, r#"{"text":"Success","code":0}"#)
    );
    assert_eq!(s.log_entries().len(), 1);
}

#[test]
fn metrics_count_what_hec_and_http_ingest_received_stored_and_rejected() {
    if !have_curl() {
        return;
    }
    let s = Server::start(|_| {});
    let auth = s.auth();
    // HEC: 2 stored, then a batch of 1 good + 1 bad (1 stored, 1 rejected), then a refused
    // token (counted as a request, not as records).
    s.post(
        "/services/collector/event",
        &[&auth],
        br#"{"event":"a"}{"event":"b"}"#,
    );
    s.post(
        "/services/collector/event",
        &[&auth],
        br#"{"event":"c"}{"event":""}"#,
    );
    s.post(
        "/services/collector/event",
        &["Authorization: Splunk evd_wrong"],
        br#"{"event":"d"}"#,
    );
    // HTTP ingest: 3 records.
    let bearer = format!("Authorization: Bearer {}", s.token);
    let (status, _, _) = s.post(
        "/api/v1/ingest/app",
        &[&bearer, "Content-Type: application/x-ndjson"],
        b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n",
    );
    assert_eq!(status, 200);
    let api = s
        .node
        .db
        .create_api_token("prometheus", evident_model::Role::Analyst, None)
        .unwrap();
    let (status, head, text) = s.curl("/metrics", &["-H", &format!("Authorization: Bearer {api}")]);
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    let samples: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("evident_receiver_records_total")
                || l.starts_with("evident_records_accepted_total")
                || l.starts_with("evident_requests_rejected_total")
                || l.starts_with("evident_intake")
        })
        .collect();
    assert_eq!(
        samples,
        [
            r#"evident_receiver_records_total{receiver="hec",outcome="received"} 4"#,
            r#"evident_receiver_records_total{receiver="hec",outcome="stored"} 3"#,
            r#"evident_receiver_records_total{receiver="hec",outcome="rejected"} 1"#,
            r#"evident_receiver_records_total{receiver="hec",outcome="dropped"} 0"#,
            r#"evident_receiver_records_total{receiver="http",outcome="received"} 3"#,
            r#"evident_receiver_records_total{receiver="http",outcome="stored"} 3"#,
            r#"evident_receiver_records_total{receiver="http",outcome="rejected"} 0"#,
            r#"evident_receiver_records_total{receiver="http",outcome="dropped"} 0"#,
            "evident_records_accepted_total 6",
            r#"evident_requests_rejected_total{reason="unauthorized"} 1"#,
            r#"evident_requests_rejected_total{reason="too_large"} 0"#,
            r#"evident_requests_rejected_total{reason="overloaded"} 0"#,
            r#"evident_requests_rejected_total{reason="bad_body"} 1"#,
            "evident_intake_available_permits 500000",
            "evident_intake_capacity 500000",
        ]
    );
    // The tree holds the 6 log entries plus whatever audit entries the server sealed;
    // watermark and lag add up to it.
    let metric = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap()
            .parse()
            .unwrap()
    };
    let tree_size = metric("evident_ledger_tree_size");
    let logs = (0..tree_size)
        .filter(|i| s.node.ledger.entry(*i).unwrap().kind == EntryKind::Log)
        .count();
    assert_eq!(logs, 6);
    assert_eq!(
        metric("evident_pipeline_watermark") + metric("evident_pipeline_lag_entries"),
        tree_size
    );
}
