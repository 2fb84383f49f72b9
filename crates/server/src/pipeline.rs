//! The pipeline stage after the ledger: every new log entry is parsed with its source's
//! parser, and what that says about the source (volume, event times, errors, skew) is
//! recorded as source health. With a [`Detector`], every parsed event is then enriched and
//! evaluated against the rules, in ledger order, and the alerts it opened or updated are
//! stored. The ledger index is the pipeline's write-ahead log: a persisted watermark says
//! how far it got, and health, alerts and watermark move together in one transaction, so
//! after a crash it resumes exactly where it stopped.

use std::collections::{BTreeMap, HashMap};

use evident_detect::{ChangeTicket, Detector, EventRef, RawRecord, RuleSet};
use evident_ledger::{Entry, EntryKind, Ledger};
use evident_model::{Event, Format};
use evident_sources::{JsonMapping, ParseContext, Parser};
use evident_store::{HealthDelta, StateDb};

use crate::Error;

/// Entries per pipeline transaction. Every parsed event of a batch is held until the
/// batch is detected and stored, so this bounds the pipeline's memory: 10,000 1 KiB JSON
/// records are ~100 MB of event trees (50,000 took the server's RSS to 0.8–0.9 GiB at
/// 50k events/s); the per-batch costs (one transaction, two parse threads) stay small.
pub const PIPELINE_BATCH: u64 = 10_000;

/// Parsers per source, kept across batches (a VPC Flow Logs header sets the field order of
/// the lines after it).
#[derive(Default)]
pub struct Pipeline {
    parsers: HashMap<String, Parser>,
    json_mappings: std::collections::BTreeMap<String, JsonMapping>,
    detector: Option<Detector>,
    /// Change tickets up to this sequence number are known to the detector.
    ticket_seq: i64,
    /// The search index's writer: parsed events are indexed before the watermark moves.
    search: Option<evident_search::SearchWriter>,
}

impl Pipeline {
    /// A pipeline using these field mappings for `json` sources.
    pub fn new(json_mappings: std::collections::BTreeMap<String, JsonMapping>) -> Pipeline {
        Pipeline {
            parsers: HashMap::new(),
            json_mappings,
            detector: None,
            ticket_seq: 0,
            search: None,
        }
    }

    /// Also indexes every parsed event for search, in the same pass (see
    /// [`crate::indexer::feed`]): for one-shot runs like the demo's month, which parse each
    /// record once. The server indexes on its own task instead ([`crate::indexer::spawn`]),
    /// so detection never waits for indexing. `None` leaves search to whoever holds the
    /// index writer.
    pub fn with_search(mut self, writer: Option<evident_search::SearchWriter>) -> Pipeline {
        self.search = writer;
        self
    }

    /// Evaluates every parsed event with `detector` and stores its alerts.
    pub fn with_detector(mut self, detector: Detector) -> Pipeline {
        self.detector = Some(detector);
        self
    }

    /// Commits what the search writer holds (its commits are spaced in time): called when
    /// the pipeline is idle and before the pipeline is dropped. A failure is logged; the
    /// gap is re-indexed from the ledger.
    pub fn flush_search(&mut self) {
        if let Some(w) = self.search.as_mut()
            && let Err(e) = w.flush()
        {
            tracing::error!(error = %e, "search index commit failed");
        }
    }

    /// The detector, for its counters.
    pub fn detector(&self) -> Option<&Detector> {
        self.detector.as_ref()
    }

    /// Processes up to `max` entries after the watermark; returns how many it processed
    /// (0 when caught up, or when another process moved the watermark meanwhile).
    ///
    /// Records are grouped by source and the sources split over two threads: each source's
    /// records stay in order on one parser (VPC Flow Logs headers), and both cores work.
    pub fn run_once(&mut self, ledger: &Ledger, db: &StateDb, max: u64) -> Result<u64, Error> {
        let from = db.watermark()?;
        let to = ledger.size().min(from.saturating_add(max));
        let now_ms = (evident_ledger::now_ns() / 1_000_000) as i64;
        if from >= to {
            // Idle: index what a pipeline without the index processed, commit the rest.
            if let Some(w) = self.search.as_mut() {
                let none = std::iter::empty();
                crate::indexer::feed(w, ledger, db, &self.json_mappings, (from, from), none);
            }
            self.flush_search();
            // Rules waiting for late change tickets may decide now.
            if let Some(d) = self.detector.as_mut() {
                self.ticket_seq = learn_tickets(d, db, self.ticket_seq)?;
                d.advance(now_ms);
                let alerts = alert_values(d);
                if !alerts.is_empty() {
                    db.store_alerts(&alerts)?;
                }
            }
            return Ok(0);
        }
        let formats = crate::indexer::source_formats(db)?;
        let mut by_source: BTreeMap<String, Vec<(u64, u64, Vec<u8>)>> = BTreeMap::new();
        let mut system = Vec::new();
        // A damaged record is skipped, not waited on: `verify` (scheduled in the server)
        // names it and raises the integrity alert, which this pipeline must get to.
        let damaged = |index: u64, e: evident_ledger::LedgerError| {
            tracing::error!(index, error = %e, "damaged ledger entry skipped");
        };
        ledger.for_each_readable_entry(
            from,
            to,
            |index, bytes| match Entry::decode(bytes) {
                // Evident's own events are already normalized: detection only, no parser.
                Ok(e) if crate::system_events::is_system_event(&e) => {
                    match serde_json::from_slice::<evident_model::Event>(&e.body) {
                        Ok(event) => system.push((index, event)),
                        Err(err) => tracing::error!(index, error = %err, "unreadable system event"),
                    }
                }
                Ok(e) if e.kind == EntryKind::Log => {
                    by_source
                        .entry(e.source)
                        .or_default()
                        .push((index, e.received_at_ns, e.body));
                }
                Ok(_) => {}
                Err(e) => tracing::error!(index, error = %e, "undecodable ledger entry"),
            },
            damaged,
        )?;
        let mut work: Vec<SourceWork> = by_source
            .into_iter()
            .map(|(source, records)| {
                let parser = self.parsers.remove(&source).unwrap_or_else(|| {
                    crate::indexer::parser_for(&source, &formats, &self.json_mappings)
                });
                let format = formats.get(&source).copied().unwrap_or(Format::Auto);
                (source, parser, records, format)
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
        let keep = self.detector.is_some() || self.search.is_some();
        let (mut delta, done_left, done_right, mut parsed) = std::thread::scope(|s| {
            let other = s.spawn(move || parse_sources(right, keep));
            let (mut delta, done_left, mut parsed) = parse_sources(left, keep);
            // parse_sources catches parser panics itself; anything else is a bug to surface.
            let (other_delta, done_right, other_parsed) = match other.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            };
            delta.merge(other_delta);
            parsed.extend(other_parsed);
            (delta, done_left, done_right, parsed)
        });
        for (source, parser) in done_left.into_iter().chain(done_right) {
            self.parsers.insert(source, parser);
        }
        if let Some(w) = self.search.as_mut() {
            let events = parsed
                .iter()
                .flat_map(|p| {
                    p.events
                        .iter()
                        .map(move |e| (p.index, p.source.as_str(), e))
                })
                .chain(
                    system
                        .iter()
                        .map(|(i, e)| (*i, crate::audit::AUDIT_SOURCE, e)),
                );
            crate::indexer::feed(w, ledger, db, &self.json_mappings, (from, to), events);
        }
        let mut alerts = Vec::new();
        if let Some(d) = self.detector.as_mut() {
            self.ticket_seq = learn_tickets(d, db, self.ticket_seq)?;
            // Correlations need time order across sources: ledger order is arrival order.
            parsed.sort_unstable_by_key(|p| p.index);
            for p in parsed {
                for e in p.events {
                    let format = match p.format {
                        Format::Auto => e
                            .get_str("metadata.evident.format")
                            .and_then(|f| f.parse().ok())
                            .unwrap_or(Format::Auto),
                        f => f,
                    };
                    let raw = RawRecord {
                        format,
                        bytes: Some(&p.body),
                    };
                    d.process(e, Some(raw), EventRef::ledger(p.index));
                }
            }
            for (index, event) in system {
                d.process(event, None, EventRef::ledger(index));
            }
            d.advance(now_ms);
            alerts = alert_values(d);
        }
        if db.apply_pipeline(&std::mem::take(&mut delta), &alerts, from, to)? {
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

/// Builds the server's detector: the built-in rule pack (unless `[detection]
/// builtin_rules = false`) and `[detection] rules_dirs`, the enrichment config, the open
/// alerts (so repeats after a restart update them), and every stored change ticket.
pub fn detector_for(config: &crate::Config, db: &StateDb) -> Result<Detector, Error> {
    let dc = config.detect_config();
    let mut rules = if dc.detection.builtin_rules {
        RuleSet::builtin()
    } else {
        RuleSet::new()
    };
    for dir in &dc.detection.rules_dirs {
        if let Err(e) = rules.add_path(dir) {
            tracing::error!(error = %e, "cannot read a rules directory; its rules are not loaded");
        }
    }
    let mut detector = Detector::new(&rules, &dc)?;
    for f in detector.load_failures() {
        tracing::warn!(failure = %f, "rule not loaded");
    }
    let suppress = evident_detect::parse_duration_ms("detection.suppress", &dc.detection.suppress)?;
    // Open = within the suppression window of the newest alert (event time, not wall
    // time: a replay of last month is as open as today's).
    let newest = db.latest_alert_ms()?.unwrap_or(0);
    let open: Vec<evident_detect::Alert> = db
        .open_alerts(newest.saturating_sub(suppress))?
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    detector.restore_open_alerts(open);
    tracing::info!(rules = detector.rule_count(), "detection rules loaded");
    Ok(detector)
}

/// Teaches the detector the change tickets stored after `seq`; returns the new mark.
fn learn_tickets(d: &mut Detector, db: &StateDb, seq: i64) -> Result<i64, Error> {
    let mut last = seq;
    for (n, v) in db.change_tickets_after(seq)? {
        last = n;
        match serde_json::from_value::<ChangeTicket>(v) {
            Ok(t) => d.add_ticket(t),
            Err(e) => tracing::error!(error = %e, seq = n, "stored change ticket is unreadable"),
        }
    }
    Ok(last)
}

/// The detector's changed alerts as JSON for the store.
fn alert_values(d: &mut Detector) -> Vec<serde_json::Value> {
    d.take_alerts()
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok())
        .collect()
}

/// One source's records for a batch (ledger index, receive time, body), with its parser
/// and format.
type SourceWork = (String, Parser, Vec<(u64, u64, Vec<u8>)>, Format);

/// A record's events, kept for detection.
struct Parsed {
    index: u64,
    source: String,
    format: Format,
    body: Vec<u8>,
    events: Vec<Event>,
}

/// Parses each source's records in order; returns the health they show, the parsers and
/// (with `keep`) the events.
fn parse_sources(
    work: Vec<SourceWork>,
    keep: bool,
) -> (HealthDelta, Vec<(String, Parser)>, Vec<Parsed>) {
    let mut delta = HealthDelta::default();
    let mut parsers = Vec::with_capacity(work.len());
    let mut kept = Vec::new();
    let mut times = Vec::new();
    for (source, mut parser, records, format) in work {
        for (index, received_at_ns, body) in records {
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
                    if keep && !events.is_empty() {
                        kept.push(Parsed {
                            index,
                            source: source.clone(),
                            format,
                            body,
                            events,
                        });
                    }
                }
                Err(e) => delta.record_error(&source, received_at_ns, &e),
            }
        }
        parsers.push((source, parser));
    }
    (delta, parsers, kept)
}
