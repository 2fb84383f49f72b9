//! End-to-end tests of the `evident` binary: init, sources, ingest, entries, proofs, verify, demo.

mod support;

use std::os::unix::fs::PermissionsExt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evident_ledger::{Entry, EntryKind, Hash, NoteVerifier, TlogProof, leaf_hash};
use support::{Fixture, ORIGIN, gzip, lines_body, ndjson, path_str, run};

#[test]
fn init_prints_only_the_verifier_key_and_refuses_a_second_init() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let r = run(&data, &["init", "--origin", ORIGIN]);
    r.expect_code(0);
    assert_eq!(r.stdout.lines().count(), 1, "stdout: {:?}", r.stdout);
    assert!(r.stdout.ends_with('\n'));
    let key = r.stdout.trim_end();
    let parts: Vec<&str> = key.split('+').collect();
    assert_eq!(parts.len(), 3, "{key}");
    assert_eq!(parts[0], ORIGIN);
    assert_eq!(parts[1].len(), 8, "{key}");
    assert!(
        parts[1]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "key id is not lowercase hex: {key}"
    );
    let raw = STANDARD.decode(parts[2]).unwrap();
    assert_eq!(raw.len(), 33, "type byte + Ed25519 public key");
    assert_eq!(raw[0], 1, "Ed25519 type byte");
    NoteVerifier::parse(key).unwrap();

    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data.join("keys").join("log.key")), 0o600);
    assert_eq!(mode(&data.join("keys")), 0o700);
    assert!(data.join("evident.toml").is_file());

    let again = run(&data, &["init", "--origin", ORIGIN]);
    again.expect_code(2);
    assert_eq!(again.stdout, "");
    assert_eq!(again.stderr_lines().len(), 1, "{}", again.stderr);
    assert!(again.stderr.starts_with("error: "), "{}", again.stderr);
    assert!(
        again.stderr.trim_end().ends_with(&format!(
            "{} is already initialized (it has an evident.toml); use another --data directory",
            data.display()
        )),
        "{}",
        again.stderr
    );

    let k = run(&data, &["key"]);
    k.expect_code(0);
    assert_eq!(k.stdout, format!("{key}\n"));
    assert_eq!(k.stderr, "");
}

#[test]
fn init_without_origin_names_the_log_after_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let r = run(&data, &["init"]);
    r.expect_code(0);
    assert!(r.stdout.starts_with("evident.local/"), "{}", r.stdout);
    let origin = r.stdout.split('+').next().unwrap();
    assert!(origin.len() > "evident.local/".len(), "{}", r.stdout);
    // The checkpoint init signed carries the same origin.
    let cp = run(&data, &["checkpoint"]);
    cp.expect_code(0);
    assert_eq!(cp.stdout.lines().next(), Some(origin));
}

#[test]
fn every_command_on_an_uninitialized_directory_exits_2_and_says_how_to_init() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("nothing-here");
    let commands: &[&[&str]] = &[
        &["key"],
        &["checkpoint"],
        &["verify"],
        &["verify", "--json"],
        &["entry", "0"],
        &["entry", "0", "--raw"],
        &["source", "list"],
        &["source", "add", "okta", "--format", "okta"],
        &["ingest", "--source", "okta", "-"],
        &["proof", "inclusion", "--index", "0"],
        &["proof", "consistency", "--from", "1"],
        &["serve", "--listen", "127.0.0.1:0"],
    ];
    let want = format!(
        "{d} is not an Evident data directory (no evident.toml); run `evident init --data {d}` first",
        d = data.display()
    );
    for args in commands {
        let r = run(&data, args);
        assert_eq!(r.code, Some(2), "{args:?}: {r:?}");
        assert_eq!(r.stdout, "", "{args:?}");
        let lines = r.stderr_lines();
        assert_eq!(lines.len(), 1, "{args:?}: {}", r.stderr);
        assert!(lines[0].starts_with("error: "), "{args:?}: {}", r.stderr);
        assert!(lines[0].ends_with(&want), "{args:?}: {}", r.stderr);
        assert!(!data.exists(), "{args:?} created the data directory");
    }
}

#[test]
fn source_add_prints_a_token_and_rejects_unknown_formats_and_bad_names() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    support::init(&data);

    let r = run(&data, &["source", "add", "okta", "--format", "okta"]);
    r.expect_code(0);
    assert_eq!(r.stdout.lines().count(), 1);
    let token = r.stdout.trim_end();
    assert_eq!(token.len(), 47, "{token}");
    assert!(token.starts_with("evd_"), "{token}");
    assert!(
        token[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "token is not base64url: {token}"
    );
    let other = support::add_source(&data, "app.prod_1", "json");
    assert_ne!(other, token);

    let list = run(&data, &["source", "list", "--json"]);
    list.expect_code(0);
    let names: Vec<(String, String)> = list
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["name"].as_str().unwrap().to_owned(),
                v["format"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(names.contains(&("okta".into(), "okta".into())), "{names:?}");
    assert!(
        names.contains(&("app.prod_1".into(), "json".into())),
        "{names:?}"
    );
    assert!(!list.stdout.contains("evd_"), "tokens must not be listed");

    let bad_format = run(&data, &["source", "add", "x", "--format", "splunk"]);
    bad_format.expect_code(2);
    assert_eq!(bad_format.stdout, "");
    assert_eq!(bad_format.stderr_lines().len(), 1, "{}", bad_format.stderr);
    assert!(
        bad_format
            .stderr
            .starts_with("error: unknown format \"splunk\"; known formats: auto, cloudtrail,"),
        "{}",
        bad_format.stderr
    );
    for known in ["okta", "json", "syslog", "text", "vpcflow"] {
        assert!(bad_format.stderr.contains(known), "{}", bad_format.stderr);
    }

    for bad in ["Okta", "_okta", "ok ta", "okta/x", ""] {
        let r = run(&data, &["source", "add", bad, "--format", "okta"]);
        r.expect_code(2);
        assert_eq!(r.stdout, "", "{bad:?}");
        assert_eq!(r.stderr_lines().len(), 1, "{bad:?}: {}", r.stderr);
        assert!(
            r.stderr.starts_with(&format!(
                "error: invalid source name {bad:?}: use 1-64 characters"
            )),
            "{bad:?}: {}",
            r.stderr
        );
    }

    let dup = run(&data, &["source", "add", "okta", "--format", "json"]);
    dup.expect_code(2);
    assert_eq!(dup.stdout, "");
    assert!(
        dup.stderr.contains("source \"okta\" already exists"),
        "{}",
        dup.stderr
    );
}

#[test]
fn ingest_reads_plain_gzip_and_stdin_and_reports_counts() {
    let f = Fixture::new();
    let plain = ndjson("plain", 5);
    let file = f.write("plain.ndjson", &lines_body(&plain));
    let r = f.run(&["ingest", "--source", "okta", path_str(&file)]);
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "ingested 5 records into okta; tree size 5; checkpoint 5\n"
    );
    assert_eq!(r.stderr, "");

    let zipped = ndjson("gz", 3);
    let gz = f.write("records.ndjson.gz", &gzip(&lines_body(&zipped)));
    let r = f.run(&["ingest", "--source", "okta", path_str(&gz)]);
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "ingested 3 records into okta; tree size 8; checkpoint 8\n"
    );
    assert_eq!(r.stderr, "");

    let piped = ndjson("stdin", 2);
    let r = support::run_with_stdin(
        &f.data,
        &["ingest", "--source", "okta", "-"],
        &lines_body(&piped),
    );
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "ingested 2 records into okta; tree size 10; checkpoint 10\n"
    );

    // Several files in one run: one summary line.
    let r = f.run(&["ingest", "--source", "okta", path_str(&file), path_str(&gz)]);
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "ingested 8 records into okta; tree size 18; checkpoint 18\n"
    );

    let expected: Vec<&String> = plain
        .iter()
        .chain(&zipped)
        .chain(&piped)
        .chain(&plain)
        .chain(&zipped)
        .collect();
    for (i, line) in expected.iter().enumerate() {
        let raw = f.run(&["entry", &i.to_string(), "--raw"]);
        raw.expect_code(0);
        let e = Entry::decode(&raw.stdout_bytes).unwrap();
        assert_eq!(e.body, line.as_bytes(), "entry {i}");
    }
}

#[test]
fn ingest_skips_records_over_the_limit_keeps_the_rest_and_exits_1() {
    let f = Fixture::new();
    let config = f.data.join("evident.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("max_record_bytes = "), "{text}");
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("max_record_bytes") {
                "max_record_bytes = 100".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config, text).unwrap();

    let line = |n: usize| format!("{{\"pad\":\"{}\"}}", "x".repeat(n - 10));
    let lines = [line(20), line(101), line(100), line(150), line(30)];
    assert_eq!(lines[1].len(), 101);
    assert_eq!(lines[2].len(), 100);
    let file = f.write("big.ndjson", &lines_body(&lines));
    let r = f.run(&["ingest", "--source", "okta", path_str(&file)]);
    r.expect_code(1);
    assert_eq!(
        r.stdout,
        "ingested 3 records into okta; tree size 3; checkpoint 3\n"
    );
    let name = file.display();
    assert_eq!(
        r.stderr,
        format!(
            "{name}:2: record of 101 bytes exceeds the record limit of 100 bytes; skipped\n\
             {name}:4: record of 150 bytes exceeds the record limit of 100 bytes; skipped\n"
        )
    );
    for (i, kept) in [&lines[0], &lines[2], &lines[4]].iter().enumerate() {
        let raw = f.run(&["entry", &i.to_string(), "--raw"]);
        raw.expect_code(0);
        assert_eq!(
            Entry::decode(&raw.stdout_bytes).unwrap().body,
            kept.as_bytes()
        );
    }
}

#[test]
fn ingest_reports_a_truncated_gzip_file_and_exits_1() {
    let f = Fixture::new();
    let full = gzip(&lines_body(&ndjson("t", 200)));
    let truncated = f.write("cut.ndjson.gz", &full[..full.len() / 2]);
    let good = f.write("good.ndjson", &lines_body(&ndjson("g", 4)));

    // Every complete line before the damage is kept; the cut line is not.
    let mut decoded = Vec::new();
    let _ = std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(&full[..full.len() / 2]),
        &mut decoded,
    );
    let kept = decoded.iter().filter(|&&b| b == b'\n').count();
    assert!(kept > 0 && kept < 200, "{kept}");
    let r = f.run(&["ingest", "--source", "okta", path_str(&truncated)]);
    r.expect_code(1);
    assert_eq!(
        r.stdout,
        format!("ingested {kept} records into okta; tree size {kept}; checkpoint {kept}\n")
    );
    let lines = r.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(
        lines[0].starts_with(&format!(
            "{}: gzip data is corrupt or truncated",
            truncated.display()
        )),
        "{}",
        r.stderr
    );
    assert!(
        lines[0].ends_with("; records before this point were ingested"),
        "{}",
        r.stderr
    );

    // The other files of the same run are still ingested.
    let r = f.run(&[
        "ingest",
        "--source",
        "okta",
        path_str(&truncated),
        path_str(&good),
    ]);
    r.expect_code(1);
    let total = kept * 2 + 4;
    assert_eq!(
        r.stdout,
        format!(
            "ingested {} records into okta; tree size {total}; checkpoint {total}\n",
            kept + 4
        )
    );
}

#[test]
fn ingest_stores_non_json_lines_of_a_json_source_with_a_warning() {
    let f = Fixture::new();
    let body = b"{\"a\":1}\nthis is not json\n{\"a\":3}\n";
    let file = f.write("mixed.ndjson", body);
    let r = f.run(&["ingest", "--source", "okta", path_str(&file)]);
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "ingested 3 records into okta; tree size 3; checkpoint 3\n"
    );
    let lines = r.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(
        lines[0].starts_with(&format!("{}:2: warning: not valid JSON", file.display())),
        "{}",
        r.stderr
    );
    assert!(lines[0].ends_with("(stored as received)"), "{}", r.stderr);
    let raw = f.run(&["entry", "1", "--raw"]);
    raw.expect_code(0);
    assert_eq!(
        Entry::decode(&raw.stdout_bytes).unwrap().body,
        b"this is not json"
    );
}

#[test]
fn ingest_refuses_unknown_sources_and_missing_files() {
    let f = Fixture::new();
    let file = f.write("a.ndjson", b"{\"a\":1}\n");
    let r = f.run(&["ingest", "--source", "nope", path_str(&file)]);
    r.expect_code(2);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "error: no source named \"nope\"; register it with `evident source add nope --format FORMAT`\n"
    );

    let missing = f.file("missing.ndjson");
    let r = f.run(&["ingest", "--source", "okta", path_str(&missing)]);
    r.expect_code(2);
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with(&format!("error: reading {}: ", missing.display())),
        "{}",
        r.stderr
    );
    let cp = f.run(&["checkpoint"]);
    assert_eq!(cp.stdout.lines().nth(1), Some("0"), "nothing was appended");
}

/// Regression: the ledger takes one writer per directory. Two processes appending at once
/// used to both report success while writing offsets computed from a stale segment length,
/// leaving a ledger that no longer opened. Now each run either succeeds or exits 2 saying the
/// ledger is in use, and the ledger verifies with exactly the acknowledged records.
#[test]
fn two_ingests_at_once_never_damage_the_ledger() {
    let f = Fixture::new();
    let lines = ndjson("p", 60_000);
    let file = f.write("p.ndjson", &lines_body(&lines));
    let spawn = || {
        support::command(&f.data)
            .args(["ingest", "--source", "okta", path_str(&file)])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let mut acknowledged = 0;
    for out in [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => acknowledged += lines.len(),
            Some(2) => assert_eq!(stderr.lines().count(), 1, "{stderr}"),
            other => panic!("ingest exited with {other:?}: {stderr}"),
        }
    }
    assert!(acknowledged > 0, "both ingests were refused");
    let v = f.run(&["verify"]);
    v.expect_code(0);
    assert!(
        v.stdout
            .starts_with(&format!("ok: {acknowledged} entries (")),
        "{}",
        v.stdout
    );
}

#[test]
fn entry_prints_the_exact_stored_bytes_and_a_json_view() {
    let f = Fixture::new();
    let lines = ndjson("e", 3);
    let file = f.write("e.ndjson", &lines_body(&lines));
    f.ingest(&file);

    let raw = f.run(&["entry", "1", "--raw"]);
    raw.expect_code(0);
    assert_eq!(raw.stderr, "");
    let bytes = &raw.stdout_bytes;
    // Documented layout: version 1, kind 1 (log), …, body (u32 BE length, bytes) last.
    assert_eq!(bytes[0], 1, "entry version");
    assert_eq!(bytes[1], 1, "kind log");
    let body = lines[1].as_bytes();
    let mut tail = (body.len() as u32).to_be_bytes().to_vec();
    tail.extend_from_slice(body);
    assert!(bytes.ends_with(&tail), "the body is the entry's last field");
    let entry = Entry::decode(bytes).unwrap();
    assert_eq!(entry.kind, EntryKind::Log);
    assert_eq!(entry.source, "okta");
    assert_eq!(entry.body, body);
    assert_eq!(entry.meta("file"), Some(path_str(&file)));
    assert_eq!(entry.meta("format"), Some("okta"));
    // The raw bytes are exactly what the segment stores for entry 1.
    let (offset, len) = f.record_location(1);
    let seg = std::fs::read(f.segment_paths().0).unwrap();
    let start = (offset + support::FRAME_LEN) as usize;
    assert_eq!(&seg[start..start + len as usize], &bytes[..]);

    let json = f.run(&["entry", "1"]);
    json.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["index"], 1);
    assert_eq!(v["kind"], "log");
    assert_eq!(v["source"], "okta");
    assert_eq!(v["received_at_ns"], entry.received_at_ns);
    assert_eq!(v["metadata"]["file"], path_str(&file));
    assert_eq!(v["metadata"]["format"], "okta");
    let decoded = STANDARD.decode(v["body_base64"].as_str().unwrap()).unwrap();
    assert_eq!(decoded, body);
    assert_eq!(
        v["leaf_hash"].as_str().unwrap(),
        leaf_hash(bytes).to_base64()
    );

    let past = f.run(&["entry", "3"]);
    past.expect_code(2);
    assert_eq!(past.stdout, "");
    assert_eq!(
        past.stderr,
        "error: entry 3 does not exist: the tree has 3 entries\n"
    );
}

#[test]
fn proofs_verify_and_missing_checkpoint_sizes_are_named() {
    let f = Fixture::new();
    let verifier = NoteVerifier::parse(&f.key).unwrap();
    let mut checkpoints = Vec::new();
    for (name, n) in [("a", 3), ("b", 4)] {
        let file = f.write(&format!("{name}.ndjson"), &lines_body(&ndjson(name, n)));
        f.ingest(&file);
        let cp = f.run(&["checkpoint"]);
        cp.expect_code(0);
        checkpoints.push(cp.stdout);
    }
    // A signed note: origin, size, root, blank line, signature by the log's key.
    let lines: Vec<&str> = checkpoints[1].lines().collect();
    assert_eq!(lines[..2], [ORIGIN, "7"]);
    assert_eq!(lines[3], "");
    assert!(
        lines[4].starts_with(&format!("— {ORIGIN} ")),
        "{}",
        lines[4]
    );
    let roots: Vec<Hash> = checkpoints
        .iter()
        .map(|c| evident_ledger::Checkpoint::open(c, &verifier).unwrap().root)
        .collect();

    for (index, size, want_size) in [
        (0u64, None, 7u64),
        (6, None, 7),
        (1, Some(3u64), 3),
        (2, Some(7), 7),
    ] {
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
        let r = f.run(&args);
        r.expect_code(0);
        assert!(r.stdout.starts_with("c2sp.org/tlog-proof@v1\n"));
        let proof = TlogProof::parse(&r.stdout).unwrap();
        assert_eq!(proof.index, index);
        let raw = f.run(&["entry", &index.to_string(), "--raw"]);
        let (cp, _) = proof.verify(&verifier, &raw.stdout_bytes).unwrap();
        assert_eq!(cp.size, want_size);
        // The proof does not verify for another entry's bytes.
        let other = f.run(&["entry", &((index + 1) % 3).to_string(), "--raw"]);
        assert!(proof.verify(&verifier, &other.stdout_bytes).is_err());
    }

    let r = f.run(&["proof", "inclusion", "--index", "1", "--size", "5"]);
    r.expect_code(2);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "error: no checkpoint of size 5; checkpoints exist for sizes 3, 7\n"
    );
    let r = f.run(&["proof", "inclusion", "--index", "0", "--size", "9"]);
    r.expect_code(2);
    assert_eq!(
        r.stderr,
        "error: no checkpoint of size 9; checkpoints exist for sizes 7\n"
    );
    let r = f.run(&["proof", "inclusion", "--index", "7"]);
    r.expect_code(2);
    assert!(
        r.stderr
            .starts_with("error: entry 7 is not in the checkpoint of size 7;"),
        "{}",
        r.stderr
    );

    let r = f.run(&["proof", "consistency", "--from", "3", "--json"]);
    r.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["from"], 3);
    assert_eq!(v["to"], 7);
    assert_eq!(v["from_root"].as_str().unwrap(), roots[0].to_base64());
    assert_eq!(v["to_root"].as_str().unwrap(), roots[1].to_base64());
    let path: Vec<Hash> = v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    evident_ledger::verify_consistency(3, 7, &path, &roots[0], &roots[1]).unwrap();
    assert!(evident_ledger::verify_consistency(3, 7, &path, &roots[1], &roots[0]).is_err());

    let text = f.run(&["proof", "consistency", "--from", "3", "--to", "7"]);
    text.expect_code(0);
    let mut lines = text.stdout.lines();
    assert_eq!(lines.next(), Some("consistency 3 7"));
    let hashes: Vec<&str> = lines.collect();
    assert_eq!(hashes.len(), path.len());

    let r = f.run(&["proof", "consistency", "--from", "4"]);
    r.expect_code(2);
    assert_eq!(
        r.stderr,
        "error: no checkpoint of size 4; checkpoints exist for sizes 3, 7\n"
    );
}

#[test]
fn verify_is_clean_then_names_the_entry_whose_body_was_changed() {
    let f = Fixture::new();
    let file = f.write("v.ndjson", &lines_body(&ndjson("v", 10)));
    f.ingest(&file);
    let r = f.run(&["verify"]);
    r.expect_code(0);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(r.stdout.starts_with("ok: 10 entries ("), "{}", r.stdout);
    assert!(
        r.stdout
            .ends_with("\nok: 0 cases, 0 history records match the ledger\n"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stderr, "");
    let clean = f.run(&["verify", "--json"]);
    clean.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&clean.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], 10);
    assert_eq!(v["damage"].as_array().unwrap().len(), 0);

    // Flip one byte of entry 6's body (the body is the last field of the entry bytes).
    let (offset, len) = f.record_location(6);
    let (seg_path, _) = f.segment_paths();
    let mut seg = std::fs::read(&seg_path).unwrap();
    let at = (offset + support::FRAME_LEN + len - 2) as usize;
    assert_eq!(seg[at], b'6', "the body ends with …\"n\":6}}");
    seg[at] = b'7';
    std::fs::write(&seg_path, &seg).unwrap();

    let r = f.run(&["verify"]);
    r.expect_code(1);
    assert!(r.stdout.starts_with("DAMAGED:"), "{}", r.stdout);
    assert!(r.stdout.contains("changed at entry 6"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("{} offset {offset}", seg_path.display())),
        "{}",
        r.stdout
    );
    let r = f.run(&["verify", "--json"]);
    r.expect_code(1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["entries"], 10);
    let damage = &v["damage"][0];
    assert_eq!(damage["kind"], "changed");
    assert_eq!(damage["index"], 6);
    assert_eq!(damage["file"], path_str(&seg_path));
    assert_eq!(damage["offset"], offset);
}

#[test]
fn verify_finds_a_changed_entry_even_when_its_checksum_was_fixed_up() {
    // An attacker who also rewrites the record's CRC is caught by the sealed hash tiles.
    let f = Fixture::new();
    let file = f.write("w.ndjson", &lines_body(&ndjson("w", 300)));
    f.ingest(&file);
    f.run(&["verify"]).expect_code(0);

    let (offset, len) = f.record_location(100);
    let (seg_path, _) = f.segment_paths();
    let mut seg = std::fs::read(&seg_path).unwrap();
    let start = (offset + support::FRAME_LEN) as usize;
    let end = start + len as usize;
    assert_eq!(&seg[end - 5..end], b":100}");
    seg[end - 2] = b'1';
    let mut crc = flate2::Crc::new();
    crc.update(&seg[start..end]);
    let o = offset as usize;
    seg[o + 4..o + 8].copy_from_slice(&crc.sum().to_le_bytes());
    std::fs::write(&seg_path, &seg).unwrap();

    let r = f.run(&["verify", "--json"]);
    r.expect_code(1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let damage = &v["damage"][0];
    assert_eq!(damage["kind"], "changed", "{v}");
    assert_eq!(damage["index"], 100, "{v}");
    assert_eq!(damage["file"], path_str(&seg_path));
    assert_eq!(damage["offset"], offset);
}

#[test]
fn demo_builds_a_data_directory_that_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let r = run(&data, &["demo", "--no-serve", "--days", "2"]);
    r.expect_code(0);
    let mut lines = r.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["source", "format", "records"]);
    let mut table = Vec::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols.len(), 3, "{line}");
        table.push((cols[0].to_owned(), cols[2].parse::<u64>().unwrap()));
    }
    assert!(table.len() >= 5, "{}", r.stdout);
    assert!(table.iter().all(|(_, n)| *n > 0), "{table:?}");
    let summary = lines.next().unwrap();
    let total: u64 = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(
        summary.contains(&format!(" from {} sources (2 days) ", table.len())),
        "{summary}"
    );
    let tree_size: u64 = summary
        .rsplit_once("; tree size ")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert_eq!(total, table.iter().map(|(_, n)| n).sum::<u64>());
    assert_eq!(tree_size, total);
    assert!(r.stdout.contains("\nPlanted incidents"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("Data directory: {}\n", data.display())),
        "{}",
        r.stdout
    );

    // Verify covers the logs plus the month's sealed case and review trail.
    let v = run(&data, &["verify"]);
    v.expect_code(0);
    let verified: u64 = v
        .stdout
        .strip_prefix("ok: ")
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(verified > tree_size, "{}", v.stdout);
    let cases = v.stdout.lines().nth(1).unwrap();
    assert!(
        cases.starts_with("ok: ") && cases.ends_with(" history records match the ledger"),
        "{}",
        v.stdout
    );
    let list = run(&data, &["source", "list"]);
    list.expect_code(0);
    let listed: Vec<&str> = list
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    for (name, _) in &table {
        assert!(listed.contains(&name.as_str()), "{name} not in {listed:?}");
    }
}

/// A crash leaves entries past the latest checkpoint whose hash tile was not yet written
/// (SIGKILL between the segment fsync and the tile write) or a torn record frame (power loss
/// mid-write). Neither is tampering, and the next writer's recovery repairs both; `verify`
/// on the crashed directory (before any restart, e.g. an auditor's copy) should not call
/// them damage; it reports them as notes.
#[test]
fn verify_does_not_call_crash_residue_past_the_checkpoint_damage() {
    let f = Fixture::new();
    let signer = evident_server::DataDir::new(&f.data).signer().unwrap();
    {
        // Append without signing a checkpoint, as the server does between its checkpoints.
        let ledger =
            evident_ledger::Ledger::open(&f.data.join("ledger"), signer, Default::default())
                .unwrap();
        let entries = (0..300)
            .map(|i| Entry::log("okta", 1, format!("{{\"i\":{i}}}").into_bytes()))
            .collect();
        ledger.append(entries).unwrap();
    }
    let clean = f.run(&["verify"]);
    clean.expect_code(0);
    assert!(
        clean.stdout.starts_with("ok: 300 entries ("),
        "{}",
        clean.stdout
    );

    // Killed after the fsync, before the full tile of entries 0..256 was written.
    std::fs::remove_file(f.data.join("ledger/tile/0/000")).unwrap();
    let r = f.run(&["verify"]);
    r.expect_code(0);
    assert!(r.stdout.starts_with("ok: 300 entries ("), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("tile/0/000 is not written yet (past the last checkpoint)"),
        "{}",
        r.stdout
    );

    // Power loss in the middle of the next record's frame.
    let (seg, _) = f.segment_paths();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_slice(&[50, 0, 0, 0, 1, 2]);
    std::fs::write(&seg, bytes).unwrap();
    let r = f.run(&["verify"]);
    r.expect_code(0);
    assert!(r.stdout.starts_with("ok: 300 entries ("), "{}", r.stdout);
    assert!(
        r.stdout.contains("note: record frame cut off at entry 300"),
        "{}",
        r.stdout
    );
}

/// Files larger than the read chunk are streamed: memory stays bounded, line numbers stay
/// right across chunks, and a line longer than a whole chunk is skipped with its number.
#[test]
fn ingest_streams_large_files_and_skips_a_line_longer_than_a_chunk() {
    let f = Fixture::new();
    let mut body = Vec::new();
    // ~10 MiB of 1 KiB records, then a 20 MiB line (over two read chunks), then three more.
    let record = |i: usize| format!("{{\"i\":\"{i:08}\",\"pad\":\"{}\"}}\n", "p".repeat(1000));
    let first = 10_000;
    for i in 0..first {
        body.extend_from_slice(record(i).as_bytes());
    }
    body.extend_from_slice(format!("{{\"huge\":\"{}\"}}\n", "h".repeat(20 << 20)).as_bytes());
    for i in 0..3 {
        body.extend_from_slice(record(first + i).as_bytes());
    }
    let file = f.write("large.ndjson", &body);
    let r = f.run(&["ingest", "--source", "okta", path_str(&file)]);
    r.expect_code(1);
    let n = first + 3;
    assert_eq!(
        r.stdout,
        format!("ingested {n} records into okta; tree size {n}; checkpoint {n}\n")
    );
    assert_eq!(
        r.stderr_lines(),
        [format!(
            "{}:{}: record exceeds the record limit of 1048576 bytes; skipped",
            file.display(),
            first + 1
        )]
    );
    let last = f.run(&["entry", &(n - 1).to_string(), "--raw"]);
    assert_eq!(
        Entry::decode(&last.stdout_bytes).unwrap().body,
        record(first + 2).trim_end().as_bytes()
    );
}

/// JSON arrays and CloudTrail `{"Records":[…]}` files are split into their records, each
/// stored with its exact bytes.
#[test]
fn ingest_splits_json_arrays_and_cloudtrail_records_files() {
    let f = Fixture::new();
    let arr = f.write("arr.json", b"[\n  {\"a\": 1},\n  {\"b\": 2}\n]\n");
    let ct = f.write(
        "ct.json.gz",
        &gzip(b"{\"Records\": [{\"eventName\": \"A\"}, {\"eventName\": \"B\"}, {\"eventName\": \"C\"}]}"),
    );
    let r = f.run(&["ingest", "--source", "okta", path_str(&arr), path_str(&ct)]);
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "ingested 5 records into okta; tree size 5; checkpoint 5\n"
    );
    let bodies: Vec<Vec<u8>> = (0..5)
        .map(|i| {
            Entry::decode(&f.run(&["entry", &i.to_string(), "--raw"]).stdout_bytes)
                .unwrap()
                .body
        })
        .collect();
    assert_eq!(
        bodies,
        [
            &b"{\"a\": 1}"[..],
            b"{\"b\": 2}",
            b"{\"eventName\": \"A\"}",
            b"{\"eventName\": \"B\"}",
            b"{\"eventName\": \"C\"}"
        ]
    );
}

/// `--config FILE` (or EVIDENT_CONFIG) puts the config outside the data directory, for
/// `init` and for every later command.
#[test]
fn config_can_live_outside_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("etc-evident.toml");
    let run = |args: &[&str]| {
        let mut all = vec!["--config", path_str(&config)];
        all.extend_from_slice(args);
        support::run(&data, &all)
    };
    run(&["init", "--origin", "evident.test/cfg"]).expect_code(0);
    assert!(config.exists());
    assert!(!data.join("evident.toml").exists());
    run(&["key"]).expect_code(0);
    let r = support::run(&data, &["key"]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("is not an Evident data directory"),
        "{}",
        r.stderr
    );
}

/// `evident parse` previews normalization: one OCSF event per line, failures as
/// FILE:LINE with exit 1, the good records around them still printed.
#[test]
fn parse_prints_ocsf_events_and_names_failing_lines() {
    let f = Fixture::new();
    let good = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"alice","accountId":"111122223333"},"eventTime":"2026-11-20T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"DeleteUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","requestParameters":{"userName":"bob"},"eventID":"e1","recipientAccountId":"111122223333"}"#;
    let file = f.write(
        "ct.ndjson",
        format!("{good}\n{{\"eventVersion\": \n{good}\n").as_bytes(),
    );
    let r = f.run(&["parse", "--format", "cloudtrail", path_str(&file)]);
    r.expect_code(1);
    let events: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["class_uid"], 3001);
    assert_eq!(events[0]["activity_id"], 6);
    assert_eq!(events[0]["type_uid"], 300106);
    assert_eq!(events[0]["time"], 1_795_168_800_000i64); // 2026-11-20T10:00:00Z
    assert_eq!(events[0]["user"]["name"], "bob");
    assert_eq!(events[0]["unmapped"]["eventName"], "DeleteUser");
    assert_eq!(
        r.stderr_lines(),
        [format!(
            "{}:2: invalid JSON: EOF while parsing a value at line 1 column 17",
            file.display()
        )]
    );
    // Auto detection picks the format per record; unknown shapes still become events.
    let mixed = f.write(
        "mixed.log",
        format!("{good}\nsomething nobody logs like this\n").as_bytes(),
    );
    let r = f.run(&["parse", path_str(&mixed)]);
    r.expect_code(0);
    let events: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["metadata"]["evident"]["format"], "cloudtrail");
    assert_eq!(events[1]["class_uid"], 0);
    assert_eq!(events[1]["unmapped"]["evident_parse"], "unknown_format");
}

/// `sources` parses what the ledger holds (no server running) and reports health;
/// `controls` maps the sources to TSC criteria and names the gaps.
#[test]
fn sources_and_controls_report_what_was_ingested() {
    let f = Fixture::new();
    support::add_source(&f.data, "db", "pgaudit");
    let now = chrono::Utc::now();
    let line = |t: chrono::DateTime<chrono::Utc>| {
        format!(
            "{} UTC [4242] app@customers LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"SELECT 1\",<not logged>",
            t.format("%Y-%m-%d %H:%M:%S%.3f")
        )
    };
    let body = format!("{}\n{}\nnot a postgres line at all\n", line(now), line(now));
    let file = f.write("pg.log", body.as_bytes());
    f.run(&["ingest", "--source", "db", path_str(&file)])
        .expect_code(0);

    let r = f.run(&["sources", "--json"]);
    r.expect_code(0);
    let rows: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let db = rows.iter().find(|r| r["name"] == "db").unwrap();
    assert_eq!(db["category"], "database");
    assert_eq!(
        db["events"].as_u64().unwrap() + db["parse_errors"].as_u64().unwrap(),
        3
    );
    assert_eq!(db["events_last_24h"].as_u64(), db["events"].as_u64());
    assert_eq!(db["silent"], false);

    let r = f.run(&["controls", "--format", "csv"]);
    r.expect_code(0);
    let row = |id: &str| {
        r.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap()
            .to_owned()
    };
    assert!(row("C1.2").starts_with("C1.2,covered,"), "{}", row("C1.2"));
    // okta (identity) is registered by the fixture but sent nothing: its criteria are gaps.
    assert!(
        row("CC6.2").starts_with("CC6.2,gap,0,okta (0),"),
        "{}",
        row("CC6.2")
    );
    assert!(
        row("CC1.1").starts_with("CC1.1,unmapped,0,,"),
        "{}",
        row("CC1.1")
    );
    let md = f.run(&["controls", "--format", "md"]);
    assert!(
        md.stdout
            .starts_with("| Control | Status | Events | Sources | What it asks |\n")
    );
    let table = f.run(&["controls"]);
    assert!(
        table
            .stdout
            .contains("GAPS (mapped, but no source sent events in the period): "),
        "{}",
        table.stdout
    );
}
