//! HTTPS (issue 7): `serve` with `[server.tls]` speaks TLS from PEM files, sends HSTS and
//! `Secure` session cookies, and shrugs off plain HTTP, garbage and stalled handshakes
//! (logged and counted) while it keeps serving, cuts off slow heads and stalled bodies as
//! plain HTTP does; a certificate that does not fit its key
//! stops the start with a message naming the file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

#[path = "support/certs.rs"]
mod certs;
use certs::certificates;

use std::sync::Arc;
use std::time::Duration;

use evident_model::Role;
use evident_server::{DataDir, Evident, TlsFiles};
use evident_store::NewUser;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// `evident serve` over HTTPS on a free port, stopped by the sender.
struct Https {
    _dir: tempfile::TempDir,
    node: Arc<Evident>,
    base: String,
    port: u16,
    client: reqwest::Client,
    /// A raw TLS client trusting the test CA, for requests reqwest will not send
    /// (half a head, half a body).
    tls: tokio_rustls::TlsConnector,
    stop: oneshot::Sender<()>,
    served: tokio::task::JoinHandle<Result<(), evident_server::Error>>,
}

async fn https() -> Https {
    https_with(|_| {}).await
}

/// [`https`] with the node's configuration changed first.
async fn https_with(configure: impl FnOnce(&mut Evident)) -> Https {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/tls").unwrap();
    let mut node = Evident::open(&data).unwrap();
    node.config.server.tls = Some(TlsFiles { cert, key });
    configure(&mut node);
    node.db
        .create_user(
            &NewUser {
                username: "alice",
                role: Role::Admin,
                password: Some("correct horse battery"),
                window: None,
            },
            0,
        )
        .unwrap();
    let node = Arc::new(node);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(evident_server::serve(node.clone(), listener, async move {
        let _ = stopped.await;
    }));
    let root = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([root])
        .build()
        .unwrap();
    Https {
        tls: certs::connector(&ca),
        _dir: dir,
        node,
        base: format!("https://127.0.0.1:{port}"),
        port,
        client,
        stop,
        served,
    }
}

impl Https {
    async fn health(&self) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
        let resp = self
            .client
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        (status, headers, resp.json().await.unwrap())
    }

    /// Waits (up to 5 s) until `/healthz` counts `n` failed handshakes, and returns the
    /// count it settled on.
    async fn handshake_failures(&self, n: u64) -> u64 {
        let mut seen = 0;
        for _ in 0..50 {
            let (_, _, h) = self.health().await;
            seen = h["counters"]["rejected_tls_handshake"].as_u64().unwrap();
            if seen >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen
    }

    /// A TLS connection with its handshake done.
    async fn connect(&self) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.tls
            .connect("localhost".try_into().unwrap(), tcp)
            .await
            .unwrap()
    }

    /// `GET path` on a connection of its own that closes after the answer (no idle
    /// keep-alive connection left to time out): status code and JSON body.
    async fn get_closing(&self, path: &str) -> (u16, Value) {
        let mut c = self.connect().await;
        c.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: evident\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut got = Vec::new();
        // A peer closing without close_notify is an error to rustls; the bytes are kept.
        let _ = c.read_to_end(&mut got).await;
        let text = String::from_utf8(got).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap())
    }

    async fn shutdown(self) {
        self.stop.send(()).unwrap();
        let result = tokio::time::timeout(Duration::from_secs(30), self.served)
            .await
            .expect("serve stops after the shutdown signal")
            .unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_answers_with_hsts_and_secure_session_cookies() {
    let s = https().await;
    let (status, headers, health) = s.health().await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        headers["strict-transport-security"].to_str().unwrap(),
        "max-age=31536000"
    );
    assert_eq!(health["status"], "ok");

    let resp = s
        .client
        .post(format!("{}/api/v1/session", s.base))
        .json(&json!({"username": "alice", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let token = set_cookie
        .strip_prefix("evident_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    assert_eq!(
        set_cookie,
        format!(
            "evident_session={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"
        )
    );
    // The peer address reaches handlers over TLS too (the login's audit entry names it).
    let rows = s.node.db.audit_rows("access", None).unwrap();
    let login: Value = serde_json::from_str(&rows.last().unwrap().body).unwrap();
    assert_eq!(login["evident"]["access"]["action"], "login");
    assert_eq!(login["evident"]["access"]["outcome"], "success");
    assert_eq!(login["src_endpoint"]["ip"], "127.0.0.1");

    let me = s
        .client
        .get(format!("{}/api/v1/session", s.base))
        .header("cookie", format!("evident_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), reqwest::StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(
        (me["user"].as_str(), me["role"].as_str()),
        (Some("alice"), Some("admin"))
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_garbage_and_stalled_handshakes_do_not_stop_the_server() {
    let s = https().await;
    // A client that connects and says nothing holds a handshake slot, nobody else's turn.
    let _stalled = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
        .await
        .unwrap();
    let (status, _, _) = s.health().await;
    assert_eq!(status, reqwest::StatusCode::OK);

    // Plain HTTP to the TLS port: refused at the handshake.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/healthz", s.port))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    // Bytes that are not TLS at all: the connection is closed, nothing else happens.
    let mut garbage = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
        .await
        .unwrap();
    garbage
        .write_all(b"\x16\x03\x01\x00\x05\xff\xff\xff\xff\xffnot a client hello at all")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), garbage.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the server closes a garbage connection");

    assert_eq!(s.handshake_failures(2).await, 2);
    let (status, _, health) = s.health().await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(health["counters"]["rejected_tls_handshake"], 2);
    s.shutdown().await;
}

#[tokio::test]
async fn a_key_that_does_not_fit_the_certificate_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, _) = certificates(dir.path());
    let other_key = dir.path().join("other.pem");
    std::fs::write(
        &other_key,
        rcgen::KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/tls").unwrap();
    let mut node = Evident::open(&data).unwrap();
    node.config.server.tls = Some(TlsFiles {
        cert,
        key: other_key.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = evident_server::serve(Arc::new(node), listener, std::future::pending())
        .await
        .unwrap_err()
        .to_string();
    let expected = format!(
        "server.tls: {}: the key does not fit the certificate: ",
        other_key.display()
    );
    assert!(err.starts_with(&expected), "{err}");
}

/// The HTTP timeouts hold over TLS too: a client that finished its handshake and then
/// sends half a request head is cut off after `header_read_timeout_secs`, one that stalls
/// in its body gets 408 after `request_body_timeout_secs`, and a normal client is served
/// promptly beside them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_and_stalled_bodies_over_tls_are_cut_off_while_others_are_served() {
    const SLOW_HEADS: usize = 20;
    const STALLED_BODIES: usize = 10;
    let s = https_with(|node| {
        node.config.server.header_read_timeout_secs = 1;
        node.config.server.request_body_timeout_secs = 2;
    })
    .await;
    let token = s
        .node
        .db
        .add_source(&"app".parse().unwrap(), evident_model::Format::JsonApp)
        .unwrap();
    let started = std::time::Instant::now();
    let mut slow = Vec::new();
    for _ in 0..SLOW_HEADS {
        let mut c = s.connect().await;
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: evident\r\n")
            .await
            .unwrap();
        c.flush().await.unwrap();
        slow.push(c);
    }
    let head = format!(
        "POST /api/v1/ingest/app HTTP/1.1\r\nHost: evident\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{{\"id\":\"st"
    );
    let mut stalled = Vec::new();
    for _ in 0..STALLED_BODIES {
        let mut c = s.connect().await;
        c.write_all(head.as_bytes()).await.unwrap();
        c.flush().await.unwrap();
        stalled.push(c);
    }
    // A normal client is answered at once while all of them wait.
    let asked = std::time::Instant::now();
    let (status, _) = s.get_closing("/healthz").await;
    assert_eq!(status, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );

    let read_all = |mut c: tokio_rustls::client::TlsStream<tokio::net::TcpStream>| async move {
        let mut got = Vec::new();
        // A peer that closes without close_notify is an error to rustls; what was read
        // before it is kept.
        let _ = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut got))
            .await
            .expect("the server closes the connection");
        (got, started.elapsed())
    };
    for c in slow {
        let (got, at) = read_all(c).await;
        assert!(
            at >= Duration::from_millis(900),
            "a slow head was cut after {at:?}"
        );
        let got = String::from_utf8_lossy(&got);
        assert!(
            got.is_empty() || got.starts_with("HTTP/1.1 408 "),
            "a slow head was answered {got:?}"
        );
    }
    for c in stalled {
        let (got, at) = read_all(c).await;
        assert!(
            at >= Duration::from_millis(1900),
            "a stalled body was cut after {at:?}"
        );
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
        assert!(
            text.ends_with(
                r#"{"error":{"code":"request_timeout","message":"the request body did not arrive within 2 s (server.request_body_timeout_secs)"}}"#
            ),
            "{text}"
        );
    }
    let (_, health) = s.get_closing("/healthz").await;
    assert_eq!(
        health["counters"]["http_header_timeouts"],
        SLOW_HEADS as u64
    );
    assert_eq!(
        health["counters"]["http_body_timeouts"],
        STALLED_BODIES as u64
    );
    // Nothing of the stalled requests was stored.
    let mut logs = 0;
    s.node
        .ledger
        .for_each_entry(0, s.node.ledger.size(), |_, bytes| {
            if evident_ledger::Entry::decode(bytes)
                .is_ok_and(|e| e.kind == evident_ledger::EntryKind::Log)
            {
                logs += 1;
            }
        })
        .unwrap();
    assert_eq!(logs, 0);
    s.shutdown().await;
}
