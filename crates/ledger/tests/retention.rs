//! Retention on the ledger (issue 9): sealing segments for cold storage and rehydrating
//! them, pruning segments under an audit entry's authority, and `verify` after pruning:
//! pruned ranges are notes, tampering anywhere else is still damage.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

mod common;

use std::fs;
use std::path::Path;

use common::{append_range, copy_dir, new_key, open_with, segment_path, verify_dir};
use evident_ledger::{
    ArchiveError, DamageKind, Ledger, LedgerError, LedgerOptions, NoteSigner, PrunedRange,
    leaf_hash, open_archive, prune_authorization, verify_inclusion,
};

const ORIGIN: &str = "retention.test/log";

fn small_segments() -> LedgerOptions {
    LedgerOptions {
        segment_max_bytes: 16 << 10,
    }
}

/// 1,200 entries in segments of ~16 KiB (about 110 entries each), checkpointed.
fn ledger() -> (tempfile::TempDir, String, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(ORIGIN);
    let ledger = open_with(dir.path(), &key, small_segments());
    append_range(&ledger, 0, 1200, 10);
    ledger.checkpoint().unwrap();
    (dir, key, ledger)
}

/// Appends the audit entry authorising the prune of the segment at `first`, checkpoints,
/// prunes; returns the range.
fn prune(ledger: &Ledger, first: u64) -> PrunedRange {
    let seg = ledger
        .segments()
        .into_iter()
        .find(|s| s.first == first)
        .unwrap();
    let last = first + seg.count - 1;
    let auth = prune_authorization(
        "evident",
        first,
        last,
        1_764_200_000_000_000_000,
        br#"{"reason":"retention expired"}"#.to_vec(),
    );
    let receipt = ledger.append(vec![auth]).unwrap();
    ledger.checkpoint().unwrap();
    ledger.prune_segment(first, receipt.first_index).unwrap()
}

#[test]
fn a_sealed_segment_rehydrates_to_the_trees_leaves() {
    let (_dir, key, ledger) = ledger();
    let segs = ledger.segments();
    let s = segs[1];
    assert!(!s.active && !s.pruned && s.count > 50);
    let sealed = ledger.seal_segment(s.first).unwrap();
    let m = &sealed.manifest;
    assert_eq!(
        (m.first, m.last, m.count),
        (s.first, s.first + s.count - 1, s.count)
    );
    assert_eq!(m.origin, ORIGIN);
    assert_eq!(m.segment_bytes, s.bytes);
    assert_eq!(m.archive_bytes, sealed.archive.len() as u64);
    assert!(
        sealed.archive.len() < s.bytes as usize / 2,
        "zstd compresses"
    );
    assert_eq!(
        m.first_received_ns,
        ledger.entry(s.first).unwrap().received_at_ns
    );
    assert_eq!(
        m.last_received_ns,
        ledger.entry(m.last).unwrap().received_at_ns
    );

    let verifier = NoteSigner::parse(&key).unwrap().verifier();
    let r = open_archive(
        &sealed.manifest_note,
        &sealed.archive,
        &sealed.index,
        &verifier,
    )
    .unwrap();
    assert_eq!(r.entries.len() as u64, s.count);
    for (i, bytes) in r.iter() {
        assert_eq!(bytes, ledger.entry_bytes(i).unwrap());
    }
    ledger.check_rehydrated(&r).unwrap();

    // The same segment sealed again is byte-identical: uploads are idempotent.
    let again = ledger.seal_segment(s.first).unwrap();
    assert_eq!(again.archive, sealed.archive);
    assert_eq!(again.manifest, sealed.manifest);

    // The active segment cannot be sealed.
    let active = segs.last().unwrap().first;
    assert_eq!(
        ledger.seal_segment(active).unwrap_err().to_string(),
        format!(
            "cannot prune entries {active}..{}: it is the active segment, still being appended to",
            1199
        )
    );
}

#[test]
fn a_damaged_or_forged_archive_is_refused_with_the_reason() {
    let (_dir, key, ledger) = ledger();
    let first = ledger.segments()[0].first;
    let sealed = ledger.seal_segment(first).unwrap();
    let verifier = NoteSigner::parse(&key).unwrap().verifier();
    let last = sealed.manifest.last;

    let mut archive = sealed.archive.clone();
    let mid = archive.len() / 2;
    archive[mid] ^= 1;
    let err = open_archive(&sealed.manifest_note, &archive, &sealed.index, &verifier).unwrap_err();
    let ArchiveError::Checksum { what, expected, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*what, "compressed segment");
    assert!(
        err.to_string().starts_with(&format!(
            "archive of entries 0..={last}: compressed segment SHA-256 is "
        )),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with(&format!(", the manifest says {expected}"))
    );

    let mut index = sealed.index.clone();
    index[20] ^= 1;
    let err = open_archive(&sealed.manifest_note, &sealed.archive, &index, &verifier).unwrap_err();
    assert!(
        matches!(
            err,
            ArchiveError::Checksum {
                what: "offset index",
                ..
            }
        ),
        "{err}"
    );

    // A manifest re-signed by another key with the same origin.
    let other = NoteSigner::generate(ORIGIN).unwrap();
    let forged = other.sign(&sealed.manifest.body()).unwrap();
    let err = open_archive(&forged, &sealed.archive, &sealed.index, &verifier).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("archive manifest for entries 0..: note is not signed by {ORIGIN}")
    );
}

#[test]
fn pruned_entries_say_so_while_proofs_and_verify_still_work() {
    let (dir, key, ledger) = ledger();
    let segs = ledger.segments();
    let r0 = prune(&ledger, segs[0].first);
    let r1 = prune(&ledger, segs[1].first);
    assert_eq!((r0.first, r0.last), (0, segs[1].first - 1));
    assert_eq!(r0.audit_entry, 1200);
    assert_eq!(r1.audit_entry, 1201);
    assert!(!segment_path(dir.path(), 0).exists());
    assert!(!segment_path(dir.path(), segs[1].first).exists());

    let err = ledger.entry(5).unwrap_err();
    assert!(matches!(
        err,
        LedgerError::Pruned {
            index: 5,
            audit_entry: 1200
        }
    ));
    assert_eq!(
        err.to_string(),
        "entry 5 was pruned by retention (audit entry 1200)"
    );
    // Streaming skips what is gone.
    let mut seen = Vec::new();
    ledger.for_each_entry(0, 1202, |i, _| seen.push(i)).unwrap();
    assert_eq!(seen, (segs[2].first..1202).collect::<Vec<_>>());
    // The leaf stays provable.
    let cp = ledger.checkpoint().unwrap();
    let leaf = ledger.stored_leaves(5, 6).unwrap()[0];
    let proof = ledger.inclusion_proof(5, cp.checkpoint.size).unwrap();
    verify_inclusion(5, cp.checkpoint.size, &leaf, &proof, &cp.checkpoint.root).unwrap();
    ledger.consistency_proof(100, cp.checkpoint.size).unwrap();

    let report = verify_dir(dir.path(), &key);
    assert!(report.is_clean(), "{:?}", report.damage);
    assert_eq!(
        report
            .pruned
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            format!(
                "entries 0..{} pruned by retention (audit entry 1200)",
                r0.last
            ),
            format!(
                "entries {}..{} pruned by retention (audit entry 1201)",
                r1.first, r1.last
            ),
        ]
    );
    assert_eq!(report.entries, 1202 - (r1.last + 1));

    // After a restart the ledger still knows.
    drop(ledger);
    let ledger = open_with(dir.path(), &key, small_segments());
    assert_eq!(ledger.pruned(), [r0, r1]);
    assert!(matches!(
        ledger.entry_bytes(r1.last),
        Err(LedgerError::Pruned {
            audit_entry: 1201,
            ..
        })
    ));
    assert_eq!(ledger.size(), 1202);
    append_range(&ledger, 1202, 1210, 4);
    ledger.checkpoint().unwrap();
    assert!(verify_dir(dir.path(), &key).is_clean());
}

#[test]
fn prunes_the_ledger_cannot_do_safely_are_refused() {
    let (_dir, _key, ledger) = ledger();
    let segs = ledger.segments();
    let s = segs[0];
    let last = s.count - 1;
    // No audit entry for this range: the entry named is an ordinary log entry.
    assert_eq!(
        ledger.prune_segment(0, 500).unwrap_err().to_string(),
        format!(
            "cannot prune entries 0..{last}: entry 500 is not an audit entry authorising the deletion of 0..{last}"
        )
    );
    // An authorisation for another range does not count.
    let wrong = prune_authorization("evident", 0, last + 1, 1, b"{}".to_vec());
    let at = ledger.append(vec![wrong]).unwrap().first_index;
    ledger.checkpoint().unwrap();
    assert!(matches!(
        ledger.prune_segment(0, at),
        Err(LedgerError::PruneRefused { .. })
    ));
    // The authorisation must be under a signed checkpoint before files go.
    let right = prune_authorization("evident", 0, last, 1, b"{}".to_vec());
    let at = ledger.append(vec![right]).unwrap().first_index;
    assert_eq!(
        ledger.prune_segment(0, at).unwrap_err().to_string(),
        format!(
            "cannot prune entries 0..{last}: audit entry {at} is not covered by the latest checkpoint (size {at}) or lies in the range"
        )
    );
    ledger.checkpoint().unwrap();
    ledger.prune_segment(0, at).unwrap();
    assert!(matches!(
        ledger.prune_segment(0, at),
        Err(LedgerError::Pruned { index: 0, .. })
    ));
    // The active segment never goes.
    let active = ledger.segments().last().unwrap().first;
    assert!(matches!(
        ledger.prune_segment(active, at),
        Err(LedgerError::PruneRefused { .. })
    ));
}

#[test]
fn a_segment_whose_leaves_are_not_yet_in_full_tiles_is_not_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(ORIGIN);
    let ledger = open_with(dir.path(), &key, small_segments());
    append_range(&ledger, 0, 200, 10); // one full segment, no full tile yet
    let first = ledger.segments()[0];
    assert!(!first.active);
    let last = first.count - 1;
    let auth = prune_authorization("evident", 0, last, 1, b"{}".to_vec());
    let at = ledger.append(vec![auth]).unwrap().first_index;
    ledger.checkpoint().unwrap();
    assert_eq!(
        ledger.prune_segment(0, at).unwrap_err().to_string(),
        format!(
            "cannot prune entries 0..{last}: its leaf hashes are not all in full hash tiles under the latest checkpoint (size 201); prune after the tree passes entry 256"
        )
    );
}

#[test]
fn a_prune_interrupted_after_its_note_is_finished_on_open() {
    let (dir, key, ledger) = ledger();
    let segs = ledger.segments();
    let saved = tempfile::tempdir().unwrap();
    copy_dir(&dir.path().join("segments"), saved.path());
    let r = prune(&ledger, segs[0].first);
    drop(ledger);
    // Crash between the note and the deletion: the files are back.
    for name in ["seg", "idx"] {
        let f = format!("{:020}.{name}", 0);
        fs::copy(saved.path().join(&f), dir.path().join("segments").join(&f)).unwrap();
    }
    assert!(verify_dir(dir.path(), &key).is_clean());
    let ledger = open_with(dir.path(), &key, small_segments());
    assert!(!segment_path(dir.path(), 0).exists());
    assert_eq!(ledger.pruned(), [r]);
    let report = verify_dir(dir.path(), &key);
    assert!(report.is_clean(), "{:?}", report.damage);
    assert_eq!(report.pruned, [r]);
}

/// A pruned ledger (first two segments) and the damage `tamper` makes verify report.
fn damage_after_pruning(tamper: impl FnOnce(&Path, &[u64])) -> Vec<(DamageKind, Option<u64>)> {
    let (dir, key, ledger) = ledger();
    let firsts: Vec<u64> = ledger.segments().iter().map(|s| s.first).collect();
    prune(&ledger, firsts[0]);
    prune(&ledger, firsts[1]);
    drop(ledger);
    assert!(verify_dir(dir.path(), &key).is_clean());
    tamper(dir.path(), &firsts);
    let report = verify_dir(dir.path(), &key);
    report.damage.iter().map(|d| (d.kind, d.index)).collect()
}

#[test]
fn a_retained_segment_deleted_after_pruning_is_missing() {
    let damage = damage_after_pruning(|dir, firsts| {
        fs::remove_file(segment_path(dir, firsts[2])).unwrap();
        fs::remove_file(dir.join("segments").join(format!("{:020}.idx", firsts[2]))).unwrap();
    });
    assert_eq!(
        damage[0],
        (DamageKind::Missing, Some(firsts_of_ledger()[2]))
    );
}

#[test]
fn a_changed_entry_in_a_retained_segment_is_still_changed() {
    let damage = damage_after_pruning(|dir, firsts| {
        let path = segment_path(dir, firsts[3]);
        let mut bytes = fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 3] ^= 1;
        fs::write(&path, bytes).unwrap();
    });
    assert_eq!(damage[0].0, DamageKind::Changed);
    assert_eq!(damage[0].1, Some(firsts_of_ledger()[4] - 1));
}

/// The segment firsts the deterministic `ledger()` produces.
fn firsts_of_ledger() -> Vec<u64> {
    let (_dir, _key, ledger) = ledger();
    ledger.segments().iter().map(|s| s.first).collect()
}

#[test]
fn a_segment_deleted_under_a_forged_prune_note_is_a_bad_signature_and_missing() {
    let damage = damage_after_pruning(|dir, firsts| {
        let (first, last) = (firsts[2], firsts[3] - 1);
        fs::remove_file(segment_path(dir, first)).unwrap();
        fs::remove_file(dir.join("segments").join(format!("{first:020}.idx"))).unwrap();
        let forger = NoteSigner::generate(ORIGIN).unwrap();
        let note = forger
            .sign(&format!(
                "evident pruned range v1\norigin {ORIGIN}\nfirst {first}\nlast {last}\naudit-entry 1200\n"
            ))
            .unwrap();
        fs::write(dir.join("pruned").join(format!("{first:020}.note")), note).unwrap();
    });
    let firsts = firsts_of_ledger();
    assert_eq!(damage[0], (DamageKind::Missing, Some(firsts[2])));
    assert!(
        damage.contains(&(DamageKind::BadSignature, None)),
        "{damage:?}"
    );
}

#[test]
fn a_prune_note_naming_an_entry_that_does_not_authorise_it_is_damage() {
    let (dir, key, ledger) = ledger();
    let firsts: Vec<u64> = ledger.segments().iter().map(|s| s.first).collect();
    prune(&ledger, firsts[0]);
    drop(ledger);
    // Someone with the key (but not through Evident) "prunes" segment 1 citing audit entry
    // 1200, which authorised only segment 0.
    let (first, last) = (firsts[1], firsts[2] - 1);
    fs::remove_file(segment_path(dir.path(), first)).unwrap();
    fs::remove_file(dir.path().join("segments").join(format!("{first:020}.idx"))).unwrap();
    let signer = NoteSigner::parse(&key).unwrap();
    let note = signer
        .sign(&format!(
            "evident pruned range v1\norigin {ORIGIN}\nfirst {first}\nlast {last}\naudit-entry 1200\n"
        ))
        .unwrap();
    fs::write(
        dir.path().join("pruned").join(format!("{first:020}.note")),
        note,
    )
    .unwrap();
    let report = verify_dir(dir.path(), &key);
    let damage: Vec<_> = report
        .damage
        .iter()
        .map(|d| (d.kind, d.index, d.detail.clone()))
        .collect();
    assert!(
        damage.contains(&(
            DamageKind::Structure,
            Some(first),
            format!("entries {first}..{last} are recorded as pruned by audit entry 1200, which does not authorise that deletion")
        )),
        "{damage:?}"
    );
}

#[test]
fn an_altered_leaf_hash_in_a_pruned_range_fails_the_checkpoints() {
    let damage = damage_after_pruning(|dir, _| {
        let tile = dir.join("tile/0/000");
        let mut bytes = fs::read(&tile).unwrap();
        bytes[32 * 7] ^= 1;
        fs::write(&tile, bytes).unwrap();
    });
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert_eq!(damage[0], (DamageKind::CheckpointMismatch, Some(0)));
}

#[test]
fn rehydrated_entries_check_against_the_tree_after_their_segment_is_pruned() {
    let (_dir, key, ledger) = ledger();
    let first = ledger.segments()[0].first;
    let sealed = ledger.seal_segment(first).unwrap();
    prune(&ledger, first);
    let verifier = NoteSigner::parse(&key).unwrap().verifier();
    let r = open_archive(
        &sealed.manifest_note,
        &sealed.archive,
        &sealed.index,
        &verifier,
    )
    .unwrap();
    ledger.check_rehydrated(&r).unwrap();
    assert_eq!(
        leaf_hash(&r.entries[3]),
        ledger.stored_leaves(3, 4).unwrap()[0]
    );
}
