//! SIGKILL at random points of every operation that writes durable state besides ingest
//! (issue 11): the server sealing the audit trail, segment sealing + archive + prune, and
//! `evident evidence export`. Each is killed after seeded random delays spread over its
//! duration (the seed is printed; `EVIDENT_CRASH_SEED=N` replays a run), restarted or re-run,
//! and then: `evident verify` exits 0, nothing reported done is missing, and the re-run
//! completes with a valid result. A half-written evidence package is never left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use evident_ledger::{Entry, EntryKind, Ledger, LedgerOptions, SealedSegment, open_archive};
use evident_server::retention::{ArchiveTarget, RetentionEngine};
use evident_server::{DataDir, Evident};
use support::{Server, path_str, run};

/// A small seeded generator (splitmix64): the test's delays, reproducible from the seed.
struct Rng(u64);

impl Rng {
    /// Seeded from `EVIDENT_CRASH_SEED`, else from the clock; prints the seed.
    fn new(test: &str) -> Rng {
        let seed = std::env::var("EVIDENT_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(evident_ledger::now_ns);
        eprintln!("{test}: seed {seed} (replay with EVIDENT_CRASH_SEED={seed})");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` delays spread over `span`: one uniformly random point in each of `n` equal slices.
fn spread(rng: &mut Rng, span: Duration, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|k| span.mul_f64((k as f64 + rng.unit()) / n as f64))
        .collect()
}

/// Audit entries in the ledger: audit row id → ledger indices holding it.
fn sealed_rows(data: &Path) -> BTreeMap<i64, Vec<u64>> {
    let signer = DataDir::new(data).signer().unwrap();
    let ledger = Ledger::open(&data.join("ledger"), signer, LedgerOptions::default()).unwrap();
    let mut rows: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
    ledger
        .for_each_entry(0, ledger.size(), |i, bytes| {
            let e = Entry::decode(bytes).unwrap();
            if e.kind == EntryKind::Audit
                && let Some(id) = evident_server::audit::audit_record_id(&e)
            {
                rows.entry(id.parse().unwrap()).or_default().push(i);
            }
        })
        .unwrap();
    rows
}

/// Every audit row in the state DB is sealed exactly once, at the ledger index it names.
fn check_audit_trail(data: &Path) -> Vec<evident_store::AuditRow> {
    let in_ledger = sealed_rows(data);
    let db = evident_store::StateDb::open(&DataDir::new(data).state_db_path()).unwrap();
    let rows = db.all_audit_rows().unwrap();
    for r in &rows {
        assert_eq!(
            r.seal,
            evident_store::SealState::Sealed,
            "audit row {} ({}) is not sealed",
            r.id,
            r.kind
        );
        let at = in_ledger.get(&r.id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            at.len(),
            1,
            "audit row {} is in the ledger {} times ({at:?}); rows (id, kind, requested size, \
             index): {:?}; ledger: {in_ledger:?}",
            r.id,
            at.len(),
            rows.iter()
                .map(|r| (r.id, r.kind.clone(), r.requested_size, r.ledger_index))
                .collect::<Vec<_>>()
        );
        assert_eq!(r.ledger_index, Some(at[0]), "audit row {}", r.id);
    }
    assert_eq!(
        in_ledger.len(),
        rows.len(),
        "ledger audit entries for rows the DB does not have"
    );
    rows
}

#[test]
fn sealing_the_audit_trail_survives_sigkill_at_random_points() {
    const CYCLES: usize = 5;
    let mut rng = Rng::new("audit trail");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    support::init(&data);
    // The server seals once a second: kills land anywhere in two ticks.
    let delays = spread(&mut rng, Duration::from_millis(2000), CYCLES);
    let mut server = Server::start(&data, &[]);
    let reported = Arc::new(Mutex::new(Vec::<String>::new()));
    for (cycle, delay) in delays.iter().enumerate() {
        // A console user creates tokens beside the server: each success is an audit row the
        // server must seal.
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (stop, reported, data) = (stop.clone(), reported.clone(), data.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let name = format!("t{cycle}-{n}");
                    n += 1;
                    let r = run(&data, &["token", "create", &name]);
                    if r.code == Some(0) {
                        reported.lock().unwrap().push(name);
                    }
                }
            })
        };
        std::thread::sleep(Duration::from_millis(300) + *delay);
        server.kill();
        stop.store(true, Ordering::SeqCst);
        writer.join().expect("token writer");
        server = Server::start(&data, &[]);
        eprintln!(
            "cycle {cycle}: killed after {:?}; {} tokens reported created so far",
            Duration::from_millis(300) + *delay,
            reported.lock().unwrap().len()
        );
    }
    // The restarted server seals what is left within a tick.
    std::thread::sleep(Duration::from_millis(2500));
    server.terminate();
    let rows = check_audit_trail(&data);
    let reported = reported.lock().unwrap().clone();
    assert!(
        reported.len() >= CYCLES,
        "only {} tokens created",
        reported.len()
    );
    for name in &reported {
        let needle = format!("{name} (");
        assert!(
            rows.iter().any(|r| r.body.contains(&needle)),
            "token {name} was reported created but its audit entry is missing"
        );
    }
    let v = run(&data, &["verify"]);
    v.expect_code(0);
    assert!(v.stdout.starts_with("ok: "), "{}", v.stdout);
    eprintln!(
        "{} audit rows sealed exactly once; {} tokens created",
        rows.len(),
        reported.len()
    );
}

/// Runs `evident evidence export` of today to `out` with a zip; returns the child.
fn spawn_export(data: &Path, out: &Path) -> std::process::Child {
    let today = chrono::Utc::now().date_naive().to_string();
    support::command(data)
        .args([
            "evidence", "export", "--from", &today, "--to", &today, "--out",
        ])
        .arg(out)
        .args(["--zip", "--seed", "7"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning evident evidence export")
}

/// `evident evidence verify PACKAGE --key KEY`.
fn verify_package(data: &Path, package: &Path, key: &str) -> support::Run {
    run(
        data,
        &["evidence", "verify", path_str(package), "--key", key],
    )
}

/// Whether `dir` exists and holds anything.
fn non_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

#[test]
fn evidence_export_survives_sigkill_and_never_leaves_a_half_written_package() {
    const KILLS: usize = 6;
    let mut rng = Rng::new("evidence export");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let key = support::init(&data);
    support::add_source(&data, "app", "json");
    let records = support::lines_body(&support::ndjson("r", 3000));
    let file = tmp.path().join("records.ndjson");
    std::fs::write(&file, records).unwrap();
    run(&data, &["ingest", "--source", "app", path_str(&file)]).expect_code(0);

    // A full run first: how long an export takes here.
    let out0 = tmp.path().join("pkg-full");
    let t = Instant::now();
    let full = spawn_export(&data, &out0).wait_with_output().unwrap();
    let took = t.elapsed();
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    verify_package(&data, &out0, &key).expect_code(0);
    let zip0 = tmp.path().join("pkg-full.zip");
    verify_package(&data, &zip0, &key).expect_code(0);

    let mut completed = 1;
    let mut interrupted = 0;
    for (k, delay) in spread(&mut rng, took, KILLS).into_iter().enumerate() {
        let out = tmp.path().join(format!("pkg-{k}"));
        let zip = tmp.path().join(format!("pkg-{k}.zip"));
        let mut child = spawn_export(&data, &out);
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let status = child.wait().unwrap();
        if finished && status.success() {
            completed += 1;
        } else {
            interrupted += 1;
        }
        // Whatever the kill left: the ledger is intact, and any package present is whole.
        run(&data, &["verify"]).expect_code(0);
        if non_empty(&out) {
            let v = verify_package(&data, &out, &key);
            assert_eq!(
                v.code,
                Some(0),
                "kill {k} after {delay:?} left a package directory that does not verify:\n{}{}",
                v.stdout,
                v.stderr
            );
        }
        if zip.exists() {
            let v = verify_package(&data, &zip, &key);
            assert_eq!(
                v.code,
                Some(0),
                "kill {k} after {delay:?} left a zip that does not verify:\n{}{}",
                v.stdout,
                v.stderr
            );
        }
        // The re-run to the same place completes (unless the killed run already had).
        if !non_empty(&out) {
            let again = spawn_export(&data, &out).wait_with_output().unwrap();
            assert!(
                again.status.success(),
                "re-run after kill {k} ({delay:?}): {}",
                String::from_utf8_lossy(&again.stderr)
            );
            completed += 1;
        }
        verify_package(&data, &out, &key).expect_code(0);
        verify_package(&data, &zip, &key).expect_code(0);
        eprintln!("kill {k} after {delay:?} of {took:?}: finished before the kill: {finished}");
    }
    // No partial output is left: the re-run to the same place removed what the killed
    // one had written.
    let leftovers: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial-"))
        .collect();
    eprintln!("{completed} exports completed, {interrupted} interrupted");
    assert!(leftovers.is_empty(), "partial leftovers: {leftovers:?}");
    // Each completed export left exactly one access entry (killed ones may have too).
    let exports = check_audit_trail(&data)
        .into_iter()
        .filter(|r| r.body.contains(evident_server::evidence::EXPORT_ACTION))
        .count();
    assert!(
        exports >= completed && exports <= completed + interrupted,
        "{exports} export access entries for {completed} completed and {interrupted} killed exports"
    );
    run(&data, &["verify"]).expect_code(0);
}

/// When the test's records arrive (2026-01-01T00:00:00Z).
const T0_MS: i64 = 1_767_225_600_000;
const DAY_MS: i64 = 86_400_000;
/// Records in the archive test's ledger.
const ARCHIVE_RECORDS: u64 = 1_200;

/// Ledger options with small segments, so 1,200 records fill several.
fn small_segments() -> LedgerOptions {
    LedgerOptions {
        segment_max_bytes: 16 << 10,
    }
}

/// A data directory with 1,200 records received on 2026-01-01 in small segments.
fn archive_fixture(root: &Path) -> PathBuf {
    let data = DataDir::new(root.join("data"));
    data.init("evident.test/crash").unwrap();
    let node = Evident::open_with_ledger_options(&data, small_segments()).unwrap();
    for batch in 0..ARCHIVE_RECORDS / 10 {
        let entries = (0..10)
            .map(|i| {
                let n = batch * 10 + i;
                Entry::log(
                    "okta",
                    (T0_MS as u64 + n) * 1_000_000,
                    format!("{{\"uuid\":\"e{n}\",\"pad\":\"{}\"}}", "x".repeat(80)).into_bytes(),
                )
            })
            .collect();
        node.ledger.append(entries).unwrap();
    }
    node.ledger.checkpoint().unwrap();
    data.root().to_path_buf()
}

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The archive child: `archive_child_process` run by this test binary with
/// `EVIDENT_CRASH_ARCHIVE=DATA`.
fn spawn_archive_child(data: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "archive_child_process",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("EVIDENT_CRASH_ARCHIVE", data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(data.with_extension("stderr")).unwrap())
        .spawn()
        .expect("spawning the archive child")
}

/// Reads the child's `archived FIRST` / `done` lines until it exits (or is killed).
fn child_lines(child: &mut std::process::Child) -> std::thread::JoinHandle<Vec<String>> {
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.starts_with("archived ") || l == "done")
            .collect()
    })
}

/// Not a test by itself: the process `archive_sigkill…` kills. Archives every closed
/// segment (printing `archived FIRST` once each is marked done), then runs the retention
/// tick 401 days later (pruning what expired) and prints `done`.
#[test]
#[ignore = "the child process of segment_sealing_and_archive_survive_sigkill_at_random_points"]
fn archive_child_process() {
    let Some(data) = std::env::var_os("EVIDENT_CRASH_ARCHIVE") else {
        return;
    };
    let data = DataDir::new(PathBuf::from(data));
    let node = Arc::new(Evident::open_with_ledger_options(&data, small_segments()).unwrap());
    let archive = data.root().join("archive");
    let engine = RetentionEngine::with_target(node.clone(), Some(ArchiveTarget::Local(archive)));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let closed: Vec<u64> = node
            .ledger
            .segments()
            .iter()
            .filter(|s| !s.active)
            .map(|s| s.first)
            .collect();
        for first in closed {
            // Marked segments are done (a killed run's tick may have pruned them since).
            if engine.mark(first).is_none() {
                engine.archive(first).await.unwrap();
            }
            println!("archived {first}");
        }
        engine.tick(T0_MS + 401 * DAY_MS).await.unwrap();
    });
    println!("done");
}

#[test]
fn segment_sealing_and_archive_survive_sigkill_at_random_points() {
    const KILLS: usize = 6;
    let mut rng = Rng::new("archive");
    let tmp = tempfile::tempdir().unwrap();
    let fixture = archive_fixture(&tmp.path().join("fixture"));
    let verifier = DataDir::new(&fixture).signer().unwrap().verifier();

    // A full run on a copy: how long sealing, archiving and pruning take here.
    let full = tmp.path().join("full");
    copy_tree(&fixture, &full);
    let t = Instant::now();
    let mut child = spawn_archive_child(&full);
    let lines = child_lines(&mut child);
    assert!(child.wait().unwrap().success());
    let took = t.elapsed();
    let full_lines = lines.join().unwrap();
    assert_eq!(full_lines.last().map(String::as_str), Some("done"));
    let segments = full_lines.len() - 1;
    assert!(segments >= 4, "{full_lines:?}");

    for (k, delay) in spread(&mut rng, took, KILLS).into_iter().enumerate() {
        let data = tmp.path().join(format!("run-{k}"));
        copy_tree(&fixture, &data);
        let mut child = spawn_archive_child(&data);
        let lines = child_lines(&mut child);
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        let reported = lines.join().unwrap();
        // The ledger is intact after the kill, before any re-run.
        run(&data, &["verify"]).expect_code(0);
        // The re-run completes.
        let mut again = spawn_archive_child(&data);
        let again_lines = child_lines(&mut again);
        assert!(
            again.wait().unwrap().success(),
            "re-run after kill {k}: {}",
            std::fs::read_to_string(data.with_extension("stderr")).unwrap()
        );
        assert_eq!(
            again_lines.join().unwrap().last().map(String::as_str),
            Some("done")
        );
        // Every segment is archived whole: each reported one, and every other too.
        let archive = data.join("archive");
        let mut archived = BTreeSet::new();
        for line in full_lines
            .iter()
            .filter_map(|l| l.strip_prefix("archived "))
        {
            let first: u64 = line.parse().unwrap();
            let [seg, idx, manifest] = SealedSegment::object_names(first);
            let read = |n: &str| std::fs::read(archive.join(n)).unwrap();
            let manifest = String::from_utf8(read(&manifest)).unwrap();
            let back = open_archive(&manifest, &read(&seg), &read(&idx), &verifier)
                .unwrap_or_else(|e| panic!("kill {k}: archived segment {first}: {e}"));
            assert_eq!(back.manifest.first, first);
            archived.insert(first);
        }
        for line in reported.iter().filter_map(|l| l.strip_prefix("archived ")) {
            assert!(
                archived.contains(&line.parse().unwrap()),
                "kill {k}: segment {line} was reported archived but is not"
            );
        }
        // Every record is still readable locally or in the archive; verify is clean.
        let v = run(&data, &["verify"]);
        v.expect_code(0);
        check_every_record(&data, &archive, &verifier, k);
        eprintln!(
            "kill {k} after {delay:?} of {took:?}: {} segments reported archived before it",
            reported.len()
        );
    }
}

/// Each of the 1,200 records is in the local ledger or in an archived segment, exactly as
/// appended.
fn check_every_record(
    data: &Path,
    archive: &Path,
    verifier: &evident_ledger::NoteVerifier,
    k: usize,
) {
    let signer = DataDir::new(data).signer().unwrap();
    let ledger = Ledger::open(&data.join("ledger"), signer, small_segments()).unwrap();
    let mut bodies: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    for e in std::fs::read_dir(archive).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(first) = name.strip_suffix(".manifest") else {
            continue;
        };
        let first: u64 = first.parse().unwrap();
        let [seg, idx, manifest] = SealedSegment::object_names(first);
        let read = |n: &str| std::fs::read(archive.join(n)).unwrap();
        let manifest = String::from_utf8(read(&manifest)).unwrap();
        let back = open_archive(&manifest, &read(&seg), &read(&idx), verifier).unwrap();
        for (i, bytes) in back.iter() {
            bodies.insert(i, Entry::decode(bytes).unwrap().body);
        }
    }
    let mut found = BTreeSet::new();
    for i in 0..ledger.size() {
        let body = match ledger.entry(i) {
            Ok(e) => e.body,
            Err(_) => bodies
                .get(&i)
                .cloned()
                .unwrap_or_else(|| panic!("kill {k}: entry {i} is neither local nor archived")),
        };
        found.insert(body);
    }
    for n in 0..ARCHIVE_RECORDS {
        let want = format!("{{\"uuid\":\"e{n}\",\"pad\":\"{}\"}}", "x".repeat(80)).into_bytes();
        assert!(found.contains(&want), "kill {k}: record e{n} is lost");
    }
}
