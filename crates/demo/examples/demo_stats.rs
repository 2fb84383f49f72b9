//! Prints per-source record counts and generation time for a 30-day demo.
//!
//! `cargo run --release -p evident-demo --example demo_stats [days] [employees]`

use std::time::Instant;

use chrono::{DateTime, Utc};
use evident_demo::{DemoConfig, generate};

fn main() {
    let mut args = std::env::args().skip(1);
    let days = args.next().and_then(|a| a.parse().ok()).unwrap_or(30);
    let employees = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let end = DateTime::<Utc>::from_timestamp(1_796_083_200, 0).unwrap_or_default(); // 2026-12-01
    let config = DemoConfig {
        employees,
        ..DemoConfig::new(days, end)
    };
    let started = Instant::now();
    let demo = generate(&config);
    let elapsed = started.elapsed();
    let mut total = 0;
    let mut bytes = 0;
    for source in &demo.sources {
        let size: usize = source.records.iter().map(Vec::len).sum();
        println!(
            "{:<16} {:<16} {:>8} records {:>6} MiB",
            source.name,
            source.format,
            source.records.len(),
            size >> 20
        );
        total += source.records.len();
        bytes += size;
    }
    println!(
        "{:<33} {total:>8} records {:>6} MiB in {elapsed:.2?}",
        "total",
        bytes >> 20
    );
    for incident in &demo.incidents {
        println!(
            "{} {:<30} {:<15} {}",
            incident.time, incident.name, incident.source, incident.description
        );
    }
}
