//! `evident rules test`, `rules lint` and `hunt` through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

mod support;

use support::run;

#[test]
fn the_builtin_pack_passes_its_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(&tmp.path().join("d"), &["rules", "test"]);
    r.expect_code(0);
    let last = r.stdout.lines().last().unwrap();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    assert!(
        r.stdout
            .contains("PASS brute_force_failed_logins: sshd: 10 failed passwords from one IP"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_failing_case_and_a_broken_rule_exit_1_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rules");
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(
        dir.join("failed.yml"),
        "title: Failed logon\nid: failed\nlogsource: {product: evident}\ndetection:\n  sel: {class_uid: 3002, status_id: 2}\n  condition: sel\nlevel: low\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("broken.yml"),
        "title: Broken\nlogsource: {product: okta}\ndetection:\n  sel:\n    a|re: '(x'\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("tests/failed.yml"),
        "rule: failed\ncases:\n  - name: two failures of one user fold into one alert\n    expect: 2\n    events:\n      - {class_uid: 3002, status_id: 2, time: 1000, user: {name: a}}\n      - {class_uid: 3002, status_id: 2, time: 2000, user: {name: a}}\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let r = run(&tmp.path().join("d"), &["rules", "test", d]);
    r.expect_code(1);
    assert!(
        r.stdout.contains(
            "FAIL failed: two failures of one user fold into one alert: expected 2 alerts, got 1"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("ERROR rule does not load: "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .ends_with("0 passed, 1 failed, 1 files with errors\n"),
        "{}",
        r.stdout
    );

    let r = run(&tmp.path().join("d"), &["rules", "lint", d]);
    r.expect_code(1);
    let broken = format!("unsupported: {d}/broken.yml: \"Broken\": invalid regex pattern");
    assert!(r.stdout.starts_with(&broken), "{}", r.stdout);
    assert!(
        r.stdout.contains("2 files, 2 rule documents: 1 loaded (50.0%: 1 detection, 0 correlation, 0 filter), 1 unsupported"),
        "{}",
        r.stdout
    );
}

#[test]
fn hunt_prints_alerts_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("auth.log");
    let mut text = String::from(
        "Nov 26 09:59:00 bastion sshd[1]: Accepted password for ops from 192.0.2.1 port 22 ssh2\n",
    );
    for i in 0..10 {
        text.push_str(&format!(
            "Nov 26 10:00:{:02} bastion sshd[4{i}]: Failed password for invalid user admin{i} from 192.0.2.44 port 5{i}022 ssh2\n",
            i * 3
        ));
    }
    std::fs::write(&log, text).unwrap();
    let l = log.to_str().unwrap();
    let r = run(&tmp.path().join("d"), &["hunt", "--format", "authlog", l]);
    r.expect_code(0);
    let alerts: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|x| serde_json::from_str(x).unwrap())
        .collect();
    let brute: Vec<_> = alerts
        .iter()
        .filter(|a| a["rule_title"].as_str().unwrap().starts_with("Brute force"))
        .collect();
    assert_eq!(brute.len(), 1, "{}", r.stdout);
    assert_eq!(brute[0]["group"]["src_endpoint.ip"], "192.0.2.44");
    let lines: Vec<u64> = brute[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["file"], l);
            e["line"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(lines, (2..=11).collect::<Vec<u64>>());
    assert!(r.stderr.contains("11 events, "), "{}", r.stderr);
}
