//! `evident bench search`: N generated Okta System Log records (about 1 KiB each) written
//! as NDJSON, parsed and indexed; then selective term queries, `stats count by` and a
//! timechart over the index, and ripgrep over the same NDJSON for the same selective
//! queries, in the same run.

use std::io::{BufRead as _, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use evident_model::Format;
use evident_search::SearchIndex;
use evident_sources::{ParseContext, Parser};
use serde_json::json;

use crate::Outcome;

/// `evident bench search` options.
#[derive(Args)]
pub(crate) struct SearchBench {
    /// Events to generate and index.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Work directory (default: a temporary directory beside the current one).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Runs of each index query (p50/p99 over them).
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// The ripgrep binary to compare with.
    #[arg(long, default_value = "rg")]
    rg: String,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

const USERS: u64 = 2_000;
const START_MS: i64 = 1_762_000_000_000;
const SPAN_MS: i64 = 30 * 86_400_000;
const EVENT_TYPES: &[(&str, &str, &str)] = &[
    ("user.session.start", "User login to Okta", "SUCCESS"),
    ("user.session.start", "User login to Okta", "FAILURE"),
    (
        "user.authentication.sso",
        "User single sign on to app",
        "SUCCESS",
    ),
    ("user.session.end", "User logout from Okta", "SUCCESS"),
    (
        "policy.evaluate_sign_on",
        "Evaluation of sign-on policy",
        "ALLOW",
    ),
    (
        "user.mfa.factor.verify",
        "Verify user identity with MFA",
        "SUCCESS",
    ),
    (
        "app.user_membership.add",
        "Add user to application membership",
        "SUCCESS",
    ),
];

/// Runs the benchmark.
pub(crate) fn run(args: SearchBench) -> anyhow::Result<Outcome> {
    // Beside the current directory, not in /tmp: 10M events need ~25 GB.
    let (tmp, dir) = crate::bench::work_dir(
        args.dir.as_deref(),
        "evident-bench-search-",
        Some(Path::new(".")),
    )?;
    std::fs::create_dir_all(&dir)?;
    let ndjson = dir.join("events.ndjson");
    let t = Instant::now();
    let bytes = generate(&ndjson, args.events)?;
    eprintln!(
        "generated {} events, {:.0} MB, in {:.1} s",
        args.events,
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let index = SearchIndex::open(&dir.join("index"))?;
    let mut writer = index.writer(2, 512 * 1024 * 1024)?;
    let t = Instant::now();
    let mut parser = Parser::new(Format::Okta);
    let reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&ndjson)?);
    let mut n = 0u64;
    for line in reader.split(b'\n') {
        let line = line?;
        let ctx = ParseContext::new("okta", 0);
        for e in parser.parse(&line, &ctx).unwrap_or_default() {
            writer.add(n, "okta", &e)?;
        }
        n += 1;
    }
    writer.commit(n)?;
    let index_s = t.elapsed().as_secs_f64();
    index.reload()?;
    let index_bytes = dir_size(&dir.join("index"));
    eprintln!(
        "parsed and indexed {n} events in {index_s:.1} s ({:.0} events/s, {:.1} MB/s); index {:.0} MB",
        n as f64 / index_s,
        bytes as f64 / 1e6 / index_s,
        index_bytes as f64 / 1e6
    );

    let (from, to) = (START_MS, START_MS + SPAN_MS);
    // Selective queries and the fixed string ripgrep looks for to answer the same question.
    let selective = [
        ("user:user1234@example.com", "\"user1234@example.com\""),
        ("src_endpoint.ip:198.51.7.77", "\"198.51.7.77\""),
        ("\"User 1234\"", "\"User 1234\""),
    ];
    let mut rows = Vec::new();
    for (q, needle) in selective {
        let (p50, p99, total) = timed(&index, q, from, to, args.runs)?;
        let (rg_s, rg_count) = ripgrep(&args.rg, needle, &ndjson)?;
        rows.push(json!({
            "query": q, "hits": total, "p50_ms": p50, "p99_ms": p99,
            "rg_needle": needle, "rg_lines": rg_count, "rg_ms": rg_s * 1e3,
            "ratio": rg_s * 1e3 / p50.max(1e-3),
        }));
    }
    let mut aggs = Vec::new();
    for q in [
        "* | stats count by user",
        "* | stats count by activity_name, status",
        "status:failure | stats count by src_endpoint.ip | sort -count | head 10",
        "* | timechart 1h count",
    ] {
        let (p50, p99, total) = timed(&index, q, from, to, args.runs.min(10))?;
        aggs.push(json!({"query": q, "events": total, "p50_ms": p50, "p99_ms": p99}));
    }
    let report = json!({
        "events": n, "ndjson_bytes": bytes, "index_bytes": index_bytes,
        "index_seconds": index_s, "index_events_per_s": n as f64 / index_s,
        "index_mb_per_s": bytes as f64 / 1e6 / index_s,
        "selective": rows, "aggregations": aggs,
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    drop(tmp);
    Ok(Outcome::Clean)
}

/// Runs `q` `runs` times; (p50 ms, p99 ms, matching events).
fn timed(
    index: &SearchIndex,
    q: &str,
    from: i64,
    to: i64,
    runs: usize,
) -> anyhow::Result<(f64, f64, u64)> {
    let mut times = Vec::with_capacity(runs);
    let mut total = 0;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        total = index.search(q, from, to, 100)?.total;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    Ok((pct(0.5), pct(0.99), total))
}

/// ripgrep counting matching lines for a fixed string; median of 3 runs (s, lines).
fn ripgrep(rg: &str, needle: &str, file: &Path) -> anyhow::Result<(f64, u64)> {
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let out = Command::new(rg)
            .args(["-c", "-F", needle])
            .arg(file)
            .output()
            .with_context(|| format!("running {rg} (apt-get install ripgrep)"))?;
        times.push(t.elapsed().as_secs_f64());
        count = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[1], count))
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Writes `n` Okta System Log records; returns the bytes written.
fn generate(path: &Path, n: u64) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut bytes = 0u64;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        // xorshift64*: fast, deterministic.
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    for i in 0..n {
        let r = next();
        let user = r % USERS;
        let (event_type, message, result) =
            EVENT_TYPES[((r >> 16) % EVENT_TYPES.len() as u64) as usize];
        let ip_c = (r >> 24) % 32;
        let ip_d = (r >> 32) % 254 + 1;
        let ms = START_MS + (i as i64 * SPAN_MS / n.max(1) as i64);
        let published = chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default();
        let line = json!({
            "uuid": format!("{:016x}-{i:012}", r),
            "published": published,
            "eventType": event_type,
            "version": "0",
            "severity": if result == "FAILURE" { "WARN" } else { "INFO" },
            "legacyEventType": format!("core.{event_type}"),
            "displayMessage": message,
            "actor": {
                "id": format!("00u{user:017}"), "type": "User",
                "alternateId": format!("user{user}@example.com"),
                "displayName": format!("User {user}"),
            },
            "client": {
                "userAgent": {
                    "rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                    "os": "Mac OS X", "browser": "CHROME",
                },
                "zone": "null", "device": "Computer",
                "ipAddress": format!("198.51.{ip_c}.{ip_d}"),
                "geographicalContext": {
                    "city": "Amsterdam", "state": "North Holland", "country": "Netherlands",
                    "postalCode": "1012", "geolocation": {"lat": 52.37, "lon": 4.89},
                },
            },
            "outcome": {"result": result, "reason": if result == "FAILURE" { "INVALID_CREDENTIALS" } else { "" }},
            "target": [{"id": format!("0oa{:017}", r % 40), "type": "AppInstance", "alternateId": format!("app{}", r % 40), "displayName": format!("App {}", r % 40)}],
            "transaction": {"type": "WEB", "id": format!("W{:016x}", r.rotate_left(17))},
            "debugContext": {"debugData": {
                "requestId": format!("{:016x}", r.rotate_left(29)),
                "requestUri": "/api/v1/authn", "url": "/api/v1/authn?",
                "threatSuspected": "false",
            }},
            "authenticationContext": {"authenticationStep": 0, "externalSessionId": format!("102{:013x}", r >> 8)},
            "securityContext": {"asNumber": 64496, "asOrg": "example isp", "isp": "example isp", "domain": "example.net", "isProxy": false},
        })
        .to_string();
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        bytes += line.len() as u64 + 1;
    }
    out.flush()?;
    Ok(bytes)
}
