#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too
//! Export a small deterministic data set (tests/common), verify it, and tamper with it: every
//! change must make `verify_package` name the damaged item.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Fixture;
use evident_evidence::{KeySource, verify_package};

/// Entries with a proof for seed 42: the sampled cases' timeline entries and alert events.
const PROOFS: [u64; 11] = [2, 3, 6, 7, 8, 15, 16, 20, 21, 22, 23];

fn exported(seed: u64) -> (Fixture, PathBuf) {
    let f = Fixture::new();
    let out = f.dir.path().join("pkg");
    f.export(&out, seed, false);
    (f, out)
}

fn findings(pkg: &Path) -> Vec<String> {
    verify_package(pkg, None).unwrap().findings
}

/// Findings when verifying with the key as the company gave it (not the package's copy).
fn findings_with_key(pkg: &Path, key: &str) -> Vec<String> {
    verify_package(pkg, Some(key)).unwrap().findings
}

fn proof(i: u64) -> String {
    format!("integrity/proofs/entry-{i:06}.tlog-proof")
}

fn listed_files(pkg: &Path) -> Vec<String> {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pkg.join("MANIFEST.json")).unwrap()).unwrap();
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn export_writes_the_period_and_verifies_clean() {
    let f = Fixture::new();
    let out = f.dir.path().join("pkg");
    let s = f.export(&out, 42, true);
    assert_eq!(
        (s.files, s.alerts, s.cases, s.proofs, s.checkpoints),
        (60, 8, 8, 11, (0, 27))
    );
    assert_eq!(s.sampled_cases, [2, 3, 6, 7, 8]);
    for pkg in [out.clone(), s.zip.clone().unwrap()] {
        let r = verify_package(&pkg, None).unwrap();
        assert_eq!(r.findings, Vec::<String>::new(), "{}", pkg.display());
        assert_eq!((r.files, r.proofs, r.checkpoints), (60, 11, Some((0, 27))));
        assert_eq!(r.key_source, KeySource::Package);
    }
    let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
    assert_eq!(
        read("sources/gaps.csv"),
        "source,first_day,last_day,days\nokta,2026-01-05,2026-01-07,3\ntrivy,2026-01-01,2026-01-02,2\n\
trivy,2026-01-04,2026-01-09,6\ntrivy,2026-01-11,2026-01-14,4\n"
    );
    let remediation: Vec<String> = read("vulnerabilities/findings.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            format!("{} {} {}", cols[1], cols[5], cols[7])
        })
        .collect();
    assert_eq!(
        remediation,
        [
            "11 CVE-2026-0001 in openssl open",
            "11 CVE-2026-0002 in openssl remediated",
            "12 CVE-2026-0001 in openssl open"
        ]
    );
    assert_eq!(
        read("metrics/mttr-by-severity.csv"),
        "severity,cases_closed,mean_hours_to_resolve\nHigh,2,4\nLow,1,4\n"
    );
    let cc61 = read("controls.csv")
        .lines()
        .find(|l| l.starts_with("CC6.1,"))
        .unwrap()
        .to_string();
    assert_eq!(
        cc61,
        "CC6.1,covered,\"Logical access to information assets is restricted by software, infrastructure and architecture.\",11,okta (11),rule-0,4,4,,"
    );
    let html = read("index.html");
    assert!(html.contains("<a href=\"alerts/sample/case-2.csv\">#2</a>"));
    assert!(!html.contains("<script"));
    assert!(
        !html.contains(" src="),
        "no external or embedded resources by URL"
    );
    // Every link is relative and names a file of the package (or an anchor on the page).
    let mut links = 0;
    for href in html.split("href=\"").skip(1) {
        let target = href.split('"').next().unwrap();
        if let Some(anchor) = target.strip_prefix('#') {
            assert!(html.contains(&format!("id=\"{anchor}\"")), "#{anchor}");
        } else {
            assert!(
                !target.contains("//") && !target.starts_with('/'),
                "{target}"
            );
            assert!(out.join(target).is_file(), "broken link {target}");
        }
        links += 1;
    }
    assert_eq!(links, 135);
}

#[test]
fn one_changed_byte_in_any_file_is_named() {
    let (_f, pkg) = exported(42);
    let key = std::fs::read_to_string(pkg.join("integrity/verifier.key")).unwrap();
    for p in listed_files(&pkg) {
        let path = pkg.join(&p);
        let original = std::fs::read(&path).unwrap();
        let mut changed = original.clone();
        let i = changed.len() / 2;
        changed[i] ^= 0x01;
        std::fs::write(&path, &changed).unwrap();
        let found = findings_with_key(&pkg, &key);
        assert!(
            found.contains(&format!("{p}: SHA-256 does not match MANIFEST.json")),
            "{p}: {found:?}"
        );
        std::fs::write(&path, &original).unwrap();
    }
    assert_eq!(findings_with_key(&pkg, &key), Vec::<String>::new());
    let mut changed_key = key.clone().into_bytes();
    changed_key[20] ^= 0x01;
    std::fs::write(pkg.join("integrity/verifier.key"), &changed_key).unwrap();
    assert_eq!(
        findings_with_key(&pkg, &key),
        [
            "integrity/verifier.key: is not the key given to verify with",
            "integrity/verifier.key: SHA-256 does not match MANIFEST.json"
        ]
    );
    std::fs::write(pkg.join("integrity/verifier.key"), &key).unwrap();

    let entry = pkg.join("integrity/entries/entry-000002.bin");
    let mut bytes = std::fs::read(&entry).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&entry, &bytes).unwrap();
    assert_eq!(
        findings(&pkg),
        [
            "integrity/entries/entry-000002.bin: SHA-256 does not match MANIFEST.json".to_string(),
            format!(
                "{}: inclusion proof does not match the checkpoint root",
                proof(2)
            ),
        ]
    );
}

#[test]
fn changed_manifest_or_signature_is_named() {
    let (_f, pkg) = exported(42);
    let manifest = pkg.join("MANIFEST.json");
    let original = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        original.replacen("\"bytes\": ", "\"bytes\": 1", 1),
    )
    .unwrap();
    assert_eq!(
        findings(&pkg),
        ["MANIFEST.json.sig: signs another manifest (SHA-256 differs from MANIFEST.json)"]
    );
    std::fs::write(&manifest, &original).unwrap();

    let sig = pkg.join("MANIFEST.json.sig");
    let text = std::fs::read_to_string(&sig).unwrap();
    let (body, line) = text.rsplit_once("\n\n").unwrap();
    let mut raw = line.to_string().into_bytes();
    let n = raw.len() - 6;
    raw[n] = if raw[n] == b'A' { b'B' } else { b'A' };
    std::fs::write(
        &sig,
        format!("{body}\n\n{}", String::from_utf8(raw).unwrap()),
    )
    .unwrap();
    assert_eq!(
        findings(&pkg),
        ["MANIFEST.json.sig: signature by evidence.test/log does not verify"]
    );
}

#[test]
fn removed_or_added_files_are_named() {
    let (_f, pkg) = exported(42);
    std::fs::remove_file(pkg.join("reviews/reviews.csv")).unwrap();
    std::fs::write(pkg.join("notes.txt"), "added later").unwrap();
    assert_eq!(
        findings(&pkg),
        [
            "reviews/reviews.csv: missing (listed in MANIFEST.json)",
            "notes.txt: not listed in MANIFEST.json"
        ]
    );
}

#[test]
fn swapped_proofs_are_named() {
    let (_f, pkg) = exported(42);
    let (a, b) = (pkg.join(proof(2)), pkg.join(proof(3)));
    let (ta, tb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    std::fs::write(&a, &tb).unwrap();
    std::fs::write(&b, &ta).unwrap();
    assert_eq!(
        findings(&pkg),
        [
            format!("{}: SHA-256 does not match MANIFEST.json", proof(2)),
            format!("{}: SHA-256 does not match MANIFEST.json", proof(3)),
            format!("{}: proves entry 3, not 2", proof(2)),
            format!("{}: proves entry 2, not 3", proof(3)),
        ]
    );
}

#[test]
fn another_logs_checkpoint_or_key_is_named() {
    let (f, pkg) = exported(42);
    // A second log with the same origin but its own key.
    let other = Fixture::new();
    let other_pkg = other.dir.path().join("pkg");
    other.export(&other_pkg, 42, false);
    std::fs::copy(
        other_pkg.join("integrity/checkpoint-end.txt"),
        pkg.join("integrity/checkpoint-end.txt"),
    )
    .unwrap();
    let mut want = vec![
        "integrity/checkpoint-end.txt: SHA-256 does not match MANIFEST.json".to_string(),
        "integrity/checkpoint-end.txt: note is not signed by evidence.test/log".to_string(),
    ];
    want.extend(PROOFS.iter().map(|i| {
        format!(
            "{}: its checkpoint is not integrity/checkpoint-end.txt",
            proof(*i)
        )
    }));
    assert_eq!(findings(&pkg), want);

    // The untouched package checked with the other log's key: nothing verifies.
    let clean = f.dir.path().join("pkg2");
    f.export(&clean, 42, false);
    let key = std::fs::read_to_string(other_pkg.join("integrity/verifier.key")).unwrap();
    let r = verify_package(&clean, Some(&key)).unwrap();
    assert_eq!(r.key_source, KeySource::Given);
    let mut want = vec![
        "integrity/verifier.key: is not the key given to verify with".to_string(),
        "MANIFEST.json.sig: note is not signed by evidence.test/log".to_string(),
        "integrity/checkpoint-start.txt: note is not signed by evidence.test/log".to_string(),
        "integrity/checkpoint-end.txt: note is not signed by evidence.test/log".to_string(),
    ];
    want.extend(PROOFS.iter().map(|i| {
        format!(
            "{}: checkpoint: note is not signed by evidence.test/log",
            proof(*i)
        )
    }));
    assert_eq!(r.findings, want);
}

#[test]
fn same_seed_same_sample_other_seed_other_sample() {
    let f = Fixture::new();
    let (a, b, c) = (
        f.dir.path().join("a"),
        f.dir.path().join("b"),
        f.dir.path().join("c"),
    );
    let (sa, sb, sc) = (
        f.export(&a, 42, false),
        f.export(&b, 42, false),
        f.export(&c, 7, false),
    );
    assert_eq!(sa.sampled_cases, [2, 3, 6, 7, 8]);
    assert_eq!(sb.sampled_cases, sa.sampled_cases);
    assert_eq!(sc.sampled_cases, [3, 4, 5, 7, 8]);
    // Same data and seed: byte-identical packages, signature included.
    for p in [
        "alerts/sample.json",
        "MANIFEST.json",
        "MANIFEST.json.sig",
        "index.html",
    ] {
        assert_eq!(
            std::fs::read(a.join(p)).unwrap(),
            std::fs::read(b.join(p)).unwrap(),
            "{p}"
        );
    }
    assert_ne!(
        std::fs::read(a.join("alerts/sample.json")).unwrap(),
        std::fs::read(c.join("alerts/sample.json")).unwrap()
    );
}

#[test]
fn refuses_a_non_empty_output_directory() {
    let f = Fixture::new();
    let out = f.dir.path().join("busy");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("x"), "x").unwrap();
    let err = evident_evidence::export(
        &f.request(out.clone(), 1, false),
        &mut |_: &str, _: u64, _: u64| {},
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: exists and is not empty; choose a new directory",
            out.display()
        )
    );
}

/// Python with the `cryptography` package runs the package's own standalone checker.
fn python_with_cryptography() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("EVIDENT_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("skipped: python3 with cryptography not installed");
        }
        println!("skipped: python3 with cryptography not installed");
    }
    ok
}

#[test]
fn the_standalone_python_checker_agrees() {
    if !python_with_cryptography() {
        return;
    }
    let (_f, pkg) = exported(42);
    let run = || {
        let o = Command::new("python3")
            .arg(pkg.join("integrity/verify_package.py"))
            .arg(&pkg)
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8(o.stdout).unwrap())
    };
    assert_eq!(
        run(),
        (Some(0), "0 problem(s); 60 files checked\n".to_string())
    );
    let entry = pkg.join("integrity/entries/entry-000007.bin");
    let mut bytes = std::fs::read(&entry).unwrap();
    bytes[3] ^= 0x01;
    std::fs::write(&entry, &bytes).unwrap();
    let (a, b) = (pkg.join(proof(2)), pkg.join(proof(3)));
    let (ta, tb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    std::fs::write(&a, &tb).unwrap();
    std::fs::write(&b, &ta).unwrap();
    assert_eq!(
        run(),
        (
            Some(1),
            format!(
                "integrity/entries/entry-000007.bin: SHA-256 does not match MANIFEST.json\n\
{p2}: SHA-256 does not match MANIFEST.json\n{p3}: SHA-256 does not match MANIFEST.json\n\
{p2}: proves entry 3, not 2\n{p3}: proves entry 2, not 3\n\
{p7}: inclusion proof does not match the checkpoint root\n6 problem(s); 60 files checked\n",
                p2 = proof(2),
                p3 = proof(3),
                p7 = proof(7)
            )
        )
    );
}

/// Headless Chromium for the rendering check.
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        if std::env::var("EVIDENT_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("skipped: chromium not installed");
        }
        println!("skipped: chromium not installed");
    }
    found
}

#[test]
fn index_renders_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let (_f, pkg) = exported(42);
    let url = format!("file://{}", pkg.join("index.html").display());
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &url,
        ])
        .output()
        .unwrap();
    let dom = String::from_utf8(o.stdout).unwrap();
    assert!(
        dom.contains("<h1>SOC 2 evidence package: 2026-01-01 to 2026-01-14</h1>"),
        "{dom}"
    );
    assert_eq!(dom.matches("<svg ").count(), 3);
    assert_eq!(dom.matches("<h3 id=").count(), 5);
}

/// The server's whole-ledger verification runs in the period are listed, with who ran
/// them and what they found; runs outside the period are not.
#[test]
fn verification_runs_in_the_period_are_listed() {
    use common::{DAY_MS, JAN1_MS};
    let f = Fixture::new();
    let runs = [
        (JAN1_MS - DAY_MS, "scheduler", vec![]),
        (JAN1_MS + DAY_MS + 3_600_000, "scheduler", vec![]),
        (
            JAN1_MS + 8 * DAY_MS,
            "alice",
            vec!["record checksum mismatch at entry 7 in segments/0.seg offset 548: bad, really"],
        ),
        (JAN1_MS + 20 * DAY_MS, "scheduler", vec![]),
    ];
    for (at_ms, by, damage) in runs {
        let body = serde_json::json!({
            "type": "integrity.verify", "at_ms": at_ms, "by": by, "entries": 40,
            "bytes": 4000, "checkpoints": 27, "damage": damage, "millis": 1500,
        });
        f.db.record_audit(
            evident_store::INTEGRITY_AUDIT_KIND,
            0,
            &body.to_string(),
            f.ledger.size(),
        )
        .unwrap();
    }
    let out = f.dir.path().join("pkg");
    f.export(&out, 42, false);
    let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
    assert_eq!(
        read("integrity/verification-runs.csv"),
        "finished_utc,by,entries,checkpoints,seconds,result,problems,first_problem,ledger_index\n\
2026-01-02T01:00:00Z,scheduler,40,27,1.5,clean,0,,\n\
2026-01-09T00:00:00Z,alice,40,27,1.5,damage,1,\"record checksum mismatch at entry 7 in segments/0.seg offset 548: bad, really\",\n"
    );
    assert!(
        read("index.html")
            .contains("Evident re-verified the whole log 2 time(s) in the period (1 clean)")
    );
    assert_eq!(
        verify_package(&out, None).unwrap().findings,
        Vec::<String>::new()
    );
}
