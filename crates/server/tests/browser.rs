//! The web UI in headless Chromium (Debian `chromium`, driven by `playwright-core` from
//! tests/browser/ui.mjs): a small data set with alerts, cases and a due review is served on
//! a real port, the script signs in as each role and works through the UI, and its report
//! is compared here with what must have happened. Screenshots go to
//! `target/ui-screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use evident_model::{Format, Framing, Role};
use evident_server::{DataDir, Evident, build_entries, ingest};
use evident_sources::Limits;
use evident_store::NewUser;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";

/// The browser folder with its installed `playwright-core`, or None (after saying why)
/// when a tool is missing and CI did not ask for the tools.
fn tools() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing = if !Path::new(CHROMIUM).exists() {
        Some("chromium")
    } else if !node_ok {
        Some("node")
    } else if !dir.join("node_modules/playwright-core").exists() {
        Some("playwright-core (run `npm ci` in crates/server/tests/browser)")
    } else {
        None
    };
    match missing {
        None => Some(dir),
        Some(p) if std::env::var("EVIDENT_REQUIRE_TOOLS").as_deref() == Ok("1") => {
            panic!("skipped: {p} not installed")
        }
        Some(p) => {
            println!("skipped: {p} not installed");
            None
        }
    }
}

const PASSWORD: &str = "browser-test-password-1";

fn now_ms() -> i64 {
    (evident_ledger::now_ns() / 1_000_000) as i64
}

/// A small company: two sources with records, three alerts (each opening a case), one due
/// review, and a user per role.
fn data_set(dir: &Path) -> Arc<Evident> {
    let data = DataDir::new(dir.join("data"));
    data.init("evident.test/browser").unwrap();
    let node = Evident::open(&data).unwrap();
    let now = now_ms();
    node.db
        .add_source(&"app".parse().unwrap(), Format::JsonApp)
        .unwrap();
    node.db
        .add_source(&"auth".parse().unwrap(), Format::AuthLog)
        .unwrap();
    let app: String = (0..4)
        .map(|i| {
            let outcome = if i < 3 { "failed" } else { "ok" };
            format!("{{\"msg\":\"zq-login {outcome}\",\"user\":\"u{i}\"}}\n")
        })
        .collect();
    // Stamped now, so the source's clock skew stays under the threshold (a skewed source
    // would raise Evident's own alert and open a fourth case).
    let stamp = chrono::Utc::now().format("%b %e %H:%M:%S");
    let auth = format!(
        "{stamp} web1 sshd[11]: Failed password for zq-login from 203.0.113.9 port 22 ssh2\n\
         {stamp} web1 sshd[11]: Failed password for zq-login from 203.0.113.9 port 22 ssh2\n\
         {stamp} web1 sshd[12]: Accepted password for zq-login from 198.51.100.4 port 22 ssh2\n"
    );
    let limits = Limits {
        max_record_bytes: 1 << 20,
        max_decoded_bytes: 1 << 24,
    };
    for (source, body, framing) in [
        ("app", app.as_str(), Framing::Json),
        ("auth", auth.as_str(), Framing::Lines),
    ] {
        let (entries, warnings) =
            build_entries(source, body.as_bytes(), framing, &limits, &[]).unwrap();
        ingest(&node.ledger, entries, warnings).unwrap();
    }
    let alert = |key: &str, rule: &str, title: &str, sev: &str, sev_id: i64, ago_h: i64| {
        json!({
            "dedup_key": key, "rule_id": rule, "rule_title": title, "severity": sev,
            "severity_id": sev_id, "count": 1,
            "first_seen_ms": now - ago_h * 3_600_000, "last_seen_ms": now - ago_h * 3_600_000,
        })
    };
    node.db
        .store_alerts(&[
            alert(
                "k1",
                "evident.brute_force",
                "Brute force from 203.0.113.9",
                "High",
                4,
                30,
            ),
            alert(
                "k2",
                "evident.after_hours",
                "After-hours access to customers DB",
                "Medium",
                3,
                20,
            ),
            alert(
                "k3",
                "evident.priv_grant",
                "Privileged group grant without ticket",
                "Critical",
                5,
                2,
            ),
        ])
        .unwrap();
    assert_eq!(
        evident_server::cases::open_cases_for_alerts(&node.ledger, &node.db).unwrap(),
        3
    );
    let schedule = node.config.reviews[0].name.clone();
    node.db
        .schedule_review(
            &schedule,
            now - 7 * 86_400_000,
            now - 3_600_000,
            now + 2 * 86_400_000,
            node.ledger.size(),
        )
        .unwrap();
    for role in Role::ALL {
        let name = format!("{role}1");
        node.db
            .create_user(
                &NewUser {
                    username: &name,
                    role,
                    password: Some(PASSWORD),
                    window: (role == Role::Auditor)
                        .then_some((now - 86_400_000, now + 30 * 86_400_000)),
                },
                now,
            )
            .unwrap();
    }
    node.ledger.checkpoint().unwrap();
    Arc::new(node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_works_through_the_ui_in_chromium() {
    let Some(browser_dir) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let node = data_set(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(evident_server::serve(node.clone(), listener, async {
        let _ = stopped.await;
    }));
    // Evident's own conditions (an unsynchronized server clock in a container, say) open
    // cases of their own in the first housekeeping ticks: let those pass, and expect the
    // UI to list whatever they opened after the three planted cases.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let own: Vec<String> = node
        .db
        .cases(evident_store::CaseFilter::All)
        .unwrap()
        .into_iter()
        .filter(|c| c.id > 3)
        .map(|c| format!("#{} {}", c.id, c.title))
        .collect();
    let cases = 3 + own.len();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let script = browser_dir.join("ui.mjs");
    let day = chrono::Utc::now().date_naive().to_string();
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let (day_env, downloads_env) = (day.clone(), downloads.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("EVIDENT_DAY", day_env)
            .env("EVIDENT_DOWNLOADS", downloads_env)
            .env("EVIDENT_URL", &base)
            .env("EVIDENT_PASSWORD", PASSWORD)
            .env("CHROMIUM", CHROMIUM)
            .env("SCREENSHOTS", shots)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ui.mjs failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ui.mjs printed no JSON ({e}): {stderr}"));

    // Evident's own cases sort among the planted ones by severity; the planted ones keep
    // their order (most severe, then oldest, first).
    let mut report = report;
    let queue: Vec<String> = serde_json::from_value(report["triage"]["queue"].take()).unwrap();
    assert_eq!(queue.len(), cases, "{queue:?}");
    assert!(own.iter().all(|c| queue.contains(c)), "{queue:?}");
    report["triage"]["queue"] = json!(
        queue
            .iter()
            .filter(|c| !own.contains(c))
            .collect::<Vec<_>>()
    );
    let queue = [
        "#3 Privileged group grant without ticket",
        "#1 Brute force from 203.0.113.9",
        "#2 After-hours access to customers DB",
    ];
    let expected = json!({
        "stranger": {"redirected_to": "/login?next=%2Falerts"},
        "bad_password": {"status": 401, "error": "wrong username or password"},
        "roles": {
            "admin": {"who": "admin1 (admin)", "nav": ["Overview", "Alerts & cases", "Search", "Sources", "Controls", "Reviews", "Integrity", "Evidence"]},
            "analyst": {"who": "analyst1 (analyst)", "nav": ["Overview", "Alerts & cases", "Search", "Sources", "Controls", "Reviews", "Integrity"]},
            "reviewer": {"who": "reviewer1 (reviewer)", "nav": ["Overview", "Alerts & cases", "Search", "Sources", "Controls", "Reviews", "Integrity"]},
            "auditor": {"who": "auditor1 (auditor)", "nav": ["Overview", "Alerts & cases", "Search", "Sources", "Controls", "Reviews", "Integrity", "Evidence"]},
        },
        "overview": {"landed_on": "/alerts", "tiles": [format!("{cases} alerts"), format!("{cases} open cases"), "0 closed cases", "3 open cases past an SLA"], "charts": 3},
        // Cases #1 and #2 opened 30 h and 20 h ago and #3 2 h ago, all past their SLA; once
        // #1 and #2 are closed only #3 counts.
        "overview_after_closing": {"tiles": [format!("{} open cases", cases - 2), "2 closed cases", "1 open cases past an SLA"]},
        "triage": {
            "queue": queue,
            "timeline": ["triage", "investigation", "containment", "eradication recovery", "post mortem", "closed"],
            "current_after_close": "closed",
            "actions_after_close": 0,
            "false_positive_stage": "closed",
            "false_positive_justification": "Justification: DBA maintenance window, change CHG-42",
            "skip_refused": {"status": 409},
            "closed_cases": ["#2 After-hours access to customers DB", "#1 Brute force from 203.0.113.9"],
        },
        "review": {"status_before": "due", "signed_by": "By reviewer1", "status_after": "signed", "findings": "Findings: nothing unusual"},
        "search": {"count": "3 matching entries", "hits": 3, "stats": [["app", "4"], ["auth", "3"]]},
        "integrity": {"verifier_key": node.ledger.verifier().to_string(), "status": "CLEAN"},
        "auditor": {"case_forms": 0, "forced_post": {"status": 403, "code": "forbidden"}},
        "logout": {"after": "/login"},
        "evidence": {
            "filename": format!("evident-evidence-{day}-{day}.zip"),
            "recent": ["auditor1 (auditor)", "success"],
        },
        "evidence_refused": {
            "analyst": {"status": 403, "code": "forbidden"},
            "stranger": {"status": 303, "location": "/login?next=%2Fevidence"},
        },
    });
    assert_eq!(report, expected);
    let case = node.db.case(1).unwrap().unwrap();
    assert_eq!(case.stage, evident_model::Stage::Closed);
    let fp = node.db.case(2).unwrap().unwrap();
    assert_eq!(
        fp.disposition,
        Some(evident_model::Disposition::FalsePositive)
    );
    let review = node.db.reviews().unwrap().remove(0);
    assert_eq!(review.signed.unwrap().reviewer, "reviewer1");

    // The downloaded package verifies offline, and its export is one access entry naming
    // the period, the seed and the manifest's hash.
    let zip = downloads.join(format!("evident-evidence-{day}-{day}.zip"));
    let key = node.ledger.verifier().to_string();
    let verified = evident_evidence::verify_package(&zip, Some(&key)).unwrap();
    assert_eq!(verified.findings, Vec::<String>::new());
    assert_eq!(verified.key_source, evident_evidence::KeySource::Given);
    let exports: Vec<evident_model::Event> = node
        .db
        .audit_rows("access", None)
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str::<evident_model::Event>(&r.body).unwrap())
        .filter(|e| e.get_str("evident.access.action") == Some("evidence export"))
        .collect();
    assert_eq!(exports.len(), 1);
    let e = &exports[0];
    assert_eq!(e.get_str("actor.user.name"), Some("auditor1"));
    assert_eq!(e.get_str("evident.actor.role"), Some("auditor"));
    assert_eq!(e.get_str("evident.access.outcome"), Some("success"));
    let target = e.get_str("evident.access.target").unwrap();
    let sha = target
        .strip_prefix(&format!("{day}..{day} seed 7 manifest sha256:"))
        .unwrap_or_else(|| panic!("{target}"));
    assert_eq!(sha.len(), 64, "{target}");
    assert!(sha.bytes().all(|b| b.is_ascii_hexdigit()), "{target}");
}
