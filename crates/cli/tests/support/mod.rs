//! Helpers shared by the `evident` binary tests: run the real binary on a data directory,
//! capture its exit code and output, and read the ledger files the way an attacker would.
#![allow(dead_code)] // each test binary uses a subset
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_evident");

/// Origin every test log uses (so the verifier key's name is known).
pub const ORIGIN: &str = "evident.test/cli";

/// Segment and index header length (magic + first index).
pub const HEADER_LEN: u64 = 16;
/// Per-record frame in a segment: u32 LE length + u32 LE CRC-32 of the entry bytes.
pub const FRAME_LEN: u64 = 8;

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output, raw.
    pub stdout_bytes: Vec<u8>,
    /// Standard output as text.
    pub stdout: String,
    /// Standard error as text.
    pub stderr: String,
}

impl Run {
    /// Stderr lines.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// Panics with the whole output unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// A command for the binary with a clean environment for the variables it reads.
pub fn command(data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("EVIDENT_DATA")
        .env_remove("EVIDENT_LOG")
        .env_remove("RUST_BACKTRACE")
        .arg("--data")
        .arg(data);
    c
}

/// Runs `evident --data DATA ARGS…` with empty stdin.
pub fn run(data: &Path, args: &[&str]) -> Run {
    run_with_stdin(data, args, b"")
}

/// Runs `evident --data DATA ARGS…` feeding `stdin`.
pub fn run_with_stdin(data: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = command(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning evident");
    let mut input = child.stdin.take().expect("stdin pipe");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The command may exit without reading everything (errors): ignore EPIPE.
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().expect("waiting for evident");
    writer.join().expect("stdin writer");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout_bytes: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `evident init --origin ORIGIN`; returns the verifier key line.
pub fn init(data: &Path) -> String {
    let r = run(data, &["init", "--origin", ORIGIN]);
    r.expect_code(0);
    r.stdout.trim_end().to_owned()
}

/// `evident source add NAME --format FORMAT`; returns the token.
pub fn add_source(data: &Path, name: &str, format: &str) -> String {
    let r = run(data, &["source", "add", name, "--format", format]);
    r.expect_code(0);
    r.stdout.trim_end().to_owned()
}

/// An initialized data directory (inside a temp dir that lives as long as the value) with an
/// `okta` source.
pub struct Fixture {
    _tmp: tempfile::TempDir,
    /// The data directory.
    pub data: PathBuf,
    /// The verifier key printed by `init`.
    pub key: String,
}

impl Fixture {
    /// Creates and initializes the data directory and registers `okta` (format okta).
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let key = init(&data);
        add_source(&data, "okta", "okta");
        Fixture {
            _tmp: tmp,
            data,
            key,
        }
    }

    /// A path for a scratch file next to (not inside) the data directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.data.parent().expect("parent").join(name)
    }

    /// Writes `contents` to a scratch file and returns its path.
    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let p = self.file(name);
        std::fs::write(&p, contents).expect("writing a scratch file");
        p
    }

    /// `evident ARGS…` on this data directory.
    pub fn run(&self, args: &[&str]) -> Run {
        run(&self.data, args)
    }

    /// `evident ingest --source okta FILE`, expecting success; returns stdout.
    pub fn ingest(&self, file: &Path) -> String {
        let r = self.run(&["ingest", "--source", "okta", path_str(file)]);
        r.expect_code(0);
        r.stdout
    }

    /// The first segment file and its offset index.
    pub fn segment_paths(&self) -> (PathBuf, PathBuf) {
        let dir = self.data.join("ledger").join("segments");
        (
            dir.join("00000000000000000000.seg"),
            dir.join("00000000000000000000.idx"),
        )
    }

    /// Where entry `index` of the first segment is stored: (record offset, entry length).
    pub fn record_location(&self, index: u64) -> (u64, u64) {
        let (seg, idx) = self.segment_paths();
        let idx = std::fs::read(idx).expect("reading the index");
        let at = (HEADER_LEN + 8 * index) as usize;
        let offset = u64::from_le_bytes(idx[at..at + 8].try_into().expect("8 bytes"));
        let seg = std::fs::read(seg).expect("reading the segment");
        let o = offset as usize;
        let len = u32::from_le_bytes(seg[o..o + 4].try_into().expect("4 bytes"));
        (offset, u64::from(len))
    }
}

/// A path as `&str` (test paths are UTF-8).
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `n` NDJSON lines `{"id":"<prefix>-<i>","n":i}`, each ending in a newline.
pub fn ndjson(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{{\"id\":\"{prefix}-{i}\",\"n\":{i}}}"))
        .collect()
}

/// Lines joined into a file body (newline-terminated).
pub fn lines_body(lines: &[String]) -> Vec<u8> {
    let mut b = lines.join("\n").into_bytes();
    b.push(b'\n');
    b
}

/// Gzip-compresses `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

/// A running `evident serve` (started by [`Server::start`]), killed when dropped.
pub struct Server {
    /// The child process.
    pub child: std::process::Child,
    /// The HTTP address it listens on.
    pub addr: std::net::SocketAddr,
    /// Everything it wrote to stderr (drained by a thread so the pipe never fills).
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `evident serve` on a free port with `args` appended, and waits for its
    /// "listening" line.
    pub fn start(data: &Path, args: &[&str]) -> Server {
        use std::io::BufRead as _;
        let mut child = command(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning evident serve");
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let addr = line
                    .strip_prefix("Evident is listening on http://")
                    .or_else(|| line.strip_prefix("Evident is listening on https://"));
                if let Some(addr) = addr {
                    let _ = tx.send(addr.parse::<std::net::SocketAddr>().unwrap());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let Ok(addr) = rx.recv_timeout(std::time::Duration::from_secs(60)) else {
            let _ = child.kill();
            let status = child.wait();
            panic!(
                "evident serve did not start ({status:?}):\n{}",
                log.lock().unwrap().join("\n")
            );
        };
        Server { child, addr, log }
    }

    /// Resident memory of the server process now, in KiB (`VmRSS` in /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("reading /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line")
    }

    /// SIGKILL: no shutdown, no final checkpoint.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM (graceful shutdown) and wait for a clean exit.
    pub fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "evident serve exited with {status}:\n{}",
                    self.log.lock().unwrap().join("\n")
                );
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "evident serve ignored SIGTERM"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only this test's own child, by handle; harmless if it already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the response: status and
/// body. `None` when the connection broke before a complete response.
pub fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    use std::io::Read as _;
    let mut s =
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    parse_response(&raw)
}

/// Splits a complete HTTP/1.1 response into status and body (Content-Length, chunked, or
/// up to the end).
pub fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut length = None;
    let mut chunked = false;
    for l in lines {
        let (name, value) = l.split_once(':')?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            length = Some(value.parse::<usize>().ok()?);
        } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    if chunked {
        let mut body = Vec::new();
        let mut rest = rest;
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n")?;
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).ok()?, 16).ok()?;
            rest = &rest[eol + 2..];
            if size == 0 {
                return Some((status, body));
            }
            body.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
    }
    let body = match length {
        Some(n) => rest.get(..n)?.to_vec(),
        None => rest.to_vec(),
    };
    Some((status, body))
}

/// `GET PATH` expecting 200 and a JSON body.
pub fn get_json(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    let (status, body) = http(addr, "GET", path, &[], b"").expect("a response");
    assert_eq!(
        status,
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).expect("a JSON body")
}

/// Sets `key = value` lines (`keys`, one per line) in the `[server]` table of the data
/// directory's `evident.toml`, replacing the values `init` wrote.
pub fn set_server_config(data: &Path, keys: &str) {
    let path = data.join("evident.toml");
    let cfg = std::fs::read_to_string(&path).expect("reading evident.toml");
    let names: Vec<&str> = keys
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    let kept: Vec<&str> = cfg
        .lines()
        .filter(|l| {
            !l.split_once('=')
                .is_some_and(|(k, _)| names.contains(&k.trim()))
        })
        .collect();
    let mut out = String::new();
    for l in kept {
        out.push_str(l);
        out.push('\n');
        if l == "[server]" {
            for k in keys.lines() {
                out.push_str(k.trim());
                out.push('\n');
            }
        }
    }
    std::fs::write(&path, out).expect("writing evident.toml");
}
