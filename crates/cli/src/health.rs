//! `evident sources` (source health) and `evident controls` (the control-mapping matrix).

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use evident_server::{Evident, Pipeline, controls_matrix, source_report};

use crate::Outcome;

/// Brings source health up to date with the ledger when this process may write (no server
/// running); a running server does this itself.
fn catch_up(node: &Evident) -> anyhow::Result<()> {
    if node.ledger.is_read_only() {
        return Ok(());
    }
    let mut pipeline = Pipeline::new(node.config.json_mappings.clone());
    pipeline
        .catch_up(&node.ledger, &node.db)
        .context("parsing new ledger entries")?;
    Ok(())
}

pub(crate) fn sources(node: &Evident, json: bool) -> anyhow::Result<Outcome> {
    catch_up(node)?;
    let now_ms = Utc::now().timestamp_millis();
    let report = source_report(node, now_ms)?;
    let clock = evident_clock::clock_status();
    if json {
        for r in &report {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(Outcome::Clean);
    }
    match clock {
        Ok(c) => println!(
            "server clock: {} (offset {} µs, max error {} µs)",
            if c.synchronized {
                "NTP-synchronized"
            } else {
                "NOT synchronized"
            },
            c.offset_us,
            c.max_error_us
        ),
        Err(e) => println!("server clock: unknown ({e})"),
    }
    println!(
        "{:<18} {:<17} {:<13} {:>9} {:>7} {:>8} {:<17} {:>9}  flags",
        "source", "format", "category", "events", "errors", "last 24h", "last received", "skew p50"
    );
    for r in &report {
        let mut flags = Vec::new();
        if r.silent {
            flags.push("SILENT");
        }
        if r.skewed {
            flags.push("SKEWED");
        }
        if r.parse_errors > 0 {
            flags.push("parse-errors");
        }
        println!(
            "{:<18} {:<17} {:<13} {:>9} {:>7} {:>8} {:<17} {:>9}  {}",
            r.name,
            r.format,
            r.category.as_str(),
            r.events,
            r.parse_errors,
            r.events_last_24h,
            r.last_received_ms.map_or("never".into(), fmt_ms),
            r.skew_p50_secs.map_or("-".into(), fmt_secs),
            flags.join(" ")
        );
    }
    Ok(Outcome::Clean)
}

fn fmt_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |d| d.format("%Y-%m-%d %H:%M").to_string(),
    )
}

fn fmt_secs(s: f64) -> String {
    if s.abs() >= 3600.0 {
        format!("{:.1}h", s / 3600.0)
    } else if s.abs() >= 60.0 {
        format!("{:.1}m", s / 60.0)
    } else {
        format!("{s:.0}s")
    }
}

/// Output formats of `evident controls`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum MatrixFormat {
    Table,
    Csv,
    Json,
    Md,
}

pub(crate) fn controls(
    node: &Evident,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    format: MatrixFormat,
) -> anyhow::Result<Outcome> {
    catch_up(node)?;
    let today = Utc::now().date_naive();
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - chrono::Days::new(30));
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let day = |d: NaiveDate| {
        d.signed_duration_since(DateTime::UNIX_EPOCH.date_naive())
            .num_days()
    };
    // The period is inclusive of --to.
    let rows = controls_matrix(node, day(from), day(to) + 1)?;
    let sources_text = |r: &evident_server::ControlRow| {
        r.sources
            .iter()
            .map(|s| format!("{} ({})", s.name, s.events))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match format {
        MatrixFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "from": from.to_string(), "to": to.to_string(), "controls": rows
            }))?
        ),
        MatrixFormat::Csv => {
            println!("control,status,events,sources,description");
            for r in &rows {
                println!(
                    "{},{},{},{},{}",
                    r.id,
                    r.status,
                    r.events,
                    csv(&sources_text(r)),
                    csv(&r.description)
                );
            }
        }
        MatrixFormat::Md => {
            println!("| Control | Status | Events | Sources | What it asks |");
            println!("|---|---|---:|---|---|");
            for r in &rows {
                println!(
                    "| {} | {} | {} | {} | {} |",
                    r.id,
                    r.status,
                    r.events,
                    sources_text(r).replace('|', "\\\\|"),
                    r.description
                );
            }
        }
        MatrixFormat::Table => {
            println!("control-mapping matrix, events from {from} to {to}");
            println!("{:<6} {:<9} {:>9}  sources", "control", "status", "events");
            for r in &rows {
                println!(
                    "{:<7} {:<9} {:>9}  {}",
                    r.id,
                    r.status,
                    r.events,
                    sources_text(r)
                );
            }
            let gaps: Vec<&str> = rows
                .iter()
                .filter(|r| r.status == "gap")
                .map(|r| r.id.as_str())
                .collect();
            if gaps.is_empty() {
                println!("no gaps: every mapped criterion has a live source");
            } else {
                println!(
                    "GAPS (mapped, but no source sent events in the period): {}",
                    gaps.join(", ")
                );
            }
        }
    }
    Ok(Outcome::Clean)
}

fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}
