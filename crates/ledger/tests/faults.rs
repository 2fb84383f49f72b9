//! Disk full during appends (issue 11): the ledger lives on a small tmpfs; appends run until
//! the disk is full. Each failed append must return a clear error and acknowledge nothing;
//! once space returns (the tmpfs is grown) appends and checkpoints resume, and after a reopen
//! every acknowledged entry is there, exactly once, and `verify` is clean.
//!
//! Mounting needs root (CI runs as root); elsewhere the test skips, unless
//! `EVIDENT_REQUIRE_TOOLS=1` makes a missing capability a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may panic

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use evident_ledger::Entry;

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs {
            path: path.to_owned(),
        })
    }

    fn grow(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.path)
            .status()
            .unwrap();
        assert!(status.success(), "remount failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// A 2 KiB entry `i` (so the small disk fills after a few thousand).
fn big_entry(i: u64) -> Entry {
    let mut e = entry(i);
    e.body = format!("{{\"seq\":{i},\"pad\":\"{}\"}}", "x".repeat(2000)).into_bytes();
    e
}

#[test]
fn a_full_disk_refuses_appends_cleanly_and_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&tmp.path().join("disk"), "4m") else {
        assert!(
            std::env::var("EVIDENT_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "cannot mount a tmpfs (needs root)"
        );
        eprintln!("skipped: cannot mount a tmpfs (needs root)");
        return;
    };
    let dir = disk.path.join("ledger");
    let key = new_key("evident.test/disk-full");
    let ledger = open(&dir, &key);
    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    let mut failures = Vec::new();
    // Fill the disk: batches of 50 entries until three appends in a row fail.
    while failures.len() < 3 {
        let batch: Vec<Entry> = (next..next + 50).map(big_entry).collect();
        match ledger.append(batch) {
            Ok(r) => {
                assert!(failures.is_empty(), "an append succeeded between failures");
                assert_eq!(r.first_index, acked.len() as u64);
                acked.extend(next..next + 50);
            }
            Err(e) => failures.push(e.to_string()),
        }
        next += 50;
        assert!(next < 10_000, "the 4 MiB disk never filled");
    }
    assert!(acked.len() > 500, "only {} entries fit", acked.len());
    for f in &failures {
        assert!(
            f.contains("No space left on device") && f.contains("segments"),
            "unclear error: {f}"
        );
    }
    assert_eq!(
        ledger.size(),
        acked.len() as u64,
        "a failed append changed the size"
    );

    // Space returns: appends and checkpoints work again, in the same ledger object.
    disk.grow("64m");
    let resumed: Vec<u64> = (next..next + 200).collect();
    let r = ledger
        .append(resumed.iter().map(|i| big_entry(*i)).collect())
        .unwrap();
    assert_eq!(r.first_index, acked.len() as u64);
    acked.extend(&resumed);
    let cp = ledger.checkpoint().unwrap();
    assert_eq!(cp.checkpoint.size, acked.len() as u64);
    drop(ledger);

    let ledger = open(&dir, &key);
    assert_eq!(ledger.size(), acked.len() as u64);
    for (index, seq) in acked.iter().enumerate() {
        assert_eq!(
            ledger.entry(index as u64).unwrap(),
            big_entry(*seq),
            "entry {index}"
        );
    }
    drop(ledger);
    assert!(verify_dir(&dir, &key).is_clean());
}

/// Cutting the last records from the checkpoint history leaves the latest checkpoint outside
/// it: damage, named.
#[test]
fn a_latest_checkpoint_missing_from_the_history_is_a_checkpoint_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/cut-history");
    let ledger = open(tmp.path(), &key);
    ledger.append(entries(0..10)).unwrap();
    ledger.checkpoint().unwrap();
    ledger.append(entries(10..20)).unwrap();
    ledger.checkpoint().unwrap();
    drop(ledger);
    let history = tmp.path().join("checkpoints.log");
    let len = std::fs::metadata(&history).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&history)
        .unwrap();
    file.set_len(len - HISTORY_RECORD_LEN as u64).unwrap();
    let report = verify_dir(tmp.path(), &key);
    let found: Vec<(evident_ledger::DamageKind, String)> = report
        .damage
        .iter()
        .map(|d| (d.kind, d.detail.clone()))
        .collect();
    assert!(
        found.contains(&(
            evident_ledger::DamageKind::CheckpointMismatch,
            "latest checkpoint (size 20) is not in the checkpoint history".to_owned()
        )),
        "{found:?}"
    );
}
