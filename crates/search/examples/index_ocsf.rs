//! Times indexing of normalized events (one OCSF JSON object per line, as
//! `evident parse` prints them): `cargo run --release -p evident-search --example index_ocsf -- FILE DIR`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: failures end it

use std::io::BufRead as _;
use std::time::Instant;

use evident_model::Event;
use evident_search::SearchIndex;

fn main() {
    let mut args = std::env::args().skip(1);
    let file = args.next().expect("FILE");
    let dir = std::path::PathBuf::from(args.next().expect("DIR"));
    let t = Instant::now();
    let events: Vec<Event> = std::io::BufReader::new(std::fs::File::open(&file).unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    eprintln!(
        "read {} events in {:.1} s",
        events.len(),
        t.elapsed().as_secs_f64()
    );
    let index = SearchIndex::open(&dir).unwrap();
    let threads: usize = args.next().map_or(2, |a| a.parse().unwrap());
    let heap_mb: usize = args.next().map_or(512, |a| a.parse().unwrap());
    let mut w = index.writer(threads, heap_mb << 20).unwrap();
    let t = Instant::now();
    for (i, e) in events.iter().enumerate() {
        w.add(i as u64, "okta", e).unwrap();
    }
    w.commit(events.len() as u64).unwrap();
    let s = t.elapsed().as_secs_f64();
    eprintln!(
        "indexed {} events in {s:.2} s ({:.0} events/s)",
        events.len(),
        events.len() as f64 / s
    );
}
