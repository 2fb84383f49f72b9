//! `GET /search?q=…&from=…&to=…`: search the log in a time range, with a histogram of the
//! matches per day, the matching entries (each names its ledger index) and, for a query
//! ending in `| stats count by FIELD`, the counts table.
//!
//! The page renders a [`SearchOutcome`] from [`run`]. Until the tantivy index
//! (`evident-search`, issue 8) is wired in, [`run`] scans the ledger entries received in
//! the range: every word must occur in the record (case-insensitive), `source:NAME` keeps
//! one source, `| stats count by source|kind|<metadata key>` counts, `| head N` limits.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use evident_charts::{BarChart, Frame, Series};
use evident_ledger::{Entry, EntryKind};
use maud::html;
use serde::Deserialize;

use super::{UiError, blocking, render, svg, when};
use crate::Evident;
use crate::api::AppState;
use crate::auth::Principal;
use crate::cases_api::now_ms;

/// Matches listed on the page unless `| head N` says otherwise.
const DEFAULT_HEAD: usize = 50;
/// Longest body excerpt shown per match.
const EXCERPT: usize = 240;
const DAY_MS: i64 = 86_400_000;

#[derive(Deserialize)]
pub(super) struct SearchForm {
    #[serde(default)]
    q: String,
    from: Option<String>,
    to: Option<String>,
}

/// A parsed query: words, an optional source, and the pipes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SearchRequest {
    words: Vec<String>,
    source: Option<String>,
    stats_by: Option<String>,
    head: usize,
    from_ms: i64,
    to_ms: i64,
}

/// One matching entry.
pub(crate) struct Hit {
    index: u64,
    received_ms: i64,
    source: String,
    kind: &'static str,
    excerpt: String,
}

/// What a search found.
pub(crate) struct SearchOutcome {
    total: u64,
    hits: Vec<Hit>,
    per_day: BTreeMap<i64, u64>,
    stats: Option<Vec<(String, u64)>>,
}

/// Parses `text` into a request over `[from_ms, to_ms)`, or says what is wrong with it.
pub(crate) fn parse(text: &str, from_ms: i64, to_ms: i64) -> Result<SearchRequest, String> {
    let mut parts = text.split('|');
    let mut req = SearchRequest {
        words: Vec::new(),
        source: None,
        stats_by: None,
        head: DEFAULT_HEAD,
        from_ms,
        to_ms,
    };
    for w in parts.next().unwrap_or("").split_whitespace() {
        match w.split_once(':') {
            Some(("source", v)) if !v.is_empty() => req.source = Some(v.to_owned()),
            _ => req.words.push(w.to_lowercase()),
        }
    }
    for pipe in parts {
        let toks: Vec<&str> = pipe.split_whitespace().collect();
        match toks.as_slice() {
            ["stats", "count", "by", field] => req.stats_by = Some((*field).to_owned()),
            ["head", n] => {
                req.head = n
                    .parse()
                    .map_err(|_| format!("head takes a number of results, not {n:?}"))?;
            }
            _ => {
                return Err(format!(
                    "unknown pipe {:?}: use `stats count by FIELD` or `head N`",
                    pipe.trim()
                ));
            }
        }
    }
    Ok(req)
}

/// Runs `req` over the log.
pub(crate) fn run(node: &Evident, req: &SearchRequest) -> Result<SearchOutcome, crate::Error> {
    let mut out = SearchOutcome {
        total: 0,
        hits: Vec::new(),
        per_day: BTreeMap::new(),
        stats: None,
    };
    let mut stats: BTreeMap<String, u64> = BTreeMap::new();
    let ledger = &node.ledger;
    ledger.for_each_entry(0, ledger.size(), |index, bytes| {
        let Ok(e) = Entry::decode(bytes) else { return };
        let ms = (e.received_at_ns / 1_000_000) as i64;
        if ms < req.from_ms || ms >= req.to_ms {
            return;
        }
        if req.source.as_deref().is_some_and(|s| s != e.source) {
            return;
        }
        let body = String::from_utf8_lossy(&e.body);
        if !req.words.is_empty() {
            let lower = body.to_lowercase();
            if !req.words.iter().all(|w| lower.contains(w.as_str())) {
                return;
            }
        }
        out.total += 1;
        *out.per_day.entry(ms.div_euclid(DAY_MS)).or_default() += 1;
        let kind = match e.kind {
            EntryKind::Audit => "audit",
            _ => "log",
        };
        if let Some(field) = &req.stats_by {
            let key = match field.as_str() {
                "source" => e.source.clone(),
                "kind" => kind.to_owned(),
                other => e
                    .metadata
                    .iter()
                    .find(|(k, _)| k == other)
                    .map_or_else(|| "(none)".to_owned(), |(_, v)| v.clone()),
            };
            *stats.entry(key).or_default() += 1;
        }
        if out.hits.len() < req.head {
            out.hits.push(Hit {
                index,
                received_ms: ms,
                source: e.source.clone(),
                kind,
                excerpt: body.chars().take(EXCERPT).collect(),
            });
        }
    })?;
    if req.stats_by.is_some() {
        let mut rows: Vec<(String, u64)> = stats.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.stats = Some(rows);
    }
    Ok(out)
}

fn date_ms(field: &str, text: &str) -> Result<i64, UiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| {
            d.signed_duration_since(chrono::DateTime::UNIX_EPOCH.date_naive())
                .num_days()
                * DAY_MS
        })
        .map_err(|e| {
            UiError::new(
                StatusCode::BAD_REQUEST,
                format!("{field} {text:?} is not a date like 2026-11-01: {e}"),
            )
        })
}

pub(super) async fn page(
    State(s): State<AppState>,
    principal: Principal,
    Query(f): Query<SearchForm>,
) -> Result<Response, UiError> {
    let today = now_ms().div_euclid(DAY_MS) * DAY_MS;
    let to = match f.to.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => date_ms("to", t)?,
        None => today,
    };
    let from = match f.from.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => date_ms("from", t)?,
        None => to - 29 * DAY_MS,
    };
    let (from_text, to_text) = (super::day(from), super::day(to));
    let parsed = parse(&f.q, from, to + DAY_MS);
    let outcome = match (&parsed, f.q.trim().is_empty()) {
        (Ok(_), true) | (Err(_), _) => None,
        (Ok(req), false) => {
            let node = s.node.clone();
            let req = req.clone();
            Some(blocking(move || run(&node, &req)).await?)
        }
    };
    let body = html! {
        form #search-form method="get" action="/search" role="search" {
            label for="q" { "Query" }
            input #q name="q" type="search" value=(f.q) size="60"
                placeholder="failed login source:okta | stats count by source";
            label for="from" { "From" } input #from name="from" type="date" value=(from_text);
            label for="to" { "To" } input #to name="to" type="date" value=(to_text);
            button type="submit" { "Search" }
        }
        p.hint { "Every word must occur in the record; " code { "source:NAME" } " keeps one source; pipes: "
            code { "| stats count by source" } " (or " code { "kind" } ", or a receiver field such as "
            code { "peer" } "), " code { "| head 20" } ". Searches are recorded in the access trail." }
        @if let Err(e) = &parsed { p.error role="alert" { (e) } }
        @if let Some(o) = &outcome {
            p #result-count { strong { (o.total) } " matching entries, " (from_text) " to " (to_text) "." }
            (svg(histogram(o, from, to)))
            @if let Some(rows) = &o.stats {
                table #stats {
                    caption { "Count by " (parsed.as_ref().ok().and_then(|r| r.stats_by.as_deref()).unwrap_or("")) }
                    thead { tr { th scope="col" { "Value" } th scope="col" { "Count" } } }
                    tbody { @for (k, n) in rows { tr { td { (k) } td.num { (n) } } } }
                }
            }
            table #hits {
                caption { "First " (o.hits.len()) " matches" }
                thead { tr { th scope="col" { "Ledger entry" } th scope="col" { "Received" }
                    th scope="col" { "Source" } th scope="col" { "Kind" } th scope="col" { "Record" } } }
                tbody { @for h in &o.hits { tr {
                    td.num { (h.index) } td { (when(h.received_ms)) } td { (h.source) } td { (h.kind) }
                    td { code.record { (h.excerpt) } }
                } } }
            }
        }
    };
    Ok(render(&principal, "Search", "/search", body))
}

fn histogram(o: &SearchOutcome, from: i64, to: i64) -> String {
    let days: Vec<i64> = (from / DAY_MS..=to / DAY_MS).collect();
    BarChart {
        frame: Frame::new(
            "search-histogram",
            "Matches per day",
            "Matching entries per day received",
        )
        .with_size(720, 180),
        x_label: "Day".into(),
        y_label: "Entries".into(),
        categories: days
            .iter()
            .map(|d| super::day(d * DAY_MS).get(5..).unwrap_or("").to_owned())
            .collect(),
        series: vec![Series::new(
            "Matches",
            days.iter()
                .map(|d| o.per_day.get(d).copied().unwrap_or(0) as f64)
                .collect(),
        )],
    }
    .to_svg()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_into_words_source_and_pipes() {
        let r = parse(
            "Failed LOGIN source:okta | stats count by source | head 5",
            1,
            2,
        )
        .unwrap();
        assert_eq!(
            r,
            SearchRequest {
                words: vec!["failed".into(), "login".into()],
                source: Some("okta".into()),
                stats_by: Some("source".into()),
                head: 5,
                from_ms: 1,
                to_ms: 2,
            }
        );
        assert_eq!(
            parse("x | sort time", 1, 2).unwrap_err(),
            "unknown pipe \"sort time\": use `stats count by FIELD` or `head N`"
        );
        assert_eq!(
            parse("x | head many", 1, 2).unwrap_err(),
            "head takes a number of results, not \"many\""
        );
    }
}
