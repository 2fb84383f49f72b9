//! Syslog receivers end to end: real senders (`logger`, rsyslog over TCP and TLS, a rustls
//! client) into listeners on port 0; every message checked in the ledger exactly once and
//! parsed; source mapping; back-pressure on TCP and counted drops on UDP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

#[path = "support/certs.rs"]
mod certs;
use certs::certificates;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use evident_ledger::Entry;
use evident_model::Format;
use evident_server::receivers::ReceiverSnapshot;
use evident_server::receivers::syslog::{
    SyslogListenerConfig, SyslogListeners, SyslogProtocol, start,
};
use evident_server::{DataDir, Evident, Pipeline};
use evident_sources::{ParseContext, Parser};

/// A data directory with its config edited by `edit_config`, and these sources.
fn node(
    edit_config: impl FnOnce(&mut String),
    sources: &[(&str, Format)],
) -> (tempfile::TempDir, Arc<Evident>) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/syslog").unwrap();
    let mut cfg = std::fs::read_to_string(data.config_path()).unwrap();
    edit_config(&mut cfg);
    std::fs::write(data.config_path(), cfg).unwrap();
    let node = Evident::open(&data).unwrap();
    for (name, format) in sources {
        node.db.add_source(&name.parse().unwrap(), *format).unwrap();
    }
    (dir, Arc::new(node))
}

fn syslog_node(edit_config: impl FnOnce(&mut String)) -> (tempfile::TempDir, Arc<Evident>) {
    node(edit_config, &[("syslog", Format::Syslog)])
}

/// A config edit replacing `from` (which must be there) with `to`.
fn set(from: &'static str, to: &'static str) -> impl FnOnce(&mut String) {
    move |cfg: &mut String| {
        assert!(cfg.contains(from), "{cfg}");
        *cfg = cfg.replace(from, to);
    }
}

fn listen(protocol: SyslogProtocol) -> SyslogListenerConfig {
    SyslogListenerConfig::new(protocol, "127.0.0.1:0".parse().unwrap())
}

fn addr(listeners: &SyslogListeners, protocol: SyslogProtocol) -> SocketAddr {
    listeners
        .addrs()
        .iter()
        .find(|(p, _)| *p == protocol)
        .unwrap()
        .1
}

fn stats(node: &Evident, receiver: &str) -> ReceiverSnapshot {
    node.receivers.stats(receiver).snapshot()
}

/// Polls until `done` holds, failing after 30 s with `what` and the counters.
async fn wait_until(node: &Evident, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; receivers: {:?}",
            node.receivers.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every ledger entry, decoded, in order.
fn entries(node: &Evident) -> Vec<Entry> {
    let mut out = Vec::new();
    node.ledger
        .for_each_entry(0, node.ledger.size(), |_, bytes| {
            out.push(Entry::decode(bytes).unwrap());
        })
        .unwrap();
    out
}

fn meta<'a>(e: &'a Entry, key: &str) -> &'a str {
    e.metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("entry has no {key} metadata: {:?}", e.metadata))
}

/// The OCSF event the syslog parser makes of an entry.
fn parsed(e: &Entry) -> evident_model::Event {
    let ctx = ParseContext::new("syslog", e.received_at_ns);
    let mut events = Parser::new(Format::Syslog)
        .parse(&e.body, &ctx)
        .unwrap_or_else(|err| {
            panic!(
                "{:?} does not parse: {err}",
                String::from_utf8_lossy(&e.body)
            )
        });
    assert_eq!(events.len(), 1);
    events.remove(0)
}

/// Checks that each of `ids` is the end of exactly one entry's message, received by
/// `receiver` from APP-NAME `app`, and that nothing else came from that receiver.
fn assert_exactly_once(entries: &[Entry], receiver: &str, app: &str, ids: &[String]) {
    let mine: Vec<&Entry> = entries
        .iter()
        .filter(|e| meta(e, "receiver") == receiver)
        .collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for e in &mine {
        assert_eq!(meta(e, "format"), "syslog");
        let event = parsed(e);
        assert_eq!(event.get_str("actor.process.name"), Some(app), "{event:?}");
        // rsyslog keeps the space after an RFC 3164 `TAG:` in MSG when it re-sends the
        // message as RFC 5424; the stored bytes are what it sent.
        let message = event.get_str("message").unwrap().trim_start().to_owned();
        *seen.entry(message).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 1)).collect();
    assert_eq!(seen, want, "{receiver}: messages by count");
}

/// Whether `program` can run here; without it the test is skipped, unless CI demands it.
fn have(program: &str, present: bool) -> bool {
    if present {
        return true;
    }
    assert!(
        std::env::var("EVIDENT_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{program} not installed"
    );
    println!("skipped: {program} not installed");
    false
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// rsyslog's GnuTLS network driver (Debian package `rsyslog-gnutls`).
fn rsyslog_gtls_installed() -> bool {
    let mut dirs = vec![
        PathBuf::from("/usr/lib/rsyslog"),
        PathBuf::from("/usr/lib64/rsyslog"),
    ];
    if let Ok(rd) = std::fs::read_dir("/usr/lib") {
        dirs.extend(rd.flatten().map(|d| d.path().join("rsyslog")));
    }
    dirs.iter().any(|d| d.join("lmnsd_gtls.so").is_file())
}

/// `logger` reading `lines` from stdin, one message each.
fn logger(args: &[&str], lines: &[String]) {
    let mut child = Command::new("logger")
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    assert!(child.wait().unwrap().success(), "logger {args:?} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logger_over_udp_and_tcp_in_both_formats_arrives_exactly_once_and_parses() {
    if !have("logger", on_path("logger")) {
        return;
    }
    let (_dir, node) = syslog_node(|_| {});
    let listeners = start(
        &node,
        &[listen(SyslogProtocol::Udp), listen(SyslogProtocol::Tcp)],
    )
    .await
    .unwrap();
    let udp = addr(&listeners, SyslogProtocol::Udp).port().to_string();
    let tcp = addr(&listeners, SyslogProtocol::Tcp).port().to_string();
    let runs: [(&str, &str, &str, &[&str]); 4] = [
        ("udp3164", "--udp", &udp, &["--rfc3164"]),
        ("udp5424", "--udp", &udp, &["--rfc5424"]),
        ("tcp5424", "--tcp", &tcp, &["--rfc5424"]),
        ("tcp3164", "--tcp", &tcp, &["--rfc3164", "--octet-count"]),
    ];
    let mut expected = Vec::new();
    for (name, proto, port, extra) in runs {
        let ids: Vec<String> = (0..50).map(|i| format!("{name} message {i:03}")).collect();
        let tag = format!("app-{name}");
        let mut args = vec!["--server", "127.0.0.1", "--port", port, proto, "-t", &tag];
        args.extend(extra);
        logger(&args, &ids);
        expected.push((name, tag, ids));
    }
    wait_until(&node, "100 UDP and 100 TCP messages", || {
        stats(&node, "syslog-udp").stored == 100 && stats(&node, "syslog-tcp").stored == 100
    })
    .await;
    listeners.shutdown().await;
    for receiver in ["syslog-udp", "syslog-tcp"] {
        let s = stats(&node, receiver);
        assert_eq!(
            (s.received, s.stored, s.rejected, s.dropped),
            (100, 100, 0, 0)
        );
    }
    let all = entries(&node);
    assert_eq!(all.len(), 200);
    for (name, tag, ids) in &expected {
        let receiver = if name.starts_with("udp") {
            "syslog-udp"
        } else {
            "syslog-tcp"
        };
        let mine: Vec<Entry> = all
            .iter()
            .filter(|e| parsed(e).get_str("actor.process.name") == Some(tag))
            .cloned()
            .collect();
        assert_exactly_once(&mine, receiver, tag, ids);
    }
    for e in &all {
        assert_eq!(e.source, "syslog");
        assert!(
            meta(e, "peer").starts_with("127.0.0.1:"),
            "{:?}",
            e.metadata
        );
    }
    // The pipeline normalizes all of them without a parse error.
    let processed = Pipeline::new(BTreeMap::new())
        .run_once(&node.ledger, &node.db, 10_000)
        .unwrap();
    assert_eq!(processed, 200);
    let health = node.db.source_health().unwrap();
    let syslog = health.iter().find(|h| h.source == "syslog").unwrap();
    assert_eq!((syslog.events, syslog.parse_errors), (200, 0));
}

fn tls_listener(cert: &Path, key: &Path) -> SyslogListenerConfig {
    SyslogListenerConfig {
        tls_cert: Some(cert.to_owned()),
        tls_key: Some(key.to_owned()),
        ..listen(SyslogProtocol::Tls)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An rsyslogd started by a test, stopped when dropped.
struct Rsyslogd(std::process::Child);

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_forwards_octet_counted_over_tcp_and_tls_exactly_once() {
    if !have("rsyslogd", on_path("rsyslogd")) || !have("rsyslog-gnutls", rsyslog_gtls_installed()) {
        return;
    }
    let (dir, node) = syslog_node(|_| {});
    let (ca, cert, key) = certificates(dir.path());
    let listeners = start(
        &node,
        &[listen(SyslogProtocol::Tcp), tls_listener(&cert, &key)],
    )
    .await
    .unwrap();
    let (plain_in, tls_in) = (free_port(), free_port());
    let work = dir.path().join("rsyslog");
    std::fs::create_dir_all(&work).unwrap();
    let conf = work.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}" defaultNetstreamDriverCAFile="{ca}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{plain_in}" ruleset="to_tcp")
input(type="imtcp" address="127.0.0.1" port="{tls_in}" ruleset="to_tls")
ruleset(name="to_tcp") {{
  action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp" TCP_Framing="octet-counted")
}}
ruleset(name="to_tls") {{
  action(type="omfwd" target="127.0.0.1" port="{tls}" protocol="tcp" TCP_Framing="octet-counted"
         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="localhost" template="RSYSLOG_SyslogProtocol23Format")
}}
"#,
            work = work.display(),
            ca = ca.display(),
            tcp = addr(&listeners, SyslogProtocol::Tcp).port(),
            tls = addr(&listeners, SyslogProtocol::Tls).port(),
        ),
    )
    .unwrap();
    let _rsyslogd = Rsyslogd(
        Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(work.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let connect = |port: u16| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => return s,
                Err(e) => {
                    assert!(Instant::now() < deadline, "rsyslogd not listening: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    };
    let n = 500;
    let mut ids = BTreeMap::new();
    for (name, port) in [("tcp", plain_in), ("tls", tls_in)] {
        let list: Vec<String> = (0..n)
            .map(|i| format!("via rsyslog {name} {i:04}"))
            .collect();
        let mut s = connect(port);
        for id in &list {
            writeln!(s, "<86>Nov 26 10:00:00 web-1 app-{name}[42]: {id}").unwrap();
        }
        s.flush().unwrap();
        ids.insert(name, list);
    }
    wait_until(&node, "500 messages over each of TCP and TLS", || {
        stats(&node, "syslog-tcp").stored == n && stats(&node, "syslog-tls").stored == n
    })
    .await;
    // rsyslog sends nothing twice: give a duplicate time to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    listeners.shutdown().await;
    let all = entries(&node);
    assert_eq!(all.len(), 2 * n as usize);
    assert_exactly_once(&all, "syslog-tcp", "app-tcp", &ids["tcp"]);
    assert_exactly_once(&all, "syslog-tls", "app-tls", &ids["tls"]);
    for receiver in ["syslog-tcp", "syslog-tls"] {
        let s = stats(&node, receiver);
        assert_eq!((s.received, s.stored, s.rejected, s.dropped), (n, n, 0, 0));
    }
}

/// Syslog over TCP has no acknowledgment: a sender counts what it wrote as delivered. On
/// shutdown, what open connections already sent is read and stored, not dropped with the
/// socket buffer; a sender that never pauses is cut off after the drain's two seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reads_what_open_connections_already_sent() {
    use tokio::io::AsyncWriteExt;
    let (_dir, node) = syslog_node(|_| {});
    let listeners = start(&node, &[listen(SyslogProtocol::Tcp)]).await.unwrap();
    let to = addr(&listeners, SyslogProtocol::Tcp);
    let mut quiet = tokio::net::TcpStream::connect(to).await.unwrap();
    let mut chatty = tokio::net::TcpStream::connect(to).await.unwrap();
    quiet
        .write_all(b"<13>Nov 26 10:00:00 h app: before\n")
        .await
        .unwrap();
    wait_until(&node, "the first message", || {
        stats(&node, "syslog-tcp").stored == 1
    })
    .await;

    let started = Instant::now();
    let stopping = tokio::spawn(listeners.shutdown());
    tokio::time::sleep(Duration::from_millis(50)).await;
    for i in 1..=3 {
        let line = format!("<13>Nov 26 10:00:0{i} h app: after stop {i}\n");
        quiet.write_all(line.as_bytes()).await.unwrap();
    }
    let writer = tokio::spawn(async move {
        for i in 0u32.. {
            let line = format!("<13>Nov 26 10:01:00 h app: chatty {i}\n");
            if chatty.write_all(line.as_bytes()).await.is_err() {
                return i;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        u32::MAX
    });
    stopping.await.unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "the drain ends at its limit, before the grace period: {took:?}"
    );
    let bodies: Vec<String> = entries(&node)
        .into_iter()
        .map(|e| String::from_utf8(e.body).unwrap())
        .collect();
    let quiet_ones: Vec<&str> = bodies
        .iter()
        .map(String::as_str)
        .filter(|b| !b.contains("chatty"))
        .collect();
    assert_eq!(
        quiet_ones,
        [
            "<13>Nov 26 10:00:00 h app: before",
            "<13>Nov 26 10:00:01 h app: after stop 1",
            "<13>Nov 26 10:00:02 h app: after stop 2",
            "<13>Nov 26 10:00:03 h app: after stop 3",
        ]
    );
    let chatty: Vec<String> = bodies
        .into_iter()
        .filter(|b| b.contains("chatty"))
        .collect();
    assert!(chatty.len() >= 20, "read while draining: {}", chatty.len());
    for (i, b) in chatty.iter().enumerate() {
        assert_eq!(
            b,
            &format!("<13>Nov 26 10:01:00 h app: chatty {i}"),
            "in order, none lost"
        );
    }
    writer.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rustls_client_speaks_octet_counting_over_tls() {
    let (dir, node) = syslog_node(|_| {});
    let (ca, cert, key) = certificates(dir.path());
    let listeners = start(&node, &[tls_listener(&cert, &key)]).await.unwrap();
    let connector = certs::connector(&ca);
    let tcp = tokio::net::TcpStream::connect(addr(&listeners, SyslogProtocol::Tls))
        .await
        .unwrap();
    let mut tls = connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    let msgs = [
        "<13>1 2026-11-26T10:00:00Z h app - - - first".to_owned(),
        "<13>1 2026-11-26T10:00:01Z h app - - - second".to_owned(),
    ];
    let mut wire = Vec::new();
    for m in &msgs {
        wire.extend(format!("{} {m}", m.len()).into_bytes());
    }
    wire.extend(b"<13>1 2026-11-26T10:00:02Z h app - - - third\r\n");
    tokio::io::AsyncWriteExt::write_all(&mut tls, &wire)
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::shutdown(&mut tls).await.unwrap();
    wait_until(&node, "3 messages over TLS", || {
        stats(&node, "syslog-tls").stored == 3
    })
    .await;
    listeners.shutdown().await;
    let bodies: Vec<Vec<u8>> = entries(&node).into_iter().map(|e| e.body).collect();
    assert_eq!(
        bodies,
        [
            msgs[0].as_bytes(),
            msgs[1].as_bytes(),
            b"<13>1 2026-11-26T10:00:02Z h app - - - third"
        ]
    );
    // A plain-TCP client on the TLS port fails its handshake; nothing is stored.
    let (_dir2, node2) = syslog_node(|_| {});
    let listeners = start(&node2, &[tls_listener(&cert, &key)]).await.unwrap();
    let mut plain = std::net::TcpStream::connect(addr(&listeners, SyslogProtocol::Tls)).unwrap();
    plain
        .write_all(b"<13>Nov 26 10:00:00 h app: not tls\n")
        .unwrap();
    drop(plain);
    tokio::time::sleep(Duration::from_millis(300)).await;
    listeners.shutdown().await;
    assert_eq!(stats(&node2, "syslog-tls"), ReceiverSnapshot::default());
    assert_eq!(node2.ledger.size(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_name_and_sender_range_pick_the_source() {
    let (_dir, node) = node(
        |_| {},
        &[
            ("syslog", Format::Syslog),
            ("linux-auth", Format::AuthLog),
            ("second-host", Format::Syslog),
        ],
    );
    let mut tcp = listen(SyslogProtocol::Tcp);
    let mut udp = listen(SyslogProtocol::Udp);
    let rules: Vec<evident_server::receivers::syslog::SourceRule> =
        toml::from_str::<BTreeMap<String, Vec<evident_server::receivers::syslog::SourceRule>>>(
            r#"map = [{ app = "sshd", source = "linux-auth" },
                  { from = "127.0.0.2/32", source = "second-host" },
                  { app = "ghost", source = "not-yet" }]"#,
        )
        .unwrap()
        .remove("map")
        .unwrap();
    tcp.map = rules.clone();
    udp.map = rules;
    let listeners = start(&node, &[tcp, udp]).await.unwrap();
    let tcp = addr(&listeners, SyslogProtocol::Tcp);
    let udp = addr(&listeners, SyslogProtocol::Udp);
    let line = |app: &str, n: u32| format!("<38>Nov 26 10:00:0{n} host {app}[1]: m{n}\n");
    send_tcp(
        "127.0.0.1",
        tcp,
        &[line("sshd", 1), line("cron", 2), line("ghost", 3)],
    )
    .await;
    send_tcp("127.0.0.2", tcp, &[line("sshd", 4), line("cron", 5)]).await;
    let u = std::net::UdpSocket::bind("127.0.0.2:0").unwrap();
    u.send_to(line("cron", 6).as_bytes(), udp).unwrap();
    u.send_to(line("sshd", 7).as_bytes(), udp).unwrap();
    wait_until(&node, "7 messages", || {
        stats(&node, "syslog-tcp").stored == 5 && stats(&node, "syslog-udp").stored == 2
    })
    .await;
    let by_message = |node: &Evident| -> BTreeMap<String, String> {
        entries(node)
            .iter()
            .map(|e| {
                (
                    parsed(e).get_str("message").unwrap().to_owned(),
                    e.source.clone(),
                )
            })
            .collect()
    };
    let want = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(m, s)| ((*m).to_owned(), (*s).to_owned()))
            .collect()
    };
    assert_eq!(
        by_message(&node),
        want(&[
            ("m1", "linux-auth"),
            ("m2", "syslog"),
            // `not-yet` does not exist: the listener's source.
            ("m3", "syslog"),
            ("m4", "linux-auth"),
            ("m5", "second-host"),
            ("m6", "second-host"),
            ("m7", "linux-auth"),
        ])
    );
    // Once the source exists, the rule applies (looked up again within seconds).
    node.db
        .add_source(&"not-yet".parse().unwrap(), Format::Syslog)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    send_tcp("127.0.0.1", tcp, &[line("ghost", 8)]).await;
    wait_until(&node, "the 8th message", || {
        stats(&node, "syslog-tcp").stored == 6
    })
    .await;
    listeners.shutdown().await;
    assert_eq!(by_message(&node)["m8"], "not-yet");
}

/// Sends `lines` over a TCP connection from local address `from` (any 127.0.0.0/8 address
/// works on Linux), then closes it.
async fn send_tcp(from: &str, to: SocketAddr, lines: &[String]) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    let mut stream = socket.connect(to).await.unwrap();
    for l in lines {
        tokio::io::AsyncWriteExt::write_all(&mut stream, l.as_bytes())
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_sender_faster_than_a_tiny_intake_is_slowed_and_loses_nothing() {
    let (_dir, node) = syslog_node(set("queue_records = 500000", "queue_records = 10"));
    let listeners = start(&node, &[listen(SyslogProtocol::Tcp)]).await.unwrap();
    let to = addr(&listeners, SyslogProtocol::Tcp);
    // Hold the whole intake, as a stalled disk would.
    let held = node.intake.try_admit(10).unwrap();
    let n = 50_000usize;
    let message = |i: usize| {
        format!(
            "<14>1 2026-11-26T10:00:00Z h app - - - {i:06} {}",
            "x".repeat(400)
        )
    };
    let done = Arc::new(AtomicBool::new(false));
    let sender = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(to).unwrap();
            let mut wire = Vec::new();
            for i in 0..n {
                let m = message(i);
                wire.extend(format!("{} {m}", m.len()).into_bytes());
            }
            s.write_all(&wire).unwrap();
            done.store(true, Ordering::SeqCst);
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during = stats(&node, "syslog-tcp");
    assert!(
        !done.load(Ordering::SeqCst),
        "the sender was not slowed down"
    );
    assert_eq!((during.stored, during.dropped), (0, 0));
    // Read ahead is bounded: one batch being stored, one filling (4096 each at most).
    assert!(during.received <= 2 * 4096, "{during:?}");
    drop(held);
    wait_until(&node, "all 50000 messages", || {
        stats(&node, "syslog-tcp").stored == n as u64
    })
    .await;
    sender.join().unwrap();
    listeners.shutdown().await;
    let s = stats(&node, "syslog-tcp");
    assert_eq!(
        (s.received, s.stored, s.rejected, s.dropped),
        (50_000, 50_000, 0, 0)
    );
    let all = entries(&node);
    assert_eq!(all.len(), n);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.body, message(i).into_bytes(), "entry {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_datagrams_are_dropped_and_counted_while_the_intake_is_full() {
    let (_dir, node) = syslog_node(set("queue_records = 500000", "queue_records = 10"));
    let listeners = start(&node, &[listen(SyslogProtocol::Udp)]).await.unwrap();
    let to = addr(&listeners, SyslogProtocol::Udp);
    let held = node.intake.try_admit(10).unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..100 {
        socket
            .send_to(
                format!("<14>Nov 26 10:00:00 h app: lost {i}\n").as_bytes(),
                to,
            )
            .unwrap();
        // Stay well within the socket's receive buffer: the drops counted must be ours.
        if i % 20 == 19 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    wait_until(&node, "100 datagrams", || {
        stats(&node, "syslog-udp").received == 100
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        stats(&node, "syslog-udp"),
        ReceiverSnapshot {
            received: 100,
            stored: 0,
            rejected: 0,
            dropped: 100
        }
    );
    drop(held);
    for i in 0..5 {
        socket
            .send_to(
                format!("<14>Nov 26 10:00:00 h app: kept {i}").as_bytes(),
                to,
            )
            .unwrap();
    }
    wait_until(&node, "5 stored", || stats(&node, "syslog-udp").stored == 5).await;
    listeners.shutdown().await;
    assert_eq!(
        stats(&node, "syslog-udp"),
        ReceiverSnapshot {
            received: 105,
            stored: 5,
            rejected: 0,
            dropped: 100
        }
    );
    let mut bodies: Vec<String> = entries(&node)
        .into_iter()
        .map(|e| String::from_utf8(e.body).unwrap())
        .collect();
    bodies.sort();
    let want: Vec<String> = (0..5)
        .map(|i| format!("<14>Nov 26 10:00:00 h app: kept {i}"))
        .collect();
    assert_eq!(bodies, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_truncated_frames_are_rejected_and_the_stream_stays_in_sync() {
    let (_dir, node) = syslog_node(set("max_record_bytes = 1048576", "max_record_bytes = 1000"));
    let listeners = start(
        &node,
        &[listen(SyslogProtocol::Tcp), listen(SyslogProtocol::Udp)],
    )
    .await
    .unwrap();
    let mut wire = Vec::new();
    wire.extend(b"<13>Nov 26 10:00:00 h app: ok-1\n");
    wire.extend(vec![b'x'; 5000]);
    wire.extend(b"\n<13>Nov 26 10:00:00 h app: ok-2\n3000 ");
    wire.extend(vec![b'y'; 3000]);
    let ok3 = "<13>Nov 26 10:00:00 h app: ok-3";
    wire.extend(format!("{} {ok3}", ok3.len()).into_bytes());
    // Declares 100 bytes, sends fewer, closes.
    wire.extend(b"100 <13>Nov 26 10:00:00 h app: cut short");
    let mut s = std::net::TcpStream::connect(addr(&listeners, SyslogProtocol::Tcp)).unwrap();
    s.write_all(&wire).unwrap();
    drop(s);
    let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = addr(&listeners, SyslogProtocol::Udp);
    u.send_to(&vec![b'z'; 2000], to).unwrap();
    u.send_to(b"<13>Nov 26 10:00:00 h app: ok-udp\n", to)
        .unwrap();
    wait_until(&node, "every frame counted", || {
        stats(&node, "syslog-tcp").received == 6 && stats(&node, "syslog-udp").received == 2
    })
    .await;
    wait_until(&node, "4 stored", || node.ledger.size() == 4).await;
    listeners.shutdown().await;
    assert_eq!(
        stats(&node, "syslog-tcp"),
        ReceiverSnapshot {
            received: 6,
            stored: 3,
            rejected: 3,
            dropped: 0
        }
    );
    assert_eq!(
        stats(&node, "syslog-udp"),
        ReceiverSnapshot {
            received: 2,
            stored: 1,
            rejected: 1,
            dropped: 0
        }
    );
    let mut messages: Vec<String> = entries(&node)
        .iter()
        .map(|e| parsed(e).get_str("message").unwrap().to_owned())
        .collect();
    messages.sort();
    assert_eq!(messages, ["ok-1", "ok-2", "ok-3", "ok-udp"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_refuse_to_start_with_a_missing_source_or_unusable_tls_files() {
    let (dir, node) = syslog_node(|_| {});
    let mut l = listen(SyslogProtocol::Udp);
    l.source = "firewalls".into();
    assert_eq!(
        start(&node, &[l]).await.unwrap_err().to_string(),
        "syslog udp listener on 127.0.0.1:0: source \"firewalls\" does not exist; create it with `evident source add firewalls --format syslog`"
    );
    let missing = dir.path().join("missing.pem");
    let err = start(&node, &[tls_listener(&missing, &missing)])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "syslog tls listener on 127.0.0.1:0: {}: reading the PEM certificate chain: ",
            missing.display()
        )),
        "{err}"
    );
    let (_, cert, _) = certificates(dir.path());
    let err = start(&node, &[tls_listener(&cert, &cert)])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "syslog tls listener on 127.0.0.1:0: {}: reading the PEM private key: ",
            cert.display()
        )),
        "{err}"
    );
    // Taken address.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let l = SyslogListenerConfig::new(SyslogProtocol::Tcp, taken.local_addr().unwrap());
    let err = start(&node, &[l]).await.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "syslog tcp listener: cannot listen on {}: ",
            taken.local_addr().unwrap()
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_configured_listeners_and_stops_them_on_shutdown() {
    let port = free_port();
    let (_dir, node) = syslog_node(|cfg| {
        cfg.push_str(&format!(
            "\n[[syslog]]\nprotocol = \"tcp\"\nlisten = \"127.0.0.1:{port}\"\n"
        ))
    });
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(evident_server::serve(node.clone(), http, async {
        let _ = stop_rx.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut s = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "{e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    s.write_all(b"<13>Nov 26 10:00:00 h app: via serve\n")
        .unwrap();
    wait_until(&node, "1 stored", || stats(&node, "syslog-tcp").stored == 1).await;
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    // `serve` seals audit entries of its own; the one log entry is ours.
    let logs: Vec<Vec<u8>> = entries(&node)
        .into_iter()
        .filter(|e| e.kind == evident_ledger::EntryKind::Log)
        .map(|e| e.body)
        .collect();
    assert_eq!(logs, [b"<13>Nov 26 10:00:00 h app: via serve"]);
}
