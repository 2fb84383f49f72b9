//! `GET /search?q=…&from=…&to=…`: search the index (docs/search.md: Lucene-like filters
//! and `| stats`, `| timechart`, `| sort`, `| head`, `| fields` pipes) over a range of
//! days, with a histogram of the matches per day, the newest matching events (each names
//! its ledger entry) and, for a `| stats` query, its table.
//!
//! The page renders a [`SearchOutcome`] from [`run`]: two index searches, the query as
//! written and its filter as a `timechart 1d count` for the histogram.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use evident_charts::{BarChart, Frame, Series};
use evident_search::{Pipe, SearchError, Table};
use maud::html;
use serde::Deserialize;
use serde_json::Value as Json;

use super::{UiError, blocking, render, svg, when};
use crate::Evident;
use crate::api::AppState;
use crate::auth::Principal;
use crate::cases_api::now_ms;

/// Matches listed on the page unless `| head N` says otherwise.
const DEFAULT_HEAD: usize = 50;
/// Longest record excerpt shown per match.
const EXCERPT: usize = 240;
const DAY_MS: i64 = 86_400_000;
/// Unsearchable entries past which the page says search is behind (a few are normal: the
/// indexer commits every 2 s, and the search itself adds an access-trail entry).
const LAG_NOTICE_ENTRIES: u64 = 1_000;

#[derive(Deserialize)]
pub(super) struct SearchForm {
    #[serde(default)]
    q: String,
    from: Option<String>,
    to: Option<String>,
}

/// One matching event.
pub(crate) struct Hit {
    index: u64,
    time_ms: i64,
    source: String,
    class: String,
    excerpt: String,
}

/// What a search found.
pub(crate) struct SearchOutcome {
    total: u64,
    hits: Vec<Hit>,
    per_day: BTreeMap<i64, u64>,
    table: Option<Table>,
    /// Ledger entries below this are in the index the search read.
    searchable_through: u64,
    /// Ledger entries when the search ran.
    tree_size: u64,
}

/// Runs query `q` over events with `from_ms <= time < to_ms`. The outer error is the
/// server's (the index cannot be read); the inner one is the user's query, shown on the
/// page.
pub(crate) fn run(
    node: &Evident,
    q: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Result<SearchOutcome, String>, crate::Error> {
    let query = match evident_search::parse(q) {
        Ok(query) => query,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let index = crate::search_api::open_index(&node.data)?;
    let tree_size = node.ledger.size();
    let searchable_through = index.indexed_through()?;
    let user_error = |e: SearchError| match e {
        e @ (SearchError::Query(_) | SearchError::Invalid(_) | SearchError::Window { .. }) => {
            Ok(Err(e.to_string()))
        }
        other => Err(crate::Error::from(other)),
    };
    let found = match index.search_parsed(&query, from_ms, to_ms, DEFAULT_HEAD) {
        Ok(r) => r,
        Err(e) => return user_error(e),
    };
    let per_day = evident_search::Query {
        filter: query.filter.clone(),
        pipes: vec![Pipe::Timechart {
            span_ms: DAY_MS,
            by: None,
        }],
    };
    let days = match index.search_parsed(&per_day, from_ms, to_ms, 0) {
        Ok(r) => r.timechart.map(|t| t.buckets).unwrap_or_default(),
        Err(e) => return user_error(e),
    };
    Ok(Ok(SearchOutcome {
        total: found.total,
        hits: found
            .hits
            .into_iter()
            .map(|h| Hit {
                index: h.ledger_index,
                time_ms: h.time,
                source: h.source,
                class: h.class_name.unwrap_or_default(),
                excerpt: h
                    .raw
                    .or(h.message)
                    .unwrap_or_default()
                    .chars()
                    .take(EXCERPT)
                    .collect(),
            })
            .collect(),
        per_day: days
            .into_iter()
            .map(|b| (b.start_ms.div_euclid(DAY_MS), b.count))
            .collect(),
        table: found.table,
        searchable_through,
        tree_size,
    }))
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

/// A table cell: strings without their JSON quotes.
fn cell(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => "(none)".to_owned(),
        other => other.to_string(),
    }
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
    let outcome = if f.q.trim().is_empty() {
        None
    } else {
        let node = s.node.clone();
        let q = f.q.clone();
        Some(blocking(move || run(&node, &q, from, to + DAY_MS)).await?)
    };
    let body = html! {
        form #search-form method="get" action="/search" role="search" {
            label for="q" { "Query" }
            input #q name="q" type="search" value=(f.q) size="60"
                placeholder="failed source:okta | stats count by user";
            label for="from" { "From" } input #from name="from" type="date" value=(from_text);
            label for="to" { "To" } input #to name="to" type="date" value=(to_text);
            button type="submit" { "Search" }
        }
        p.hint { "Words and " code { "\"phrases\"" } " search the raw records; "
            code { "source:okta" } ", " code { "user:alice" } ", " code { "src_endpoint.ip:10.0.0.0/8" }
            ", " code { "status:failure" } " or any event field filter, with AND, OR, NOT; pipes: "
            code { "| stats count by source" } ", " code { "| timechart 1h count" } ", "
            code { "| sort -time" } ", " code { "| head 20" } ". Searches are recorded in the access trail." }
        @match &outcome {
            Some(Err(e)) => { p.error role="alert" { (e) } }
            Some(Ok(o)) => {
                p #result-count { strong { (o.total) } " matching entries, " (from_text) " to " (to_text) "." }
                @let behind = o.tree_size.saturating_sub(o.searchable_through);
                @if behind > LAG_NOTICE_ENTRIES {
                    p #search-lag role="status" { "Search is behind: it covers ledger entries below "
                        (o.searchable_through) " of " (o.tree_size) "; the newest " (behind)
                        " are not searchable yet. Detection has priority under load, so alerts are not delayed; search catches up when the load passes." }
                }
                (svg(histogram(o, from, to)))
                @if let Some(t) = &o.table {
                    table #stats {
                        caption { "Counts" }
                        thead { tr { @for c in &t.columns { th scope="col" { (c) } } } }
                        tbody { @for row in &t.rows { tr { @for v in row { td { (cell(v)) } } } } }
                    }
                }
                @if o.table.is_none() {
                    table #hits {
                        caption { "Newest " (o.hits.len()) " matches" }
                        thead { tr { th scope="col" { "Ledger entry" } th scope="col" { "Time" }
                            th scope="col" { "Source" } th scope="col" { "Class" } th scope="col" { "Record" } } }
                        tbody { @for h in &o.hits { tr {
                            td.num { (h.index) } td { (when(h.time_ms)) } td { (h.source) } td { (h.class) }
                            td { code.record { (h.excerpt) } }
                        } } }
                    }
                }
            }
            None => {}
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
            "Matching events per day",
        )
        .with_size(720, 180),
        x_label: "Day".into(),
        y_label: "Events".into(),
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
    fn cells_show_strings_bare() {
        assert_eq!(cell(&Json::from("app")), "app");
        assert_eq!(cell(&Json::from(4)), "4");
        assert_eq!(cell(&Json::Null), "(none)");
    }
}
