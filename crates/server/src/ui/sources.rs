//! `GET /sources`: every source's health — volume over the last 24 hours as a sparkline,
//! last event, parse errors, clock skew — with SILENT and SKEWED flags.

use axum::extract::State;
use axum::response::Response;
use evident_charts::{Frame, Sparkline};
use maud::{Markup, html};

use super::{blocking, render, svg, when};
use crate::api::AppState;
use crate::auth::Principal;
use crate::cases_api::now_ms;
use crate::report::SourceReport;

pub(super) async fn page(
    State(s): State<AppState>,
    principal: Principal,
) -> Result<Response, super::UiError> {
    let node = s.node.clone();
    let now = now_ms();
    let report = blocking(move || crate::report::source_report(&node, now)).await?;
    let body = html! {
        p { (report.len()) " sources. Volume is events received per hour over the last 24 hours." }
        table #sources {
            thead { tr {
                th scope="col" { "Source" } th scope="col" { "Format" } th scope="col" { "Category" }
                th scope="col" { "Events" } th scope="col" { "Last 24 h" } th scope="col" { "Volume" }
                th scope="col" { "Last event" } th scope="col" { "Last received" }
                th scope="col" { "Parse errors" } th scope="col" { "Skew p50 / p99" } th scope="col" { "Flags" }
            } }
            tbody {
                @for (i, r) in report.iter().enumerate() {
                    tr {
                        th scope="row" { (r.name) }
                        td { (r.format) }
                        td { (r.category.as_str()) }
                        td.num { (r.events) }
                        td.num { (r.events_last_24h) }
                        td { (svg(sparkline(i, r))) }
                        td { (r.last_event_ms.map_or_else(|| "—".into(), when)) }
                        td { (r.last_received_ms.map_or_else(|| "—".into(), when)) }
                        td.num {
                            (r.parse_errors)
                            @if let Some(e) = &r.last_error { br; span.hint { (e) } }
                        }
                        td.num { (secs(r.skew_p50_secs)) " / " (secs(r.skew_p99_secs)) }
                        td { (flags(r)) }
                    }
                }
            }
        }
    };
    Ok(render(&principal, "Sources", "/sources", body))
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |s| format!("{s:.1} s"))
}

fn sparkline(i: usize, r: &SourceReport) -> String {
    Sparkline {
        frame: Frame::new(
            &format!("spark-{i}"),
            &format!("{}: events per hour, last 24 hours", r.name),
            &format!("{} events in the last 24 hours", r.events_last_24h),
        )
        .with_size(120, 24),
        values: r.hourly.iter().map(|v| *v as f64).collect(),
    }
    .to_svg()
}

/// The SILENT / SKEWED / OK badges of a source.
pub(super) fn flags(r: &SourceReport) -> Markup {
    html! {
        @if r.silent { span.badge.bad { "SILENT" } " " }
        @if r.skewed { span.badge.warn { "SKEWED" } " " }
        @if !r.silent && !r.skewed { span.badge.ok { "OK" } }
    }
}
