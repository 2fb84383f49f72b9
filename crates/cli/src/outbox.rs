//! `evident outbox …`: the integration outbox — what was sent to Jira, ServiceNow,
//! PagerDuty, Slack and webhooks, what waits for a retry, and the dead-letter list — and
//! reviving a dead message once its target is fixed.

use clap::Subcommand;
use evident_server::Evident;
use evident_store::{OutboxMessage, OutboxState};

use crate::Outcome;

/// `evident outbox` subcommands.
#[derive(Subcommand)]
pub(crate) enum OutboxCommand {
    /// List messages, newest first.
    List {
        /// Only dead messages (gave up after their last attempt).
        #[arg(long)]
        dead: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// NDJSON output.
        #[arg(long)]
        json: bool,
    },
    /// Send a dead (or waiting) message again now, with a fresh count of attempts.
    Retry {
        /// Message id (from `evident outbox list`).
        id: i64,
    },
}

/// Runs an `evident outbox` command.
pub(crate) fn run(node: &Evident, cmd: OutboxCommand) -> anyhow::Result<Outcome> {
    match cmd {
        OutboxCommand::List { dead, limit, json } => {
            let messages = node.db.outbox_messages(dead, limit)?;
            if json {
                for m in &messages {
                    println!("{}", serde_json::to_string(m)?);
                }
            } else {
                print_table(&messages);
            }
            Ok(Outcome::Clean)
        }
        OutboxCommand::Retry { id } => {
            let now_ms = (evident_ledger::now_ns() / 1_000_000) as i64;
            let m = node.db.retry_outbox(id, now_ms)?;
            println!(
                "outbox message {} ({} {} for case {}) is due again; a running server sends it within a second",
                m.id, m.integration, m.kind, m.case_id
            );
            Ok(Outcome::Clean)
        }
    }
}

fn print_table(messages: &[OutboxMessage]) {
    if messages.is_empty() {
        println!("no messages");
        return;
    }
    println!(
        "{:>6}  {:<16} {:>6}  {:<13} {:<8} {:>8}  last error",
        "id", "integration", "case", "change", "state", "attempts"
    );
    for m in messages {
        let error = match (m.state, &m.last_error) {
            (OutboxState::Sent, _) | (_, None) => "-".to_owned(),
            (_, Some(e)) => e.chars().take(100).collect(),
        };
        println!(
            "{:>6}  {:<16} {:>6}  {:<13} {:<8} {:>8}  {}",
            m.id,
            m.integration,
            m.case_id,
            m.kind,
            m.state.as_str(),
            m.attempts,
            error
        );
    }
}
