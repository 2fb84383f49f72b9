//! `evident init`'s first admin, `evident user …`, `evident token …`, `evident access export`:
//! exact outputs, exact refusals, and the audit entries each change seals into the ledger.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

mod support;

use base64::Engine as _;
use support::{ORIGIN, run};

#[test]
fn init_creates_the_first_admin_and_console_changes_are_sealed_audit_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let init = run(&data, &["init", "--origin", ORIGIN]);
    init.expect_code(0);
    let line = init
        .stderr_lines()
        .into_iter()
        .find(|l| l.starts_with("First administrator:"))
        .unwrap()
        .to_owned();
    let password = line
        .split("one-time password ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(password.len(), 20, "{line}");

    let refused = run(&data, &["user", "add", "audrey", "--role", "auditor"]);
    refused.expect_code(2);
    assert_eq!(
        refused.stderr.trim_end(),
        "error: auditor accounts need an access window: --access-from and --access-until"
    );
    let added = run(
        &data,
        &[
            "user",
            "add",
            "audrey",
            "--role",
            "auditor",
            "--access-from",
            "2026-01-05",
            "--access-until",
            "2026-02-05",
        ],
    );
    added.expect_code(0);
    assert_eq!(added.stdout.trim().len(), 20);
    let bad_role = run(&data, &["user", "add", "eve", "--role", "root"]);
    bad_role.expect_code(2);
    assert!(
        bad_role
            .stderr
            .contains("unknown role \"root\"; roles are admin, analyst, reviewer, auditor"),
        "{}",
        bad_role.stderr
    );
    let token = run(
        &data,
        &[
            "token",
            "create",
            "ci",
            "--role",
            "reviewer",
            "--expires-days",
            "0",
        ],
    );
    token.expect_code(0);
    assert!(token.stdout.starts_with("evd_"));
    run(&data, &["token", "revoke", "ci"]).expect_code(0);

    let csv = run(&data, &["access", "export", "--format", "csv"]);
    csv.expect_code(0);
    let rows: Vec<Vec<&str>> = csv.stdout.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "kind",
            "name",
            "role",
            "auth",
            "mfa",
            "created",
            "last_used",
            "expires",
            "access_window",
            "state"
        ]
    );
    let summary: Vec<String> = rows[1..]
        .iter()
        .map(|r| format!("{} {} {} {} {}", r[0], r[1], r[2], r[8], r[9]))
        .collect();
    assert_eq!(
        summary,
        [
            "user admin admin  active",
            "user audrey auditor 2026-01-05T00:00:00Z/2026-02-05T23:59:59Z active",
            "api_token ci reviewer  revoked",
        ]
    );

    // key create and user create (init), user create, token create, token revoke, export.
    let verify = run(&data, &["verify", "--json"]);
    verify.expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&verify.stdout).unwrap();
    assert_eq!(report["entries"], 6, "{report}");
    let last = run(&data, &["entry", "5"]);
    last.expect_code(0);
    let entry: serde_json::Value = serde_json::from_str(&last.stdout).unwrap();
    let body = base64::engine::general_purpose::STANDARD
        .decode(entry["body_base64"].as_str().unwrap())
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["evident"]["access"]["action"], "export access-list");
    assert!(
        body["actor"]["user"]["name"]
            .as_str()
            .unwrap()
            .starts_with("cli:")
    );
}

#[test]
fn the_permission_matrix_prints_as_markdown() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    run(&data, &["init", "--origin", ORIGIN]).expect_code(0);
    let m = run(&data, &["access", "matrix"]);
    m.expect_code(0);
    assert_eq!(
        m.stdout.lines().next(),
        Some("| permission | admin | analyst | reviewer | auditor |")
    );
    assert!(
        m.stdout
            .contains("| `export_evidence` | yes | — | — | yes |")
    );
}
