//! `evident search QUERY` and `evident reindex`: the search index from the command line.
//! Search first brings the index up to the ledger when no server is writing it (a server
//! keeps it current itself); reindex rebuilds it from every ledger entry.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use evident_search::{SearchError, SearchResult};
use evident_server::Evident;
use evident_server::indexer::index_range;
use evident_server::search_api::{WRITER_HEAP_BYTES, open_index, parse_time};

use crate::Outcome;

/// Default window: the last 24 hours.
const DEFAULT_WINDOW_MS: i64 = 86_400_000;

/// Arguments of `evident search`.
pub(crate) struct SearchArgs<'a> {
    pub query: &'a str,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub limit: usize,
    pub json: bool,
}

/// `evident search`.
pub(crate) fn search(node: &Evident, args: SearchArgs<'_>) -> anyhow::Result<Outcome> {
    let now_ms = (evident_ledger::now_ns() / 1_000_000) as i64;
    let to_ms = match args.to {
        Some(t) => time_arg("--to", t, now_ms)?,
        None => now_ms,
    };
    let from_ms = match args.from {
        Some(t) => time_arg("--from", t, now_ms)?,
        None => to_ms - DEFAULT_WINDOW_MS,
    };
    // Searching log data is audited (DESIGN.md §1.3), the window with the query.
    crate::access::record(
        node,
        &crate::cli_actor(),
        "search",
        &format!("{} from {from_ms} to {to_ms}", args.query),
    )?;
    catch_up(node)?;
    let index = open_index(&node.data).context("opening the search index")?;
    let result = index
        .search(args.query, from_ms, to_ms, args.limit)
        .map_err(|e| match e {
            SearchError::Query(q) => anyhow::anyhow!("{q}"),
            other => anyhow::Error::new(other),
        })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &result)?;
        writeln!(out)?;
    } else {
        print_text(&mut out, &result)?;
    }
    Ok(Outcome::Clean)
}

/// `evident reindex`: drops the index and re-parses every ledger entry into it.
pub(crate) fn reindex(node: &Evident) -> anyhow::Result<Outcome> {
    let index = open_index(&node.data).context("opening the search index")?;
    let mut writer = index
        .writer(2, WRITER_HEAP_BYTES * 2)
        .context("taking the search index writer (stop `evident serve` first)")?;
    writer.clear()?;
    let size = node.ledger.size();
    let bar = crate::import::progress_bar(size, "reindex");
    if let Some(b) = &bar {
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} entries ({per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
    }
    let started = Instant::now();
    let events = index_range(
        &node.ledger,
        &node.db,
        &node.config.json_mappings,
        &mut writer,
        size,
        &mut |done, _| {
            if let Some(b) = &bar {
                b.set_position(done);
            }
        },
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!(
        "indexed {events} events from {size} ledger entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Outcome::Clean)
}

/// Indexes what the ledger holds beyond the index, unless a server writes the index.
fn catch_up(node: &Evident) -> anyhow::Result<()> {
    let index = open_index(&node.data).context("opening the search index")?;
    let mut writer = match index.writer(1, WRITER_HEAP_BYTES) {
        Ok(w) => w,
        Err(SearchError::Locked { .. }) => return Ok(()),
        Err(e) => return Err(e).context("opening the search index writer"),
    };
    let size = node.ledger.size();
    if writer.indexed_through() < size {
        index_range(
            &node.ledger,
            &node.db,
            &node.config.json_mappings,
            &mut writer,
            size,
            &mut |_, _| {},
        )?;
    }
    Ok(())
}

/// `--from`/`--to`: RFC 3339, `YYYY-MM-DD`, ms since the epoch, or a span ago (`2h`, `7d`).
fn time_arg(flag: &str, text: &str, now_ms: i64) -> anyhow::Result<i64> {
    if let Some(span) = evident_search::parse_span(text) {
        return Ok(now_ms - span);
    }
    parse_time(text).with_context(|| {
        format!("{flag} {text:?}: expected RFC 3339, YYYY-MM-DD, ms since the epoch, or a span ago like 2h or 7d")
    })
}

fn print_text(out: &mut impl std::io::Write, r: &SearchResult) -> anyhow::Result<()> {
    if let Some(t) = &r.table {
        writeln!(out, "{}", t.columns.join("\t"))?;
        for row in &t.rows {
            let cells: Vec<String> = row.iter().map(cell).collect();
            writeln!(out, "{}", cells.join("\t"))?;
        }
        return Ok(());
    }
    if let Some(c) = &r.timechart {
        for b in &c.buckets {
            let split: Vec<String> = b.by.iter().map(|(k, v)| format!("{k}={v}")).collect();
            writeln!(out, "{}\t{}\t{}", iso(b.start_ms), b.count, split.join(" "))?;
        }
        return Ok(());
    }
    for h in &r.hits {
        let text = match &h.fields {
            Some(f) => serde_json::to_string(f)?,
            None => h
                .message
                .clone()
                .or_else(|| h.raw.clone())
                .unwrap_or_default()
                .replace('\n', " "),
        };
        writeln!(
            out,
            "{}\t#{}\t{}\t{}\t{}",
            iso(h.time),
            h.ledger_index,
            h.source,
            h.class_name.as_deref().unwrap_or("-"),
            text
        )?;
    }
    eprintln!(
        "{} of {} matching events (each #N is a ledger entry: `evident entry N`, `evident proof inclusion --index N`)",
        r.hits.len(),
        r.total
    );
    Ok(())
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}
