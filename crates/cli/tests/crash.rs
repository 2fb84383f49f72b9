//! Acknowledged means durable: clients stream NDJSON to `evident serve`, the server is
//! SIGKILLed mid-ingest and restarted, three times; every acknowledged record must be in the
//! ledger exactly once, as sent, and `evident verify` must pass.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

mod support;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use evident_ledger::{EntryKind, Ledger};
use support::{Server, get_json, run};

/// Client threads.
const CLIENTS: u64 = 4;
/// Records per request.
const BATCH: u64 = 200;
/// How long the clients ingest before each kill.
const INGEST_FOR: Duration = Duration::from_millis(1500);
/// Kill/restart cycles.
const CYCLES: usize = 3;

#[test]
fn acknowledged_records_survive_sigkill_and_restart() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    support::init(&data);
    let token = support::add_source(&data, "app", "json");

    let mut acked: Vec<Batch> = Vec::new();
    let mut sent_records = 0u64;
    let mut in_flight_at_kill = 0u64;
    let mut next_n = vec![0u64; CLIENTS as usize];
    let mut server = Server::start(&data, &[]);
    for cycle in 0..CYCLES {
        let stop = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(AtomicU64::new(0));
        let clients: Vec<JoinHandle<ClientReport>> = (0..CLIENTS)
            .map(|t| {
                let (addr, token) = (server.addr, token.clone());
                let (stop, acks) = (stop.clone(), acks.clone());
                let first = next_n[t as usize];
                std::thread::spawn(move || client(t, first, addr, &token, &stop, &acks))
            })
            .collect();
        // Ingest for a while, and until something was acknowledged, then kill.
        std::thread::sleep(INGEST_FOR);
        let deadline = Instant::now() + Duration::from_secs(30);
        while acks.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        server.kill();
        stop.store(true, Ordering::SeqCst);
        let mut acked_this_cycle = 0;
        for (t, h) in clients.into_iter().enumerate() {
            let report = h.join().expect("client thread panicked");
            assert!(
                report.unexpected.is_empty(),
                "cycle {cycle} client {t}: the live server answered with errors: {:?}",
                report.unexpected
            );
            next_n[t] = report.next_n;
            sent_records += report.next_n - report.first_n;
            in_flight_at_kill += report.in_flight_failures;
            acked_this_cycle += report.acked.len();
            acked.extend(report.acked);
        }
        assert!(
            acked_this_cycle > 0,
            "cycle {cycle}: no batch was acknowledged in {INGEST_FOR:?}"
        );

        server = Server::start(&data, &[]);
        let health = get_json(server.addr, "/healthz");
        let tree_size = health["tree_size"].as_u64().unwrap();
        let acked_records = acked.len() as u64 * BATCH;
        assert!(
            tree_size >= acked_records,
            "after restart {cycle}: tree size {tree_size} < {acked_records} acknowledged records"
        );
        assert!(
            tree_size <= sent_records,
            "after restart {cycle}: tree size {tree_size} > {sent_records} records ever sent"
        );
        eprintln!(
            "cycle {cycle}: {acked_this_cycle} batches acknowledged; tree size {tree_size} after restart"
        );
    }
    assert!(
        in_flight_at_kill > 0,
        "no request was in flight at any kill: the crash window was not exercised"
    );

    // The restarted server still takes writes.
    let (status, body) = post_batch(server.addr, &token, 99, 0).unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    acked.push(Batch { thread: 99, n: 0 });
    server.terminate();

    check_ledger(&data, &acked);
    let v = run(&data, &["verify"]);
    v.expect_code(0);
    assert!(v.stdout.starts_with("ok: "), "{}", v.stdout);
    eprintln!(
        "{} batches acknowledged, {in_flight_at_kill} requests in flight at kills, {:.1}s",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Regression: commands that read the data directory (`entry`, `proof`, `checkpoint`) used to
/// run the ledger's crash recovery, truncating and re-indexing the segment tail the running
/// server was appending to, so acknowledged, checkpointed records were lost. Now they either
/// work beside the server or exit 2, and the server's acknowledged records stay intact.
#[test]
fn reading_an_entry_while_the_server_ingests_does_not_damage_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    support::init(&data);
    let token = support::add_source(&data, "app", "json");
    // Something to read.
    let server = Server::start(&data, &[]);
    let (status, _) = post_batch(server.addr, &token, 99, 0).unwrap();
    assert_eq!(status, 200);
    let mut acked = vec![Batch { thread: 99, n: 0 }];

    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicU64::new(0));
    let clients: Vec<JoinHandle<ClientReport>> = (0..CLIENTS)
        .map(|t| {
            let (addr, token) = (server.addr, token.clone());
            let (stop, acks) = (stop.clone(), acks.clone());
            std::thread::spawn(move || client(t, 0, addr, &token, &stop, &acks))
        })
        .collect();
    // Readers in parallel widen the race window: it is hit within seconds, not every run.
    let until = Instant::now() + 2 * INGEST_FOR;
    let readers: Vec<JoinHandle<()>> = (0..4)
        .map(|_| {
            let data = data.clone();
            std::thread::spawn(move || {
                while Instant::now() < until {
                    let r = run(&data, &["entry", "0", "--raw"]);
                    assert!(
                        matches!(r.code, Some(0 | 2)),
                        "evident entry while serving: {r:?}"
                    );
                }
            })
        })
        .collect();
    for r in readers {
        r.join().expect("reader thread panicked");
    }
    stop.store(true, Ordering::SeqCst);
    for h in clients {
        let report = h.join().expect("client thread panicked");
        assert!(report.unexpected.is_empty(), "{:?}", report.unexpected);
        acked.extend(report.acked);
    }
    server.terminate();
    check_ledger(&data, &acked);
    run(&data, &["verify"]).expect_code(0);
}

/// Reads every entry: each (but Evident's own) is a record some client sent (exact bytes),
/// none twice, each client's records in the order sent, and every acknowledged record
/// present.
fn check_ledger(data: &Path, acked: &[Batch]) {
    let signer = evident_server::DataDir::new(data).signer().unwrap();
    let ledger = Ledger::open(&data.join("ledger"), signer, Default::default()).unwrap();
    let mut seen = HashSet::new();
    let mut last_n: Vec<Option<u64>> = vec![None; 100];
    for i in 0..ledger.size() {
        let e = ledger.entry(i).unwrap();
        // Evident's own entries: the audit trail (the incident-response plan's version at
        // start-up) and system events (an unsynchronized server clock, on this machine).
        if e.source == "evident" {
            continue;
        }
        assert_eq!(e.kind, EntryKind::Log, "entry {i}");
        assert_eq!(e.source, "app", "entry {i}");
        let v: serde_json::Value = serde_json::from_slice(&e.body)
            .unwrap_or_else(|err| panic!("entry {i} is not a record we sent: {err}"));
        let (t, n) = (v["thread"].as_u64().unwrap(), v["n"].as_u64().unwrap());
        assert_eq!(e.body, record(t, n).into_bytes(), "entry {i} was altered");
        assert!(
            seen.insert((t, n)),
            "entry {i}: record c{t}-{n} stored twice"
        );
        let last = &mut last_n[t as usize];
        assert!(
            last.is_none_or(|l| l < n),
            "entry {i}: c{t}-{n} stored after c{t}-{l:?}",
            l = *last
        );
        *last = Some(n);
    }
    for b in acked {
        for n in b.n..b.n + BATCH {
            assert!(
                seen.contains(&(b.thread, n)),
                "acknowledged record c{}-{n} is missing",
                b.thread
            );
        }
    }
}

/// An acknowledged batch: records `n..n + BATCH` of client `thread`.
#[derive(Clone, Copy, Debug)]
struct Batch {
    thread: u64,
    n: u64,
}

/// What one client thread did in one cycle.
struct ClientReport {
    first_n: u64,
    /// The next unused record number (every attempted batch used up its numbers).
    next_n: u64,
    acked: Vec<Batch>,
    /// Requests written completely whose response never came (the server died).
    in_flight_failures: u64,
    /// Responses other than a full acknowledgement while the server was up.
    unexpected: Vec<String>,
}

/// Posts batches until `stop`; numbers are never reused, since a batch whose response was
/// lost may still have been stored.
fn client(
    t: u64,
    first_n: u64,
    addr: SocketAddr,
    token: &str,
    stop: &AtomicBool,
    acks: &AtomicU64,
) -> ClientReport {
    let mut r = ClientReport {
        first_n,
        next_n: first_n,
        acked: Vec::new(),
        in_flight_failures: 0,
        unexpected: Vec::new(),
    };
    while !stop.load(Ordering::SeqCst) {
        let n = r.next_n;
        r.next_n += BATCH;
        match post_batch(addr, token, t, n) {
            Ok((200, body)) => {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                if v["accepted"].as_u64() == Some(BATCH) {
                    r.acked.push(Batch { thread: t, n });
                    acks.fetch_add(1, Ordering::SeqCst);
                } else {
                    r.unexpected.push(format!("200 {v}"));
                }
            }
            Ok((status, body)) => r
                .unexpected
                .push(format!("{status} {}", String::from_utf8_lossy(&body))),
            Err(Failure::InFlight) => {
                r.in_flight_failures += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(Failure::NotSent) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    r
}

/// Record `n` of client `t`: about 1 KiB of JSON, the same every time it is built.
fn record(t: u64, n: u64) -> String {
    let pad: String = (0..960)
        .map(|i| char::from(b'a' + ((t * 7 + n + i) % 26) as u8))
        .collect();
    format!("{{\"id\":\"c{t}-{n}\",\"thread\":{t},\"n\":{n},\"pad\":\"{pad}\"}}")
}

/// Why a request got no response.
#[derive(Debug)]
enum Failure {
    /// Connecting or sending failed.
    NotSent,
    /// The request was sent but no complete response came back.
    InFlight,
}

fn post_batch(addr: SocketAddr, token: &str, t: u64, n: u64) -> Result<(u16, Vec<u8>), Failure> {
    let mut body = String::with_capacity((BATCH * 1024) as usize);
    for i in n..n + BATCH {
        body.push_str(&record(t, i));
        body.push('\n');
    }
    let head = format!(
        "POST /api/v1/ingest/app HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|_| Failure::NotSent)?;
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body.as_bytes()))
        .map_err(|_| Failure::NotSent)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|_| Failure::InFlight)?;
    support::parse_response(&raw).ok_or(Failure::InFlight)
}

/// The running server normalizes what it acknowledges: its pipeline parses new entries in
/// the background, and `GET /api/v1/sources` (with an API token created beside the running
/// server) reports them; after a SIGKILL and restart the pipeline resumes without counting
/// anything twice.
#[test]
fn the_server_pipeline_reports_source_health_and_resumes_after_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    support::init(&data);
    let token = support::add_source(&data, "app", "json");
    let mut server = Server::start(&data, &[]);
    let api = run(&data, &["token", "create", "ops"]);
    api.expect_code(0);
    let api = api.stdout.trim().to_owned();
    let bearer = format!("Bearer {api}");
    let get = |addr: SocketAddr, path: &str| -> serde_json::Value {
        let auth = [("Authorization", bearer.as_str())];
        let (status, body) = support::http(addr, "GET", path, &auth, b"").unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    };
    let health = |addr: SocketAddr| get(addr, "/api/v1/sources");
    let events_of = |v: &serde_json::Value| v["sources"][0]["events"].as_u64().unwrap();
    let wait_for = |addr: SocketAddr, want: u64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = health(addr);
            if events_of(&v) >= want || Instant::now() > deadline {
                return v;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    for n in 0..2 {
        let (status, _) = post_batch(server.addr, &token, 0, n * BATCH).unwrap();
        assert_eq!(status, 200);
    }
    let v = wait_for(server.addr, 2 * BATCH);
    assert_eq!(events_of(&v), 2 * BATCH);
    assert_eq!(v["sources"][0]["parse_errors"], 0);
    assert_eq!(v["sources"][0]["category"], "application");
    server.kill();
    let server = Server::start(&data, &[]);
    let (status, _) = post_batch(server.addr, &token, 1, 0).unwrap();
    assert_eq!(status, 200);
    let v = wait_for(server.addr, 3 * BATCH);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(events_of(&health(server.addr)), 3 * BATCH, "{v}");
    // Search follows on its own task, behind the pipeline: every record becomes searchable
    // (the first server's uncommitted index work is redone, never doubled) and the search
    // lag on /metrics drops to 0.
    let deadline = Instant::now() + Duration::from_secs(30);
    let total = loop {
        let found = get(
            server.addr,
            "/api/v1/search?q=source:app&from=0&to=4102444800000&limit=1",
        );
        let total = found["result"]["total"].as_u64().unwrap();
        if total >= 3 * BATCH || Instant::now() > deadline {
            break total;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(total, 3 * BATCH);
    // The lag is read until it is 0: entries the server seals itself (its start-up
    // verification's audit row) may arrive just before.
    let metrics = |addr: SocketAddr| -> String {
        let auth = [("Authorization", bearer.as_str())];
        let (status, body) = support::http(addr, "GET", "/metrics", &auth, b"").unwrap();
        assert_eq!(status, 200);
        String::from_utf8(body).unwrap()
    };
    let sample = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = metrics(server.addr);
        if sample(&text, "evident_search_lag_entries") == 0 || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(sample(&text, "evident_search_lag_entries"), 0, "{text}");
    assert_eq!(
        sample(&text, "evident_search_indexed_through"),
        sample(&text, "evident_ledger_tree_size")
    );
    server.terminate();
}
