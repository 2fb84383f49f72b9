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
