//! `GET /metrics`: the server's counters in the Prometheus text exposition format (0.0.4),
//! so an existing Prometheus or OpenTelemetry Collector scrapes them: records per receiver
//! and outcome, the global request counters also shown on `/healthz`, the ledger's size, the
//! intake's free room, the pipeline's watermark and lag, and how far search lags. Public like `/healthz`: counts,
//! never log content.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::receivers::HttpReceiver;

/// The `/metrics` route.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(receiver: HttpReceiver) -> Router<S> {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(receiver)
}

async fn metrics_handler(State(r): State<HttpReceiver>) -> Response {
    let db = r.node.db.clone();
    let watermark = match tokio::task::spawn_blocking(move || db.watermark()).await {
        Ok(Ok(w)) => Some(w),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "metrics: cannot read the pipeline watermark");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics: watermark task failed");
            None
        }
    };
    let snapshot = Snapshot {
        receivers: r
            .node
            .receivers
            .snapshot()
            .into_iter()
            .map(|(name, s)| (name, [s.received, s.stored, s.rejected, s.dropped]))
            .collect(),
        counters: counters(&r.node.counters),
        tree_size: r.node.ledger.size(),
        intake_available: r.intake.available() as u64,
        intake_capacity: r.node.config.ingest.queue_records as u64,
        watermark,
        search_indexed_through: r
            .node
            .counters
            .search_indexed_through
            .load(Ordering::Relaxed),
    };
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&snapshot),
    )
        .into_response()
}

/// Everything `/metrics` shows, read at one moment.
struct Snapshot {
    /// Receiver name → received, stored, rejected, dropped.
    receivers: Vec<(String, [u64; 4])>,
    /// The global counters, by metric name and label.
    counters: Vec<(&'static str, Option<&'static str>, u64)>,
    tree_size: u64,
    intake_available: u64,
    intake_capacity: u64,
    /// `None` when the state database could not be read.
    watermark: Option<u64>,
    /// Ledger entries below this are in the search index.
    search_indexed_through: u64,
}

fn counters(c: &crate::Counters) -> Vec<(&'static str, Option<&'static str>, u64)> {
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    vec![
        (
            "evident_records_accepted_total",
            None,
            g(&c.records_accepted),
        ),
        (
            "evident_records_malformed_total",
            None,
            g(&c.records_malformed),
        ),
        (
            "evident_requests_rejected_total",
            Some("unauthorized"),
            g(&c.rejected_unauthorized),
        ),
        (
            "evident_requests_rejected_total",
            Some("too_large"),
            g(&c.rejected_too_large),
        ),
        (
            "evident_requests_rejected_total",
            Some("overloaded"),
            g(&c.rejected_overloaded),
        ),
        (
            "evident_requests_rejected_total",
            Some("bad_body"),
            g(&c.rejected_bad_body),
        ),
        ("evident_storage_errors_total", None, g(&c.storage_errors)),
        (
            "evident_http_connections_refused_total",
            None,
            g(&c.http_connections_refused),
        ),
        (
            "evident_http_header_timeouts_total",
            None,
            g(&c.http_header_timeouts),
        ),
        (
            "evident_http_body_timeouts_total",
            None,
            g(&c.http_body_timeouts),
        ),
        (
            "evident_http_connections_open",
            None,
            g(&c.http_connections_open),
        ),
        (
            "evident_syslog_connections_refused_total",
            None,
            g(&c.syslog_connections_refused),
        ),
    ]
}

/// The exposition text: `# HELP` and `# TYPE` once per metric, then its samples.
fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    header_lines(
        &mut out,
        "evident_receiver_records_total",
        "counter",
        "Records per receiver since the server started, by outcome: received, stored (durable in the ledger), rejected (the sender was told), dropped (lost without telling the sender).",
    );
    for (name, values) in &s.receivers {
        for (outcome, v) in ["received", "stored", "rejected", "dropped"]
            .iter()
            .zip(values)
        {
            let _ = writeln!(
                out,
                "evident_receiver_records_total{{receiver=\"{}\",outcome=\"{outcome}\"}} {v}",
                escape(name)
            );
        }
    }
    let helps: [(&str, &str); 8] = [
        (
            "evident_records_accepted_total",
            "Records durably appended to the ledger by any receiver.",
        ),
        (
            "evident_records_malformed_total",
            "Records stored over HTTP ingest that did not parse (kept and flagged).",
        ),
        (
            "evident_requests_rejected_total",
            "Requests refused, by reason; nothing of them was stored.",
        ),
        (
            "evident_storage_errors_total",
            "Requests that failed on storage or an internal error; nothing was acknowledged.",
        ),
        (
            "evident_http_connections_refused_total",
            "HTTP connections closed on accept because server.max_connections were open.",
        ),
        (
            "evident_http_header_timeouts_total",
            "HTTP connections closed because no complete request head came within server.header_read_timeout_secs.",
        ),
        (
            "evident_http_body_timeouts_total",
            "Requests answered 408 because their body did not arrive within server.request_body_timeout_secs.",
        ),
        (
            "evident_syslog_connections_refused_total",
            "Syslog TCP/TLS connections closed on accept because a listener had server.max_connections open.",
        ),
    ];
    for (metric, help) in helps {
        header_lines(&mut out, metric, "counter", help);
        for (name, reason, v) in &s.counters {
            if *name != metric {
                continue;
            }
            match reason {
                Some(r) => {
                    let _ = writeln!(out, "{metric}{{reason=\"{r}\"}} {v}");
                }
                None => {
                    let _ = writeln!(out, "{metric} {v}");
                }
            }
        }
    }
    let mut gauge = |metric: &str, help: &str, v: u64| {
        header_lines(&mut out, metric, "gauge", help);
        let _ = writeln!(out, "{metric} {v}");
    };
    let open = s
        .counters
        .iter()
        .find(|(name, _, _)| *name == "evident_http_connections_open")
        .map_or(0, |(_, _, v)| *v);
    gauge(
        "evident_http_connections_open",
        "HTTP connections open now (at most server.max_connections).",
        open,
    );
    gauge(
        "evident_ledger_tree_size",
        "Entries in the ledger.",
        s.tree_size,
    );
    gauge(
        "evident_intake_available_permits",
        "Records the intake can still admit before receivers push back (503, TCP back-pressure).",
        s.intake_available,
    );
    gauge(
        "evident_intake_capacity",
        "Records the intake admits at once (ingest.queue_records).",
        s.intake_capacity,
    );
    if let Some(w) = s.watermark {
        gauge(
            "evident_pipeline_watermark",
            "Ledger index up to which the pipeline has parsed and recorded source health.",
            w,
        );
        gauge(
            "evident_pipeline_lag_entries",
            "Ledger entries not yet processed by the pipeline.",
            s.tree_size.saturating_sub(w),
        );
    }
    gauge(
        "evident_search_indexed_through",
        "Ledger index up to which events are in the search index (it follows the pipeline's watermark).",
        s.search_indexed_through,
    );
    gauge(
        "evident_search_lag_entries",
        "Ledger entries not yet searchable; under load search lags while detection keeps up.",
        s.tree_size.saturating_sub(s.search_indexed_through),
    );
    out
}

fn header_lines(out: &mut String, metric: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {metric} {help}");
    let _ = writeln!(out, "# TYPE {metric} {kind}");
}

/// A label value as the exposition format quotes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_sample_once_with_escaped_labels() {
        let s = Snapshot {
            receivers: vec![("a\"b".into(), [3, 2, 1, 0])],
            counters: vec![
                ("evident_records_accepted_total", None, 2),
                ("evident_requests_rejected_total", Some("unauthorized"), 5),
                ("evident_http_connections_open", None, 3),
            ],
            tree_size: 9,
            intake_available: 7,
            intake_capacity: 10,
            watermark: Some(4),
            search_indexed_through: 3,
        };
        let text = render(&s);
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                r#"evident_receiver_records_total{receiver="a\"b",outcome="received"} 3"#,
                r#"evident_receiver_records_total{receiver="a\"b",outcome="stored"} 2"#,
                r#"evident_receiver_records_total{receiver="a\"b",outcome="rejected"} 1"#,
                r#"evident_receiver_records_total{receiver="a\"b",outcome="dropped"} 0"#,
                "evident_records_accepted_total 2",
                r#"evident_requests_rejected_total{reason="unauthorized"} 5"#,
                "evident_http_connections_open 3",
                "evident_ledger_tree_size 9",
                "evident_intake_available_permits 7",
                "evident_intake_capacity 10",
                "evident_pipeline_watermark 4",
                "evident_pipeline_lag_entries 5",
                "evident_search_indexed_through 3",
                "evident_search_lag_entries 6",
            ]
        );
        assert_eq!(text.lines().filter(|l| l.starts_with("# TYPE")).count(), 17);
    }
}
