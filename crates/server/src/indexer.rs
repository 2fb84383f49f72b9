//! Feeding the search index from the ledger. The index is a projection of the ledger: its
//! commits record how far the ledger is indexed, so a gap (a crash between the index commit
//! and the pipeline's, an index deleted, a pipeline run by a CLI command without the index)
//! is re-parsed from the ledger, and entries already indexed are never added twice.
//!
//! In the server, indexing runs in its own task behind the pipeline's watermark
//! ([`spawn`]): indexing an event costs several times what parsing and detecting it do, and
//! an alert must not wait for search. Under load search lags (`evident_search_lag_entries`
//! on `/metrics`) and catches up when the load passes. The demo and `evident reindex` feed
//! the index synchronously ([`feed`], [`index_range`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use evident_ledger::{Entry, EntryKind, Ledger};
use evident_model::{Event, Format};
use evident_search::{SearchError, SearchIndex, SearchWriter};
use evident_sources::{JsonMapping, ParseContext, Parser};
use evident_store::StateDb;

use crate::Error;
use crate::search_api::{open_index, writer_for};

/// How often the server's indexer deletes events past their source's hot days from the
/// index.
pub const HOT_EXPIRY_EVERY: Duration = Duration::from_secs(3600);

/// Ledger entries parsed and indexed per step (and per commit when rebuilding).
pub const INDEX_BATCH: u64 = 50_000;

/// The pipeline is "behind" when this many ledger entries wait for it.
const PIPELINE_BEHIND: u64 = 50_000;

/// Entries the server's indexer takes per second while the pipeline is behind
/// ([`PIPELINE_BEHIND`]): indexing costs several times what detection does, so under
/// overload the cores go to detection and search trickles along (measured in
/// BENCHMARKS.md, "Search follows the pipeline").
const BEHIND_ENTRIES_PER_SEC: u64 = 2_000;

/// How long the server's indexer waits before asking again for an index writer another
/// process holds (`evident reindex`).
const WRITER_RETRY: Duration = Duration::from_secs(60);

/// Each configured source's format, by source name (records of unknown sources are `auto`).
pub(crate) fn source_formats(db: &StateDb) -> Result<HashMap<String, Format>, Error> {
    Ok(db
        .sources()?
        .into_iter()
        .map(|s| (s.name.to_string(), s.format))
        .collect())
}

/// A new parser for `source`: its configured format and, for `json` sources, its mapping.
pub(crate) fn parser_for(
    source: &str,
    formats: &HashMap<String, Format>,
    json_mappings: &BTreeMap<String, JsonMapping>,
) -> Parser {
    let parser = Parser::new(formats.get(source).copied().unwrap_or(Format::Auto));
    match json_mappings.get(source) {
        Some(m) => parser.with_json_mapping(m.clone()),
        None => parser,
    }
}

/// Parses ledger entries `[from, end)` with `parsers` (kept across calls: a VPC Flow Logs
/// header sets the field order of the lines after it) and adds their events to the writer,
/// without committing. Returns the events added.
fn add_entries(
    ledger: &Ledger,
    formats: &HashMap<String, Format>,
    json_mappings: &BTreeMap<String, JsonMapping>,
    parsers: &mut HashMap<String, Parser>,
    writer: &mut SearchWriter,
    (from, end): (u64, u64),
) -> Result<u64, Error> {
    let mut added = 0;
    let mut failed = None;
    let damaged = |index: u64, e: evident_ledger::LedgerError| {
        tracing::error!(index, error = %e, "damaged ledger entry; not indexed");
    };
    ledger.for_each_readable_entry(
        from,
        end,
        |index, bytes| {
            if failed.is_some() {
                return;
            }
            let entry = match Entry::decode(bytes) {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(index, error = %e, "undecodable ledger entry; not indexed");
                    return;
                }
            };
            let events = if crate::system_events::is_system_event(&entry) {
                match serde_json::from_slice::<Event>(&entry.body) {
                    Ok(e) => vec![e],
                    Err(_) => Vec::new(),
                }
            } else if entry.kind == EntryKind::Log {
                let parser = parsers
                    .entry(entry.source.clone())
                    .or_insert_with(|| parser_for(&entry.source, formats, json_mappings));
                let ctx = ParseContext::new(&entry.source, entry.received_at_ns);
                // A parser bug costs the record its search hit, nothing more (the
                // pipeline counts it as a parse error).
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    parser.parse(&entry.body, &ctx)
                }))
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
            } else {
                Vec::new()
            };
            for e in &events {
                match writer.add(index, &entry.source, e) {
                    Ok(true) => added += 1,
                    Ok(false) => {}
                    Err(e) => failed = Some(e),
                }
            }
        },
        damaged,
    )?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(added),
    }
}

/// Parses ledger entries from the writer's indexed-through mark up to `to` and indexes
/// their events, committing after each batch (so an interrupted rebuild resumes where it
/// stopped). Calls `progress(done_through, to)` after each commit. Returns the events added.
pub fn index_range(
    ledger: &Ledger,
    db: &StateDb,
    json_mappings: &BTreeMap<String, JsonMapping>,
    writer: &mut SearchWriter,
    to: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, Error> {
    let to = to.min(ledger.size());
    let formats = source_formats(db)?;
    let mut parsers = HashMap::new();
    let mut added = 0;
    while writer.fed_through() < to {
        let from = writer.fed_through();
        let end = to.min(from.saturating_add(INDEX_BATCH));
        match add_entries(
            ledger,
            &formats,
            json_mappings,
            &mut parsers,
            writer,
            (from, end),
        ) {
            Ok(n) => added += n,
            Err(e) => {
                writer.rollback()?;
                return Err(e);
            }
        }
        writer.commit(end)?;
        progress(end, to);
    }
    Ok(added)
}

/// The synchronous pipeline's hook ([`crate::Pipeline::with_search`]): indexes the events
/// it parsed from entries `[from, to)` (after filling any gap below `from` from the ledger)
/// and commits through `to` at most every [`evident_search::COMMIT_INTERVAL`] (the pipeline
/// flushes when idle). Search is a projection: a failure is logged and leaves a gap the
/// next batch fills, it never stops the pipeline.
pub(crate) fn feed<'a>(
    writer: &mut SearchWriter,
    ledger: &Ledger,
    db: &StateDb,
    json_mappings: &BTreeMap<String, JsonMapping>,
    (from, to): (u64, u64),
    events: impl Iterator<Item = (u64, &'a str, &'a Event)>,
) {
    let run = || -> Result<(), Error> {
        if writer.fed_through() < from {
            let behind = from - writer.fed_through();
            tracing::info!(
                behind,
                "search index is behind the pipeline; re-indexing the gap from the ledger"
            );
            index_range(ledger, db, json_mappings, writer, from, &mut |_, _| {})?;
        }
        for (index, source, e) in events {
            writer.add(index, source, e)?;
        }
        writer.advance(to)?;
        Ok(())
    };
    if let Err(e) = run() {
        tracing::error!(error = %e, "search indexing failed; the gap is re-indexed on the next batch");
        if let Err(e) = writer.rollback() {
            tracing::error!(error = %e, "search index rollback failed");
        }
    }
}

/// The server's indexer: the index writer and one parser per source, following the
/// pipeline's watermark on its own thread so detection never waits for indexing.
pub struct Indexer {
    writer: SearchWriter,
    parsers: HashMap<String, Parser>,
    json_mappings: BTreeMap<String, JsonMapping>,
}

impl Indexer {
    /// An indexer writing with `writer`, parsing `json` sources with these mappings.
    pub fn new(writer: SearchWriter, json_mappings: BTreeMap<String, JsonMapping>) -> Indexer {
        Indexer {
            writer,
            parsers: HashMap::new(),
            json_mappings,
        }
    }

    /// Ledger entries below this are in the index (committed, or pending the next commit).
    pub fn indexed_through(&self) -> u64 {
        self.writer.fed_through()
    }

    /// Indexes up to `max` entries after [`Indexer::indexed_through`], never past `through`
    /// (the pipeline's watermark: search shows nothing detection has not seen). Commits at
    /// most every [`evident_search::COMMIT_INTERVAL`], and when caught up. Returns the
    /// entries indexed, 0 when caught up. On an error what is pending is dropped and
    /// re-indexed by the next step.
    pub fn step(
        &mut self,
        ledger: &Ledger,
        db: &StateDb,
        through: u64,
        max: u64,
    ) -> Result<u64, Error> {
        let from = self.writer.fed_through();
        let end = through.min(ledger.size()).min(from.saturating_add(max));
        if from >= end {
            self.writer.flush()?;
            return Ok(0);
        }
        let formats = source_formats(db)?;
        let added = add_entries(
            ledger,
            &formats,
            &self.json_mappings,
            &mut self.parsers,
            &mut self.writer,
            (from, end),
        )
        .and_then(|_| Ok(self.writer.advance(end)?));
        if let Err(e) = added {
            self.writer.rollback()?;
            return Err(e);
        }
        Ok(end - from)
    }

    /// Retention's hot tier: deletes from the index each `(source, cutoff_ms)`'s events
    /// older than the cutoff ([`crate::retention::hot_cutoffs`]); the ledger keeps them.
    /// Returns the events deleted.
    pub fn expire(
        &mut self,
        index: &SearchIndex,
        cutoffs: &[(String, i64)],
    ) -> Result<u64, SearchError> {
        let mut deleted = 0;
        for (source, cutoff_ms) in cutoffs {
            deleted += self.writer.delete_before(index, source, *cutoff_ms)?;
        }
        Ok(deleted)
    }

    /// [`Indexer::expire`] with the node's retention policy at `now_ms`. Failures are
    /// logged; the next run retries.
    pub fn expire_hot(&mut self, node: &crate::Evident, now_ms: i64) -> u64 {
        let mut run = || -> Result<u64, String> {
            let cutoffs = crate::retention::hot_cutoffs(node, now_ms).map_err(|e| e.to_string())?;
            let index = open_index(&node.data).map_err(|e| e.to_string())?;
            self.expire(&index, &cutoffs).map_err(|e| e.to_string())
        };
        match run() {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "search index: deleting events past their hot days failed");
                0
            }
        }
    }
}

/// Runs the server's indexer until the runtime stops: indexes behind the pipeline's
/// watermark (slowly while the pipeline itself is behind, see [`BEHIND_ENTRIES_PER_SEC`]),
/// expires events past their hot days every [`HOT_EXPIRY_EVERY`], and publishes
/// how far it got in [`crate::Counters::search_indexed_through`]. While another process
/// holds the index writer, it asks again every minute.
pub fn spawn(node: std::sync::Arc<crate::Evident>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut indexer: Option<Indexer> = None;
        let mut hot_expired: Option<Instant> = None;
        loop {
            let mut current = match indexer.take() {
                Some(i) => i,
                None => match writer_for(&node) {
                    Some(w) => Indexer::new(w, node.config.json_mappings.clone()),
                    None => {
                        tokio::time::sleep(WRITER_RETRY).await;
                        continue;
                    }
                },
            };
            let expire = hot_expired.is_none_or(|t| t.elapsed() >= HOT_EXPIRY_EVERY);
            if expire {
                hot_expired = Some(Instant::now());
            }
            let n = node.clone();
            let step = tokio::task::spawn_blocking(move || {
                if expire {
                    current.expire_hot(&n, crate::cases_api::now_ms());
                }
                let mut yielding = false;
                let result = n.db.watermark().map_err(Error::from).and_then(|w| {
                    yielding = n.ledger.size().saturating_sub(w) > PIPELINE_BEHIND;
                    let max = if yielding {
                        BEHIND_ENTRIES_PER_SEC
                    } else {
                        INDEX_BATCH
                    };
                    current.step(&n.ledger, &n.db, w, max)
                });
                n.counters
                    .search_indexed_through
                    .store(current.indexed_through(), Ordering::Relaxed);
                (current, result, yielding)
            })
            .await;
            let (indexed, yielding) = match step {
                Ok((i, result, yielding)) => {
                    indexer = Some(i);
                    let indexed = result.unwrap_or_else(|e| {
                        tracing::error!(error = %e, "search indexing step failed");
                        0
                    });
                    (indexed, yielding)
                }
                // The writer went down with the task; the next turn opens a new one and
                // re-indexes from the last commit.
                Err(e) => {
                    tracing::error!(error = %e, "search indexing task failed; restarting it");
                    (0, false)
                }
            };
            if yielding {
                tokio::time::sleep(Duration::from_secs(1)).await;
            } else if indexed == 0 {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    })
}
