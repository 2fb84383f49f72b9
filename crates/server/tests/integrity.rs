//! The server watching its own ledger: a verification run is recorded and sealed; a run
//! that finds a changed entry names it, raises one `integrity.failure` system event (not
//! one per run), and the pack's rule turns it into a critical alert with a case.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::path::{Path, PathBuf};

use evident_ledger::{Entry, EntryKind};
use evident_server::integrity::{INTEGRITY_AUDIT_KIND, INTEGRITY_FAILURE, runs, verify_now};
use evident_server::{DataDir, Evident, Pipeline};

fn node() -> (tempfile::TempDir, Evident) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/integrity").unwrap();
    let node = Evident::open(&data).unwrap();
    (dir, node)
}

fn log(n: u64) -> Entry {
    Entry {
        kind: EntryKind::Log,
        received_at_ns: 1_763_596_800_000_000_000 + n * 1_000_000_000,
        source: "app".into(),
        metadata: vec![],
        body: format!(r#"{{"ts":"2025-11-20T00:00:{n:02}Z","msg":"record-{n:02}"}}"#).into_bytes(),
    }
}

/// The ledger's segment files.
fn segments(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(data.join("ledger").join("segments")).unwrap() {
        let p = e.unwrap().path();
        if std::fs::read(&p).unwrap().len() > 64 {
            out.push(p);
        }
    }
    out
}

/// Changes one byte of the stored body `needle` in whichever segment holds it.
fn tamper(data: &Path, needle: &[u8], with: &[u8]) {
    for p in segments(data) {
        let mut bytes = std::fs::read(&p).unwrap();
        if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
            bytes[at..at + with.len()].copy_from_slice(with);
            std::fs::write(&p, bytes).unwrap();
            return;
        }
    }
    panic!(
        "{} not found in any segment",
        String::from_utf8_lossy(needle)
    );
}

fn failure_events(node: &Evident) -> Vec<serde_json::Value> {
    (0..node.ledger.size())
        .filter_map(|i| {
            // The damaged entry itself no longer reads.
            let e = node.ledger.entry(i).ok()?;
            let is_failure = e
                .metadata
                .iter()
                .any(|(k, v)| k == "system_event" && v == INTEGRITY_FAILURE);
            is_failure.then(|| serde_json::from_slice(&e.body).unwrap())
        })
        .collect()
}

#[test]
fn a_clean_run_is_recorded_and_sealed() {
    let (_dir, node) = node();
    node.ledger.append((0..10).map(log).collect()).unwrap();
    node.ledger.checkpoint().unwrap();

    let run = verify_now(&node, "alice").unwrap();
    assert!(run.is_clean(), "{:?}", run.damage);
    assert_eq!(run.entries, 10);
    assert_eq!(run.by, "alice");
    assert_eq!(runs(&node).unwrap(), vec![run.clone()]);
    assert!(failure_events(&node).is_empty());

    // The run is an audit row, sealed like every action on Evident.
    let sealed = evident_server::audit::seal_audit_trail(&node.ledger, &node.db).unwrap();
    assert_eq!(sealed, 1);
    let entry = node.ledger.entry(10).unwrap();
    assert_eq!(entry.kind, EntryKind::Audit);
    assert!(
        entry
            .metadata
            .contains(&("audit".to_owned(), INTEGRITY_AUDIT_KIND.to_owned()))
    );
    let body: serde_json::Value = serde_json::from_slice(&entry.body).unwrap();
    assert_eq!(body["type"], "integrity.verify");
    assert_eq!(body["by"], "alice");
    assert_eq!(body["entries"], 10);
    assert_eq!(body["damage"], serde_json::json!([]));
}

#[test]
fn damage_is_named_raised_once_and_alerted() {
    let (dir, node) = node();
    node.ledger.append((0..10).map(log).collect()).unwrap();
    node.ledger.checkpoint().unwrap();
    tamper(&dir.path().join("data"), b"record-07", b"RECORD-07");

    let run = verify_now(&node, "scheduler").unwrap();
    assert!(!run.is_clean());
    assert!(
        run.damage[0].contains("at entry 7"),
        "the first damage names the changed entry: {:?}",
        run.damage
    );
    let events = failure_events(&node);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], INTEGRITY_FAILURE);
    assert_eq!(events[0]["severity"], "Critical");
    assert_eq!(events[0]["count"], run.damage.len() as u64);
    assert!(
        events[0]["message"].as_str().unwrap().starts_with(&format!(
            "ledger verification by scheduler found {} problem(s): {}",
            run.damage.len(),
            run.damage[0]
        )),
        "{}",
        events[0]["message"]
    );

    // Found again by the next run: recorded, not raised again.
    let again = verify_now(&node, "bob").unwrap();
    assert_eq!(again.damage[0], run.damage[0]);
    assert_eq!(failure_events(&node).len(), 1);
    assert_eq!(runs(&node).unwrap().len(), 2);

    // Detection turns the event into the pack's critical alert.
    let detector = evident_server::detector_for(&node.config, &node.db).unwrap();
    let mut pipeline = Pipeline::new(Default::default()).with_detector(detector);
    pipeline.catch_up(&node.ledger, &node.db).unwrap();
    let rule_text = std::fs::read_to_string(format!(
        "{}/../../rules/evident/evident_ledger_integrity_failure.yml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let rule_id = rule_text
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap();
    let alerts: Vec<(String, String)> = node
        .db
        .alerts(100, None)
        .unwrap()
        .into_iter()
        .map(|a| {
            (
                a.rule_id,
                a.alert["severity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(alerts, vec![(rule_id.to_owned(), "Critical".to_owned())]);
}
