//! Running a parsed query: the filter becomes a tantivy query ANDed with the time window;
//! hits are the newest (or `sort`ed) documents; `stats` and `timechart` are tantivy
//! aggregations over fast fields, so they never load a document.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::ops::Bound;

use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, Occur, PhraseQuery, Query as TQuery, RangeQuery, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, OwnedValue};
use tantivy::tokenizer::TokenStream;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use crate::index::SearchIndex;
use crate::query::{Expr, Pipe, Query, QueryError, Value, parse};
use crate::schema::{self, Kind};
use crate::{MAX_BUCKETS, MAX_HITS, SearchError};

/// What a search found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchResult {
    /// Events matching the filter in the window.
    pub total: u64,
    /// The hits (newest first unless sorted); empty after `stats` or `timechart`.
    pub hits: Vec<Hit>,
    /// The `stats` table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<Table>,
    /// The `timechart` buckets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timechart: Option<Timechart>,
}

/// One matching event, linked to its ledger entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hit {
    /// The ledger entry holding the record (`evident entry N`, its inclusion proof).
    pub ledger_index: u64,
    /// Event time, ms since the epoch.
    pub time: i64,
    /// Source name.
    pub source: String,
    /// OCSF class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// OCSF `message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The record as received (its part, for entries holding many events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// The normalized event (without `raw_data` and `unmapped`); absent after `fields`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Json>,
    /// With `| fields`: just those, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Map<String, Json>>,
}

/// A `stats` result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    /// Column names: the `by` fields as written, then `count`.
    pub columns: Vec<String>,
    /// Rows, most frequent first (then by value).
    pub rows: Vec<Vec<Json>>,
}

/// A `timechart` result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timechart {
    /// Bucket width, ms.
    pub span_ms: i64,
    /// The split field, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Every bucket of the window, empty ones included, oldest first.
    pub buckets: Vec<TimeBucket>,
}

/// One timechart bucket.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeBucket {
    /// Bucket start, ms (a multiple of the span).
    pub start_ms: i64,
    /// Events in it.
    pub count: u64,
    /// With `by`: events per value.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by: BTreeMap<String, u64>,
}

/// How the hits are to be shaped before a stats/timechart (or without one).
struct HitPlan {
    limit: usize,
    sort: Option<(String, bool)>,
    fields: Option<Vec<String>>,
}

impl SearchIndex {
    /// Runs `query` over events with `from_ms <= time < to_ms`, returning at most `limit`
    /// hits (fewer with `| head`); sees the latest commit.
    pub fn search(
        &self,
        query: &str,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<SearchResult, SearchError> {
        self.search_parsed(&parse(query)?, from_ms, to_ms, limit)
    }

    /// [`SearchIndex::search`] for a parsed query.
    pub fn search_parsed(
        &self,
        query: &Query,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<SearchResult, SearchError> {
        if from_ms >= to_ms {
            return Err(SearchError::Window { from_ms, to_ms });
        }
        self.reload()?;
        let filter = self.compile(&query.filter)?;
        let window = RangeQuery::new(
            Bound::Included(Term::from_field_i64(self.fields.time, from_ms)),
            Bound::Excluded(Term::from_field_i64(self.fields.time, to_ms)),
        );
        let q = BooleanQuery::new(vec![
            (Occur::Must, Box::new(window) as Box<dyn TQuery>),
            (Occur::Must, filter),
        ]);
        let searcher = self.reader.searcher();
        let mut plan = HitPlan {
            limit: limit.min(MAX_HITS),
            sort: None,
            fields: None,
        };
        let mut pipes = query.pipes.iter();
        let mut agg = None;
        for p in pipes.by_ref() {
            match p {
                Pipe::Sort { field, desc } => plan.sort = Some((field.clone(), *desc)),
                Pipe::Head { n } => plan.limit = (*n).min(MAX_HITS),
                Pipe::Fields { names } => plan.fields = Some(names.clone()),
                Pipe::Stats { .. } | Pipe::Timechart { .. } => {
                    agg = Some(p);
                    break;
                }
            }
        }
        match agg {
            None => {
                let (total, hits) = self.hits(&searcher, &q, &plan)?;
                Ok(SearchResult {
                    total,
                    hits,
                    table: None,
                    timechart: None,
                })
            }
            Some(Pipe::Stats { by }) => {
                let (total, mut table) = self.stats(&searcher, &q, by)?;
                for p in pipes {
                    shape_table(&mut table, p)?;
                }
                Ok(SearchResult {
                    total,
                    hits: Vec::new(),
                    table: Some(table),
                    timechart: None,
                })
            }
            Some(Pipe::Timechart { span_ms, by }) => {
                if let Some(p) = pipes.next() {
                    return Err(SearchError::Invalid(format!(
                        "nothing can follow timechart (found {})",
                        pipe_name(p)
                    )));
                }
                let (total, chart) =
                    self.timechart(&searcher, &q, from_ms, to_ms, *span_ms, by.as_deref())?;
                Ok(SearchResult {
                    total,
                    hits: Vec::new(),
                    table: None,
                    timechart: Some(chart),
                })
            }
            Some(_) => Err(SearchError::Invalid("unreachable pipe".to_owned())),
        }
    }

    fn field(&self, name: &str) -> Field {
        let f = &self.fields;
        match name {
            "time" => f.time,
            "ledger_index" => f.ledger_index,
            "source" => f.source,
            "class_uid" => f.class_uid,
            "class_name" => f.class_name,
            "activity_id" => f.activity_id,
            "activity_name" => f.activity_name,
            "type_uid" => f.type_uid,
            "status_id" => f.status_id,
            "status" => f.status,
            "severity_id" => f.severity_id,
            "severity" => f.severity,
            "user" => f.user,
            "src_ip" => f.src_ip,
            "dst_ip" => f.dst_ip,
            "src_port" => f.src_port,
            "dst_port" => f.dst_port,
            "raw" => f.raw,
            _ => f.event,
        }
    }

    /// The tantivy query for a filter expression.
    fn compile(&self, e: &Expr) -> Result<Box<dyn TQuery>, SearchError> {
        Ok(match e {
            Expr::All => Box::new(AllQuery),
            Expr::Text { word, at } => self.text(word, *at, has_wildcard(word))?,
            Expr::Phrase { phrase, at } => self.text(phrase, *at, false)?,
            Expr::Field { field, value, at } => match schema::typed(field) {
                Some((name, kind)) => self.typed(field, self.field(name), kind, value, *at)?,
                None => self.json(field, value, *at)?,
            },
            Expr::Not { expr } => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn TQuery>),
                (Occur::MustNot, self.compile(expr)?),
            ])),
            Expr::And { exprs } => {
                let mut clauses = Vec::with_capacity(exprs.len() + 1);
                for x in exprs {
                    match x {
                        Expr::Not { expr } => clauses.push((Occur::MustNot, self.compile(expr)?)),
                        other => clauses.push((Occur::Must, self.compile(other)?)),
                    }
                }
                if clauses.iter().all(|(o, _)| *o == Occur::MustNot) {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            Expr::Or { exprs } => {
                let mut clauses = Vec::with_capacity(exprs.len());
                for x in exprs {
                    clauses.push((Occur::Should, self.compile(x)?));
                }
                Box::new(BooleanQuery::new(clauses))
            }
        })
    }

    /// Full text: one word is a term, several (`alice@example.com`) a phrase; a wildcard
    /// works within one word.
    fn text(&self, text: &str, at: usize, wildcard: bool) -> Result<Box<dyn TQuery>, SearchError> {
        let field = self.fields.raw;
        if wildcard {
            let lowered = text.to_lowercase();
            if lowered
                .chars()
                .any(|c| !(c.is_alphanumeric() || matches!(c, '*' | '?' | '\\')))
            {
                return Err(invalid(
                    at,
                    format!(
                        "wildcards in full text work within one word of letters and digits; '{text}' spans punctuation"
                    ),
                ));
            }
            return regex(field, &wildcard_regex(&lowered), at);
        }
        let mut analyzer = schema::text_analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            terms.push(Term::from_field_text(field, &stream.token().text));
        }
        match terms.len() {
            0 => Err(invalid(
                at,
                format!("'{text}' has no letters or digits to search for"),
            )),
            1 => Ok(Box::new(TermQuery::new(
                terms.remove(0),
                IndexRecordOption::Basic,
            ))),
            _ => Ok(Box::new(PhraseQuery::new(terms))),
        }
    }

    fn typed(
        &self,
        name: &str,
        field: Field,
        kind: Kind,
        value: &Value,
        at: usize,
    ) -> Result<Box<dyn TQuery>, SearchError> {
        match (kind, value) {
            (Kind::Text, Value::Term { text }) => self.text(text, at, false),
            (Kind::Text, Value::Phrase { text }) => self.text(text, at, false),
            (Kind::Text, Value::Wildcard { pattern }) => self.text(pattern, at, true),
            (Kind::Keyword, Value::Term { text } | Value::Phrase { text }) => {
                Ok(Box::new(TermQuery::new(
                    Term::from_field_text(field, &text.to_lowercase()),
                    IndexRecordOption::Basic,
                )))
            }
            (Kind::Keyword, Value::Wildcard { pattern }) => {
                regex(field, &wildcard_regex(&pattern.to_lowercase()), at)
            }
            (Kind::Number, Value::Term { text } | Value::Phrase { text }) => {
                let v = number(name, text, at)?;
                Ok(Box::new(TermQuery::new(
                    Term::from_field_u64(field, v),
                    IndexRecordOption::Basic,
                )))
            }
            (Kind::Number, Value::Range { lower, upper }) => {
                let b = |x: &Bound<String>| -> Result<Bound<Term>, SearchError> {
                    map_bound(x, |t| Ok(Term::from_field_u64(field, number(name, t, at)?)))
                };
                Ok(Box::new(RangeQuery::new(b(lower)?, b(upper)?)))
            }
            (Kind::Time, Value::Term { text } | Value::Phrase { text }) => {
                let v = time(name, text, at)?;
                Ok(Box::new(TermQuery::new(
                    Term::from_field_i64(field, v),
                    IndexRecordOption::Basic,
                )))
            }
            (Kind::Time, Value::Range { lower, upper }) => {
                let b = |x: &Bound<String>| -> Result<Bound<Term>, SearchError> {
                    map_bound(x, |t| Ok(Term::from_field_i64(field, time(name, t, at)?)))
                };
                Ok(Box::new(RangeQuery::new(b(lower)?, b(upper)?)))
            }
            (Kind::Ip, Value::Term { text } | Value::Phrase { text }) => {
                if let Some((lo, hi)) = cidr(text) {
                    return Ok(Box::new(RangeQuery::new(
                        Bound::Included(Term::from_field_ip_addr(field, lo)),
                        Bound::Included(Term::from_field_ip_addr(field, hi)),
                    )));
                }
                let ip = ip(name, text, at)?;
                Ok(Box::new(TermQuery::new(
                    Term::from_field_ip_addr(field, ip),
                    IndexRecordOption::Basic,
                )))
            }
            (Kind::Ip, Value::Range { lower, upper }) => {
                let b = |x: &Bound<String>| -> Result<Bound<Term>, SearchError> {
                    map_bound(x, |t| Ok(Term::from_field_ip_addr(field, ip(name, t, at)?)))
                };
                Ok(Box::new(RangeQuery::new(b(lower)?, b(upper)?)))
            }
            (Kind::Ip, Value::Wildcard { .. }) => Err(invalid(
                at,
                format!(
                    "{name} takes an address, a CIDR block (10.0.0.0/8) or a range, not a wildcard"
                ),
            )),
            (Kind::Number | Kind::Time, Value::Wildcard { .. }) => Err(invalid(
                at,
                format!("{name} takes a number or a range like [3 TO 5], not a wildcard"),
            )),
            (Kind::Keyword | Kind::Text, Value::Range { .. }) => Err(invalid(
                at,
                format!("ranges work on time, number and IP fields; {name} is text"),
            )),
        }
    }

    /// A dotted path in the catch-all: the value as a lowercase string, or as the number
    /// or boolean it spells (JSON keeps their type).
    fn json(&self, path: &str, value: &Value, at: usize) -> Result<Box<dyn TQuery>, SearchError> {
        let field = self.fields.attrs;
        let base = || Term::from_field_json_path(field, path, false);
        let leaf = path.rsplit('.').next().unwrap_or(path);
        if !schema::searchable(leaf) {
            // Unique ids and times are not in the catch-all: find the value in the full
            // text of the raw record, where they are.
            return match value {
                Value::Term { text } | Value::Phrase { text } => self.text(text, at, false),
                Value::Wildcard { pattern } => self.text(pattern, at, true),
                Value::Range { .. } => Err(invalid(
                    at,
                    format!(
                        "ranges work on time, number and IP fields; {path} is an id or time the index keeps only as text"
                    ),
                )),
            };
        }
        match value {
            Value::Term { text } | Value::Phrase { text } => {
                let mut terms = Vec::new();
                let mut t = base();
                t.append_type_and_str(&text.to_lowercase());
                terms.push(t);
                if let Ok(n) = text.parse::<i64>() {
                    let mut t = base();
                    t.append_type_and_fast_value(n);
                    terms.push(t);
                } else if let Ok(n) = text.parse::<u64>() {
                    let mut t = base();
                    t.append_type_and_fast_value(n);
                    terms.push(t);
                } else if let Ok(n) = text.parse::<f64>() {
                    let mut t = base();
                    t.append_type_and_fast_value(n);
                    terms.push(t);
                }
                if let Ok(b) = text.parse::<bool>() {
                    let mut t = base();
                    t.append_type_and_fast_value(b);
                    terms.push(t);
                }
                let clauses = terms
                    .into_iter()
                    .map(|t| {
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(t, IndexRecordOption::Basic))
                                as Box<dyn TQuery>,
                        )
                    })
                    .collect();
                Ok(Box::new(BooleanQuery::new(clauses)))
            }
            Value::Wildcard { pattern } => {
                // A JSON term is `path segments (0x01-separated) 0x00 's' value` in the
                // field's dictionary: match the path literally, the value by pattern.
                let mut re = String::new();
                for (i, seg) in path.split('.').enumerate() {
                    if i > 0 {
                        re.push_str("\\x01");
                    }
                    re.push_str(&escape_regex(seg));
                }
                re.push_str("\\x00s");
                re.push_str(&wildcard_regex(&pattern.to_lowercase()));
                regex(field, &re, at)
            }
            Value::Range { .. } => Err(invalid(
                at,
                format!(
                    "ranges work on time, number and IP fields (severity_id, class_uid, activity_id, status_id, src_endpoint.port, src_endpoint.ip, …); {path} is not one"
                ),
            )),
        }
    }

    fn hits(
        &self,
        searcher: &Searcher,
        q: &dyn TQuery,
        plan: &HitPlan,
    ) -> Result<(u64, Vec<Hit>), SearchError> {
        let top = TopDocs::with_limit(plan.limit.max(1));
        let (sort_field, desc) = match &plan.sort {
            Some((f, d)) => (f.as_str(), *d),
            None => ("time", true),
        };
        let order = if desc { Order::Desc } else { Order::Asc };
        let (name, kind) = schema::typed(sort_field)
            .ok_or_else(|| SearchError::Invalid(sortable_message(sort_field)))?;
        let run = |e| self.err(e);
        let (addrs, total): (Vec<DocAddress>, usize) = match kind {
            Kind::Time => {
                let (docs, n) = searcher
                    .search(q, &(top.order_by_fast_field::<i64>(name, order), Count))
                    .map_err(run)?;
                (docs.into_iter().map(|(_, a)| a).collect(), n)
            }
            Kind::Number => {
                let (docs, n) = searcher
                    .search(q, &(top.order_by_fast_field::<u64>(name, order), Count))
                    .map_err(run)?;
                (docs.into_iter().map(|(_, a)| a).collect(), n)
            }
            Kind::Keyword => {
                let (docs, n) = searcher
                    .search(q, &(top.order_by_string_fast_field(name, order), Count))
                    .map_err(run)?;
                (docs.into_iter().map(|(_, a)| a).collect(), n)
            }
            _ => return Err(SearchError::Invalid(sortable_message(sort_field))),
        };
        if plan.limit == 0 {
            return Ok((total as u64, Vec::new()));
        }
        let mut hits = Vec::with_capacity(addrs.len());
        for a in addrs {
            let doc: TantivyDocument = searcher.doc(a).map_err(run)?;
            hits.push(self.hit(&doc, plan.fields.as_deref()));
        }
        Ok((total as u64, hits))
    }

    fn hit(&self, doc: &TantivyDocument, fields: Option<&[String]>) -> Hit {
        let f = &self.fields;
        let first = |field: Field| doc.get_first(field).map(OwnedValue::from);
        let as_i64 = |v: Option<OwnedValue>| match v {
            Some(OwnedValue::I64(n)) => n,
            _ => 0,
        };
        let as_u64 = |v: Option<OwnedValue>| match v {
            Some(OwnedValue::U64(n)) => n,
            _ => 0,
        };
        let as_str = |v: Option<OwnedValue>| match v {
            Some(OwnedValue::Str(s)) => Some(s),
            _ => None,
        };
        let event = first(f.event)
            .and_then(|v| serde_json::to_value(&v).ok())
            .unwrap_or(Json::Null);
        let mut hit = Hit {
            ledger_index: as_u64(first(f.ledger_index)),
            time: as_i64(first(f.time)),
            source: as_str(first(f.source)).unwrap_or_default(),
            class_name: as_str(first(f.class_name)),
            message: event
                .get("message")
                .and_then(Json::as_str)
                .map(str::to_owned),
            raw: as_str(first(f.raw)),
            event: None,
            fields: None,
        };
        match fields {
            None => hit.event = Some(event),
            Some(names) => {
                let mut m = Map::new();
                for n in names {
                    let v = match n.as_str() {
                        "ledger_index" => json!(hit.ledger_index),
                        "time" => json!(hit.time),
                        "source" => json!(hit.source),
                        "raw" | "raw_data" => json!(hit.raw),
                        "user" => {
                            let users: Vec<Json> = doc
                                .get_all(f.user)
                                .filter_map(|v| match OwnedValue::from(v) {
                                    OwnedValue::Str(s) => Some(json!(s)),
                                    _ => None,
                                })
                                .collect();
                            Json::Array(users)
                        }
                        path => lookup(&event, path).cloned().unwrap_or(Json::Null),
                    };
                    m.insert(n.clone(), v);
                }
                hit.fields = Some(m);
            }
        }
        hit
    }

    fn agg_field(&self, name: &str) -> Result<&'static str, SearchError> {
        match schema::typed(name) {
            Some((f, Kind::Time | Kind::Number | Kind::Keyword | Kind::Ip)) => Ok(f),
            _ => Err(SearchError::Invalid(format!(
                "cannot group by '{name}': stats and timechart group by {}",
                groupable().join(", ")
            ))),
        }
    }

    fn stats(
        &self,
        searcher: &Searcher,
        q: &dyn TQuery,
        by: &[String],
    ) -> Result<(u64, Table), SearchError> {
        let mut columns: Vec<String> = by.to_vec();
        columns.push("count".to_owned());
        if by.is_empty() {
            let n = searcher.search(q, &Count).map_err(|e| self.err(e))? as u64;
            return Ok((
                n,
                Table {
                    columns,
                    rows: vec![vec![json!(n)]],
                },
            ));
        }
        let fields: Vec<&str> = by
            .iter()
            .map(|b| self.agg_field(b))
            .collect::<Result<_, _>>()?;
        let mut req = Json::Null;
        for (depth, f) in fields.iter().enumerate().rev() {
            let mut terms =
                json!({ "terms": { "field": f, "size": 65_000, "segment_size": 65_000 } });
            if !req.is_null() {
                terms["aggs"] = json!({ format!("g{}", depth + 1): req });
            }
            req = terms;
        }
        let aggs: Aggregations = serde_json::from_value(json!({ "g0": req }))
            .map_err(|e| SearchError::Invalid(format!("aggregation request: {e}")))?;
        let (res, total) = searcher
            .search(q, &(self.agg_collector(aggs), Count))
            .map_err(|e| self.err(e))?;
        let res = agg_json(&res)?;
        let mut rows = Vec::new();
        flatten(&res["g0"], 0, fields.len(), &mut Vec::new(), &mut rows);
        rows.sort_by(|a, b| {
            let ca = a.last().and_then(Json::as_u64).unwrap_or(0);
            let cb = b.last().and_then(Json::as_u64).unwrap_or(0);
            cb.cmp(&ca).then_with(|| cmp_rows(a, b))
        });
        Ok((total as u64, Table { columns, rows }))
    }

    fn timechart(
        &self,
        searcher: &Searcher,
        q: &dyn TQuery,
        from_ms: i64,
        to_ms: i64,
        span_ms: i64,
        by: Option<&str>,
    ) -> Result<(u64, Timechart), SearchError> {
        let first = from_ms.div_euclid(span_ms) * span_ms;
        let n = (to_ms - first + span_ms - 1) / span_ms;
        if n > MAX_BUCKETS {
            return Err(SearchError::Invalid(format!(
                "timechart: {n} buckets of {span_ms} ms over this window; use a wider span (at most {MAX_BUCKETS} buckets)"
            )));
        }
        let mut hist = json!({ "histogram": {
            "field": "time", "interval": span_ms as f64, "min_doc_count": 0,
            "extended_bounds": { "min": first as f64, "max": (to_ms - 1) as f64 },
        }});
        if let Some(b) = by {
            let f = self.agg_field(b)?;
            hist["aggs"] = json!({ "by": { "terms": { "field": f, "size": 65_000, "segment_size": 65_000 } } });
        }
        let aggs: Aggregations = serde_json::from_value(json!({ "t": hist }))
            .map_err(|e| SearchError::Invalid(format!("aggregation request: {e}")))?;
        let (res, total) = searcher
            .search(q, &(self.agg_collector(aggs), Count))
            .map_err(|e| self.err(e))?;
        let res = agg_json(&res)?;
        let mut buckets = Vec::new();
        for b in res["t"]["buckets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let start_ms = b["key"].as_f64().unwrap_or(0.0) as i64;
            let mut split = BTreeMap::new();
            for s in b["by"]["buckets"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                split.insert(key_text(&s["key"]), s["doc_count"].as_u64().unwrap_or(0));
            }
            buckets.push(TimeBucket {
                start_ms,
                count: b["doc_count"].as_u64().unwrap_or(0),
                by: split,
            });
        }
        Ok((
            total as u64,
            Timechart {
                span_ms,
                by: by.map(str::to_owned),
                buckets,
            },
        ))
    }

    fn agg_collector(&self, aggs: Aggregations) -> AggregationCollector {
        AggregationCollector::from_aggs(
            aggs,
            AggContextParams::new(
                AggregationLimitsGuard::new(Some(512 * 1024 * 1024), Some(1_000_000)),
                self.index.tokenizers().clone(),
            ),
        )
    }
}

/// Applies a pipe after `stats` to its table.
fn shape_table(table: &mut Table, p: &Pipe) -> Result<(), SearchError> {
    let column = |t: &Table, name: &str| {
        t.columns.iter().position(|c| c == name).ok_or_else(|| {
            SearchError::Invalid(format!(
                "no column '{name}' after stats (columns: {})",
                t.columns.join(", ")
            ))
        })
    };
    match p {
        Pipe::Sort { field, desc } => {
            let i = column(table, field)?;
            table.rows.sort_by(|a, b| {
                let o = cmp_json(&a[i], &b[i]);
                if *desc { o.reverse() } else { o }
            });
        }
        Pipe::Head { n } => table.rows.truncate(*n),
        Pipe::Fields { names } => {
            let idx: Vec<usize> = names
                .iter()
                .map(|n| column(table, n))
                .collect::<Result<_, _>>()?;
            table.columns = idx.iter().map(|i| table.columns[*i].clone()).collect();
            for r in &mut table.rows {
                *r = idx.iter().map(|i| r[*i].clone()).collect();
            }
        }
        Pipe::Stats { .. } | Pipe::Timechart { .. } => {
            return Err(SearchError::Invalid(format!(
                "only one stats or timechart per query (found {} after stats)",
                pipe_name(p)
            )));
        }
    }
    Ok(())
}

fn pipe_name(p: &Pipe) -> &'static str {
    match p {
        Pipe::Stats { .. } => "stats",
        Pipe::Timechart { .. } => "timechart",
        Pipe::Sort { .. } => "sort",
        Pipe::Head { .. } => "head",
        Pipe::Fields { .. } => "fields",
    }
}

fn groupable() -> Vec<&'static str> {
    schema::TYPED
        .iter()
        .filter(|(_, _, k)| matches!(k, Kind::Time | Kind::Number | Kind::Keyword | Kind::Ip))
        .map(|(q, _, _)| *q)
        .collect()
}

fn sortable_message(name: &str) -> String {
    format!(
        "cannot sort hits by '{name}': hits sort by {}",
        schema::TYPED
            .iter()
            .filter(|(_, _, k)| matches!(k, Kind::Time | Kind::Number | Kind::Keyword))
            .map(|(q, _, _)| *q)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn agg_json(res: &AggregationResults) -> Result<Json, SearchError> {
    serde_json::to_value(res).map_err(|e| SearchError::Invalid(format!("aggregation result: {e}")))
}

/// Nested terms buckets → rows of (keys…, count).
fn flatten(
    node: &Json,
    depth: usize,
    levels: usize,
    keys: &mut Vec<Json>,
    rows: &mut Vec<Vec<Json>>,
) {
    for b in node["buckets"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        keys.push(key_value(&b["key"]));
        if depth + 1 == levels {
            let mut row = keys.clone();
            row.push(json!(b["doc_count"].as_u64().unwrap_or(0)));
            rows.push(row);
        } else {
            flatten(&b[format!("g{}", depth + 1)], depth + 1, levels, keys, rows);
        }
        keys.pop();
    }
}

/// A bucket key as shown: whole numbers as integers, IPv4-mapped addresses as IPv4.
fn key_value(k: &Json) -> Json {
    match k {
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) => json!(f as u64),
            Some(f) if f.fract() == 0.0 && (-9.2e18..0.0).contains(&f) => json!(f as i64),
            _ => k.clone(),
        },
        Json::String(s) => match s.parse::<Ipv6Addr>() {
            Ok(ip) => json!(schema::show_ip(ip)),
            Err(_) => k.clone(),
        },
        other => other.clone(),
    }
}

fn key_text(k: &Json) -> String {
    match key_value(k) {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

fn cmp_json(a: &Json, b: &Json) -> std::cmp::Ordering {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Json::String(x), Json::String(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

fn cmp_rows(a: &[Json], b: &[Json]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp_json(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

fn lookup<'a>(v: &'a Json, path: &str) -> Option<&'a Json> {
    path.split('.').try_fold(v, |v, p| v.get(p))
}

fn invalid(at: usize, message: String) -> SearchError {
    SearchError::Query(QueryError {
        line: 1,
        column: at,
        message,
    })
}

fn regex(field: Field, pattern: &str, at: usize) -> Result<Box<dyn TQuery>, SearchError> {
    RegexQuery::from_pattern(pattern, field)
        .map(|q| Box::new(q) as Box<dyn TQuery>)
        .map_err(|e| invalid(at, format!("bad wildcard pattern: {e}")))
}

fn has_wildcard(word: &str) -> bool {
    let mut escaped = false;
    for c in word.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '*' || c == '?' {
            return true;
        }
    }
    false
}

/// `adm*n` → `adm.*n`; `\*` stays a literal star.
fn wildcard_regex(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push_str(&escape_regex(&n.to_string()));
                }
            }
            c => out.push_str(&escape_regex(&c.to_string())),
        }
    }
    out
}

fn escape_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_alphanumeric() || c == '_' || !c.is_ascii() {
            out.push(c);
        } else if c == ' ' {
            out.push_str("\\x20");
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

fn map_bound(
    b: &Bound<String>,
    f: impl Fn(&str) -> Result<Term, SearchError>,
) -> Result<Bound<Term>, SearchError> {
    Ok(match b {
        Bound::Included(v) => Bound::Included(f(v)?),
        Bound::Excluded(v) => Bound::Excluded(f(v)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

fn number(name: &str, text: &str, at: usize) -> Result<u64, SearchError> {
    text.parse()
        .map_err(|_| invalid(at, format!("{name} takes a whole number, not '{text}'")))
}

fn time(name: &str, text: &str, at: usize) -> Result<i64, SearchError> {
    text.parse().map_err(|_| {
        invalid(
            at,
            format!("{name} takes milliseconds since the epoch, not '{text}'"),
        )
    })
}

fn ip(name: &str, text: &str, at: usize) -> Result<Ipv6Addr, SearchError> {
    schema::parse_ip(text).ok_or_else(|| {
        invalid(
            at,
            format!(
                "{name} takes an IP address, a CIDR block (10.0.0.0/8) or a range, not '{text}'"
            ),
        )
    })
}

/// `10.0.0.0/8` → first and last address (IPv4-mapped for IPv4).
fn cidr(text: &str) -> Option<(Ipv6Addr, Ipv6Addr)> {
    let (addr, prefix) = text.split_once('/')?;
    let prefix: u32 = prefix.parse().ok()?;
    match addr.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            if prefix > 32 {
                return None;
            }
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            let base = u32::from(v4) & mask;
            let lo = std::net::Ipv4Addr::from(base);
            let hi = std::net::Ipv4Addr::from(base | !mask);
            Some((lo.to_ipv6_mapped(), hi.to_ipv6_mapped()))
        }
        std::net::IpAddr::V6(v6) => {
            if prefix > 128 {
                return None;
            }
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            let base = u128::from(v6) & mask;
            Some((Ipv6Addr::from(base), Ipv6Addr::from(base | !mask)))
        }
    }
}
