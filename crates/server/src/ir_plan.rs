//! The incident-response plan (SOC 2 CC7.3–CC7.5): rendered from the config — contacts,
//! severities with their SLAs, the stages a case goes through — as Markdown, so the plan
//! the auditor reads is the one Evident enforces. Every version is sealed into the ledger
//! (audit kind `ir_plan`) when it changes, so the plan's history is evidence too.

use evident_model::Stage;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Evident};

/// The audit-trail kind of plan versions.
pub const IR_PLAN_AUDIT_KIND: &str = "ir_plan";

/// `[ir_plan]` in evident.toml.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IrPlanConfig {
    /// The organization the plan is for.
    pub organization: String,
    /// Who to call, in order.
    pub contacts: Vec<Contact>,
    /// Where incidents are reported (a mailbox, a channel).
    pub report_to: String,
}

/// One person or team in the plan.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Their role in an incident (Incident commander, Security lead, Legal, …).
    pub role: String,
    /// Name.
    pub name: String,
    /// How to reach them.
    #[serde(default)]
    pub email: String,
    /// Phone, for out of hours.
    #[serde(default)]
    pub phone: String,
}

/// What each stage is for, in the plan's words.
fn stage_text(stage: Stage) -> &'static str {
    match stage {
        Stage::Triage => {
            "Decide whether the alert is a true positive, a false positive or benign. False positives and benign alerts close with a written justification."
        }
        Stage::Investigation => "Establish scope and impact: which systems, accounts and data.",
        Stage::Containment => {
            "Stop the spread: disable accounts, revoke keys, isolate hosts. Every action is recorded on the case."
        }
        Stage::EradicationRecovery => {
            "Remove the cause and restore normal operation; confirm with the logs."
        }
        Stage::PostMortem => {
            "Record the root cause and the preventive measures, with follow-up work items."
        }
        Stage::Closed => "The case is closed; its history is sealed in the ledger.",
    }
}

/// The plan as Markdown.
pub fn render(node: &Evident) -> Result<String, Error> {
    let plan = &node.config.ir_plan;
    let slas = node
        .config
        .cases
        .slas()
        .map_err(|message| crate::ConfigError::Invalid {
            path: node.data.config_path(),
            message,
        })?;
    let org = if plan.organization.trim().is_empty() {
        node.config.origin.as_str()
    } else {
        plan.organization.as_str()
    };
    let mut md = format!("# Incident response plan — {org}\n\n");
    md.push_str(
        "Evident opens a case for every alert and records every step of the response below; \
         this plan is generated from the configuration Evident enforces.\n\n",
    );
    md.push_str("## Contacts\n\n");
    if plan.contacts.is_empty() {
        md.push_str("_No contacts configured (`[ir_plan] contacts` in evident.toml)._\n\n");
    } else {
        md.push_str("| Role | Name | Email | Phone |\n|---|---|---|---|\n");
        for c in &plan.contacts {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                c.role, c.name, c.email, c.phone
            ));
        }
        md.push('\n');
    }
    if !plan.report_to.trim().is_empty() {
        md.push_str(&format!(
            "Report suspected incidents to {}.\n\n",
            plan.report_to.trim()
        ));
    }
    md.push_str("## Severities and response times\n\n");
    md.push_str("| Severity | Acknowledge within | Resolve within |\n|---|---|---|\n");
    let order = ["Critical", "High", "Medium", "Low"];
    let mut severities: Vec<&String> = slas.keys().collect();
    severities.sort_by_key(|s| order.iter().position(|o| o == s).unwrap_or(order.len()));
    for sev in severities {
        if let Some(sla) = slas.get(sev) {
            md.push_str(&format!(
                "| {sev} | {} | {} |\n",
                duration_text(sla.acknowledge_ms),
                duration_text(sla.resolve_ms)
            ));
        }
    }
    md.push_str("\nA case that misses a target is flagged as an SLA breach.\n\n");
    md.push_str("## Stages\n\n");
    for (i, stage) in Stage::ALL.iter().enumerate() {
        md.push_str(&format!(
            "{}. **{}** — {}\n",
            i + 1,
            stage.as_str().replace('_', " "),
            stage_text(*stage)
        ));
    }
    md.push_str("\n## Log reviews\n\n");
    if node.config.reviews.is_empty() {
        md.push_str("_No review schedule configured._\n");
    }
    for r in &node.config.reviews {
        md.push_str(&format!(
            "- {}: every {} at {} ({}), overdue after {}; an overdue review opens a case.\n",
            r.name, r.every, r.at, r.timezone, r.grace
        ));
    }
    Ok(md)
}

fn duration_text(ms: i64) -> String {
    let secs = ms / 1000;
    match secs {
        s if s % 86_400 == 0 => format!("{} day(s)", s / 86_400),
        s if s % 3_600 == 0 => format!("{} hour(s)", s / 3_600),
        s if s % 60 == 0 => format!("{} minute(s)", s / 60),
        s => format!("{s} second(s)"),
    }
}

/// Records the current plan as a new version when it differs from the last one recorded;
/// returns the version number when it recorded one.
pub fn record_if_changed(node: &Evident) -> Result<Option<u32>, Error> {
    let text = render(node)?;
    let sha256: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let last = node.db.audit_rows(IR_PLAN_AUDIT_KIND, Some(1))?.pop();
    let unchanged = last
        .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
        .is_some_and(|b| b["change"]["sha256"] == sha256.as_str());
    if unchanged {
        return Ok(None);
    }
    let at_ms = (evident_ledger::now_ns() / 1_000_000) as i64;
    let body = serde_json::json!({
        "at_ms": at_ms,
        "actor": "evident",
        "change": {"type": "ir_plan_version", "sha256": sha256, "text": text},
    });
    let seq = node
        .db
        .record_audit(IR_PLAN_AUDIT_KIND, 1, &body.to_string(), node.ledger.size())?;
    crate::audit::seal_audit_trail(&node.ledger, &node.db)?;
    Ok(Some(seq))
}
