//! moto server (S3 + SQS on loopback) for the tests that talk to AWS APIs, started per test
//! and killed on drop; and the skip-or-fail rule for tests needing an external program.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Skips (or, with EVIDENT_REQUIRE_TOOLS=1, fails) when `program` is missing.
pub fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("EVIDENT_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("skipped: {program} not installed");
        }
        eprintln!("skipped: {program} not installed");
    }
    found
}

pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}
