//! The [`Detector`]: compiled rules per event target, enrichment, the wait for late change
//! tickets, and alerts.
//!
//! Rules are compiled into one `rsigma-eval` correlation engine per (target, deferred)
//! bucket: the normalized-event rules in one, each vendor format's rules in another, so an
//! event only meets rules whose logsource fits it. A correlation lives with the rules it
//! references. Rules that look at `evident.change_ticket` are *deferred*: an event that
//! could match them waits in a queue until its time plus the change-ticket grace period has
//! passed (on the detector's clock: the latest event time or [`Detector::advance`]), is then
//! enriched again with the tickets known by then, and only then evaluated. Offline (`hunt`,
//! rule tests) every ticket is known up front and [`Detector::finish`] releases the queue.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use rustc_hash::{FxHashMap, FxHashSet};

use evident_model::{Event, Format, TopLevelKey};
use rsigma_eval::{
    CorrelationConfig, CorrelationEngine, CorrelationEventMode, EvaluationResult, ResultBody,
    TimestampFallback,
};
use rsigma_parser::fieldpath::{first_unescaped, unescape_brackets};
use rsigma_parser::{Detection, Level, SigmaCollection};
use serde_json::Value;

use crate::DetectError;
use crate::alert::{Alert, AlertBook, EventRef, Hit, RuleCounters, tsc_criterion};
use crate::config::{DetectConfig, parse_duration_ms};
use crate::enrich::{ChangeTicket, Enricher};
use crate::gate::Gate;
use crate::literals::index_typed_literals;
use crate::logsource::{Target, targets, vendor_document};
use crate::ruleset::{Doc, LoadFailure, RuleSet};
use crate::view::{OcsfView, RecordView, WindowsView};

/// Events waiting for late change tickets, at most; past it the oldest is evaluated early
/// (counted in [`DetectStats::forced_releases`]).
const MAX_PENDING: usize = 100_000;

/// Event references a correlation keeps per group, for its alert.
const CORRELATION_EVENT_REFS: usize = 50;

/// The raw record behind an event, for vendor-logsource rules.
#[derive(Clone, Copy, Debug)]
pub struct RawRecord<'a> {
    /// Its format (from the source, or detected).
    pub format: Format,
    /// Its exact bytes; `None` when only the normalized event is at hand (then text
    /// formats fall back to `raw_data`, JSON formats have no vendor document).
    pub bytes: Option<&'a [u8]>,
}

/// What the detector has done, for `/healthz`-style reporting and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DetectStats {
    /// Events processed.
    pub events: u64,
    /// Events that waited for late change tickets.
    pub deferred: u64,
    /// Deferred events still waiting.
    pub pending: u64,
    /// Deferred events evaluated before their grace period ended (queue full).
    pub forced_releases: u64,
    /// Correlation state entries held now (correlation × group key).
    pub correlation_state: u64,
    /// Correlation state entries evicted to stay under `max_correlation_state`.
    pub correlation_evictions: u64,
    /// Open alerts held for deduplication.
    pub open_alerts: u64,
}

/// What a rule is, for alerts.
#[derive(Clone, Debug)]
struct RuleMeta {
    title: String,
    level: Option<Level>,
    tags: Vec<String>,
    author: Option<String>,
    file: String,
    kind: &'static str,
}

/// A rule's key and the buckets it was placed in.
type Placed = (String, Vec<(Target, bool)>);

/// One compiled engine; its key in [`Detector::buckets`] says what it serves.
struct Bucket {
    engine: CorrelationEngine,
    /// Every top-level key its rules can probe ([`probe_roots`]): a normalized event is
    /// asked for these instead of listing all of its keys. `None` when there are more of
    /// them than an event has keys ([`MAX_PROBED_ROOTS`]): listing is cheaper then.
    roots: Option<Vec<TopLevelKey>>,
    /// Which normalized events its rules could match at all ([`Gate`]); `None` for
    /// vendor buckets and when the rules say nothing checkable.
    gate: Option<Gate>,
}

/// An event waiting for late change tickets.
struct Pending {
    event: Event,
    raw: Option<(Format, Option<Vec<u8>>)>,
    origin: EventRef,
}

/// Sigma rules over events, with enrichment and alert noise control; see the module
/// documentation.
pub struct Detector {
    /// Looked up a few times per event: hashed with Fx, as SipHash of these small keys
    /// was 3 % of detection (issue 5).
    buckets: FxHashMap<(Target, bool), Bucket>,
    meta: FxHashMap<String, RuleMeta>,
    /// Rule keys only correlations use (`generate: false`): counted, never alerted.
    quiet: FxHashSet<String>,
    /// Keys of the normalized-event rules that look at change tickets. They are compiled
    /// twice: into their deferred bucket, evaluated when an event's grace period ends, and
    /// into the normalized bucket, where a match only says the event must wait. One engine
    /// pass per event then answers both "which rules match" and "must it wait" (a second
    /// pass over the deferred rules was a fifth of detection's time).
    deferred_keys: FxHashSet<String>,
    enricher: Enricher,
    book: AlertBook,
    pending: BTreeMap<(i64, u64), Pending>,
    seq: u64,
    clock_ms: i64,
    max_state: usize,
    stats: DetectStats,
    failures: Vec<LoadFailure>,
}

impl Detector {
    /// Compiles `rules` with the enrichment and alerting settings of `config`. Documents
    /// that cannot be placed (a correlation over an unknown rule, or over rules of
    /// different logsources) are added to [`Detector::load_failures`]; errors are for a
    /// config that cannot be used.
    pub fn new(rules: &RuleSet, config: &DetectConfig) -> Result<Detector, DetectError> {
        let enricher = Enricher::new(config)?;
        let suppress_ms = parse_duration_ms("detection.suppress", &config.detection.suppress)?;
        let max_state = config.detection.max_correlation_state.max(10);
        let mut failures = rules.failures.clone();
        let mut meta = FxHashMap::default();
        let mut quiet = FxHashSet::default();
        // Rule id / name → (key, buckets).
        let mut placed: HashMap<String, Placed> = HashMap::new();
        let mut collections: HashMap<(Target, bool), SigmaCollection> = HashMap::new();

        for (file, doc) in &rules.docs {
            let Doc::Rule(rule) = doc else { continue };
            let key = rule.id.clone().unwrap_or_else(|| rule.title.clone());
            let ls = &rule.logsource;
            let deferred = mentions_change_ticket(rule);
            let buckets: Vec<(Target, bool)> = targets(
                ls.product.as_deref(),
                ls.service.as_deref(),
                ls.category.as_deref(),
                rule.taxonomy.as_deref(),
            )
            .into_iter()
            .map(|t| (t, deferred))
            .collect();
            for b in &buckets {
                collections
                    .entry(*b)
                    .or_default()
                    .rules
                    .push((**rule).clone());
            }
            meta.insert(
                key.clone(),
                RuleMeta {
                    title: rule.title.clone(),
                    level: rule.level,
                    tags: rule.tags.clone(),
                    author: rule.author.clone(),
                    file: file.clone(),
                    kind: "detection",
                },
            );
            for name in [&rule.id, &rule.name].into_iter().flatten() {
                placed.insert(name.clone(), (key.clone(), buckets.clone()));
            }
        }
        // Correlations may reference correlations: place in passes until nothing moves.
        let mut todo: Vec<(&String, &rsigma_parser::CorrelationRule)> = rules
            .docs
            .iter()
            .filter_map(|(f, d)| match d {
                Doc::Correlation(c) => Some((f, &**c)),
                _ => None,
            })
            .collect();
        loop {
            let before = todo.len();
            todo.retain(|(file, corr)| {
                if corr.rules.is_empty() {
                    failures.push(LoadFailure {
                        file: (*file).clone(),
                        title: Some(corr.title.clone()),
                        reason: "correlation names no rules (`correlation.rules` is empty)".into(),
                    });
                    return false;
                }
                let resolved: Option<Vec<&Placed>> =
                    corr.rules.iter().map(|r| placed.get(r)).collect();
                let Some(refs) = resolved else { return true };
                let mut buckets: Vec<(Target, bool)> = refs[0].1.clone();
                for r in &refs[1..] {
                    buckets.retain(|b| r.1.contains(b));
                }
                let key = corr.id.clone().unwrap_or_else(|| corr.title.clone());
                if buckets.is_empty() {
                    failures.push(LoadFailure {
                        file: (*file).clone(),
                        title: Some(corr.title.clone()),
                        reason: format!(
                            "correlation over rules that no single source feeds ({}): Evident correlates events of one logsource",
                            corr.rules.join(", ")
                        ),
                    });
                    return false;
                }
                if !corr.generate {
                    quiet.extend(refs.iter().map(|r| r.0.clone()));
                }
                for b in &buckets {
                    collections
                        .entry(*b)
                        .or_default()
                        .correlations
                        .push((*corr).clone());
                }
                meta.insert(
                    key.clone(),
                    RuleMeta {
                        title: corr.title.clone(),
                        level: corr.level,
                        tags: corr.tags.clone(),
                        author: corr.author.clone(),
                        file: (*file).clone(),
                        kind: "correlation",
                    },
                );
                for name in [&corr.id, &corr.name].into_iter().flatten() {
                    placed.insert(name.clone(), (key.clone(), buckets.clone()));
                }
                false
            });
            if todo.is_empty() || todo.len() == before {
                break;
            }
        }
        for (file, corr) in todo {
            let missing: Vec<&str> = corr
                .rules
                .iter()
                .filter(|r| !placed.contains_key(*r))
                .map(String::as_str)
                .collect();
            failures.push(LoadFailure {
                file: file.clone(),
                title: Some(corr.title.clone()),
                reason: format!(
                    "correlation references rules that are not loaded: {}",
                    missing.join(", ")
                ),
            });
        }
        // The deferred normalized rules also go with the other normalized rules, to tell
        // which events must wait (see `Detector::deferred_keys`).
        let mut deferred_keys = FxHashSet::default();
        if let Some(deferred) = collections.get(&(Target::Normalized, true)) {
            let waiting = deferred.rules.clone();
            deferred_keys.extend(
                waiting
                    .iter()
                    .map(|r| r.id.clone().unwrap_or_else(|| r.title.clone())),
            );
            collections
                .entry((Target::Normalized, false))
                .or_default()
                .rules
                .extend(waiting);
        }
        let filters: Vec<_> = rules
            .docs
            .iter()
            .filter_map(|(_, d)| match d {
                Doc::Filter(f) => Some((**f).clone()),
                _ => None,
            })
            .collect();
        let mut buckets = FxHashMap::default();
        for (key, mut collection) in collections {
            // A filter goes only where a rule it names is (rsigma warns about the others).
            collection.filters = filters
                .iter()
                .filter(|f| match &f.rules {
                    rsigma_parser::FilterRuleTarget::Any => true,
                    rsigma_parser::FilterRuleTarget::Specific(names) => {
                        collection.rules.iter().any(|r| {
                            names.iter().any(|n| {
                                r.id.as_deref() == Some(n.as_str())
                                    || r.name.as_deref() == Some(n.as_str())
                                    || r.title == *n
                            })
                        })
                    }
                })
                .cloned()
                .collect();
            let mut engine = CorrelationEngine::new(CorrelationConfig {
                timestamp_fallback: TimestampFallback::Skip,
                max_state_entries: max_state,
                correlation_event_mode: CorrelationEventMode::Refs,
                max_correlation_events: CORRELATION_EVENT_REFS,
                ..CorrelationConfig::default()
            });
            let mut gate = None;
            if key.0 == Target::Normalized {
                collection.rules.iter_mut().for_each(index_typed_literals);
                gate = Gate::of(&collection.rules);
            }
            let roots = Some(probe_roots(&collection)).filter(|r| r.len() <= MAX_PROBED_ROOTS);
            match engine.add_collection(&collection) {
                Ok(()) => {
                    buckets.insert(
                        key,
                        Bucket {
                            engine,
                            roots,
                            gate,
                        },
                    );
                }
                Err(e) => failures.push(LoadFailure {
                    file: format!("({})", target_name(key.0)),
                    title: None,
                    reason: format!("rules for this logsource could not be compiled together: {e}"),
                }),
            }
        }
        Ok(Detector {
            buckets,
            meta,
            quiet,
            deferred_keys,
            enricher,
            book: AlertBook::new(suppress_ms, config.detection.max_alerts_per_rule_per_hour),
            pending: BTreeMap::new(),
            seq: 0,
            clock_ms: i64::MIN,
            max_state,
            stats: DetectStats::default(),
            failures,
        })
    }

    /// Every rule document that could not be loaded or placed, with file and reason.
    pub fn load_failures(&self) -> &[LoadFailure] {
        &self.failures
    }

    /// Detection rules and correlations compiled, counting each once.
    pub fn rule_count(&self) -> usize {
        self.meta.len()
    }

    /// Rules no Evident source feeds (their logsource fits no format): loaded, but idle.
    pub fn idle_rules(&self, rules: &RuleSet) -> Vec<(String, String)> {
        rules
            .docs
            .iter()
            .filter_map(|(file, d)| match d {
                Doc::Rule(r) => {
                    let ls = &r.logsource;
                    targets(
                        ls.product.as_deref(),
                        ls.service.as_deref(),
                        ls.category.as_deref(),
                        r.taxonomy.as_deref(),
                    )
                    .is_empty()
                    .then(|| (file.clone(), r.title.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// Learns a change ticket; deferred events still waiting will see it.
    pub fn add_ticket(&mut self, ticket: ChangeTicket) {
        self.enricher.add_ticket(ticket);
    }

    /// Makes stored open alerts known (after a restart), so repeats update them instead of
    /// opening duplicates.
    pub fn restore_open_alerts(&mut self, alerts: Vec<Alert>) {
        for a in alerts {
            self.clock_ms = self.clock_ms.max(a.last_seen_ms);
            self.book.restore(a);
        }
    }

    /// Enriches and evaluates one normalized event (with its raw record, for vendor
    /// rules); `origin` is where alerts will say it is.
    pub fn process(&mut self, mut event: Event, raw: Option<RawRecord<'_>>, origin: EventRef) {
        self.stats.events += 1;
        self.enricher.enrich(&mut event);
        let time_ms = event.time_ms().unwrap_or(self.clock_ms.max(0));
        if time_ms > self.clock_ms {
            self.clock_ms = time_ms;
            self.release(time_ms);
        }
        if self.evaluate(&event, raw, &origin, time_ms, false) {
            self.defer(&event, raw, &origin, time_ms);
        }
        self.stats.open_alerts = self.book.open_count() as u64;
    }

    /// Moves the clock to `now_ms` (wall time, in the server): deferred events whose grace
    /// period has ended are evaluated, and closed alerts are forgotten.
    pub fn advance(&mut self, now_ms: i64) {
        if now_ms > self.clock_ms {
            self.clock_ms = now_ms;
        }
        self.release(now_ms);
        self.book.expire(self.clock_ms);
        self.stats.open_alerts = self.book.open_count() as u64;
    }

    /// Evaluates every deferred event now: all tickets are known (offline runs).
    pub fn finish(&mut self) {
        self.release(i64::MAX);
    }

    /// Alerts opened or updated since the last call, in their current state.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        self.book.take()
    }

    /// Per-rule counters, by rule id.
    pub fn counters(&self) -> &BTreeMap<String, RuleCounters> {
        &self.book.counters
    }

    /// What the detector has done so far.
    pub fn stats(&self) -> DetectStats {
        let mut s = self.stats.clone();
        s.pending = self.pending.len() as u64;
        s.correlation_state = self
            .buckets
            .values()
            .map(|b| b.engine.state_count() as u64)
            .sum();
        s
    }

    fn defer(&mut self, event: &Event, raw: Option<RawRecord<'_>>, origin: &EventRef, t: i64) {
        self.stats.deferred += 1;
        if self.pending.len() >= MAX_PENDING
            && let Some((_, p)) = self.pending.pop_first()
        {
            self.stats.forced_releases += 1;
            self.evaluate_pending(p);
        }
        self.seq += 1;
        let release = t.saturating_add(self.enricher.grace_ms());
        self.pending.insert(
            (release, self.seq),
            Pending {
                event: event.clone(),
                raw: raw.map(|r| (r.format, r.bytes.map(<[u8]>::to_vec))),
                origin: origin.clone(),
            },
        );
    }

    fn release(&mut self, now_ms: i64) {
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > now_ms {
                break;
            }
            let p = entry.remove();
            self.evaluate_pending(p);
        }
    }

    fn evaluate_pending(&mut self, p: Pending) {
        let mut event = p.event;
        self.enricher.apply_change_ticket(&mut event);
        let t = event.time_ms().unwrap_or(self.clock_ms.max(0));
        let raw = p.raw.as_ref().map(|(format, bytes)| RawRecord {
            format: *format,
            bytes: bytes.as_deref(),
        });
        self.evaluate(&event, raw, &p.origin, t, true);
    }

    /// Runs the buckets of one kind (deferred or not) that serve this event. Outside the
    /// deferred run, says whether the event must wait for late change tickets: when a rule
    /// that looks at tickets matches it as it is now (a later ticket can only cover it:
    /// rules alert on a missing ticket). Vendor rules that look at tickets are rare; their
    /// events always wait.
    fn evaluate(
        &mut self,
        norm: &Event,
        raw: Option<RawRecord<'_>>,
        origin: &EventRef,
        time_ms: i64,
        deferred: bool,
    ) -> bool {
        let ts = time_ms.div_euclid(1000);
        let mut wait = !deferred
            && raw.is_some_and(|r| self.buckets.contains_key(&(Target::Vendor(r.format), true)));
        let vendor = raw.and_then(|r| {
            let key = (Target::Vendor(r.format), deferred);
            if !self.buckets.contains_key(&key) {
                return None;
            }
            // The event's `unmapped` is the record (parsed at most once, and shared with
            // normalized rules that read `unmapped.*`): match that, instead of parsing it
            // again.
            if unmapped_is_the_record(r.format)
                && let Some(u @ Value::Object(_)) = norm.get("unmapped")
            {
                return Some((key, VendorDoc::Parsed(u)));
            }
            if r.format == Format::WindowsSecurity
                && let Some(view) = WindowsView::new(norm)
            {
                return Some((key, VendorDoc::Windows(view)));
            }
            let doc = vendor_document(r.format, r.bytes, norm)?;
            Some((key, VendorDoc::Built(doc)))
        });
        let mut results = Vec::new();
        if let Some(b) = self.buckets.get_mut(&(Target::Normalized, deferred)) {
            let view = match &b.roots {
                Some(roots) => OcsfView::probing(norm, roots),
                None => OcsfView::new(norm),
            };
            let admitted = b.gate.as_ref().is_none_or(|gate| gate.admits(norm, &view));
            let evicted = if !admitted {
                0
            } else {
                run(
                    &mut b.engine,
                    &view,
                    None,
                    origin,
                    ts,
                    self.max_state,
                    &mut results,
                )
            };
            self.stats.correlation_evictions += evicted;
            if !deferred && !self.deferred_keys.is_empty() {
                let before = results.len();
                results.retain(|r| {
                    r.is_correlation()
                        || !self
                            .deferred_keys
                            .contains(r.header.rule_id.as_ref().unwrap_or(&r.header.rule_title))
                });
                wait |= results.len() < before;
            }
        }
        if let Some((key, doc)) = &vendor
            && let Some(b) = self.buckets.get_mut(key)
        {
            let record;
            let doc: &dyn rsigma_eval::Event = match doc {
                VendorDoc::Parsed(u) => {
                    record = RecordView::new(u);
                    &record
                }
                VendorDoc::Built(d) => {
                    record = RecordView::new(d);
                    &record
                }
                VendorDoc::Windows(view) => view,
            };
            // The normalized event answers the record's `evident.*` paths.
            let enrichment = OcsfView::new(norm);
            let evicted = run(
                &mut b.engine,
                doc,
                Some(&enrichment),
                origin,
                ts,
                self.max_state,
                &mut results,
            );
            self.stats.correlation_evictions += evicted;
        }
        for r in results {
            self.alert(r, norm, origin, time_ms);
        }
        wait
    }

    fn alert(&mut self, r: EvaluationResult, norm: &Event, origin: &EventRef, time_ms: i64) {
        let key = r
            .header
            .rule_id
            .clone()
            .unwrap_or_else(|| r.header.rule_title.clone());
        let (group, events) = match &r.body {
            ResultBody::Detection(_) => {
                if self.quiet.contains(&key) {
                    self.book.count_match(&key);
                    return;
                }
                (detection_group(norm), vec![origin.clone()])
            }
            ResultBody::Correlation(c) => {
                let mut events: Vec<EventRef> = c
                    .event_refs
                    .iter()
                    .flatten()
                    .filter_map(|e| e.id.as_deref())
                    .filter_map(|id| serde_json::from_str(id).ok())
                    .collect();
                if events.is_empty() {
                    events.push(origin.clone());
                }
                (c.group_key.iter().cloned().collect(), events)
            }
        };
        let meta = self.meta.get(&key).cloned().unwrap_or_else(|| RuleMeta {
            title: r.header.rule_title.clone(),
            level: r.header.level,
            tags: r.header.tags.clone(),
            author: None,
            file: String::new(),
            kind: if r.is_correlation() {
                "correlation"
            } else {
                "detection"
            },
        });
        let level = meta.level.unwrap_or(Level::Medium);
        let (severity, severity_id) = match level {
            Level::Informational => ("Informational", 1),
            Level::Low => ("Low", 2),
            Level::Medium => ("Medium", 3),
            Level::High => ("High", 4),
            Level::Critical => ("Critical", 5),
        };
        let dedup_key = format!(
            "{key}|{}",
            group
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";")
        );
        let template = Alert {
            rule_id: key,
            rule_title: meta.title,
            kind: meta.kind.to_owned(),
            level: level.as_str().to_owned(),
            severity: severity.to_owned(),
            severity_id,
            tsc: meta.tags.iter().filter_map(|t| tsc_criterion(t)).collect(),
            tags: meta.tags,
            author: meta.author,
            rule_file: meta.file,
            dedup_key,
            group,
            first_seen_ms: time_ms,
            last_seen_ms: time_ms,
            count: 0,
            events: Vec::new(),
        };
        self.book.add(Hit {
            template,
            time_ms,
            events,
        });
    }
}

/// The document vendor rules match: the record as the parser already parsed it, a Windows
/// event read in place, or one built for the rules (see [`vendor_document`]).
enum VendorDoc<'a> {
    Parsed(&'a Value),
    Windows(WindowsView<'a>),
    Built(Value),
}

/// JSON formats whose parser keeps the whole record, unchanged, as `unmapped` (only
/// `evident_parse` may be added): their vendor document need not be parsed again.
fn unmapped_is_the_record(format: Format) -> bool {
    matches!(
        format,
        Format::CloudTrail
            | Format::GuardDuty
            | Format::AwsWaf
            | Format::AzureActivity
            | Format::AzureAudit
            | Format::EntraSignin
            | Format::GcpAudit
            | Format::Okta
            | Format::GitHub
            | Format::Auth0
            | Format::DuoAuth
            | Format::DuoAdmin
            | Format::OneLogin
            | Format::SlackAudit
            | Format::ZoomOperation
            | Format::Box
            | Format::MongoAtlas
            | Format::MysqlAudit
            | Format::JsonApp
    )
}

/// Evaluates one document on one bucket (with `evident.*` read from `overlay` when the
/// document is a vendor record); returns correlation state entries evicted.
fn run(
    engine: &mut CorrelationEngine,
    doc: &dyn rsigma_eval::Event,
    overlay: Option<&dyn rsigma_eval::Event>,
    origin: &EventRef,
    ts: i64,
    max_state: usize,
    out: &mut Vec<EvaluationResult>,
) -> u64 {
    let mut evicted = 0;
    let before = engine.state_count();
    if before >= max_state {
        // Drop what fell out of its window and, if still at the cap, the stalest groups
        // down to 90 % of it; either way the state is forgotten, and counted.
        engine.evict_expired(ts);
        evicted = before.saturating_sub(engine.state_count()) as u64;
    }
    let event = Tagged {
        inner: doc,
        evident: overlay,
        origin,
    };
    out.extend(engine.process_event_at(&event, ts));
    evicted
}

/// The group fields of a detection rule's alert: who did it, to whom, from where (and which
/// source, for Evident's own events).
fn detection_group(norm: &Event) -> BTreeMap<String, String> {
    let mut g = BTreeMap::new();
    // The first non-empty string among `paths`.
    let first = |paths: &[&str]| {
        paths
            .iter()
            .find_map(|p| norm.get_str(p).filter(|s| !s.is_empty()).map(str::to_owned))
    };
    let actor = ["actor.user.email_addr", "actor.user.name", "actor.user.uid"];
    if let Some(v) = first(&actor) {
        g.insert("actor".into(), v);
    }
    if let Some(v) = first(&["user.email_addr", "user.name", "user.uid"]) {
        g.insert("user".into(), v);
    }
    if let Some(v) = first(&["src_endpoint.ip"]) {
        g.insert("src_endpoint.ip".into(), v);
    }
    // Evident's own events (a silent source, a skewed clock) are about one source each.
    if let Some(v) = first(&["metadata.evident.source"]) {
        g.insert("source".into(), v);
    }
    g
}

/// Top-level keys past which asking an event for each costs more than listing its own
/// (normalized events have 30–40).
const MAX_PROBED_ROOTS: usize = 48;

/// The top-level keys the rules and filters of `collection` can probe: every key rsigma's
/// candidate index files a field under (the field name whole, its first segment, the array
/// name before a first `[`, each bracket-unescaped as rsigma does), and the plain prefixes
/// before the first `.` and `[` too, less those with a dot (a normalized event's keys
/// never hold one). A superset: listing more keys than the index knows only costs a
/// lookup.
fn probe_roots(collection: &SigmaCollection) -> Vec<TopLevelKey> {
    fn walk<'d>(d: &'d Detection, out: &mut Vec<&'d str>) {
        match d {
            Detection::AllOf(items) => {
                out.extend(items.iter().filter_map(|i| i.field.name.as_deref()));
            }
            Detection::AnyOf(ds) | Detection::And(ds) => ds.iter().for_each(|d| walk(d, out)),
            Detection::ArrayMatch { field, body, .. } => {
                out.push(field);
                walk(body, out);
            }
            Detection::Conditional { named, .. } => named.values().for_each(|d| walk(d, out)),
            Detection::Keywords(_) => {}
        }
    }
    let mut fields = Vec::new();
    let detections = collection
        .rules
        .iter()
        .map(|r| &r.detection)
        .chain(collection.filters.iter().map(|f| &f.detection));
    for d in detections.flat_map(|d| d.named.values()) {
        walk(d, &mut fields);
    }
    let mut roots = BTreeSet::new();
    for field in fields {
        let segment = first_unescaped(field, b'.').map_or(field, |dot| &field[..dot]);
        let name = first_unescaped(segment, b'[').map_or(segment, |at| &segment[..at]);
        for key in [field, segment, name] {
            roots.insert(unescape_brackets(key).into_owned());
        }
        roots.extend(field.split(['.', '[']).next().map(str::to_owned));
    }
    // A normalized event's top-level keys never hold a dot.
    roots
        .into_iter()
        .filter(|r| !r.is_empty() && !r.contains('.'))
        .map(|r| TopLevelKey::new(&r))
        .collect()
}

/// Does the rule's detection look at `evident.change_ticket`?
fn mentions_change_ticket(rule: &rsigma_parser::SigmaRule) -> bool {
    serde_json::to_string(&rule.detection).is_ok_and(|s| s.contains("evident.change_ticket"))
}

fn target_name(t: Target) -> String {
    match t {
        Target::Normalized => "product: evident".into(),
        Target::Vendor(f) => format!("format {f}"),
    }
}

/// A document as rsigma sees it, whose stored form (for correlation event references) is
/// only our reference to it: no copy of the event is kept in correlation state.
struct Tagged<'a> {
    inner: &'a dyn rsigma_eval::Event,
    /// The normalized event, answering `evident.*` for a vendor record.
    evident: Option<&'a dyn rsigma_eval::Event>,
    origin: &'a EventRef,
}

impl rsigma_eval::Event for Tagged<'_> {
    fn get_field(&self, path: &str) -> Option<rsigma_eval::EventValue<'_>> {
        match &self.evident {
            Some(norm) if path == "evident" || path.starts_with("evident.") => norm.get_field(path),
            _ => self.inner.get_field(path),
        }
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.inner.any_string_value(pred)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.inner.all_string_values()
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.inner.visit_string_values(visit)
    }

    fn to_json(&self) -> Value {
        let id = serde_json::to_string(self.origin).unwrap_or_default();
        serde_json::json!({ "event_id": id })
    }

    /// The document's keys and, beside a vendor record, `evident`: rsigma's candidate index
    /// probes a rule's fields only under the keys listed, so without it a vendor rule
    /// whose fields are all `evident.*` would never be evaluated.
    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        let mut keys = self.inner.top_level_keys()?;
        if self.evident.is_some() && !keys.iter().any(|k| k == "evident") {
            keys.push(Cow::Borrowed("evident"));
        }
        Some(keys)
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        let mut evident_seen = false;
        let listed = self.inner.visit_top_level_keys(&mut |key| {
            evident_seen |= key == "evident";
            visit(key);
        });
        if listed && self.evident.is_some() && !evident_seen {
            visit("evident");
        }
        listed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::builtin_files;
    use crate::testing::TestFile;
    use serde_json::json;

    const T0: i64 = 1_795_687_200_000;

    /// Alerts (rule, group, events) `rules` raise over `events`, with the normalized
    /// buckets asking for only their rules' keys and turning away the events their gate
    /// does, or (`shortcuts` false) listing every key and evaluating every event.
    fn alerts(rules: &RuleSet, events: &[Event], shortcuts: bool) -> Vec<String> {
        let mut config = DetectConfig::default();
        config.detection.suppress = "0s".into();
        config.detection.max_alerts_per_rule_per_hour = 100_000;
        let mut d = Detector::new(rules, &config).unwrap();
        for ((target, _), b) in &mut d.buckets {
            if *target == Target::Normalized {
                assert!(b.roots.is_some(), "the normalized buckets have known keys");
                assert!(b.gate.is_some(), "the normalized buckets have a gate");
                if !shortcuts {
                    b.roots = None;
                    b.gate = None;
                }
            }
        }
        for (i, e) in events.iter().enumerate() {
            d.process(e.clone(), None, EventRef::ledger(i as u64));
        }
        d.finish();
        let mut out: Vec<String> = d
            .take_alerts()
            .iter()
            .map(|a| format!("{} {:?} {:?}", a.rule_id, a.group, a.events))
            .collect();
        out.sort();
        out
    }

    /// Asking a normalized event for the keys its rules can probe, and skipping the
    /// events no rule's gate condition admits, finds every alert evaluating everything
    /// finds: over every normalized test event of the pack, rules whose fields are in
    /// arrays, under `unmapped`, or named by a filter, and network flows that only a rule
    /// without a class (or the terminated-user rule) can match.
    #[test]
    fn shortcuts_find_the_same_alerts() {
        let mut rules = RuleSet::builtin();
        rules.add_yaml(
            "inline.yml",
            "title: A resource\nid: a-resource\nlogsource: {product: evident}\n\
             detection:\n  sel:\n    resources.uid: 'arn:2'\n  condition: sel\nlevel: low\n\
             ---\n\
             title: Record field\nid: record-field\nlogsource: {product: evident}\n\
             detection:\n  sel:\n    unmapped.eventName|startswith: 'Put'\n  condition: sel\nlevel: low\n\
             ---\n\
             title: Remote desktop\nid: rdp\nlogsource: {product: evident}\n\
             detection:\n  sel:\n    dst_endpoint.port: 3389\n  condition: sel\nlevel: low\n\
             ---\n\
             title: Not from the office\nid: not-office\nfilter:\n  rules: [record-field]\n  \
             selection:\n    src_endpoint.ip: 10.0.0.1\n  condition: not selection\n",
        );
        assert!(rules.failures().is_empty(), "{:?}", rules.failures());
        let mut events = Vec::new();
        for (_, text) in builtin_files(true) {
            let file: TestFile = yaml_serde::from_str(&text).unwrap();
            for case in file.cases.iter().filter(|c| c.format.is_none()) {
                for e in &case.events {
                    events.push(serde_json::from_value::<Event>(e.clone()).unwrap());
                }
            }
        }
        let mut put = Event::new(evident_model::Class::ApiActivity, 3, T0);
        put.set("resources", json!([{"uid": "arn:1"}, {"uid": "arn:2"}]))
            .set("src_endpoint.ip", "198.51.100.7")
            .set("raw_data", r#"{"eventName":"PutBucketPolicy"}"#);
        put.set_unmapped_record();
        let mut office = put.clone();
        office.set("src_endpoint.ip", "10.0.0.1");
        let flow = Event::new(evident_model::Class::NetworkActivity, 6, T0);
        let mut rdp = flow.clone();
        rdp.set("dst_endpoint.port", 3389);
        let mut by_terminated = flow.clone();
        by_terminated.set("evident.user.terminated", true);
        events.extend([put, office, flow, rdp, by_terminated]);
        assert!(events.len() > 100, "{} events", events.len());

        let probed = alerts(&rules, &events, true);
        assert_eq!(probed, alerts(&rules, &events, false));
        let fired = |id: &str| probed.iter().filter(|a| a.starts_with(id)).count();
        assert_eq!(
            (fired("a-resource"), fired("record-field"), fired("rdp")),
            (2, 1, 1)
        );
        // Activity by a terminated user: the flow `by_terminated` (the last event).
        let terminated =
            "10b40750-3478-4193-8843-d8ff026dcac0 {} [EventRef { ledger_index: Some(147)";
        assert_eq!(fired(terminated), 1);
        assert!(probed.len() > 20, "{probed:?}");
    }
}
