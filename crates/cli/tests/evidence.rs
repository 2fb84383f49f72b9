//! `evident evidence export` and `evident evidence verify` through the real binary: exit
//! codes 0 / 1 / 2, the named finding, the key it says it used, the zip, and the export's
//! own audit entry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

mod support;

use support::{Fixture, path_str};

/// A data directory with five Okta logins and one case, all today.
fn fixture() -> (Fixture, String) {
    let f = Fixture::new();
    let now = chrono::Utc::now();
    let ts = now.format("%Y-%m-%dT%H:%M:%S").to_string();
    let lines: String = (1..=5)
        .map(|i| {
            format!(
                "{{\"uuid\":\"e{i}\",\"published\":\"{ts}.00{i}Z\",\"eventType\":\"user.session.start\",\"displayMessage\":\"User login to Okta\",\"actor\":{{\"alternateId\":\"alice@example.com\",\"type\":\"User\"}},\"client\":{{\"ipAddress\":\"198.51.100.{i}\"}},\"outcome\":{{\"result\":\"SUCCESS\"}},\"legacyEventType\":\"core.user_auth.login_success\",\"severity\":\"INFO\",\"version\":\"0\"}}\n"
            )
        })
        .collect();
    let file = f.write("events.jsonl", lines.as_bytes());
    f.ingest(&file);
    f.run(&[
        "case",
        "open",
        "Suspicious admin grant",
        "--severity",
        "High",
    ])
    .expect_code(0);
    (f, now.format("%Y-%m-%d").to_string())
}

#[test]
fn export_then_verify_with_the_given_key_and_name_a_changed_file() {
    let (f, today) = fixture();
    let out = f.file("pkg");
    let export = f.run(&[
        "evidence",
        "export",
        "--from",
        &today,
        "--to",
        &today,
        "--out",
        path_str(&out),
        "--seed",
        "5",
        "--zip",
    ]);
    export.expect_code(0);
    let first = export.stdout.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("{}: ", out.display()))
            && first.contains("0 alerts, 1 cases, sample of 1 (seed 5)"),
        "{first}"
    );
    assert_eq!(
        export.stdout.lines().nth(1).unwrap(),
        format!("{}.zip", out.display())
    );

    for pkg in [out.clone(), f.file("pkg.zip")] {
        let v = f.run(&["evidence", "verify", path_str(&pkg), "--key", &f.key]);
        v.expect_code(0);
        let line = v.stdout.trim_end();
        assert!(
            line.starts_with(&format!("{}: ", pkg.display()))
                && line.ends_with(&format!(
                    "; key {} (given with --key); everything verifies",
                    f.key
                )),
            "{line}"
        );
    }

    let cases = out.join("alerts/cases.csv");
    let mut bytes = std::fs::read(&cases).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&cases, &bytes).unwrap();
    let v = f.run(&["evidence", "verify", path_str(&out)]);
    v.expect_code(1);
    assert_eq!(
        v.stdout.lines().next().unwrap(),
        "alerts/cases.csv: SHA-256 does not match MANIFEST.json"
    );
    assert!(
        v.stdout.trim_end().ends_with(
            "(the package's integrity/verifier.key (pass --key to check against the key the company gave you)); 1 problem(s)"
        ),
        "{}",
        v.stdout
    );

    // The export is itself in the audit trail.
    let again = f.file("pkg-after");
    f.run(&[
        "evidence",
        "export",
        "--from",
        &today,
        "--to",
        &today,
        "--out",
        path_str(&again),
        "--seed",
        "5",
    ])
    .expect_code(0);
    let trail = std::fs::read_to_string(again.join("access/audit-trail.csv")).unwrap();
    assert_eq!(
        trail
            .lines()
            .filter(|l| l.contains(",access,") && l.contains(",evidence export,success,"))
            .count(),
        1,
        "{trail}"
    );
}

#[test]
fn cannot_run_exits_2_with_the_reason() {
    let (f, today) = fixture();
    let missing = f.file("nowhere");
    let v = f.run(&["evidence", "verify", path_str(&missing)]);
    v.expect_code(2);
    assert!(
        v.stderr
            .starts_with(&format!("error: {}", missing.display())),
        "{}",
        v.stderr
    );

    let r = f.run(&[
        "evidence",
        "export",
        "--from",
        &today,
        "--to",
        "2000-01-01",
        "--out",
        path_str(&f.file("x")),
    ]);
    r.expect_code(2);
    assert_eq!(
        r.stderr.trim_end(),
        format!("error: --from {today} is after --to 2000-01-01")
    );

    let busy = f.file("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("keep"), "x").unwrap();
    let r = f.run(&[
        "evidence",
        "export",
        "--from",
        &today,
        "--to",
        &today,
        "--out",
        path_str(&busy),
    ]);
    r.expect_code(2);
    assert_eq!(
        r.stderr.trim_end(),
        format!(
            "error: exporting the evidence package to {0}: {0}: exists and is not empty; choose a new directory",
            busy.display()
        )
    );
}
