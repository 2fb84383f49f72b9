//! Tamper detection: `verify` names each damage first, with its exact index, file and offset.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may panic

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use evident_ledger::{Checkpoint, DamageKind, Hash, NoteSigner, TileId, VerifyReport};

const ORIGIN: &str = "evident.test/tamper";
const SIZE: u64 = 1000;
/// No checkpoint between entry 300 and the end of its level-0 tile (512): see
/// `checkpoint_inside_the_damaged_tile_still_names_the_missing_entry`.
const CHECKPOINTS: [u64; 5] = [100, 300, 512, 777, 1000];

/// A sealed ledger of `size` entries with a checkpoint at each of `checkpoints`.
fn sealed(size: u64, checkpoints: &[u64]) -> (tempfile::TempDir, String, Hash) {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(ORIGIN);
    let ledger = open(dir.path(), &key);
    let mut from = 0;
    for &cp in checkpoints {
        append_range(&ledger, from, cp, 1000);
        assert_eq!(ledger.checkpoint().unwrap().checkpoint.size, cp);
        from = cp;
    }
    append_range(&ledger, from, size, 1000);
    assert_eq!(ledger.size(), size);
    (dir, key, ledger.root())
}

fn ledger_1000() -> (tempfile::TempDir, String) {
    let (dir, key, _) = sealed(SIZE, &CHECKPOINTS);
    (dir, key)
}

/// Kind, entry index, file and offset of every damage, in report order.
fn summary(report: &VerifyReport) -> Vec<(DamageKind, Option<u64>, PathBuf, Option<u64>)> {
    report
        .damage
        .iter()
        .map(|d| (d.kind, d.index, d.file.clone(), d.offset))
        .collect()
}

fn seg(dir: &Path) -> PathBuf {
    segment_path(dir, 0)
}

fn idx(dir: &Path) -> PathBuf {
    index_path(dir, 0)
}

fn idx_slot(i: u64) -> Option<u64> {
    Some(HEADER_LEN + 8 * i)
}

fn offset_of(dir: &Path, i: usize) -> Option<u64> {
    Some(record_span(dir, i).0)
}

/// Replaces the segment's bytes `start..end` with `with`.
fn splice_segment(dir: &Path, start: u64, end: u64, with: &[u8]) {
    let mut bytes = fs::read(seg(dir)).unwrap();
    bytes.splice(start as usize..end as usize, with.iter().copied());
    fs::write(seg(dir), bytes).unwrap();
}

fn flip_last_body_byte(dir: &Path, i: usize, fix_crc: bool) {
    let (start, end) = record_span(dir, i);
    let mut bytes = fs::read(seg(dir)).unwrap();
    bytes[end as usize - 1] ^= 0x01;
    if fix_crc {
        let crc = crc32fast::hash(&bytes[(start + FRAME_LEN) as usize..end as usize]);
        bytes[start as usize + 4..start as usize + 8].copy_from_slice(&crc.to_le_bytes());
    }
    fs::write(seg(dir), bytes).unwrap();
}

fn set_segment_len(dir: &Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(seg(dir))
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn untouched_copy_verifies_clean() {
    let (dir, key, root) = sealed(SIZE, &CHECKPOINTS);
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let report = verify_dir(copy.path(), &key);
    assert_eq!(summary(&report), []);
    assert!(report.is_clean());
    assert_eq!(report.entries, SIZE);
    assert_eq!(report.checkpoints, CHECKPOINTS.len() as u64);
    assert_eq!(
        report.tiles, 3,
        "level-0 tiles 0..=2; no full level-1 tile yet"
    );
    assert_eq!(report.root, root);
    let seg_len = fs::metadata(seg(copy.path())).unwrap().len();
    assert_eq!(report.bytes, seg_len - HEADER_LEN);
}

#[test]
fn one_flipped_byte_in_an_entry_body_is_changed_at_that_record() {
    let (dir, key) = ledger_1000();
    let at = offset_of(dir.path(), 300);
    flip_last_body_byte(dir.path(), 300, false);
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [(DamageKind::Changed, Some(300), seg(dir.path()), at)]
    );
}

#[test]
fn a_changed_entry_with_a_recomputed_checksum_is_caught_by_its_tile() {
    let (dir, key) = ledger_1000();
    let at = offset_of(dir.path(), 300);
    flip_last_body_byte(dir.path(), 300, true);
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [(DamageKind::Changed, Some(300), seg(dir.path()), at)]
    );
}

#[test]
fn a_deleted_record_is_missing_at_its_index() {
    let (dir, key) = ledger_1000();
    let (start, end) = record_span(dir.path(), 300);
    splice_segment(dir.path(), start, end, &[]);
    // The stale offset index is reported too, but after the entry damage.
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [
            (DamageKind::Missing, Some(300), seg(dir.path()), Some(start)),
            (
                DamageKind::Structure,
                Some(301),
                idx(dir.path()),
                idx_slot(301)
            ),
        ]
    );
}

#[test]
fn two_swapped_records_are_reordered_at_the_first() {
    let (dir, key) = ledger_1000();
    let (s300, e300) = record_span(dir.path(), 300);
    let (s301, e301) = record_span(dir.path(), 301);
    assert_eq!(e300, s301);
    let bytes = fs::read(seg(dir.path())).unwrap();
    let swapped = [
        &bytes[s301 as usize..e301 as usize],
        &bytes[s300 as usize..e300 as usize],
    ]
    .concat();
    splice_segment(dir.path(), s300, e301, &swapped);
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [
            (
                DamageKind::Reordered,
                Some(300),
                seg(dir.path()),
                Some(s300)
            ),
            (
                DamageKind::Structure,
                Some(301),
                idx(dir.path()),
                idx_slot(301)
            ),
        ]
    );
}

#[test]
fn a_segment_cut_inside_a_record_is_truncated_at_that_record() {
    let (dir, key) = ledger_1000();
    let (start, end) = record_span(dir.path(), 900);
    set_segment_len(dir.path(), (start + end) / 2);
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [(
            DamageKind::Truncated,
            Some(900),
            seg(dir.path()),
            Some(start)
        )]
    );
}

#[test]
fn a_segment_cut_at_a_record_boundary_is_truncated_after_the_last_whole_entry() {
    let (dir, key) = ledger_1000();
    let (start, _) = record_span(dir.path(), 700);
    set_segment_len(dir.path(), start);
    // Nothing in the segment is broken: the signed checkpoint of size 1000 (and tile 0/002)
    // show entries 700.. are gone, so the finding names the segment directory.
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [(
            DamageKind::Truncated,
            Some(700),
            dir.path().join("segments"),
            None
        )]
    );
}

#[test]
fn an_altered_level_0_tile_hash_under_a_matching_checkpoint_is_a_tile_mismatch() {
    let (dir, key) = ledger_1000();
    let tile = dir.path().join(TileId { level: 0, index: 1 }.path(None));
    let mut bytes = fs::read(&tile).unwrap();
    bytes[32 * 10] ^= 0x80; // hash of entry 256 + 10
    fs::write(&tile, bytes).unwrap();
    // Checkpoint 300 already matched the root the entries give, so entry 266 is intact and
    // the stored tile is what changed.
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [(DamageKind::TileMismatch, None, tile, Some(320))]
    );
}

#[test]
fn a_deleted_tile_is_a_tile_mismatch() {
    let (dir, key) = ledger_1000();
    let tile = dir.path().join(TileId { level: 0, index: 1 }.path(None));
    fs::remove_file(&tile).unwrap();
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [(DamageKind::TileMismatch, None, tile, None)]
    );
}

#[test]
fn an_altered_level_1_tile_hash_is_a_tile_mismatch() {
    let (dir, key, _) = sealed(65536 + 10, &[65536]);
    let tile = dir.path().join(TileId { level: 1, index: 0 }.path(None));
    assert_eq!(tile, dir.path().join("tile/1/000"));
    let mut bytes = fs::read(&tile).unwrap();
    bytes[32 * 5 + 3] ^= 0x04;
    fs::write(&tile, bytes).unwrap();
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [(DamageKind::TileMismatch, None, tile, Some(32 * 5))]
    );
}

/// Rewrites checkpoint record `i` in `checkpoints.log` with `edit`, then fixes its CRC so
/// only the signature can tell.
fn forge_history(dir: &Path, i: usize, edit: impl FnOnce(&mut [u8])) {
    let path = dir.join("checkpoints.log");
    let mut log = fs::read(&path).unwrap();
    assert_eq!(log.len(), HISTORY_RECORD_LEN * CHECKPOINTS.len());
    let rec = &mut log[i * HISTORY_RECORD_LEN..(i + 1) * HISTORY_RECORD_LEN];
    edit(rec);
    let crc = crc32fast::hash(&rec[..116]);
    rec[116..].copy_from_slice(&crc.to_le_bytes());
    fs::write(&path, log).unwrap();
}

fn bad_signature_at(dir: &Path, record: u64) -> (DamageKind, Option<u64>, PathBuf, Option<u64>) {
    (
        DamageKind::BadSignature,
        None,
        dir.join("checkpoints.log"),
        Some(record * HISTORY_RECORD_LEN as u64),
    )
}

#[test]
fn a_checkpoint_with_a_changed_root_has_a_bad_signature() {
    let (dir, key) = ledger_1000();
    forge_history(dir.path(), 1, |rec| rec[16] ^= 0xff); // root of checkpoint 300
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [bad_signature_at(dir.path(), 1)]
    );
}

#[test]
fn a_checkpoint_with_a_changed_size_has_a_bad_signature() {
    let (dir, key) = ledger_1000();
    forge_history(dir.path(), 1, |rec| {
        assert_eq!(rec[8..16], 300u64.to_le_bytes());
        rec[8..16].copy_from_slice(&301u64.to_le_bytes());
    });
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [bad_signature_at(dir.path(), 1)]
    );
}

#[test]
fn a_checkpoint_signed_by_another_key_with_the_same_origin_has_a_bad_signature() {
    let (dir, key) = ledger_1000();
    let forger = NoteSigner::generate(ORIGIN).unwrap();
    forge_history(dir.path(), 2, |rec| {
        let size = u64::from_le_bytes(rec[8..16].try_into().unwrap());
        let root = Hash(rec[16..48].try_into().unwrap());
        assert_eq!(size, 512);
        let body = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root,
        }
        .body();
        let note = forger.sign(&body).unwrap();
        let sig = note.lines().last().unwrap().rsplit(' ').next().unwrap();
        let blob = STANDARD.decode(sig).unwrap();
        rec[48..116].copy_from_slice(&blob); // key id + signature
    });
    assert_eq!(
        summary(&verify_dir(dir.path(), &key)),
        [bad_signature_at(dir.path(), 2)]
    );
}

#[test]

fn checkpoint_inside_the_damaged_tile_still_names_the_missing_entry() {
    // Checkpoints land wherever the tree happens to be each second; one at 400 sits between
    // the deleted entry 300 and the end of its tile (512).
    let (dir, key, _) = sealed(SIZE, &[100, 400, 1000]);
    let (start, end) = record_span(dir.path(), 300);
    splice_segment(dir.path(), start, end, &[]);
    let report = verify_dir(dir.path(), &key);
    assert_eq!(
        summary(&report)[0],
        (DamageKind::Missing, Some(300), seg(dir.path()), Some(start)),
        "{:#?}",
        report.damage
    );
}

/// Readers that must not stall (the pipeline, reindex) step over a damaged record — a
/// changed body, an impossible length — and hear about it; the strict reader stops there.
#[test]
fn readable_entries_step_over_damaged_records() {
    let (dir, key) = ledger_1000();
    flip_last_body_byte(dir.path(), 7, false);
    let (start, _) = record_span(dir.path(), 20);
    let mut bytes = fs::read(seg(dir.path())).unwrap();
    bytes[start as usize..start as usize + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(seg(dir.path()), bytes).unwrap();

    let ledger = open(dir.path(), &key);
    let mut seen = Vec::new();
    let mut damaged = Vec::new();
    ledger
        .for_each_readable_entry(
            0,
            SIZE,
            |i, _| seen.push(i),
            |i, e| damaged.push((i, e.to_string())),
        )
        .unwrap();
    let want: Vec<u64> = (0..SIZE).filter(|i| ![7, 20].contains(i)).collect();
    assert_eq!(seen, want);
    let seg_path = seg(dir.path()).display().to_string();
    assert_eq!(
        damaged,
        vec![
            (
                7,
                format!(
                    "ledger data corrupted in {seg_path} at offset {}: entry 7: record checksum mismatch",
                    offset_of(dir.path(), 7).unwrap()
                )
            ),
            (
                20,
                format!(
                    "ledger data corrupted in {seg_path} at offset {start}: entry 20: record length 4294967295 exceeds the limit"
                )
            ),
        ]
    );
    let strict = ledger.for_each_entry(0, SIZE, |_, _| {}).unwrap_err();
    assert!(
        strict
            .to_string()
            .ends_with("entry 7: record checksum mismatch"),
        "{strict}"
    );
}
