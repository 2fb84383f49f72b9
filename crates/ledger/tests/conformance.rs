//! Conformance: proofs and notes vs. transparency-dev, CT Argon2020, C2SP/sumdb, tlogverify.py.
#![cfg(feature = "conformance")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may panic

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evident_ledger::{
    Entry, EntryKind, Hash, Ledger, LedgerOptions, NoteError, NoteSigner, NoteVerifier, TlogProof,
    leaf_hash, verify_consistency, verify_inclusion,
};
use serde::Deserialize;

/// `EVIDENT_TESTDATA`, or `../shared/testdata` next to the workspace.
fn testdata() -> PathBuf {
    let dir = std::env::var_os("EVIDENT_TESTDATA").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/testdata"
            ))
        },
        PathBuf::from,
    );
    assert!(
        dir.join("merkle").is_dir(),
        "conformance test data not found at {} (set EVIDENT_TESTDATA to the testdata folder)",
        dir.display()
    );
    dir
}

fn shared_dir() -> PathBuf {
    testdata()
        .parent()
        .expect("testdata has a parent folder")
        .to_owned()
}

/// Every `.json` file below `dir`, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A vector field as a SHA-256 hash; anything that is not 32 bytes of base64 is `None`
/// (the vectors use such values to test rejection of non-hashes).
fn hash(b64: &str) -> Option<Hash> {
    Hash::from_slice(&STANDARD.decode(b64).ok()?)
}

fn proof_hashes(proof: &Option<Vec<String>>) -> Option<Vec<Hash>> {
    proof
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|p| hash(p))
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionVector {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyVector {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    want_err: bool,
}

/// Runs `check` (true = rejected) on every vector file below `kind`; returns the files whose
/// outcome differs from `wantErr`, relative to `merkle/`.
fn run_vectors(kind: &str, check: impl Fn(&[u8]) -> (bool, bool)) -> (usize, Vec<String>) {
    let root = testdata().join("merkle");
    let files = json_files(&root.join(kind));
    let mut wrong = Vec::new();
    for f in &files {
        let (rejected, want_err) = check(&fs::read(f).unwrap());
        if rejected != want_err {
            wrong.push(
                f.strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    (files.len(), wrong)
}

#[test]
fn every_transparency_dev_inclusion_vector_gives_the_wanted_outcome() {
    let (count, wrong) = run_vectors("inclusion", |bytes| {
        let v: InclusionVector = serde_json::from_slice(bytes).unwrap();
        let rejected = match (hash(&v.leaf_hash), hash(&v.root), proof_hashes(&v.proof)) {
            (Some(leaf), Some(root), Some(proof)) => {
                verify_inclusion(v.leaf_idx, v.tree_size, &leaf, &proof, &root).is_err()
            }
            // Not SHA-256 hashes: rejected before any proof math.
            _ => true,
        };
        (rejected, v.want_err)
    });
    assert_eq!(count, 98, "inclusion vector files found");
    assert!(
        wrong.is_empty(),
        "inclusion vectors with the wrong outcome: {wrong:#?}"
    );
}

#[test]
fn every_transparency_dev_consistency_vector_gives_the_wanted_outcome() {
    let (count, wrong) = run_vectors("consistency", |bytes| {
        let v: ConsistencyVector = serde_json::from_slice(bytes).unwrap();
        let rejected = match (hash(&v.root1), hash(&v.root2), proof_hashes(&v.proof)) {
            (Some(r1), Some(r2), Some(proof)) => {
                verify_consistency(v.size1, v.size2, &proof, &r1, &r2).is_err()
            }
            _ => true,
        };
        (rejected, v.want_err)
    });
    assert_eq!(count, 98, "consistency vector files found");
    // The one deviation: Go compares equal-size roots as opaque bytes and accepts two equal
    // 12-byte strings; our verifier takes `Hash` (32 bytes) and rejects non-hashes up front.
    assert_eq!(
        wrong,
        ["consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"],
        "consistency vectors with the wrong outcome"
    );
}

#[derive(Deserialize)]
struct Sth {
    tree_size: u64,
    sha256_root_hash: String,
}

#[derive(Deserialize)]
struct CtInclusion {
    leaf_index: u64,
    audit_path: Vec<String>,
}

#[derive(Deserialize)]
struct CtConsistency {
    consistency: Vec<String>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    serde_json::from_slice(&fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn flip_bit(proof: &[Hash], i: usize) -> Vec<Hash> {
    let mut bad = proof.to_vec();
    bad[i].0[7] ^= 0x10;
    bad
}

#[test]
fn real_ct_log_argon2020_proofs_verify_and_a_flipped_bit_fails() {
    let dir = testdata().join("merkle/ct-argon2020");
    let sth: Sth = read_json(&dir.join("sth.json"));
    let root = hash(&sth.sha256_root_hash).unwrap();
    assert_eq!(sth.tree_size, 961_984_013);

    let inc: CtInclusion = read_json(&dir.join("proof.json"));
    let leaf_b64 = fs::read_to_string(dir.join("leaf.b64")).unwrap();
    let leaf = leaf_hash(&STANDARD.decode(leaf_b64.trim()).unwrap());
    let path: Vec<Hash> = inc.audit_path.iter().map(|p| hash(p).unwrap()).collect();
    assert_eq!(inc.leaf_index, 10_000);
    assert!(verify_inclusion(inc.leaf_index, sth.tree_size, &leaf, &path, &root).is_ok());
    for i in [0, path.len() / 2, path.len() - 1] {
        assert!(
            verify_inclusion(
                inc.leaf_index,
                sth.tree_size,
                &leaf,
                &flip_bit(&path, i),
                &root
            )
            .is_err(),
            "inclusion proof with hash {i} flipped still verified"
        );
    }

    let cons: CtConsistency = read_json(&dir.join("consistency.json"));
    let old_root = hash("AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=").unwrap();
    let proof: Vec<Hash> = cons.consistency.iter().map(|p| hash(p).unwrap()).collect();
    assert!(verify_consistency(3_654_490, sth.tree_size, &proof, &old_root, &root).is_ok());
    for i in [0, proof.len() / 2, proof.len() - 1] {
        assert!(
            verify_consistency(
                3_654_490,
                sth.tree_size,
                &flip_bit(&proof, i),
                &old_root,
                &root
            )
            .is_err(),
            "consistency proof with hash {i} flipped still verified"
        );
    }
}

/// Signed-note examples quoted verbatim from the specs.
const QUASIMODO_NOTE: &str = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
const FOO_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const FOO_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
const PN_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PN_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PN_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PN_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

#[test]
fn spec_examples_are_quoted_from_the_spec_files() {
    // Guards the constants above against drift from the files they were copied from.
    let spec = fs::read_to_string(shared_dir().join("specs/c2sp/signed-note.md")).unwrap();
    assert!(spec.contains(QUASIMODO_NOTE.trim_end()));
    assert!(spec.contains(FOO_VKEY));
    assert!(spec.contains(FOO_NOTE.trim_end()));
    let readme = fs::read_to_string(testdata().join("README.md")).unwrap();
    for s in [PN_VKEY, PN_SKEY, PN_SIG] {
        assert!(readme.contains(s), "{s} not in testdata/README.md");
    }
}

#[test]
fn quasimodo_note_signature_line_parses_and_unknown_keys_are_ignored() {
    // The spec does not publish this key, so check the signature line's structure and that
    // verifiers without the key report "not signed" (not "malformed"), even though the text
    // contains a blank line (the split is at the last one).
    let sig_line = QUASIMODO_NOTE.lines().last().unwrap();
    let rest = sig_line.strip_prefix("\u{2014} ").unwrap();
    let (name, sig) = rest.split_once(' ').unwrap();
    assert_eq!(name, "quasimodo.example/salvatore");
    let blob = STANDARD.decode(sig).unwrap();
    assert_eq!(blob.len(), 4 + 64, "key id + Ed25519 signature");
    assert_eq!(blob[..4], [0x36, 0x7b, 0xa0, 0x4b]);

    let same_name = NoteSigner::generate("quasimodo.example/salvatore").unwrap();
    assert_eq!(
        same_name.verifier().verify(QUASIMODO_NOTE),
        Err(NoteError::NotSigned("quasimodo.example/salvatore".into()))
    );
    let foo = NoteVerifier::parse(FOO_VKEY).unwrap();
    assert_eq!(
        foo.verify(QUASIMODO_NOTE),
        Err(NoteError::NotSigned("example.com/foo".into()))
    );
}

#[test]
fn example_com_foo_note_verifies_with_extra_signatures_and_fails_when_edited() {
    let v = NoteVerifier::parse(FOO_VKEY).unwrap();
    assert_eq!(v.to_string(), FOO_VKEY);
    assert_eq!(v.name(), "example.com/foo");
    assert_eq!(v.verify(FOO_NOTE), Ok("This is an example message.\n"));
    // Signatures from unknown keys are ignored, wherever they appear.
    let quasimodo_sig = QUASIMODO_NOTE.lines().last().unwrap();
    let cosigned = format!("{FOO_NOTE}{quasimodo_sig}\n");
    assert_eq!(v.verify(&cosigned), Ok("This is an example message.\n"));
    assert_eq!(
        v.verify(&FOO_NOTE.replace("example message", "example massage")),
        Err(NoteError::BadSignature("example.com/foo".into()))
    );
    assert_eq!(
        v.verify(FOO_NOTE.trim_end()),
        Err(NoteError::MalformedNote(
            "signature block does not end in a newline".into()
        ))
    );
}

#[test]
fn go_sumdb_peter_neumann_note_signs_byte_for_byte_and_verifies() {
    let signer = NoteSigner::parse(PN_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.to_key_string(), PN_SKEY);
    assert_eq!(signer.verifier().to_string(), PN_VKEY);
    let note = signer.sign(PN_TEXT).unwrap();
    assert_eq!(note, format!("{PN_TEXT}\n{PN_SIG}\n"));
    let v = NoteVerifier::parse(PN_VKEY).unwrap();
    assert_eq!(v, signer.verifier());
    assert_eq!(v.verify(&note), Ok(PN_TEXT));
    assert_eq!(
        v.verify(&note.replace("answer", "Answer")),
        Err(NoteError::BadSignature("PeterNeumann".into()))
    );
}

/// Runs tlogverify.py; returns (exit code, stdout).
fn tlogverify(args: &[&Path]) -> (i32, String) {
    let script = shared_dir().join("tools/tlogverify.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run python3 {}: {e}", script.display()));
    // Shown when an assertion on the result fails.
    eprintln!(
        "tlogverify.py {args:?}: stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// Fixed log keys (origin evident.test/conformance), so runs are reproducible. Their verifier
/// keys have no '+' in the base64 part: tlogverify.py splits the verifier key on every '+'
/// (line 21) and crashes on keys that have one.
const LOG_SKEY: &str =
    "PRIVATE+KEY+evident.test/conformance+a205200a+AUfiuQzbMcE/0W2x4hL5+w3l1ECISgTfdtKNmDtWoekO";
const OTHER_SKEY: &str =
    "PRIVATE+KEY+evident.test/conformance+ab5fbcc6+ASu8aHiINTsV/L6fLqriDUcknOjwJKdkVa/edO9guMqy";

fn require_python_cryptography() {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "tlogverify.py needs python3 with the `cryptography` package (pip install cryptography)"
    );
}

#[test]
fn independent_python_verifier_accepts_our_checkpoints_and_proofs() {
    require_python_cryptography();
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(
        &dir.path().join("ledger"),
        NoteSigner::parse(LOG_SKEY).unwrap(),
        LedgerOptions::default(),
    )
    .unwrap();
    let batch = |from: u64, to: u64| -> Vec<Entry> {
        (from..to)
            .map(|i| Entry {
                kind: if i % 10 == 0 {
                    EntryKind::Audit
                } else {
                    EntryKind::Log
                },
                received_at_ns: 1_764_000_000_000_000_000 + i,
                source: "conformance".into(),
                metadata: vec![("peer".into(), format!("10.0.0.{}:514", i % 256))],
                body: format!(
                    "{{\"seq\":{i},\"msg\":\"{}\"}}",
                    "x".repeat((i % 50) as usize)
                )
                .into_bytes(),
            })
            .collect()
    };
    ledger.append(batch(0, 150)).unwrap();
    let old = ledger.checkpoint().unwrap();
    ledger.append(batch(150, 300)).unwrap();
    ledger.append(batch(300, 333)).unwrap();
    let new = ledger.checkpoint().unwrap();
    assert_eq!((old.checkpoint.size, new.checkpoint.size), (150, 333));

    let out = dir.path();
    let write = |name: &str, bytes: &[u8]| {
        let p = out.join(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    let vkey = write("vkey", ledger.verifier().to_string().as_bytes());
    let cp_old = write("cp150", old.note.as_bytes());
    let cp_new = write("cp333", new.note.as_bytes());

    assert_eq!(
        tlogverify(&[Path::new("checkpoint"), &vkey, &cp_new]),
        (0, format!("333 {}\n", new.checkpoint.root))
    );
    assert_eq!(
        tlogverify(&[Path::new("checkpoint"), &vkey, &cp_old]),
        (0, format!("150 {}\n", old.checkpoint.root))
    );

    // Inclusion, across the level-0 tile boundary and against the older checkpoint too.
    for (index, cp) in [
        (0, &new),
        (149, &new),
        (255, &new),
        (256, &new),
        (332, &new),
        (0, &old),
        (77, &old),
        (149, &old),
    ] {
        let size = cp.checkpoint.size;
        let proof = TlogProof {
            extra: None,
            index,
            proof: ledger.inclusion_proof(index, size).unwrap(),
            checkpoint_note: cp.note.clone(),
        };
        let proof_file = write(&format!("proof-{index}-{size}"), proof.to_text().as_bytes());
        let entry_file = write(
            &format!("entry-{index}"),
            &ledger.entry_bytes(index).unwrap(),
        );
        assert_eq!(
            tlogverify(&[Path::new("inclusion"), &vkey, &proof_file, &entry_file]),
            (0, format!("inclusion ok {index} {size}\n")),
            "entry {index} in tree {size}"
        );
    }

    // A modified entry fails against a genuine proof.
    let proof = TlogProof {
        extra: None,
        index: 200,
        proof: ledger.inclusion_proof(200, 333).unwrap(),
        checkpoint_note: new.note.clone(),
    };
    let proof_file = write("proof-200", proof.to_text().as_bytes());
    let mut entry = ledger.entry_bytes(200).unwrap();
    let last = entry.len() - 1;
    entry[last] ^= 1;
    let bad_entry = write("entry-200-modified", &entry);
    let (code, stdout) = tlogverify(&[Path::new("inclusion"), &vkey, &proof_file, &bad_entry]);
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        "FAIL: inclusion proof does not verify for entry 200 in tree 333\n"
    );

    // Consistency between the two checkpoints.
    let consistency = |proof: &[Hash]| {
        let hashes: Vec<String> = proof.iter().map(Hash::to_base64).collect();
        serde_json::json!({"from": 150, "to": 333, "proof": hashes}).to_string()
    };
    let cons = ledger.consistency_proof(150, 333).unwrap();
    let cons_file = write("consistency.json", consistency(&cons).as_bytes());
    assert_eq!(
        tlogverify(&[
            Path::new("consistency"),
            &vkey,
            &cp_old,
            &cp_new,
            &cons_file
        ]),
        (0, "consistency ok 150 333\n".to_owned())
    );
    let bad_cons = write(
        "consistency-bad.json",
        consistency(&flip_bit(&cons, 0)).as_bytes(),
    );
    assert_eq!(
        tlogverify(&[Path::new("consistency"), &vkey, &cp_old, &cp_new, &bad_cons]),
        (1, "FAIL: consistency proof does not verify\n".to_owned())
    );

    // A checkpoint from another key with the same origin is refused.
    let other = write(
        "vkey-other",
        NoteSigner::parse(OTHER_SKEY)
            .unwrap()
            .verifier()
            .to_string()
            .as_bytes(),
    );
    assert_eq!(
        tlogverify(&[Path::new("checkpoint"), &other, &cp_new]),
        (1, "FAIL: no signature by the verifier key\n".to_owned())
    );
}
