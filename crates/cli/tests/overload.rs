//! Overload and hostile clients against the real `evident serve` (issue 11): slowloris
//! request heads and stalled bodies are cut off after the configured timeouts while normal
//! requests keep being answered promptly; connections beyond `server.max_connections` are
//! refused without hurting the open ones; 10,000 concurrent HTTP ingest connections and
//! 2,000 syslog TCP connections lose nothing and keep the server's memory bounded; a huge
//! slow body and a client that never reads its responses cannot grow memory without bound;
//! `evident verify` beside a server that keeps ingesting never reports a false mismatch.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

mod support;

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use evident_ledger::Ledger;
use support::{Server, get_json, http, run, set_server_config};

/// Held by each test: they measure latency and memory, so they run one at a time even
/// when `cargo test` runs tests in parallel.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes [`SERIAL`] (a test that failed before does not stop the others).
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An initialized data directory with a `json` source `app`; returns (temp dir, data, token).
fn setup(server_keys: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    support::init(&data);
    let token = support::add_source(&data, "app", "json");
    if !server_keys.is_empty() {
        set_server_config(&data, server_keys);
    }
    (tmp, data, token)
}

/// `POST /api/v1/ingest/app` of NDJSON `lines` on a fresh connection.
fn ingest(addr: SocketAddr, token: &str, lines: &[String]) -> Option<(u16, Vec<u8>)> {
    let mut body = lines.join("\n").into_bytes();
    body.push(b'\n');
    let auth = format!("Bearer {token}");
    http(
        addr,
        "POST",
        "/api/v1/ingest/app",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/x-ndjson"),
        ],
        &body,
    )
}

/// The `/healthz` counter `name`.
fn counter(addr: SocketAddr, name: &str) -> u64 {
    get_json(addr, "/healthz")["counters"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {name} on /healthz"))
}

/// Polls `f` every 50 ms until it returns true or `within` passes; returns the last answer.
fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the server closed `s` (EOF or reset); bytes it sent before are appended to `got`.
fn closed_by_peer(s: &mut TcpStream, got: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// Records `(id, body)` each source entry `app`/`syslog` holds, reading the ledger after the
/// server stopped.
fn stored_bodies(data: &Path, source: &str) -> Vec<String> {
    let signer = evident_server::DataDir::new(data).signer().unwrap();
    let ledger = Ledger::open(&data.join("ledger"), signer, Default::default()).unwrap();
    let mut out = Vec::new();
    ledger
        .for_each_entry(0, ledger.size(), |_, bytes| {
            let e = evident_ledger::Entry::decode(bytes).unwrap();
            if e.source == source {
                out.push(String::from_utf8(e.body).unwrap());
            }
        })
        .unwrap();
    out
}

/// Resident memory of process `pid` in KiB (0 once it is gone).
fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Peak of [`rss_of`] `pid`, sampled every 50 ms until `stop`.
fn rss_sampler(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::SeqCst) {
            peak = peak.max(rss_of(pid));
            std::thread::sleep(Duration::from_millis(50));
        }
        peak
    })
}

#[test]
fn slowloris_heads_and_stalled_bodies_are_cut_off_while_others_are_served() {
    let _serial = one_at_a_time();
    const SLOW_HEADS: usize = 100;
    const STALLED_BODIES: usize = 50;
    let (_tmp, data, token) = setup("header_read_timeout_secs = 2\nrequest_body_timeout_secs = 3");
    let server = Server::start(&data, &[]);
    let addr = server.addr;

    // A prompt client beside them for the whole test: health checks and ingests.
    let stop = Arc::new(AtomicBool::new(false));
    let prompt = {
        let (stop, token) = (stop.clone(), token.clone());
        std::thread::spawn(move || {
            let (mut worst, mut answered, mut n) = (Duration::ZERO, 0u64, 0u64);
            while !stop.load(Ordering::SeqCst) {
                let t = Instant::now();
                let (status, body) = http(addr, "GET", "/healthz", &[], b"").expect("healthz");
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                let (status, body) =
                    ingest(addr, &token, &[format!("{{\"id\":\"prompt-{n}\"}}")]).expect("ingest");
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                worst = worst.max(t.elapsed());
                answered += 1;
                n += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            (worst, answered)
        })
    };

    let head = format!(
        "POST /api/v1/ingest/app HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n"
    );
    let started = Instant::now();
    let mut slow: Vec<TcpStream> = (0..SLOW_HEADS)
        .map(|_| {
            let s = TcpStream::connect(addr).unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    let mut stalled_at = Vec::new();
    let mut stalled: Vec<TcpStream> = (0..STALLED_BODIES)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(b"{\"id\":\"st").unwrap();
            stalled_at.push(Instant::now());
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();

    // One header byte per slow connection every 500 ms; note when the server closes each.
    let mut slow_closed: Vec<Option<Duration>> = vec![None; SLOW_HEADS];
    let mut slow_got: Vec<Vec<u8>> = vec![Vec::new(); SLOW_HEADS];
    let mut stalled_closed: Vec<Option<Duration>> = vec![None; STALLED_BODIES];
    let mut stalled_got: Vec<Vec<u8>> = vec![Vec::new(); STALLED_BODIES];
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(8)
        && (slow_closed.iter().any(Option::is_none) || stalled_closed.iter().any(Option::is_none))
    {
        for (i, s) in slow.iter_mut().enumerate() {
            if slow_closed[i].is_none() {
                if sent < head.len() {
                    let _ = s.write(&head.as_bytes()[sent..=sent]);
                }
                if closed_by_peer(s, &mut slow_got[i]) {
                    slow_closed[i] = Some(started.elapsed());
                }
            }
        }
        for (i, s) in stalled.iter_mut().enumerate() {
            if stalled_closed[i].is_none() && closed_by_peer(s, &mut stalled_got[i]) {
                stalled_closed[i] = Some(stalled_at[i].elapsed());
            }
        }
        sent += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
    stop.store(true, Ordering::SeqCst);
    let (worst, answered) = prompt.join().expect("prompt client");

    // Slow heads: closed once the 2 s header timeout passed (sampled every 500 ms), having
    // sent only part of their head.
    for (i, at) in slow_closed.iter().enumerate() {
        let at = at.unwrap_or_else(|| panic!("slow connection {i} still open after 8 s"));
        assert!(
            at >= Duration::from_millis(1900) && at <= Duration::from_millis(3600),
            "slow connection {i} closed after {at:?}, not about 2 s"
        );
        let got = String::from_utf8_lossy(&slow_got[i]);
        assert!(
            got.is_empty() || got.starts_with("HTTP/1.1 408 "),
            "slow connection {i} was answered {got:?}"
        );
    }
    // Stalled bodies: answered 408 with the reason once the 3 s body deadline passed.
    for (i, at) in stalled_closed.iter().enumerate() {
        let at = at.unwrap_or_else(|| panic!("stalled connection {i} still open after 8 s"));
        assert!(
            at >= Duration::from_millis(2900) && at <= Duration::from_millis(4600),
            "stalled connection {i} closed after {at:?}, not about 3 s"
        );
        let (status, body) = support::parse_response(&stalled_got[i])
            .unwrap_or_else(|| panic!("stalled connection {i}: no complete response"));
        assert_eq!(status, 408);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"error": {"code": "request_timeout", "message":
                "the request body did not arrive within 3 s (server.request_body_timeout_secs)"}})
        );
    }
    assert!(
        answered >= 20,
        "the prompt client got only {answered} answers"
    );
    assert!(
        worst < Duration::from_millis(2000),
        "a normal request took {worst:?} beside the slow clients"
    );
    assert_eq!(
        counter(addr, "http_header_timeouts"),
        SLOW_HEADS as u64,
        "header timeouts"
    );
    assert_eq!(
        counter(addr, "http_body_timeouts"),
        STALLED_BODIES as u64,
        "body timeouts"
    );
    assert_eq!(counter(addr, "rejected_too_large"), 0);
    // Only the health request itself is open now.
    assert!(eventually(Duration::from_secs(2), || counter(
        addr,
        "http_connections_open"
    ) == 1));
    eprintln!(
        "{SLOW_HEADS} slow heads and {STALLED_BODIES} stalled bodies cut off; {answered} prompt rounds, worst {worst:?}"
    );
    server.terminate();
    // Only the prompt client's records were stored; nothing of the stalled bodies.
    let bodies = stored_bodies(&data, "app");
    assert_eq!(bodies.len() as u64, answered);
    assert!(bodies.iter().all(|b| b.starts_with("{\"id\":\"prompt-")));
}

/// Sends `GET /healthz` on a kept-alive connection and reads one response.
fn keep_alive_health(s: &mut TcpStream) -> serde_json::Value {
    write!(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed a kept-alive connection");
        raw.extend_from_slice(&buf[..n]);
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .expect("content-length");
            if raw.len() >= split + 4 + len {
                assert!(head.starts_with("http/1.1 200"), "{head}");
                return serde_json::from_slice(&raw[split + 4..split + 4 + len]).unwrap();
            }
        }
    }
}

#[test]
fn connections_beyond_the_cap_are_refused_and_the_open_ones_keep_working() {
    let _serial = one_at_a_time();
    const CAP: usize = 20;
    const EXTRA: usize = 5;
    let (_tmp, data, _token) = setup(&format!("max_connections = {CAP}"));
    let api = run(&data, &["token", "create", "ops"]);
    api.expect_code(0);
    let auth = format!("Bearer {}", api.stdout.trim());
    let server = Server::start(&data, &[]);
    let mut open: Vec<TcpStream> = (0..CAP)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            keep_alive_health(&mut s);
            s
        })
        .collect();
    for i in 0..EXTRA {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // Refused: closed before any request is read, without an answer.
        let _ = write!(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut got = Vec::new();
        let t = Instant::now();
        let r = s.read_to_end(&mut got);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "connection {i} over the cap was held open {:?}",
            t.elapsed()
        );
        assert!(
            got.is_empty(),
            "connection {i} over the cap was answered: {r:?} {}",
            String::from_utf8_lossy(&got)
        );
    }
    // Every open connection is still served, and sees the counts.
    for s in &mut open {
        let h = keep_alive_health(s);
        assert_eq!(h["counters"]["http_connections_refused"], EXTRA as u64);
        assert_eq!(h["counters"]["http_connections_open"], CAP as u64);
    }
    // Tries refused until the server noticed the closed connection are counted too.
    let mut attempts = 0usize;
    let metrics = {
        let (status, body) = {
            // Room for one more: close one of the open connections first.
            drop(open.pop());
            let mut got = None;
            assert!(eventually(Duration::from_secs(3), || {
                attempts += 1;
                got = http(
                    server.addr,
                    "GET",
                    "/metrics",
                    &[("Authorization", &auth)],
                    b"",
                );
                got.is_some()
            }));
            got.unwrap()
        };
        assert_eq!(status, 200);
        String::from_utf8(body).unwrap()
    };
    assert!(
        metrics.lines().any(|l| l
            == format!(
                "evident_http_connections_refused_total {}",
                EXTRA + attempts - 1
            )),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == format!("evident_http_connections_open {CAP}")),
        "{metrics}"
    );
    drop(open);
    server.terminate();
}

/// Raises the soft open-files limit to what `need` descriptors require (children inherit
/// it); `false` (after printing why) when the hard limit is lower.
fn enough_file_descriptors(need: u64) -> bool {
    match rlimit::increase_nofile_limit(need) {
        Ok(got) if got >= need => true,
        Ok(got) => {
            eprintln!("skipped: the open-files hard limit ({got}) is below the {need} needed");
            false
        }
        Err(e) => {
            eprintln!("skipped: cannot raise the open-files limit: {e}");
            false
        }
    }
}

#[test]
fn ten_thousand_concurrent_ingest_connections_lose_nothing() {
    let _serial = one_at_a_time();
    const CONNS: usize = 10_000;
    if !enough_file_descriptors(CONNS as u64 + 500) {
        return;
    }
    let (_tmp, data, token) = setup("max_connections = 10100\nheader_read_timeout_secs = 60");
    let server = Server::start(&data, &[]);
    let addr = server.addr;
    let idle_rss = server.rss_kib();
    let pid = server.child.id();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = rss_sampler(server.child.id(), stop.clone());
    let started = Instant::now();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let connected = Arc::new(tokio::sync::Barrier::new(CONNS + 1));
    let go = Arc::new(tokio::sync::Notify::new());
    let released = Arc::new(AtomicBool::new(false));
    // Connects in waves the accept queue (1,024) absorbs: a SYN or ACK the kernel drops
    // when it overflows is retried only after a second or more.
    let connect_slots = Arc::new(tokio::sync::Semaphore::new(64));
    let acked = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let (all_open_rss, open_count) = rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..CONNS {
            let (connected, go, released, slots) = (
                connected.clone(),
                go.clone(),
                released.clone(),
                connect_slots.clone(),
            );
            let (acked, failures, token) = (acked.clone(), failures.clone(), token.clone());
            tasks.spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let permit = slots.acquire_owned().await.unwrap();
                let stream = tokio::net::TcpStream::connect(addr).await;
                drop(permit);
                connected.wait().await;
                let mut s = match stream {
                    Ok(s) => s,
                    Err(e) => {
                        failures.lock().unwrap().push(format!("{i}: connect: {e}"));
                        return;
                    }
                };
                if !released.load(Ordering::SeqCst) {
                    go.notified().await;
                }
                let body = format!("{{\"id\":\"c{i}-a\"}}\n{{\"id\":\"c{i}-b\"}}\n");
                let req = format!(
                    "POST /api/v1/ingest/app HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
                     Content-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let mut raw = Vec::new();
                let result = async {
                    s.write_all(req.as_bytes()).await?;
                    s.read_to_end(&mut raw).await
                };
                match tokio::time::timeout(Duration::from_secs(50), result).await {
                    Ok(Ok(_)) => match support::parse_response(&raw) {
                        Some((200, body)) => {
                            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                            if v["accepted"] == 2 {
                                acked.fetch_add(1, Ordering::SeqCst);
                            } else {
                                failures.lock().unwrap().push(format!("{i}: 200 {v}"));
                            }
                        }
                        other => failures.lock().unwrap().push(format!("{i}: {other:?}")),
                    },
                    Ok(Err(e)) => failures.lock().unwrap().push(format!("{i}: {e}")),
                    Err(_) => failures.lock().unwrap().push(format!("{i}: no answer in 50 s")),
                }
            });
        }
        connected.wait().await;
        // All connected and idle: the server holds them all and still answers.
        let open_count = tokio::task::spawn_blocking(move || {
            let mut open = 0;
            eventually(Duration::from_secs(20), || {
                open = counter(addr, "http_connections_open");
                open == CONNS as u64 + 1
            });
            open
        })
        .await
        .unwrap();
        let server_rss = rss_of(pid);
        released.store(true, Ordering::SeqCst);
        go.notify_waiters();
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
        (server_rss, open_count)
    });
    let elapsed = started.elapsed();
    // Still answering after the storm.
    assert_eq!(get_json(addr, "/healthz")["status"], "ok");
    stop.store(true, Ordering::SeqCst);
    let peak = sampler.join().unwrap();
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} of {CONNS} connections failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(
        open_count,
        CONNS as u64 + 1,
        "connections open at once; server log:\n{}",
        server
            .log
            .lock()
            .unwrap()
            .iter()
            .rev()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(acked.load(Ordering::SeqCst), CONNS as u64);
    eprintln!(
        "{CONNS} connections, all acknowledged in {elapsed:?}; server RSS idle {idle_rss} KiB, \
         with all open {all_open_rss} KiB, peak {peak} KiB"
    );
    assert!(
        peak < RSS_BOUND_10K_KIB,
        "server RSS peaked at {peak} KiB with {CONNS} connections (bound {RSS_BOUND_10K_KIB} KiB)"
    );
    server.terminate();
    let bodies: HashSet<String> = stored_bodies(&data, "app").into_iter().collect();
    assert_eq!(bodies.len(), 2 * CONNS);
    for i in 0..CONNS {
        for part in ["a", "b"] {
            assert!(
                bodies.contains(&format!("{{\"id\":\"c{i}-{part}\"}}")),
                "acknowledged record c{i}-{part} is missing"
            );
        }
    }
}

/// Bound on the server's RSS with 10,000 connections ingesting at once (see
/// docs/operations.md for the measured peak).
const RSS_BOUND_10K_KIB: u64 = 1024 * 1024;

/// A free TCP port on 127.0.0.1 (bound and released; the server binds it next).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn two_thousand_syslog_tcp_connections_lose_nothing() {
    let _serial = one_at_a_time();
    const CONNS: usize = 2_000;
    const PER_CONN: usize = 5;
    if !enough_file_descriptors(CONNS as u64 + 500) {
        return;
    }
    let (_tmp, data, _token) = setup("");
    support::add_source(&data, "syslog", "syslog");
    let syslog = free_port();
    let server = Server::start(&data, &["--syslog-tcp", &syslog.to_string()]);
    // The syslog listener starts just after the HTTP one reported in.
    assert!(
        eventually(Duration::from_secs(10), || TcpStream::connect(syslog)
            .is_ok()),
        "the syslog listener on {syslog} never accepted"
    );
    let pid = server.child.id();
    let idle_rss = server.rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = rss_sampler(pid, stop.clone());
    let started = Instant::now();
    // All connected at once, then each sends its messages (newline framing) and closes.
    let mut conns: Vec<TcpStream> = (0..CONNS)
        .map(|i| {
            TcpStream::connect_timeout(&syslog, Duration::from_secs(10)).unwrap_or_else(|e| {
                panic!(
                    "syslog connection {i} to {syslog}: {e}; server log:\n{}",
                    server.log.lock().unwrap().join("\n")
                )
            })
        })
        .collect();
    let all_open_rss = rss_of(pid);
    for (i, s) in conns.iter_mut().enumerate() {
        let mut batch = String::new();
        for m in 0..PER_CONN {
            batch.push_str(&format!(
                "<134>1 2026-11-26T10:00:00Z host{i} app 1 - - message c{i}-m{m}\n"
            ));
        }
        s.write_all(batch.as_bytes()).unwrap();
    }
    drop(conns);
    let want = (CONNS * PER_CONN) as u64;
    // The tree also holds Evident's own few entries: wait for at least `want`, count exactly
    // after shutdown.
    eventually(Duration::from_secs(40), || {
        get_json(server.addr, "/healthz")["tree_size"]
            .as_u64()
            .unwrap()
            >= want
    });
    let elapsed = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let peak = sampler.join().unwrap();
    server.terminate();
    let bodies: HashSet<String> = stored_bodies(&data, "syslog").into_iter().collect();
    assert_eq!(bodies.len() as u64, want, "syslog messages stored");
    for i in 0..CONNS {
        for m in 0..PER_CONN {
            let line = format!("<134>1 2026-11-26T10:00:00Z host{i} app 1 - - message c{i}-m{m}");
            assert!(bodies.contains(&line), "message c{i}-m{m} is missing");
        }
    }
    eprintln!(
        "{CONNS} syslog connections, {want} messages stored in {elapsed:?}; server RSS idle \
         {idle_rss} KiB, with all open {all_open_rss} KiB, peak {peak} KiB"
    );
    assert!(
        peak < RSS_BOUND_SYSLOG_KIB,
        "server RSS peaked at {peak} KiB (bound {RSS_BOUND_SYSLOG_KIB} KiB)"
    );
}

/// Bound on the server's RSS with 2,000 syslog connections (see docs/operations.md).
const RSS_BOUND_SYSLOG_KIB: u64 = 512 * 1024;

/// Sends a head announcing 64 MiB and then the body in 64 KiB pieces until the server stops
/// reading; returns the bytes written and the response.
fn huge_upload(addr: SocketAddr, token: &str) -> (u64, Option<(u16, Vec<u8>)>) {
    let mut big = TcpStream::connect(addr).unwrap();
    big.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        big,
        "POST /api/v1/ingest/app HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
        64u64 << 20
    )
    .unwrap();
    let line = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(1000));
    let piece: Vec<u8> = line.as_bytes().repeat(64);
    let mut written = 0u64;
    while written < 64 << 20 {
        if big.write_all(&piece).is_err() {
            break;
        }
        written += piece.len() as u64;
    }
    let mut raw = Vec::new();
    let _ = big.read_to_end(&mut raw);
    (written, support::parse_response(&raw))
}

#[test]
fn huge_bodies_and_a_client_that_never_reads_keep_memory_bounded() {
    let _serial = one_at_a_time();
    const UPLOADS: usize = 24;
    let (_tmp, data, token) = setup("request_body_timeout_secs = 60");
    let server = Server::start(&data, &[]);
    let addr = server.addr;
    let before = server.rss_kib();

    // 64 MiB bodies, each refused (413) once past the 10 MiB limit: memory settles at what
    // buffering 10 MiB costs, whatever the number of uploads.
    let mut after_each = Vec::new();
    for u in 0..UPLOADS {
        let (written, response) = huge_upload(addr, &token);
        let (status, body) = response.unwrap_or_else(|| panic!("upload {u}: no response"));
        assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
        assert!(
            written < 64 << 20,
            "upload {u}: the server read the whole 64 MiB body instead of stopping at the limit"
        );
        after_each.push(server.rss_kib());
    }
    let uploads_peak = *after_each.iter().max().unwrap();

    // A client that pipelines requests and never reads a response: the server stops
    // reading once its answers back up, instead of buffering them.
    let deaf_before = server.rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = rss_sampler(server.child.id(), stop.clone());
    let mut deaf = TcpStream::connect(addr).unwrap();
    deaf.set_write_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000);
    let mut pipelined = 0u64;
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if deaf.write_all(&req).is_err() {
            break;
        }
        pipelined += 1000;
    }
    // Others are still answered promptly.
    let t = Instant::now();
    assert_eq!(get_json(addr, "/healthz")["status"], "ok");
    let health_took = t.elapsed();
    stop.store(true, Ordering::SeqCst);
    let deaf_peak = sampler.join().unwrap();
    eprintln!(
        "server RSS {before} KiB at start; after each 64 MiB upload refused at 10 MiB: \
         {after_each:?} KiB; deaf client: {pipelined} requests pipelined before its writes \
         blocked, RSS {deaf_before} -> peak {deaf_peak} KiB; health answered in {health_took:?}"
    );
    assert!(
        uploads_peak < before + 192 * 1024,
        "huge uploads: RSS grew from {before} KiB to {uploads_peak} KiB"
    );
    // The allocator keeps some freed memory per thread, so RSS steps up now and then
    // (measured: 35 MiB at start, at most 144 MiB over 24 uploads); it does not grow with
    // the 1.5 GiB offered.
    assert!(
        pipelined < 1_000_000,
        "the server kept reading a client that never reads ({pipelined} requests)"
    );
    assert!(
        deaf_peak < deaf_before + 16 * 1024,
        "deaf client: RSS grew from {deaf_before} KiB to {deaf_peak} KiB"
    );
    assert!(
        health_took < Duration::from_secs(1),
        "health took {health_took:?}"
    );
    drop(deaf);
    server.terminate();
}

#[test]
fn verify_beside_a_server_that_keeps_ingesting_never_reports_a_false_mismatch() {
    let _serial = one_at_a_time();
    const CLIENTS: usize = 4;
    const RUNS: usize = 20;
    let (_tmp, data, token) = setup("");
    let server = Server::start(&data, &[]);
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (stop, acked, token) = (stop.clone(), acked.clone(), token.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let lines: Vec<String> = (0..50)
                        .map(|i| {
                            format!(
                                "{{\"id\":\"v{c}-{n}-{i}\",\"pad\":\"{}\"}}",
                                "y".repeat(200)
                            )
                        })
                        .collect();
                    let (status, body) = ingest(addr, &token, &lines).expect("ingest");
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                    acked.fetch_add(50, Ordering::SeqCst);
                    n += 1;
                }
            })
        })
        .collect();
    let mut sizes = Vec::new();
    for r in 0..RUNS {
        let before = acked.load(Ordering::SeqCst);
        let v = run(&data, &["verify"]);
        assert_eq!(
            v.code,
            Some(0),
            "verify run {r} beside the ingesting server:\nstdout: {}\nstderr: {}",
            v.stdout,
            v.stderr
        );
        assert!(v.stdout.starts_with("ok: "), "run {r}: {}", v.stdout);
        sizes.push((before, v.stdout.lines().next().unwrap_or("").to_owned()));
    }
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("client thread");
    }
    let total = acked.load(Ordering::SeqCst);
    // Appends really continued during the runs.
    assert!(
        sizes.last().unwrap().0 > sizes[0].0,
        "no records were acknowledged between the verify runs"
    );
    eprintln!(
        "{RUNS} verify runs beside {CLIENTS} ingesting clients, all ok; {total} records acknowledged; last: {}",
        sizes.last().unwrap().1
    );
    server.terminate();
    run(&data, &["verify"]).expect_code(0);
    assert_eq!(stored_bodies(&data, "app").len() as u64, total);
}

#[test]
fn zero_limits_are_refused_at_start_with_the_key_named() {
    let _serial = one_at_a_time();
    for key in [
        "header_read_timeout_secs",
        "request_body_timeout_secs",
        "max_connections",
    ] {
        let (_tmp, data, _token) = setup(&format!("{key} = 0"));
        let r = run(&data, &["serve", "--listen", "127.0.0.1:0"]);
        assert_eq!(r.code, Some(2), "{key}: {r:?}");
        let config = data.join("evident.toml");
        assert!(
            r.stderr.contains(&format!(
                "config {}: server.{key} must be at least 1",
                config.display()
            )),
            "{key}: {}",
            r.stderr
        );
    }
}

#[test]
fn syslog_connections_beyond_the_cap_are_refused_and_the_open_ones_keep_working() {
    const CAP: usize = 20;
    let _serial = one_at_a_time();
    let (_tmp, data, _token) = setup(&format!("max_connections = {CAP}"));
    support::add_source(&data, "syslog", "syslog");
    let syslog = free_port();
    let server = Server::start(&data, &["--syslog-tcp", &syslog.to_string()]);
    // Probe until the listener is up; each probe closes at once and frees its slot.
    assert!(
        eventually(Duration::from_secs(10), || TcpStream::connect(syslog)
            .is_ok()),
        "the syslog listener on {syslog} never accepted"
    );
    // The listener counts a closed connection until it has reaped it, so one of these may
    // be refused while the probe still holds its slot: a refused connection reads EOF (or
    // a reset) at once, and is replaced until all CAP are held.
    std::thread::sleep(Duration::from_millis(500));
    let held = |s: &mut TcpStream| {
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        matches!(s.read(&mut [0u8; 1]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut open: Vec<TcpStream> = Vec::with_capacity(CAP);
    while open.len() < CAP {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not hold {CAP} syslog connections"
        );
        let mut s = TcpStream::connect(syslog).unwrap();
        if held(&mut s) {
            open.push(s);
        }
    }
    // The server has taken all of them once this one is refused: closed without reading.
    assert!(
        eventually(Duration::from_secs(5), || {
            let mut extra = TcpStream::connect(syslog).unwrap();
            extra
                .set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            matches!(extra.read(&mut [0u8; 16]), Ok(0) | Err(_))
                && counter(server.addr, "syslog_connections_refused") >= 1
        }),
        "no connection over the cap was refused"
    );
    let refused = counter(server.addr, "syslog_connections_refused");
    let tree_size = || {
        get_json(server.addr, "/healthz")["tree_size"]
            .as_u64()
            .unwrap()
    };
    let before = tree_size();
    // The open ones still deliver.
    for (i, s) in open.iter_mut().enumerate() {
        s.write_all(format!("<134>1 2026-11-26T10:00:00Z h app 1 - - capped {i}\n").as_bytes())
            .unwrap();
    }
    drop(open);
    // Syslog has no acknowledgment: stop the server only once it has stored them.
    eventually(Duration::from_secs(10), || {
        tree_size() >= before + CAP as u64
    });
    server.terminate();
    let bodies: HashSet<String> = stored_bodies(&data, "syslog").into_iter().collect();
    for i in 0..CAP {
        assert!(
            bodies.contains(&format!(
                "<134>1 2026-11-26T10:00:00Z h app 1 - - capped {i}"
            )),
            "message {i} from an open connection is missing"
        );
    }
    assert_eq!(bodies.len(), CAP);
    eprintln!("{refused} syslog connections refused over the cap of {CAP}");
}
