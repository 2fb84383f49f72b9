//! Ledger API: reopen, group commit, proofs and tiles across tile boundaries, torn tails, rolling.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may panic

mod common;

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use common::*;
use evident_ledger::{
    AppendReceipt, DamageKind, Entry, EntryError, Hash, Ledger, LedgerError, LedgerOptions,
    MAX_ENTRY_BYTES, NoteSigner, ProofError, TileId, empty_root, leaf_hash, merkle_root, node_hash,
    verify_consistency, verify_inclusion,
};

#[test]
fn append_then_reopen_gives_the_same_size_root_entries_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/reopen");
    let (root, latest) = {
        let ledger = open(dir.path(), &key);
        assert_eq!((ledger.size(), ledger.root()), (0, empty_root()));
        append_range(&ledger, 0, 120, 40);
        ledger.checkpoint().unwrap();
        append_range(&ledger, 120, 300, 60);
        let cp = ledger.checkpoint().unwrap();
        append_range(&ledger, 300, 310, 5); // acknowledged, not yet checkpointed
        assert_eq!((cp.checkpoint.size, ledger.size()), (300, 310));
        (ledger.root(), cp)
    };
    let ledger = open(dir.path(), &key);
    assert_eq!(ledger.size(), 310);
    assert_eq!(ledger.root(), root);
    assert_eq!(ledger.latest_checkpoint(), Some(latest));
    let history: Vec<u64> = ledger
        .checkpoint_history()
        .unwrap()
        .into_iter()
        .map(|(size, _)| size)
        .collect();
    assert_eq!(history, [120, 300]);
    for i in 0..310 {
        assert_eq!(ledger.entry(i).unwrap(), entry(i), "entry {i}");
        assert_eq!(
            ledger.entry_bytes(i).unwrap(),
            entry(i).encode().unwrap(),
            "entry {i}"
        );
    }
    let leaves: Vec<Hash> = (0..310)
        .map(|i| leaf_hash(&entry(i).encode().unwrap()))
        .collect();
    assert_eq!(root, merkle_root(&leaves));
    // The reopened ledger keeps appending where it left off.
    let r = ledger.append(entries(310..311)).unwrap();
    assert_eq!((r.first_index, r.count, r.tree_size), (310, 1, 311));
    assert!(verify_dir(dir.path(), &key).is_clean());
}

#[test]
fn reopen_of_a_never_checkpointed_ledger_keeps_every_acknowledged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/nocp");
    drop({
        let ledger = open(dir.path(), &key);
        append_range(&ledger, 0, 70, 7);
        ledger
    });
    let ledger = open(dir.path(), &key);
    assert_eq!(ledger.size(), 70);
    assert_eq!(ledger.latest_checkpoint(), None);
    assert_eq!(ledger.entry(69).unwrap(), entry(69));
    let cp = ledger.checkpoint().unwrap();
    assert_eq!(cp.checkpoint.size, 70);
}

#[test]
fn entries_past_the_end_and_impossible_proofs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/errors");
    let ledger = open(dir.path(), &key);
    append_range(&ledger, 0, 10, 10);
    ledger.checkpoint().unwrap();
    assert!(matches!(
        ledger.entry_bytes(10),
        Err(LedgerError::NoSuchEntry {
            index: 10,
            size: 10
        })
    ));
    assert!(matches!(
        ledger.inclusion_proof(10, 10),
        Err(LedgerError::BadProofRequest(_))
    ));
    assert!(matches!(
        ledger.inclusion_proof(0, 11),
        Err(LedgerError::BadProofRequest(_))
    ));
    assert!(matches!(
        ledger.consistency_proof(5, 4),
        Err(LedgerError::BadProofRequest(_))
    ));
    match ledger.checkpoint_at(7) {
        Err(LedgerError::NoCheckpoint { size: 7, nearby }) => assert_eq!(nearby, "10"),
        other => panic!("expected NoCheckpoint, got {other:?}"),
    }
    // An empty append is a no-op that reports the current size.
    let r = ledger.append(Vec::new()).unwrap();
    assert_eq!((r.first_index, r.count, r.tree_size), (10, 0, 10));
}

#[test]
fn rejected_batches_name_their_error_are_all_or_nothing_and_leave_the_ledger_writable() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/reject");
    let ledger = open(dir.path(), &key);
    append_range(&ledger, 0, 3, 3);
    let mut long_key = entry(4);
    long_key.metadata.push(("k".repeat(256), "v".into()));
    let err = ledger.append(vec![entry(3), long_key]).unwrap_err();
    assert!(
        matches!(err, LedgerError::Entry(EntryError::TooLong("metadata key"))),
        "{err:?}"
    );
    let huge = Entry::log("big", 1, vec![b'x'; MAX_ENTRY_BYTES]);
    let huge_len = huge.encode().unwrap().len();
    let err = ledger.append(vec![entry(3), huge]).unwrap_err();
    assert!(
        matches!(err, LedgerError::EntryTooLarge(n) if n == huge_len),
        "{err:?}"
    );
    assert_eq!(ledger.size(), 3);
    let r = ledger.append(entries(3..5)).unwrap();
    assert_eq!((r.first_index, r.count, r.tree_size), (3, 2, 5));
    assert!(verify_dir(dir.path(), &key).is_clean());
}

#[test]
fn checkpoint_of_the_empty_tree_is_the_empty_root() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/empty");
    let ledger = open(dir.path(), &key);
    let cp = ledger.checkpoint().unwrap();
    assert_eq!((cp.checkpoint.size, cp.checkpoint.root), (0, empty_root()));
    drop(ledger);
    let ledger = open(dir.path(), &key);
    assert_eq!(ledger.latest_checkpoint(), Some(cp));
    assert!(verify_dir(dir.path(), &key).is_clean());
}

#[test]
fn a_ledger_grown_after_an_empty_checkpoint_verifies_clean() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/empty");
    let ledger = open(dir.path(), &key);
    ledger.checkpoint().unwrap();
    append_range(&ledger, 0, 5, 5);
    ledger.checkpoint().unwrap();
    let report = verify_dir(dir.path(), &key);
    assert_eq!(report.damage, []);
}

#[test]
fn group_commit_from_eight_threads_gives_consecutive_disjoint_ranges() {
    const THREADS: u64 = 8;
    const APPENDS: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/group");
    let ledger = open(dir.path(), &key);
    // Thread t's k-th append carries 1..=3 entries whose bodies name (t, k, j).
    let body = |t: u64, k: u64, j: u64| format!("t{t} k{k} j{j}").into_bytes();
    let receipts: Vec<(u64, u64, AppendReceipt)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let ledger = &ledger;
                s.spawn(move || {
                    (0..APPENDS)
                        .map(|k| {
                            let batch = (0..1 + k % 3)
                                .map(|j| Entry::log("group", t, body(t, k, j)))
                                .collect();
                            (t, k, ledger.append(batch).unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let total: u64 = (0..APPENDS).map(|k| 1 + k % 3).sum::<u64>() * THREADS;
    assert_eq!(ledger.size(), total);
    let mut sorted: Vec<_> = receipts.iter().map(|(_, _, r)| *r).collect();
    sorted.sort_by_key(|r| r.first_index);
    let mut next = 0;
    for r in &sorted {
        assert_eq!(
            r.first_index, next,
            "ranges must be consecutive and disjoint"
        );
        assert!(r.tree_size >= r.first_index + r.count && r.tree_size <= total);
        next += r.count;
    }
    assert_eq!(next, total);
    // Each thread's appends land in call order, and every entry is the one it sent.
    let mut seen = HashSet::new();
    for t in 0..THREADS {
        let mine: Vec<_> = receipts.iter().filter(|(rt, _, _)| *rt == t).collect();
        assert!(
            mine.windows(2)
                .all(|w| w[0].2.first_index < w[1].2.first_index)
        );
        for &&(_, k, r) in &mine {
            assert_eq!(r.count, 1 + k % 3);
            for j in 0..r.count {
                let e = ledger.entry(r.first_index + j).unwrap();
                assert_eq!((e.received_at_ns, e.body), (t, body(t, k, j)));
                assert!(seen.insert(r.first_index + j));
            }
        }
    }
    ledger.checkpoint().unwrap();
    assert!(verify_dir(dir.path(), &key).is_clean());
}

/// Subtree hashes of a list of leaves, computed independently of the ledger:
/// `levels[h][j]` is the hash of leaves `j·2^h .. (j+1)·2^h`.
struct Reference {
    levels: Vec<Vec<Hash>>,
}

impl Reference {
    fn new(leaves: Vec<Hash>) -> Reference {
        let mut levels = vec![leaves];
        while levels.last().unwrap().len() > 1 {
            let next = levels
                .last()
                .unwrap()
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        Reference { levels }
    }

    /// MTH(D[start..end]) per RFC 9162 §2.1.1.
    fn mth(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            return self.levels[n.trailing_zeros() as usize][(start / n) as usize];
        }
        let k = 1 << (63 - (n - 1).leading_zeros());
        node_hash(&self.mth(start, start + k), &self.mth(start + k, end))
    }

    /// PATH(m, D[start..end]) per RFC 9162 §2.1.3.1.
    fn path(&self, m: u64, start: u64, end: u64) -> Vec<Hash> {
        let n = end - start;
        if n == 1 {
            return Vec::new();
        }
        let k = 1 << (63 - (n - 1).leading_zeros());
        if m < k {
            let mut p = self.path(m, start, start + k);
            p.push(self.mth(start + k, end));
            p
        } else {
            let mut p = self.path(m - k, start + k, end);
            p.push(self.mth(start, start + k));
            p
        }
    }

    /// SUBPROOF(m, D[start..end], b) per RFC 9162 §2.1.4.1.
    fn subproof(&self, m: u64, start: u64, end: u64, b: bool) -> Vec<Hash> {
        let n = end - start;
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![self.mth(start, end)]
            };
        }
        let k = 1 << (63 - (n - 1).leading_zeros());
        if m <= k {
            let mut p = self.subproof(m, start, start + k, b);
            p.push(self.mth(start + k, end));
            p
        } else {
            let mut p = self.subproof(m - k, start + k, end, false);
            p.push(self.mth(start, start + k));
            p
        }
    }
}

/// Checkpoint sizes on both sides of level-0, level-1 and level-2 tile boundaries.
const CHECKPOINTS: [u64; 12] = [1, 2, 3, 255, 256, 257, 511, 512, 513, 65535, 65536, 65539];

/// A ledger of 65539 entries with a checkpoint at every size in [`CHECKPOINTS`], plus the
/// independent reference tree of its leaves.
fn big_ledger(dir: &Path, key: &str) -> (Ledger, Reference) {
    let ledger = open(dir, key);
    let mut leaves = Vec::new();
    for &target in &CHECKPOINTS {
        let from = ledger.size();
        let mut i = from;
        while i < target {
            let end = (i + 4096).min(target);
            let batch: Vec<Entry> = (i..end)
                .map(|n| Entry::log("tiles", n, n.to_string().into_bytes()))
                .collect();
            leaves.extend(batch.iter().map(|e| leaf_hash(&e.encode().unwrap())));
            ledger.append(batch).unwrap();
            i = end;
        }
        assert_eq!(ledger.checkpoint().unwrap().checkpoint.size, target);
    }
    (ledger, Reference::new(leaves))
}

#[test]
fn proofs_verify_across_tile_boundaries_against_every_older_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/proofs");
    let (ledger, reference) = big_ledger(dir.path(), &key);
    for &size in &CHECKPOINTS {
        let cp = ledger.checkpoint_at(size).unwrap();
        assert_eq!(cp.checkpoint.size, size);
        assert_eq!(cp.checkpoint.root, reference.mth(0, size), "root of {size}");
        let candidates = [
            0, 1, 2, 254, 255, 256, 257, 510, 511, 512, 65534, 65535, 65536,
        ];
        let indices = candidates
            .iter()
            .copied()
            .chain([size / 2, size - 1])
            .filter(|&i| i < size);
        for index in indices {
            let proof = ledger.inclusion_proof(index, size).unwrap();
            assert_eq!(
                proof,
                reference.path(index, 0, size),
                "inclusion proof {index} in {size}"
            );
            let leaf = leaf_hash(&ledger.entry_bytes(index).unwrap());
            assert_eq!(leaf, reference.levels[0][index as usize]);
            assert!(verify_inclusion(index, size, &leaf, &proof, &cp.checkpoint.root).is_ok());
            let wrong = reference.levels[0][(index as usize + 1) % 65539];
            assert_eq!(
                verify_inclusion(index, size, &wrong, &proof, &cp.checkpoint.root),
                Err(ProofError::RootMismatch)
            );
        }
    }
    for &from in &CHECKPOINTS {
        for &to in CHECKPOINTS.iter().filter(|&&to| to >= from) {
            let proof = ledger.consistency_proof(from, to).unwrap();
            let expect = if from == to {
                Vec::new()
            } else {
                reference.subproof(from, 0, to, true)
            };
            assert_eq!(proof, expect, "consistency {from} -> {to}");
            let (r1, r2) = (
                ledger.checkpoint_at(from).unwrap().checkpoint.root,
                ledger.checkpoint_at(to).unwrap().checkpoint.root,
            );
            assert!(verify_consistency(from, to, &proof, &r1, &r2).is_ok());
            if let Some(first) = proof.first() {
                let mut bad = proof.clone();
                bad[0] = node_hash(first, first);
                assert!(verify_consistency(from, to, &bad, &r1, &r2).is_err());
            }
        }
    }
}

#[test]
fn tiles_are_served_full_and_partial_as_tlog_tiles_defines() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/tiles");
    let (ledger, reference) = big_ledger(dir.path(), &key);
    // Hash j of a level-L tile row is the subtree of 256^L leaves at j.
    let row = |level: u8, from: u64, to: u64| -> Vec<u8> {
        tile_bytes(&reference.levels[8 * level as usize][from as usize..to as usize])
    };
    let tile = |level: u8, index: u64, width: Option<u64>| {
        ledger.tile(TileId { level, index }, width).unwrap()
    };
    // Size 65539: level 0 has 256 full tiles and a partial of width 3; level 1 has one full
    // tile and no partial (256 mod 256 = 0); level 2 has a partial of width 1.
    assert_eq!(tile(0, 0, None), Some(row(0, 0, 256)));
    assert_eq!(tile(0, 255, None), Some(row(0, 65280, 65536)));
    assert_eq!(tile(0, 256, Some(3)), Some(row(0, 65536, 65539)));
    assert_eq!(tile(0, 256, Some(2)), Some(row(0, 65536, 65538)));
    assert_eq!(tile(0, 256, None), None);
    assert_eq!(tile(0, 256, Some(4)), None);
    assert_eq!(tile(0, 257, Some(1)), None);
    assert_eq!(tile(1, 0, None), Some(row(1, 0, 256)));
    assert_eq!(tile(1, 1, Some(1)), None);
    assert_eq!(tile(2, 0, Some(1)), Some(row(2, 0, 1)));
    assert_eq!(tile(2, 0, None), None);
    assert_eq!(tile(3, 0, Some(1)), None);
    // Full tiles on disk are exactly the served bytes, at the spec's paths.
    for (level, index) in [(0u8, 0u64), (0, 1), (0, 255), (1, 0)] {
        let id = TileId { level, index };
        let on_disk = fs::read(dir.path().join(id.path(None))).unwrap();
        assert_eq!(Some(on_disk), tile(level, index, None), "{}", id.path(None));
    }
    assert_eq!(
        TileId {
            level: 0,
            index: 255
        }
        .path(None),
        "tile/0/255"
    );
    // Every checkpointed size can still fetch its partial tiles, now cut from full tiles.
    for &size in &CHECKPOINTS {
        for level in 0..3u8 {
            let count = size >> (8 * level);
            let (index, width) = (count / 256, count % 256);
            if width > 0 {
                assert_eq!(
                    tile(level, index, Some(width)),
                    Some(row(level, index * 256, count)),
                    "partial tile {} of size {size}",
                    TileId { level, index }.path(Some(width))
                );
            }
        }
    }
}

/// Torn-tail fixture: 100 checkpointed entries, 50 more acknowledged after the checkpoint.
struct Torn {
    dir: tempfile::TempDir,
    key: String,
    root: Hash,
}

const TORN_SIZE: u64 = 150;

fn torn_fixture() -> Torn {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/torn");
    let ledger = open(dir.path(), &key);
    append_range(&ledger, 0, 100, 10);
    ledger.checkpoint().unwrap();
    append_range(&ledger, 100, TORN_SIZE, 10);
    let root = ledger.root();
    Torn { dir, key, root }
}

impl Torn {
    fn append_to(&self, path: &Path, bytes: &[u8]) {
        let mut f = OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(bytes).unwrap();
    }

    fn set_len(&self, path: &Path, len: u64) {
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len)
            .unwrap();
    }

    /// Reopens: every acknowledged entry is back, nothing else; the files are repaired so
    /// verify is clean and appends continue.
    fn assert_recovers(&self) {
        let ledger = open(self.dir.path(), &self.key);
        assert_eq!(ledger.size(), TORN_SIZE);
        assert_eq!(ledger.root(), self.root);
        for i in 0..TORN_SIZE {
            assert_eq!(ledger.entry(i).unwrap(), entry(i), "entry {i}");
        }
        let seg = fs::metadata(segment_path(self.dir.path(), 0))
            .unwrap()
            .len();
        assert_eq!(seg, record_span(self.dir.path(), TORN_SIZE as usize - 1).1);
        assert_eq!(
            fs::metadata(index_path(self.dir.path(), 0)).unwrap().len(),
            HEADER_LEN + 8 * TORN_SIZE
        );
        let report = verify_dir(self.dir.path(), &self.key);
        assert_eq!(report.damage, []);
        assert_eq!(report.entries, TORN_SIZE);
        let r = ledger.append(entries(TORN_SIZE..TORN_SIZE + 5)).unwrap();
        assert_eq!(r.first_index, TORN_SIZE);
        assert_eq!(ledger.checkpoint().unwrap().checkpoint.size, TORN_SIZE + 5);
        drop(ledger);
        assert!(verify_dir(self.dir.path(), &self.key).is_clean());
        assert_eq!(open(self.dir.path(), &self.key).size(), TORN_SIZE + 5);
    }
}

#[test]
fn garbage_after_the_last_record_is_cut_on_reopen() {
    let t = torn_fixture();
    t.append_to(
        &segment_path(t.dir.path(), 0),
        b"\x13\x00\x00\x00garbage, no valid crc",
    );
    t.assert_recovers();
}

#[test]
fn half_a_record_at_the_tail_is_cut_on_reopen() {
    let t = torn_fixture();
    let whole = entry(TORN_SIZE).encode().unwrap();
    let mut rec = (whole.len() as u32).to_le_bytes().to_vec();
    rec.extend_from_slice(&crc32fast::hash(&whole).to_le_bytes());
    rec.extend_from_slice(&whole[..whole.len() / 2]);
    t.append_to(&segment_path(t.dir.path(), 0), &rec);
    // The index entry may have reached disk before the record's bytes.
    let seg_len = fs::metadata(segment_path(t.dir.path(), 0)).unwrap().len();
    let torn_at = seg_len - rec.len() as u64;
    t.append_to(&index_path(t.dir.path(), 0), &torn_at.to_le_bytes());
    t.assert_recovers();
}

#[test]
fn index_cut_mid_entry_is_rebuilt_on_reopen() {
    let t = torn_fixture();
    let idx = index_path(t.dir.path(), 0);
    t.set_len(&idx, HEADER_LEN + 8 * (TORN_SIZE - 1) + 3);
    t.assert_recovers();
}

#[test]
fn lost_index_entries_are_rebuilt_on_reopen() {
    let t = torn_fixture();
    let idx = index_path(t.dir.path(), 0);
    t.set_len(&idx, HEADER_LEN + 8 * (TORN_SIZE - 30));
    t.assert_recovers();
}

/// Overwrites one byte of entry `i`'s body in the first segment, optionally fixing the
/// record's CRC so the damage is not visible as a torn record.
fn alter_entry(dir: &Path, i: usize, fix_crc: bool) {
    let (start, end) = record_span(dir, i);
    let path = segment_path(dir, 0);
    let mut seg = fs::read(&path).unwrap();
    seg[end as usize - 1] ^= 0x20;
    if fix_crc {
        let crc = crc32fast::hash(&seg[(start + FRAME_LEN) as usize..end as usize]);
        seg[start as usize + 4..start as usize + 8].copy_from_slice(&crc.to_le_bytes());
    }
    fs::write(&path, seg).unwrap();
}

#[test]
fn reopen_refuses_a_tampered_entry_under_the_latest_checkpoint() {
    let (dir, key) = checkpointed_300();
    // Entry 290 is in the partial tile the root is rebuilt from.
    alter_entry(dir.path(), 290, true);
    let before = fs::read(segment_path(dir.path(), 0)).unwrap();
    let err = open_err(dir.path(), &key);
    match err {
        LedgerError::Corrupted { path, .. } => {
            assert_eq!(path, dir.path().join("checkpoints.log"));
        }
        other => panic!("expected Corrupted, got {other:?}"),
    }
    assert_segment_unchanged(dir.path(), &before);
}

#[test]
fn reopen_refuses_a_damaged_checkpointed_record_without_truncating_it() {
    let (dir, key) = checkpointed_300();
    // The last checkpointed record no longer matches its CRC: it looks torn, but it was
    // acknowledged and signed, so it is damage to report, not a tail to cut.
    alter_entry(dir.path(), 299, false);
    let before = fs::read(segment_path(dir.path(), 0)).unwrap();
    let err = open_err(dir.path(), &key);
    assert!(matches!(err, LedgerError::Corrupted { .. }), "{err:?}");
    assert_segment_unchanged(dir.path(), &before);
    let report = verify_dir(dir.path(), &key);
    assert_eq!(report.damage[0].kind, DamageKind::Changed);
    assert_eq!(report.damage[0].index, Some(299));
}

/// A closed ledger of 300 entries with a checkpoint of size 300.
fn checkpointed_300() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/tamper-open");
    let ledger = open(dir.path(), &key);
    append_range(&ledger, 0, 300, 50);
    ledger.checkpoint().unwrap();
    drop(ledger);
    (dir, key)
}

/// A refused open must leave the evidence exactly as it found it.
fn assert_segment_unchanged(dir: &Path, before: &[u8]) {
    let after = fs::read(segment_path(dir, 0)).unwrap();
    assert!(
        after == before,
        "open changed the segment: {} bytes before, {} after",
        before.len(),
        after.len()
    );
}

fn open_err(dir: &Path, key: &str) -> LedgerError {
    Ledger::open(
        dir,
        NoteSigner::parse(key).unwrap(),
        LedgerOptions::default(),
    )
    .err()
    .expect("open must fail")
}

#[test]
fn small_segments_roll_and_every_entry_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key("evident.test/roll");
    let options = LedgerOptions {
        segment_max_bytes: 4096,
    };
    {
        let ledger = open_with(dir.path(), &key, options.clone());
        append_range(&ledger, 0, 400, 10);
        ledger.checkpoint().unwrap();
        append_range(&ledger, 400, 450, 10);
    }
    let mut firsts: Vec<u64> = fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".seg").map(|n| n.parse().unwrap())
        })
        .collect();
    firsts.sort_unstable();
    assert!(firsts.len() > 5, "segments: {firsts:?}");
    assert_eq!(firsts[0], 0);
    // Each segment starts where the previous one's records end, and its index matches.
    for w in firsts.windows(2) {
        assert_eq!(offsets(dir.path(), w[0]).len() as u64, w[1] - w[0]);
    }
    let ledger = open_with(dir.path(), &key, options);
    assert_eq!(ledger.size(), 450);
    for i in 0..450 {
        assert_eq!(ledger.entry(i).unwrap(), entry(i), "entry {i}");
    }
    let cp = ledger.checkpoint().unwrap();
    for i in [0, 9, 10, 11, 199, 449] {
        let proof = ledger.inclusion_proof(i, 450).unwrap();
        let leaf = leaf_hash(&ledger.entry_bytes(i).unwrap());
        assert!(verify_inclusion(i, 450, &leaf, &proof, &cp.checkpoint.root).is_ok());
    }
    append_range(&ledger, 450, 460, 10);
    let report = verify_dir(dir.path(), &key);
    assert_eq!(report.damage, []);
    assert_eq!(report.entries, 460);
}
