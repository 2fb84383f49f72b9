//! `evident case …`: work cases from the terminal. Changes are stored in the state DB and
//! sealed into the ledger — at once when no server runs, else by the server within a
//! second (it holds the ledger).

use std::collections::HashMap;

use anyhow::Context as _;
use clap::Subcommand;
use evident_model::{CaseChange, Disposition, Sla, Stage};
use evident_server::Evident;
use evident_server::cases::{CaseView, case_filter, change_case, open_case};

use crate::Outcome;

/// `evident case` subcommands.
#[derive(Subcommand)]
pub(crate) enum CaseCommand {
    /// List cases, newest first.
    List {
        /// Only cases in this stage.
        #[arg(long)]
        stage: Option<String>,
        /// Only cases not closed.
        #[arg(long)]
        open: bool,
        /// NDJSON output.
        #[arg(long)]
        json: bool,
    },
    /// Show a case with its history.
    Show {
        /// Case id.
        id: i64,
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Open a case by hand.
    Open {
        /// Title.
        title: String,
        /// Severity: Low, Medium, High, Critical.
        #[arg(long, default_value = "Medium")]
        severity: String,
    },
    /// Decide the triage disposition (false_positive and benign close the case).
    Triage {
        /// Case id.
        id: i64,
        /// true_positive, false_positive or benign.
        disposition: String,
        /// Why (required for false_positive and benign).
        #[arg(long)]
        justification: Option<String>,
    },
    /// Move a case to its next stage.
    Advance {
        /// Case id.
        id: i64,
        /// The next stage (investigation, containment, eradication_recovery, post_mortem, closed).
        to: String,
    },
    /// Give a case an owner.
    Assign {
        /// Case id.
        id: i64,
        /// Who.
        assignee: String,
    },
    /// Add a note.
    Note {
        /// Case id.
        id: i64,
        /// The note.
        text: String,
    },
    /// Record an action taken (containment step, fix).
    Action {
        /// Case id.
        id: i64,
        /// What was done.
        description: String,
    },
    /// Link ledger entries to a case.
    Link {
        /// Case id.
        id: i64,
        /// Ledger indexes.
        #[arg(required = true)]
        indexes: Vec<u64>,
    },
    /// Record the post-mortem.
    Postmortem {
        /// Case id.
        id: i64,
        /// Root cause.
        #[arg(long)]
        root_cause: String,
        /// Preventive measures.
        #[arg(long)]
        preventive_measures: String,
        /// Follow-up work items (repeatable).
        #[arg(long = "follow-up")]
        follow_ups: Vec<String>,
    },
}

/// Runs a case command as `actor` (the OS user, unless `--actor` says otherwise).
pub(crate) fn run(node: &Evident, cmd: CaseCommand, actor: &str) -> anyhow::Result<Outcome> {
    let slas = node
        .config
        .cases
        .slas()
        .map_err(anyhow::Error::msg)
        .context("config [cases]")?;
    let now = (evident_ledger::now_ns() / 1_000_000) as i64;
    let change = match cmd {
        CaseCommand::List { stage, open, json } => {
            let cases = node.db.cases(case_filter(stage.as_deref(), open)?)?;
            if json {
                for c in cases {
                    println!("{}", serde_json::to_string(&CaseView::new(c, &slas, now))?);
                }
            } else {
                print_table(cases.into_iter().map(|c| CaseView::new(c, &slas, now)));
            }
            return Ok(Outcome::Clean);
        }
        CaseCommand::Show { id, json } => return show(node, id, json, &slas, now),
        CaseCommand::Open { title, severity } => {
            let opened = CaseChange::Opened {
                title,
                severity,
                rule: None,
                group_key: format!("manual:{}", evident_ledger::now_ns()),
                alert: None,
            };
            let (case, _) = open_case(&node.ledger, &node.db, actor, opened)?;
            println!("opened case {}", case.id);
            return sealed_note(node);
        }
        CaseCommand::Triage {
            id,
            disposition,
            justification,
        } => (
            id,
            CaseChange::Triaged {
                disposition: disposition.parse::<Disposition>()?,
                justification,
            },
        ),
        CaseCommand::Advance { id, to } => (
            id,
            CaseChange::Advanced {
                to: to.parse::<Stage>()?,
            },
        ),
        CaseCommand::Assign { id, assignee } => (id, CaseChange::Assigned { assignee }),
        CaseCommand::Note { id, text } => (id, CaseChange::Noted { text }),
        CaseCommand::Action { id, description } => (id, CaseChange::ActionTaken { description }),
        CaseCommand::Link { id, indexes } => {
            let size = node.ledger.size();
            if let Some(bad) = indexes.iter().find(|i| **i >= size) {
                anyhow::bail!("ledger entry {bad} does not exist (the ledger has {size} entries)");
            }
            (id, CaseChange::EventsLinked { indexes })
        }
        CaseCommand::Postmortem {
            id,
            root_cause,
            preventive_measures,
            follow_ups,
        } => (
            id,
            CaseChange::PostMortemRecorded {
                root_cause,
                preventive_measures,
                follow_ups,
            },
        ),
    };
    let (id, change) = change;
    let case = change_case(&node.ledger, &node.db, id, actor, &change)?;
    println!(
        "case {}: {} (stage {})",
        case.id,
        change.kind().replace('_', " "),
        case.stage
    );
    sealed_note(node)
}

fn sealed_note(node: &Evident) -> anyhow::Result<Outcome> {
    if node.ledger.is_read_only() {
        eprintln!("note: the running server seals this change into the ledger within a second");
    }
    Ok(Outcome::Clean)
}

fn show(
    node: &Evident,
    id: i64,
    json: bool,
    slas: &HashMap<String, Sla>,
    now: i64,
) -> anyhow::Result<Outcome> {
    let case = node
        .db
        .case(id)?
        .ok_or(evident_store::StoreError::UnknownCase(id))?;
    let history = node.db.case_history(id)?;
    let links = node.db.external_links(id)?;
    let view = CaseView::new(case, slas, now);
    if json {
        println!(
            "{}",
            serde_json::json!({"case": view, "history": history, "tickets": links})
        );
        return Ok(Outcome::Clean);
    }
    let c = &view.case;
    println!("case {}: {}", c.id, c.title);
    println!("  severity     {}", c.severity);
    println!("  stage        {}", c.stage);
    if let Some(d) = c.disposition {
        println!("  disposition  {}", d.as_str());
    }
    if let Some(j) = &c.justification {
        println!("  justification {j}");
    }
    if let Some(a) = &c.assignee {
        println!("  assignee     {a}");
    }
    println!(
        "  acknowledged after {}, resolved after {}{}",
        human(view.time_to_acknowledge_secs),
        human(view.time_to_resolve_secs),
        match (view.sla_breached.acknowledge, view.sla_breached.resolve) {
            (false, false) => String::new(),
            (a, r) => format!(
                "  SLA BREACHED ({})",
                [(a, "acknowledge"), (r, "resolve")]
                    .iter()
                    .filter(|(b, _)| *b)
                    .map(|(_, n)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    );
    if !c.alerts.is_empty() {
        println!("  alerts       {:?}", c.alerts);
    }
    if !c.linked_events.is_empty() {
        println!("  events       {:?} (evident entry N)", c.linked_events);
    }
    for l in &links {
        println!(
            "  ticket       {}: {}{}",
            l.integration,
            l.external_id,
            l.url
                .as_deref()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default()
        );
    }
    if let Some(pm) = &c.post_mortem {
        println!("  root cause   {}", pm.root_cause);
        println!("  prevention   {}", pm.preventive_measures);
    }
    println!("history:");
    for row in history {
        let r = &row.record;
        let when = chrono::DateTime::from_timestamp_millis(r.at_ms)
            .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
            .unwrap_or_default();
        let sealed = row
            .ledger_index
            .map(|i| format!("ledger {i}"))
            .unwrap_or_else(|| "not sealed yet".into());
        println!(
            "  {:>3} {when} {:<16} {} [{sealed}]",
            r.seq,
            r.actor,
            serde_json::to_string(&r.change)?
        );
    }
    Ok(Outcome::Clean)
}

fn print_table(cases: impl Iterator<Item = CaseView>) {
    println!(
        "{:>5}  {:<20}  {:<8}  {:<14}  {:>8}  {:<4}  TITLE",
        "ID", "STAGE", "SEVERITY", "ASSIGNEE", "AGE", "SLA"
    );
    for v in cases {
        let c = &v.case;
        let sla = if v.sla_breached.acknowledge || v.sla_breached.resolve {
            "MISS"
        } else {
            "ok"
        };
        println!(
            "{:>5}  {:<20}  {:<8}  {:<14}  {:>8}  {:<4}  {}",
            c.id,
            c.stage.as_str(),
            c.severity,
            c.assignee.as_deref().unwrap_or("-"),
            human(v.time_to_resolve_secs),
            sla,
            c.title
        );
    }
}

fn human(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
