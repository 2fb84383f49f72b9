//! `evident demo`: a month of a fictional company's logs, ingested through the normal
//! ingest path, then served.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use evident_model::Format;
use evident_server::{DataDir, Evident, build_entries, ingest};
use evident_sources::Limits;

use crate::Outcome;

/// Records per ingest call: like a shipper's batch.
const DEMO_BATCH: usize = 20_000;

/// Options of `evident demo`.
#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Listen address for the server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Days of activity to generate.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Random seed (the same seed gives the same records).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Build the data directory and exit without serving.
    #[arg(long)]
    no_serve: bool,
}

pub(crate) fn run(data: Option<PathBuf>, args: DemoArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let root = match data {
        Some(d) => d,
        None => tempfile::Builder::new()
            .prefix("evident-demo-")
            .tempdir()
            .context("creating a temporary data directory")?
            .keep(),
    };
    let data = DataDir::new(&root);
    data.init("evident.local/demo")
        .with_context(|| format!("initializing {}", root.display()))?;
    let node = Evident::open(&data)?;

    let mut config = evident_demo::DemoConfig::new(args.days, chrono::Utc::now());
    config.seed = args.seed;
    let demo = evident_demo::generate(&config);
    let generated = started.elapsed();

    let limits = Limits::default();
    let mut total = 0u64;
    println!("{:<20} {:<12} {:>9}", "source", "format", "records");
    for source in &demo.sources {
        let format: Format = source.format.parse()?;
        node.db.add_source(&source.name.parse()?, format)?;
        let metadata = vec![
            ("peer".to_owned(), "demo-generator".to_owned()),
            ("format".to_owned(), format.as_str().to_owned()),
        ];
        for chunk in source.records.chunks(DEMO_BATCH) {
            let body = chunk.join(&b'\n');
            let (entries, warnings) =
                build_entries(source.name, &body, format.framing(), &limits, &metadata)
                    .with_context(|| format!("framing demo records of {}", source.name))?;
            let outcome = ingest(&node.ledger, entries, warnings)?;
            total += outcome.accepted;
        }
        println!(
            "{:<20} {:<12} {:>9}",
            source.name,
            source.format,
            source.records.len()
        );
    }
    let cp = node.ledger.checkpoint()?;
    println!(
        "\n{total} records from {} sources ({} days) ingested in {:.1}s (generation {:.1}s); tree size {}",
        demo.sources.len(),
        args.days,
        started.elapsed().as_secs_f64(),
        generated.as_secs_f64(),
        cp.checkpoint.size
    );
    println!("Planted incidents for detection to find:");
    for i in &demo.incidents {
        println!(
            "  {}  {:<28} {}",
            i.time.format("%Y-%m-%d %H:%M"),
            i.name,
            i.description
        );
    }
    println!("\nData directory: {}", root.display());
    println!("Verifier key:   {}", node.ledger.verifier());
    println!("Try:            evident --data {} verify", root.display());
    if args.no_serve {
        return Ok(Outcome::Clean);
    }
    crate::serve(node, Some(args.listen))
}
