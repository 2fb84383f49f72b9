//! Helpers shared by the ledger's API tests: sample entries, the on-disk record layout
//! (read from the files the way an attacker or a crash would see them), directory copies.
#![allow(dead_code)] // each test binary uses a subset
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may panic

use std::fs;
use std::path::{Path, PathBuf};

use evident_ledger::{
    Entry, EntryKind, Hash, Ledger, LedgerOptions, NoteSigner, VerifyReport, verify,
};

/// Segment and index header length (magic + first index).
pub const HEADER_LEN: u64 = 16;
/// Per-record frame: u32 LE length + u32 LE CRC-32.
pub const FRAME_LEN: u64 = 8;
/// Bytes per `checkpoints.log` record.
pub const HISTORY_RECORD_LEN: usize = 120;

/// Entry `i`: deterministic, with a body length that varies with `i` (so neighbouring
/// records differ in size) and some metadata.
pub fn entry(i: u64) -> Entry {
    Entry {
        kind: if i.is_multiple_of(7) {
            EntryKind::Audit
        } else {
            EntryKind::Log
        },
        received_at_ns: 1_764_150_000_000_000_000 + i * 1_000,
        source: format!("src-{}", i % 5),
        metadata: vec![
            ("peer".into(), format!("10.1.{}.{}:6514", i % 256, i % 97)),
            ("format".into(), "json".into()),
        ],
        body: format!(
            "{{\"seq\":{i},\"pad\":\"{}\"}}",
            "z".repeat(40 + (i as usize * 7) % 61)
        )
        .into_bytes(),
    }
}

pub fn entries(range: std::ops::Range<u64>) -> Vec<Entry> {
    range.map(entry).collect()
}

/// A log key that survives reopen (the signer is not `Clone`).
pub fn new_key(origin: &str) -> String {
    NoteSigner::generate(origin).unwrap().to_key_string()
}

pub fn open(dir: &Path, key: &str) -> Ledger {
    open_with(dir, key, LedgerOptions::default())
}

pub fn open_with(dir: &Path, key: &str, options: LedgerOptions) -> Ledger {
    Ledger::open(dir, NoteSigner::parse(key).unwrap(), options).unwrap()
}

/// Appends entries `from..to` in batches of `batch`.
pub fn append_range(ledger: &Ledger, from: u64, to: u64, batch: u64) {
    let mut i = from;
    while i < to {
        let end = (i + batch).min(to);
        let r = ledger.append(entries(i..end)).unwrap();
        assert_eq!((r.first_index, r.count), (i, end - i));
        i = end;
    }
}

pub fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join("segments").join(format!("{first:020}.seg"))
}

pub fn index_path(dir: &Path, first: u64) -> PathBuf {
    dir.join("segments").join(format!("{first:020}.idx"))
}

/// Record offsets from a segment's `.idx` file.
pub fn offsets(dir: &Path, first: u64) -> Vec<u64> {
    let bytes = fs::read(index_path(dir, first)).unwrap();
    bytes[HEADER_LEN as usize..]
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Byte range of record `i` (frame included) in the first segment.
pub fn record_span(dir: &Path, i: usize) -> (u64, u64) {
    let seg = fs::read(segment_path(dir, 0)).unwrap();
    let off = offsets(dir, 0)[i];
    let len = u32::from_le_bytes(seg[off as usize..off as usize + 4].try_into().unwrap());
    (off, off + FRAME_LEN + u64::from(len))
}

/// Recursive copy of a ledger directory.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

pub fn verify_dir(dir: &Path, key: &str) -> VerifyReport {
    let verifier = NoteSigner::parse(key).unwrap().verifier();
    verify(dir, &verifier, &mut |_, _| {}).unwrap()
}

pub fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}
