//! The pipeline stage after the ledger: every new log entry is parsed with its source's
//! parser, and what that says about the source (volume, event times, errors, skew) is
//! recorded as source health. The ledger index is the pipeline's write-ahead log: a
//! persisted watermark says how far it got, and health and watermark move together in one
//! transaction, so after a crash it resumes exactly where it stopped.

use std::collections::{BTreeMap, HashMap};

use evident_ledger::{Entry, EntryKind, Ledger};
use evident_model::Format;
use evident_sources::{JsonMapping, ParseContext, Parser};
use evident_store::{HealthDelta, StateDb};

use crate::Error;

/// Entries per pipeline transaction.
pub const PIPELINE_BATCH: u64 = 50_000;

/// Parsers per source, kept across batches (a VPC Flow Logs header sets the field order of
/// the lines after it).
#[derive(Debug, Default)]
pub struct Pipeline {
    parsers: HashMap<String, Parser>,
    json_mappings: std::collections::BTreeMap<String, JsonMapping>,
}

impl Pipeline {
    /// A pipeline using these field mappings for `json` sources.
    pub fn new(json_mappings: std::collections::BTreeMap<String, JsonMapping>) -> Pipeline {
        Pipeline {
            parsers: HashMap::new(),
            json_mappings,
        }
    }

    /// Processes up to `max` entries after the watermark; returns how many it processed
    /// (0 when caught up, or when another process moved the watermark meanwhile).
    ///
    /// Records are grouped by source and the sources split over two threads: each source's
    /// records stay in order on one parser (VPC Flow Logs headers), and both cores work.
    pub fn run_once(&mut self, ledger: &Ledger, db: &StateDb, max: u64) -> Result<u64, Error> {
        let from = db.watermark()?;
        let to = ledger.size().min(from.saturating_add(max));
        if from >= to {
            return Ok(0);
        }
        let formats: HashMap<String, Format> = db
            .sources()?
            .into_iter()
            .map(|s| (s.name.to_string(), s.format))
            .collect();
        let mut by_source: BTreeMap<String, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
        ledger.for_each_entry(from, to, |index, bytes| match Entry::decode(bytes) {
            Ok(e) if e.kind == EntryKind::Log => {
                by_source
                    .entry(e.source)
                    .or_default()
                    .push((e.received_at_ns, e.body));
            }
            Ok(_) => {}
            Err(e) => tracing::error!(index, error = %e, "undecodable ledger entry"),
        })?;
        let mut work: Vec<SourceWork> = by_source
            .into_iter()
            .map(|(source, records)| {
                let parser = self.parsers.remove(&source).unwrap_or_else(|| {
                    let format = formats.get(&source).copied().unwrap_or(Format::Auto);
                    let parser = Parser::new(format);
                    match self.json_mappings.get(&source) {
                        Some(m) => parser.with_json_mapping(m.clone()),
                        None => parser,
                    }
                });
                (source, parser, records)
            })
            .collect();
        // Balance the two halves by record count, biggest sources first.
        work.sort_by_key(|w| std::cmp::Reverse(w.2.len()));
        let (mut left, mut right) = (Vec::new(), Vec::new());
        let (mut nl, mut nr) = (0usize, 0usize);
        for w in work {
            if nl <= nr {
                nl += w.2.len();
                left.push(w);
            } else {
                nr += w.2.len();
                right.push(w);
            }
        }
        let (mut delta, done_left, done_right) = std::thread::scope(|s| {
            let other = s.spawn(move || parse_sources(right));
            let (mut delta, done_left) = parse_sources(left);
            // parse_sources catches parser panics itself; anything else is a bug to surface.
            let (other_delta, done_right) = match other.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            };
            delta.merge(other_delta);
            (delta, done_left, done_right)
        });
        for (source, parser) in done_left.into_iter().chain(done_right) {
            self.parsers.insert(source, parser);
        }
        if db.apply_health(&std::mem::take(&mut delta), from, to)? {
            Ok(to - from)
        } else {
            Ok(0)
        }
    }

    /// Runs until the watermark reaches the ledger's size; returns entries processed.
    pub fn catch_up(&mut self, ledger: &Ledger, db: &StateDb) -> Result<u64, Error> {
        let mut total = 0;
        loop {
            let n = self.run_once(ledger, db, PIPELINE_BATCH)?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }
}

/// One source's records for a batch (receive time, body), with its parser.
type SourceWork = (String, Parser, Vec<(u64, Vec<u8>)>);

/// Parses each source's records in order; returns the health they show and the parsers.
fn parse_sources(work: Vec<SourceWork>) -> (HealthDelta, Vec<(String, Parser)>) {
    let mut delta = HealthDelta::default();
    let mut parsers = Vec::with_capacity(work.len());
    let mut times = Vec::new();
    for (source, mut parser, records) in work {
        for (received_at_ns, body) in records {
            let ctx = ParseContext::new(&source, received_at_ns);
            // A parser bug must cost one record, not the pipeline: a panic is counted as
            // that record's parse error and logged.
            let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                parser.parse(&body, &ctx)
            }));
            let parsed = match parsed {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => {
                    tracing::error!(source = %source, "parser panicked on a record");
                    Err(
                        "internal parser error (panic); the record is kept in the ledger"
                            .to_owned(),
                    )
                }
            };
            match parsed {
                Ok(events) => {
                    times.clear();
                    let received_ms = (received_at_ns / 1_000_000) as i64;
                    times.extend(events.iter().map(|e| e.time_ms().unwrap_or(received_ms)));
                    delta.record_events(&source, received_at_ns, &times);
                }
                Err(e) => delta.record_error(&source, received_at_ns, &e),
            }
        }
        parsers.push((source, parser));
    }
    (delta, parsers)
}
