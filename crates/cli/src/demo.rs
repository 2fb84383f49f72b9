//! `evident demo`: a month of a fictional company's logs, replayed as live collection through
//! the normal ingest path, normalized, then served.
//!
//! Every source is registered with the cadence it is expected to keep. The records of all
//! sources are merged in the order their events happened and ingested in shipper-sized batches,
//! each entry stamped as received a few seconds (1–30 s, seeded) after its event, so source
//! health sees what live collection would show: the domain controller that went silent three
//! days ago, the firewall whose clock runs slow.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use evident_demo::Demo;
use evident_ledger::Entry;
use evident_model::Format;
use evident_server::{DataDir, Evident, Pipeline, build_entries, ingest, source_report};
use evident_sources::Limits;

use crate::Outcome;

/// Records per ingest call: like a shipper's batch.
const DEMO_BATCH: usize = 20_000;
/// Shortest and longest simulated delivery delay, milliseconds.
const DELAY_MS: (i64, i64) = (1_000, 30_000);

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
    /// Syslog TCP listener the live day's OS logs arrive on (auth.log → linux-auth, the
    /// firewall's kernel log → firewall).
    #[arg(long, default_value = "127.0.0.1:5514")]
    syslog_tcp: std::net::SocketAddr,
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
    // The period ends just far enough in the past that every simulated arrival has happened.
    let end = chrono::Utc::now() - chrono::Duration::milliseconds(DELAY_MS.1);
    let start = end - chrono::Duration::days(i64::from(args.days));
    prepare_config(
        &data,
        &start.format("%Y-%m-%d").to_string(),
        args.syslog_tcp,
    )?;
    let node = Evident::open(&data)?;
    create_demo_users(&node, start.timestamp_millis())?;

    let mut config = evident_demo::DemoConfig::new(args.days, end);
    config.seed = args.seed;
    let demo = evident_demo::generate(&config);
    let generated = started.elapsed();

    println!("{:<20} {:<18} {:>9}", "source", "format", "records");
    let mut tokens = std::collections::HashMap::new();
    for source in &demo.sources {
        let format: Format = source.format.parse()?;
        let token = node
            .db
            .add_source_with_cadence(&source.name.parse()?, format, source.cadence_secs)
            .with_context(|| format!("registering source {}", source.name))?;
        tokens.insert(source.name.to_owned(), token);
        println!(
            "{:<20} {:<18} {:>9}",
            source.name,
            source.format,
            source.records.len()
        );
    }
    let total = replay(&node, &demo, args.seed)?;
    let cp = node.ledger.checkpoint()?;
    println!(
        "\n{total} records from {} sources ({} days) ingested in {:.1}s (generation {:.1}s); tree size {}",
        demo.sources.len(),
        args.days,
        started.elapsed().as_secs_f64(),
        generated.as_secs_f64(),
        cp.checkpoint.size
    );

    let normalizing = Instant::now();
    // Indexed for search while it is normalized: two indexing threads work while the
    // pipeline's threads detect.
    let search = evident_server::search_api::open_index(&node.data)
        .and_then(|i| i.writer(2, 256 * 1024 * 1024))
        .context("opening the demo's search index")?;
    let mut pipeline = Pipeline::new(node.config.json_mappings.clone())
        .with_detector(evident_server::detector_for(&node.config, &node.db)?)
        .with_search(Some(search));
    let entries = pipeline
        .catch_up(&node.ledger, &node.db)
        .context("normalizing the demo records")?;
    // What source health says now (the silent domain controller, the skewed firewall)
    // becomes system events, and detection runs on them too.
    evident_server::system_events::HealthWatch::default()
        .check(&node, chrono::Utc::now().timestamp_millis())?;
    let entries = entries + pipeline.catch_up(&node.ledger, &node.db)?;
    // Commits the index and frees its writer for the server.
    drop(pipeline);
    let report = source_report(&node, chrono::Utc::now().timestamp_millis())?;
    let events: u64 = report.iter().map(|r| r.events).sum();
    let failed: u64 = report.iter().map(|r| r.parse_errors).sum();
    println!(
        "{events} events normalized from {entries} entries in {:.1}s ({failed} records did not parse)",
        normalizing.elapsed().as_secs_f64()
    );

    let responding = Instant::now();
    let response = crate::demo_response::respond(&node, chrono::Utc::now().timestamp_millis())
        .context("simulating the month's response work")?;
    println!(
        "{} alerts ({} placed in cases) make {} cases, {} closed; {} weekly reviews signed, {} overdue ({:.1}s)",
        node.db.alert_count()?,
        response.cases,
        node.db.cases(evident_store::CaseFilter::All)?.len(),
        response.closed,
        response.reviews_signed,
        response.reviews_overdue,
        responding.elapsed().as_secs_f64()
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
    println!(
        "\nSign in at http://{} (demo passwords; real accounts get one-time ones):",
        args.listen
    );
    for (user, role, password) in DEMO_USERS {
        println!("  {role:<9} {user:<16} {password}");
    }
    println!("\nData directory: {}", root.display());
    println!("Verifier key:   {}", node.ledger.verifier());
    println!("Try:            evident --data {} verify", root.display());
    println!("                evident --data {} sources", root.display());
    println!("                evident --data {} controls", root.display());
    if args.no_serve {
        return Ok(Outcome::Clean);
    }
    // The company's next day, shipped live through the receivers while the demo serves.
    let live = evident_demo::generate(&evident_demo::DemoConfig {
        days: 1,
        end: chrono::Utc::now() + chrono::Duration::days(1),
        ..config
    });
    println!(
        "Live:           the next day's activity arrives as it happens: OS logs over syslog TCP ({}), app logs through Splunk HEC, the rest through HTTP ingest",
        args.syslog_tcp
    );
    let syslog = args.syslog_tcp;
    crate::serve_with(node, Some(args.listen), move |http| {
        crate::demo_live::ship(live, tokens, http, Some(syslog))
    })
}

/// The demo's people, one or more per role: the analysts and the reviewer are the names the
/// simulated response work is attributed to.
const DEMO_USERS: [(&str, evident_model::Role, &str); 6] = [
    ("admin", evident_model::Role::Admin, "demo-admin-password"),
    (
        "maya.chen",
        evident_model::Role::Analyst,
        "demo-analyst-password",
    ),
    (
        "sam.okafor",
        evident_model::Role::Analyst,
        "demo-analyst-password",
    ),
    (
        "lee.park",
        evident_model::Role::Analyst,
        "demo-analyst-password",
    ),
    (
        "rita.alvarez",
        evident_model::Role::Reviewer,
        "demo-reviewer-password",
    ),
    (
        "audrey.auditor",
        evident_model::Role::Auditor,
        "demo-auditor-password",
    ),
];

/// Creates [`DEMO_USERS`]; the auditor's window is the demo period plus thirty days of
/// fieldwork.
fn create_demo_users(node: &Evident, period_start_ms: i64) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    for (username, role, password) in DEMO_USERS {
        let window = (role == evident_model::Role::Auditor)
            .then_some((period_start_ms, now + 30 * 86_400_000));
        node.db.create_user(
            &evident_store::NewUser {
                username,
                role,
                password: Some(password),
                window,
            },
            now,
        )?;
    }
    Ok(())
}

/// Northwind's allow-list: the service accounts whose nightly jobs read the customer
/// database are not "sensitive data accessed after hours".
const NIGHTLY_JOBS_FILTER: &str = "title: Nightly jobs on the customer database
id: 5b0f5f0e-2d0c-4c55-9a51-6f1f3c7a9e10
description: The app and the schema migrator read the customer database every night by design.
author: Northwind security team
date: 2026-11-01
logsource:
    product: evident
filter:
    rules:
        - 9d3e8a41-52f6-4c0b-8e7a-3a1f6c2d0b01
    service_accounts:
        actor.user.name:
            - app
            - migrator
    condition: not service_accounts
";

/// The demo's config: the weekly log review schedule starts with the demo's month (so the
/// month has its reviews), the customer database is a sensitive asset, and a syslog TCP
/// listener takes the OS logs (auth.log lines are
/// `linux-auth`, the kernel's netfilter lines `firewall`).
fn prepare_config(
    data: &DataDir,
    review_start: &str,
    syslog_tcp: std::net::SocketAddr,
) -> anyhow::Result<()> {
    use evident_server::receivers::syslog::{SourceRule, SyslogListenerConfig, SyslogProtocol};
    let mut config = data.config()?;
    for r in &mut config.reviews {
        r.start = review_start.to_owned();
    }
    // The customer database is the company's sensitive data store; its nightly jobs (the
    // app's and the schema migrator's service accounts) are allow-listed with a Sigma filter
    // in the team's own rules directory, as a team would after the first noisy night.
    config.assets.push(evident_detect::Asset {
        name: "customer database".into(),
        matches: [("database.name".to_owned(), "customers".to_owned())].into(),
        sensitive: true,
    });
    let rules = data.root().join("rules");
    std::fs::create_dir_all(&rules).with_context(|| format!("creating {}", rules.display()))?;
    let filter = rules.join("allow-nightly-jobs.yml");
    std::fs::write(&filter, NIGHTLY_JOBS_FILTER)
        .with_context(|| format!("writing {}", filter.display()))?;
    config.detection.rules_dirs.push(rules);
    config.syslog.push(SyslogListenerConfig {
        source: "linux-auth".into(),
        map: vec![SourceRule {
            from: None,
            app: Some("kernel".into()),
            source: "firewall".into(),
        }],
        ..SyslogListenerConfig::new(SyslogProtocol::Tcp, syslog_tcp)
    });
    let text = toml::to_string_pretty(&config).context("writing the demo config")?;
    let path = data.config_path();
    std::fs::write(
        &path,
        format!("# Evident configuration (demo). See README.md for every setting.\n{text}"),
    )
    .with_context(|| format!("writing {}", path.display()))
}

/// Ingests every source's records merged in event-time order, in batches of [`DEMO_BATCH`],
/// each entry received [`DELAY_MS`] after its event; returns how many entries were appended.
///
/// Within a batch each source's records are a contiguous run, framed in one
/// [`build_entries`] call (which yields entries in record order) and then dealt back into the
/// merged order, each getting its own receive time.
fn replay(node: &Evident, demo: &Demo, seed: u64) -> anyhow::Result<u64> {
    let limits = Limits::default();
    let sources = &demo.sources;
    let mut formats = Vec::with_capacity(sources.len());
    let mut metadata = Vec::with_capacity(sources.len());
    for source in sources {
        let format: Format = source.format.parse()?;
        formats.push(format);
        metadata.push(vec![
            ("peer".to_owned(), "demo-generator".to_owned()),
            ("format".to_owned(), format.as_str().to_owned()),
            ("simulated".to_owned(), "demo".to_owned()),
        ]);
    }
    // The next unread record of each source, earliest event first (ties: source order).
    let mut heap: BinaryHeap<Reverse<(i64, usize)>> = sources
        .iter()
        .enumerate()
        .filter_map(|(s, source)| source.times_ms.first().map(|&t| Reverse((t, s))))
        .collect();
    let mut next = vec![0usize; sources.len()];
    let mut delays = SplitMix64(seed);
    let mut total = 0;
    let mut order = Vec::with_capacity(DEMO_BATCH);
    loop {
        let first = next.clone();
        order.clear();
        while order.len() < DEMO_BATCH
            && let Some(Reverse((_, s))) = heap.pop()
        {
            order.push(s);
            next[s] += 1;
            if let Some(&t) = sources[s].times_ms.get(next[s]) {
                heap.push(Reverse((t, s)));
            }
        }
        if order.is_empty() {
            return Ok(total);
        }
        let mut framed: Vec<std::vec::IntoIter<Entry>> = Vec::with_capacity(sources.len());
        let mut warnings = Vec::new();
        for (s, source) in sources.iter().enumerate() {
            let run = first[s]..next[s];
            if run.is_empty() {
                framed.push(Vec::new().into_iter());
                continue;
            }
            let body = source.records[run.clone()].join(&b'\n');
            let (entries, w) = build_entries(
                source.name,
                &body,
                formats[s].framing(),
                &limits,
                &metadata[s],
            )
            .with_context(|| format!("framing demo records of {}", source.name))?;
            anyhow::ensure!(
                entries.len() == run.len(),
                "framing {} records of {} gave {} entries",
                run.len(),
                source.name,
                entries.len()
            );
            warnings.extend(w);
            framed.push(entries.into_iter());
        }
        let mut cursor = first;
        let mut batch = Vec::with_capacity(order.len());
        for &s in &order {
            let Some(mut entry) = framed[s].next() else {
                anyhow::bail!("ran out of framed entries of {}", sources[s].name);
            };
            let event_ms = sources[s].times_ms[cursor[s]];
            cursor[s] += 1;
            let received_ms = event_ms + delays.between(DELAY_MS);
            // Demo times lie after 1970 (the period ends now), so the conversion cannot fail.
            entry.received_at_ns = u64::try_from(received_ms)
                .unwrap_or_default()
                .saturating_mul(1_000_000);
            batch.push(entry);
        }
        total += ingest(&node.ledger, batch, warnings)?.accepted;
    }
}

/// SplitMix64: a tiny seeded generator for the delivery delays, so the replay does not depend
/// on a random-number crate.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `lo..=hi` (`lo <= hi`).
    fn between(&mut self, (lo, hi): (i64, i64)) -> i64 {
        let span = hi.abs_diff(lo) + 1;
        // The remainder is below `span`, which fits in i64 here.
        lo + (self.next() % span) as i64
    }
}
