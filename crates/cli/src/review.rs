//! `evident review …`: the log reviews that are due, their packets, and sign-off. Listing
//! also runs the scheduler, so due reviews appear even when no server is running.

use clap::Subcommand;
use evident_server::Evident;
use evident_server::reviews::{self, ReviewStatus, ReviewView};

use crate::Outcome;

/// `evident review` subcommands.
#[derive(Subcommand)]
pub(crate) enum ReviewCommand {
    /// Reviews, newest first, with their status (due, overdue, signed).
    List {
        /// NDJSON output.
        #[arg(long)]
        json: bool,
    },
    /// A review and its packet (what the reviewer must look at).
    Show {
        /// Review id.
        id: i64,
    },
    /// Sign a review off.
    Sign {
        /// Review id.
        id: i64,
        /// What you checked and what you found.
        #[arg(long)]
        findings: String,
        /// Follow-up work items (repeatable).
        #[arg(long = "follow-up")]
        follow_ups: Vec<String>,
    },
}

/// Runs a review command as `actor`.
pub(crate) fn run(node: &Evident, cmd: ReviewCommand, actor: &str) -> anyhow::Result<Outcome> {
    let now = (evident_ledger::now_ns() / 1_000_000) as i64;
    reviews::tick_and_seal(node, now)?;
    match cmd {
        ReviewCommand::List { json } => {
            let list = reviews::list(node, now)?;
            if json {
                for r in list {
                    println!("{}", serde_json::to_string(&r)?);
                }
            } else {
                print_table(&list);
            }
        }
        ReviewCommand::Show { id } => {
            let review = node
                .db
                .review(id)?
                .ok_or(evident_store::StoreError::UnknownReview(id))?;
            let packet = match &review.packet {
                Some(p) => p.clone(),
                None => reviews::packet(node, &review)?,
            };
            let view = ReviewView::new(review, now);
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"review": view, "packet": packet})
                )?
            );
        }
        ReviewCommand::Sign {
            id,
            findings,
            follow_ups,
        } => {
            let r = reviews::sign(node, id, actor, &findings, follow_ups, now)?;
            println!("review {} ({}) signed off by {actor}", r.id, r.schedule);
            if node.ledger.is_read_only() {
                eprintln!(
                    "note: the running server seals this sign-off into the ledger within a second"
                );
            }
        }
    }
    Ok(Outcome::Clean)
}

fn print_table(list: &[ReviewView]) {
    println!(
        "{:>4}  {:<24}  {:<17}  {:<8}  SIGNED BY",
        "ID", "SCHEDULE", "DUE (UTC)", "STATUS"
    );
    for v in list {
        let r = &v.review;
        let due = chrono::DateTime::from_timestamp_millis(r.due_at_ms)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let status = match v.status {
            ReviewStatus::Signed => "signed",
            ReviewStatus::Due => "due",
            ReviewStatus::Overdue => "OVERDUE",
        };
        println!(
            "{:>4}  {:<24}  {:<17}  {:<8}  {}",
            r.id,
            r.schedule,
            due,
            status,
            r.signed.as_ref().map_or("-", |s| s.reviewer.as_str())
        );
    }
}
