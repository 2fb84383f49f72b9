//! Conformance: what `evident proof` and `evident checkpoint` print passes the independent
//! Python verifier (`../shared/tools/tlogverify.py`, written from RFC 9162 and the C2SP specs).
#![cfg(feature = "conformance")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Fixture, lines_body, ndjson};

/// `EVIDENT_SHARED`, or the `shared` directory beside the workspace.
fn shared() -> PathBuf {
    let dir = std::env::var_os("EVIDENT_SHARED").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")),
        PathBuf::from,
    );
    assert!(
        dir.join("tools/tlogverify.py").is_file(),
        "{} has no tools/tlogverify.py: set EVIDENT_SHARED to the shared directory",
        dir.display()
    );
    dir
}

/// Runs `python3 tlogverify.py ARGS…`; returns (success, stdout).
fn tlogverify(args: &[&Path]) -> (bool, String) {
    let script = shared().join("tools/tlogverify.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("running python3 (needed for the conformance tests)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'cryptography'"),
        "tlogverify.py needs the Python package `cryptography`: pip install cryptography"
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A log with checkpoints at sizes 5, 305 (crossing the first full tile) and 307; returns
/// the fixture, the verifier-key file and the checkpoint files by size.
fn log_with_history() -> (Fixture, PathBuf, Vec<(u64, PathBuf)>) {
    let f = Fixture::new();
    let vkey = f.write("vkey", format!("{}\n", f.key).as_bytes());
    let mut checkpoints = Vec::new();
    let mut size = 0;
    for (name, n) in [("a", 5), ("b", 300), ("c", 2)] {
        let file = f.write(&format!("{name}.ndjson"), &lines_body(&ndjson(name, n)));
        f.ingest(&file);
        size += n as u64;
        let cp = f.run(&["checkpoint"]);
        cp.expect_code(0);
        checkpoints.push((size, f.write(&format!("cp-{size}"), cp.stdout.as_bytes())));
    }
    (f, vkey, checkpoints)
}

#[test]
fn checkpoints_verify_with_the_printed_key() {
    let (_f, vkey, checkpoints) = log_with_history();
    for (size, cp) in &checkpoints {
        let (ok, out) = tlogverify(&[Path::new("checkpoint"), &vkey, cp]);
        assert!(ok, "{out}");
        assert!(out.starts_with(&format!("{size} ")), "{out}");
    }
}

#[test]
fn inclusion_proofs_pass_the_independent_verifier() {
    let (f, vkey, _) = log_with_history();
    let cases = [
        (0u64, None, 307u64),
        (4, None, 307),
        (255, None, 307),
        (256, None, 307),
        (304, None, 307),
        (306, None, 307),
        (2, Some(5u64), 5),
        (4, Some(5), 5),
        (100, Some(305), 305),
        (300, Some(305), 305),
    ];
    for (index, size, want_size) in cases {
        let mut args = vec![
            "proof".to_owned(),
            "inclusion".into(),
            "--index".into(),
            index.to_string(),
        ];
        if let Some(s) = size {
            args.extend(["--size".into(), s.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let proof = f.run(&args);
        proof.expect_code(0);
        let proof_file = f.write("proof", proof.stdout.as_bytes());
        let raw = f.run(&["entry", &index.to_string(), "--raw"]);
        raw.expect_code(0);
        let entry_file = f.write("entry", &raw.stdout_bytes);
        let (ok, out) = tlogverify(&[Path::new("inclusion"), &vkey, &proof_file, &entry_file]);
        assert!(ok, "index {index} size {size:?}: {out}");
        assert_eq!(out.trim_end(), format!("inclusion ok {index} {want_size}"));

        // Negative control: the same proof for other bytes must fail.
        let mut other = raw.stdout_bytes.clone();
        *other.last_mut().unwrap() ^= 1;
        let other_file = f.write("other", &other);
        let (ok, out) = tlogverify(&[Path::new("inclusion"), &vkey, &proof_file, &other_file]);
        assert!(!ok, "a proof verified for altered bytes: {out}");
        assert!(out.starts_with("FAIL: "), "{out}");
    }
}

#[test]
fn consistency_proofs_pass_the_independent_verifier() {
    let (f, vkey, checkpoints) = log_with_history();
    let cp = |size: u64| {
        checkpoints
            .iter()
            .find(|(s, _)| *s == size)
            .map(|(_, p)| p.clone())
            .unwrap()
    };
    for (from, to) in [
        (5u64, Some(305u64)),
        (5, Some(307)),
        (305, Some(307)),
        (5, Some(5)),
        (5, None),
        (305, None),
    ] {
        let mut args = vec![
            "proof".to_owned(),
            "consistency".into(),
            "--from".into(),
            from.to_string(),
            "--json".into(),
        ];
        if let Some(t) = to {
            args.extend(["--to".into(), t.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = f.run(&args);
        r.expect_code(0);
        let to = to.unwrap_or(307);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(
            (v["from"].as_u64(), v["to"].as_u64()),
            (Some(from), Some(to))
        );
        let proof_file = f.write("consistency.json", r.stdout.as_bytes());
        let (ok, out) = tlogverify(&[
            Path::new("consistency"),
            &vkey,
            &cp(from),
            &cp(to),
            &proof_file,
        ]);
        assert!(ok, "{from}..{to}: {out}");
        assert_eq!(out.trim_end(), format!("consistency ok {from} {to}"));

        // Negative control: a proof with one hash replaced must fail.
        if let Some(first) = v["proof"].as_array().and_then(|p| p.first()) {
            let zero = format!("{}=", "A".repeat(43)); // 32 zero bytes
            let forged = r.stdout.replacen(first.as_str().unwrap(), &zero, 1);
            let forged_file = f.write("forged.json", forged.as_bytes());
            let (ok, out) = tlogverify(&[
                Path::new("consistency"),
                &vkey,
                &cp(from),
                &cp(to),
                &forged_file,
            ]);
            assert!(!ok, "a forged proof verified: {out}");
        }
    }
}
