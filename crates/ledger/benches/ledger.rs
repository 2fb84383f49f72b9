//! Ledger hot paths on 1 KiB entries (DESIGN §12): group-committed append from one thread and
//! from four, full `verify`, and raw SHA-256 leaf hashing of the same entries as the ceiling.
//!
//! `cargo bench -p evident-ledger` (a few minutes; writes a few GB to the temp dir).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed setup should abort the bench

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use evident_ledger::{Entry, Ledger, LedgerOptions, NoteSigner, verify};
use sha2::{Digest, Sha256};

/// Entries per append call: one group commit each.
const BATCH: usize = 1000;
/// Entries in the ledger that `verify` reads.
const VERIFY_ENTRIES: usize = 200_000;

/// A 1 KiB JSON event, different for each `i`.
fn event(i: usize) -> Entry {
    let head = format!(
        "{{\"ts\":\"2026-11-26T10:{:02}:{:02}Z\",\"host\":\"web-{}\",\"user\":\"u{}\",\"msg\":\"",
        i / 60 % 60,
        i % 60,
        i % 17,
        i % 1013
    );
    let mut body = head.into_bytes();
    body.resize(1024 - 2, b'a' + (i % 26) as u8);
    body.extend_from_slice(b"\"}");
    Entry::log("bench", 1_764_150_000_000_000_000 + i as u64, body)
}

fn batch(from: usize) -> Vec<Entry> {
    (from..from + BATCH).map(event).collect()
}

fn open(dir: &std::path::Path) -> Ledger {
    Ledger::open(
        dir,
        NoteSigner::generate("evident.bench/ledger").unwrap(),
        LedgerOptions::default(),
    )
    .unwrap()
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("ledger");
    g.throughput(Throughput::Elements(BATCH as u64));
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let template = batch(0);
    g.bench_function("append_1kib", |b| {
        b.iter_batched(
            || template.clone(),
            |entries| ledger.append(entries).unwrap(),
            BatchSize::LargeInput,
        )
    });
    drop(ledger);
    drop(dir);

    const THREADS: usize = 4;
    g.throughput(Throughput::Elements((THREADS * BATCH) as u64));
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let templates: Vec<Vec<Entry>> = (0..THREADS).map(|t| batch(t * BATCH)).collect();
    g.bench_function("append_1kib_4_threads", |b| {
        b.iter_batched(
            || templates.clone(),
            |per_thread| {
                std::thread::scope(|s| {
                    for entries in per_thread {
                        let ledger = &ledger;
                        s.spawn(move || ledger.append(entries).unwrap());
                    }
                })
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn verify_and_hash(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    for from in (0..VERIFY_ENTRIES).step_by(BATCH) {
        ledger.append(batch(from)).unwrap();
    }
    ledger.checkpoint().unwrap();
    let verifier = ledger.verifier();
    drop(ledger);
    let first = verify(dir.path(), &verifier, &mut |_, _| {}).unwrap();
    assert!(first.is_clean(), "{:?}", first.damage);
    assert_eq!(first.entries, VERIFY_ENTRIES as u64);

    let mut g = c.benchmark_group("ledger");
    g.throughput(Throughput::Bytes(first.bytes));
    g.bench_function("verify", |b| {
        b.iter(|| {
            let report = verify(dir.path(), &verifier, &mut |_, _| {}).unwrap();
            assert_eq!(report.entries, VERIFY_ENTRIES as u64);
        })
    });

    let encoded: Vec<Vec<u8>> = batch(0).iter().map(|e| e.encode().unwrap()).collect();
    let bytes: usize = encoded.iter().map(Vec::len).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("sha256_1kib_baseline", |b| {
        b.iter(|| {
            for e in &encoded {
                let mut h = Sha256::new();
                h.update([0u8]);
                h.update(e);
                black_box(h.finalize());
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = append, verify_and_hash
}
criterion_main!(benches);
