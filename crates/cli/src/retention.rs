//! `evident retention …`: what is kept where and until when (per source: oldest retained
//! record, local and archived sizes, next deletion; the archive bucket's Object Lock
//! configuration read back from the bucket; the policy text for the evidence package), and
//! legal holds per case.

use anyhow::Context as _;
use clap::Subcommand;
use evident_server::Evident;
use evident_server::retention::{RetentionEngine, RetentionStatus};

use crate::Outcome;

/// `evident retention` subcommands.
#[derive(Subcommand)]
pub(crate) enum RetentionCommand {
    /// Per source: oldest retained record, sizes, next deletion; archive lock status; policy.
    Status {
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Place a legal hold on a case: the ledger entries of its alerts and its trail are
    /// not deleted, whatever their retention, until it is released.
    Hold {
        /// Case id.
        case_id: i64,
        /// Why (matter, counsel's reference).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Release a case's legal hold.
    Release {
        /// Case id.
        case_id: i64,
    },
}

/// Runs an `evident retention` command.
pub(crate) fn run(node: Evident, cmd: RetentionCommand, actor: &str) -> anyhow::Result<Outcome> {
    let now_ms = (evident_ledger::now_ns() / 1_000_000) as i64;
    match cmd {
        RetentionCommand::Status { json } => {
            let status = status(node)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", render(&status));
            }
            Ok(Outcome::Clean)
        }
        RetentionCommand::Hold { case_id, reason } => {
            let size = node.ledger.size();
            if node
                .db
                .place_legal_hold(case_id, now_ms, actor, &reason, size)?
            {
                seal(&node)?;
                println!("legal hold placed on case {case_id}");
            } else {
                println!("case {case_id} is already under legal hold");
            }
            Ok(Outcome::Clean)
        }
        RetentionCommand::Release { case_id } => {
            let size = node.ledger.size();
            if node.db.release_legal_hold(case_id, now_ms, actor, size)? {
                seal(&node)?;
                println!("legal hold on case {case_id} released");
            } else {
                println!("case {case_id} has no legal hold");
            }
            Ok(Outcome::Clean)
        }
    }
}

/// The retention status of `node` (reads the archive bucket's lock configuration): the
/// function the evidence package uses for its retention section (`policy_markdown` holds
/// the policy text).
pub(crate) fn status(node: Evident) -> anyhow::Result<RetentionStatus> {
    let node = std::sync::Arc::new(node);
    let engine = RetentionEngine::new(node.clone())?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    Ok(rt.block_on(engine.status())?)
}

/// Seals the hold change now when this process holds the ledger; else the server does.
fn seal(node: &Evident) -> anyhow::Result<()> {
    evident_server::audit::seal_audit_trail(&node.ledger, &node.db)?;
    if !node.ledger.is_read_only() {
        node.ledger.checkpoint()?;
    }
    Ok(())
}

fn day(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "-".into())
}

fn render(s: &RetentionStatus) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20} {:>5} {:>6} {:>10} {:>12} {:>12} {:>12} {:>12}",
        "SOURCE", "HOT", "TOTAL", "RECORDS", "OLDEST", "LOCAL", "ARCHIVED", "DELETE FROM"
    );
    for r in &s.sources {
        let _ = writeln!(
            out,
            "{:<20} {:>5} {:>6} {:>10} {:>12} {:>12} {:>12} {:>12}",
            r.source,
            r.hot_days,
            r.total_days,
            r.entries,
            day(r.oldest_retained_ms),
            r.local_bytes,
            r.archived_bytes,
            day(r.deletion_due_ms)
        );
    }
    let _ = writeln!(out, "\nnext deletion: {}", day(s.next_deletion_ms));
    for p in &s.pruned {
        let _ = writeln!(out, "pruned: {p}");
    }
    if !s.legal_holds.is_empty() {
        let ids: Vec<String> = s.legal_holds.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "legal hold on cases: {}", ids.join(", "));
    }
    match &s.archive {
        None => {
            let _ = writeln!(out, "archive: none configured ([retention.archive])");
        }
        Some(a) => {
            let _ = writeln!(
                out,
                "archive: {} ({} segments) — object lock {}, default {} {}, versioning {}{}",
                a.target,
                a.segments_archived,
                if a.object_lock { "ENABLED" } else { "DISABLED" },
                a.default_mode.as_deref().unwrap_or("none"),
                match (a.default_days, a.default_years) {
                    (Some(d), _) => format!("{d} days"),
                    (None, Some(y)) => format!("{y} years"),
                    _ => "-".into(),
                },
                a.versioning.as_deref().unwrap_or("never enabled"),
                a.error
                    .as_deref()
                    .map(|e| format!(" (error: {e})"))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(out, "\n{}", s.policy_markdown);
    out
}
