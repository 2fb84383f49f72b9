//! The demo team's month of response work: every alert's case is worked the way a small
//! security team would — most closed with a post-mortem, a false positive and a benign
//! alert closed with their justifications, one case acknowledged late (an SLA breach),
//! recent ones still in progress — and the weekly log reviews signed, except one that is
//! left overdue. Every step goes through the same case and review functions as the API,
//! at the time it would have happened, so the audit trail reads like a real month.

use std::collections::HashMap;

use evident_model::{Case, CaseChange, Disposition, Sla, Stage};
use evident_server::Evident;
use evident_server::cases::open_cases_for_alerts;
use evident_server::reviews;
use evident_store::CaseFilter;

/// What the simulated team did.
#[derive(Debug, Default)]
pub(crate) struct ResponseSummary {
    /// Cases opened for alerts.
    pub(crate) cases: u64,
    /// Cases closed.
    pub(crate) closed: u64,
    /// Reviews signed.
    pub(crate) reviews_signed: u64,
    /// Reviews left unsigned past their grace period.
    pub(crate) reviews_overdue: u64,
}

const ANALYSTS: [&str; 3] = ["maya.chen", "sam.okafor", "lee.park"];
const REVIEWER: &str = "rita.alvarez";
const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

/// Works every case and review up to `now_ms`.
pub(crate) fn respond(node: &Evident, now_ms: i64) -> anyhow::Result<ResponseSummary> {
    let mut summary = ResponseSummary {
        cases: open_cases_for_alerts(&node.ledger, &node.db)?,
        ..ResponseSummary::default()
    };
    let slas = node.config.cases.slas().map_err(anyhow::Error::msg)?;
    // Cases opened in the last hour (Evident's own alerts about today's source health) are
    // left to the team's next shift.
    let mut cases = node.db.cases(CaseFilter::Open)?;
    cases.retain(|c| c.opened_at_ms < now_ms - HOUR);
    cases.sort_by_key(|c| c.id);
    let n = cases.len();
    for (i, case) in cases.iter().enumerate() {
        let analyst = ANALYSTS[i % ANALYSTS.len()];
        let sla = slas.get(&case.severity).copied().unwrap_or(Sla {
            acknowledge_ms: 4 * HOUR,
            resolve_ms: 7 * 24 * HOUR,
        });
        // The latest cases are still being worked, one in each early stage; the older ones
        // ran their course.
        let mut script = older_script(i + 1, analyst, &sla);
        let in_progress = match n - i {
            1 => Some(1),
            2 => Some(3),
            3 => Some(6),
            4 => Some(9),
            _ => None,
        };
        if let Some(steps) = in_progress {
            script.truncate(steps);
        }
        let mut work = Work {
            node,
            case: case.id,
            at: case.opened_at_ms,
            now_ms,
        };
        for (delay, actor, change) in script {
            if !work.apply(delay, actor, &change)? {
                break;
            }
        }
        if node
            .db
            .case(case.id)?
            .is_some_and(|c: Case| c.stage == Stage::Closed)
        {
            summary.closed += 1;
        }
    }
    review_month(node, now_ms, &mut summary)?;
    Ok(summary)
}

type Step = (i64, &'static str, CaseChange);

fn older_script(k: usize, analyst: &'static str, sla: &Sla) -> Vec<Step> {
    // Acknowledged well inside the target — except the second case, picked up late.
    let ack = if k == 2 {
        sla.acknowledge_ms * 2
    } else {
        sla.acknowledge_ms / 4
    };
    let assign = (
        ack,
        analyst,
        CaseChange::Assigned {
            assignee: analyst.into(),
        },
    );
    match k {
        1 => {
            return vec![
                assign,
                (
                    15 * MINUTE,
                    analyst,
                    CaseChange::Noted {
                        text: "Source IP is the security team's vulnerability scanner (ticket SEC-88)".into(),
                    },
                ),
                (
                    5 * MINUTE,
                    analyst,
                    CaseChange::Triaged {
                        disposition: Disposition::FalsePositive,
                        justification: Some(
                            "Authorized scan from the agreed scanner range; rule to get an allow-list filter".into(),
                        ),
                    },
                ),
            ];
        }
        3 => {
            return vec![
                assign,
                (
                    30 * MINUTE,
                    analyst,
                    CaseChange::Triaged {
                        disposition: Disposition::Benign,
                        justification: Some(
                            "Planned change by IT during the maintenance window, confirmed with the change owner".into(),
                        ),
                    },
                ),
            ];
        }
        _ => {}
    }
    let mut steps = vec![
        assign,
        (
            20 * MINUTE,
            analyst,
            CaseChange::Triaged {
                disposition: Disposition::TruePositive,
                justification: None,
            },
        ),
        (
            30 * MINUTE,
            analyst,
            CaseChange::Advanced {
                to: Stage::Investigation,
            },
        ),
        (
            2 * HOUR,
            analyst,
            CaseChange::Noted {
                text: "Scope confirmed from the linked events: one account, no data leaving".into(),
            },
        ),
        (
            30 * MINUTE,
            analyst,
            CaseChange::ActionTaken {
                description: "Disabled the account, rotated its keys and revoked active sessions"
                    .into(),
            },
        ),
        (
            5 * MINUTE,
            analyst,
            CaseChange::Advanced {
                to: Stage::Containment,
            },
        ),
        (
            3 * HOUR,
            analyst,
            CaseChange::Advanced {
                to: Stage::EradicationRecovery,
            },
        ),
    ];
    if k == 5 {
        // A longer case still in recovery at the end of the month.
        return steps;
    }
    steps.extend([
        (
            6 * HOUR,
            analyst,
            CaseChange::ActionTaken {
                description: "Restored access with MFA enforced after the owner re-verified".into(),
            },
        ),
        (
            HOUR,
            analyst,
            CaseChange::Advanced {
                to: Stage::PostMortem,
            },
        ),
        (
            4 * HOUR,
            analyst,
            CaseChange::PostMortemRecorded {
                root_cause: "A credential without MFA was exposed and used from an unknown network"
                    .into(),
                preventive_measures: "Enforce MFA for every account; alert on logins without MFA"
                    .into(),
                follow_ups: vec![format!("SEC-{}", 100 + k)],
            },
        ),
        (
            30 * MINUTE,
            analyst,
            CaseChange::Advanced { to: Stage::Closed },
        ),
    ]);
    steps
}

/// Applies a case's steps at their times, stopping at the present.
struct Work<'a> {
    node: &'a Evident,
    case: i64,
    at: i64,
    now_ms: i64,
}

impl Work<'_> {
    fn apply(&mut self, delay: i64, actor: &str, change: &CaseChange) -> anyhow::Result<bool> {
        self.at += delay;
        if self.at >= self.now_ms - MINUTE {
            return Ok(false);
        }
        self.node
            .db
            .change_case(self.case, actor, self.at, change, self.node.ledger.size())?;
        Ok(true)
    }
}

/// Signs every weekly review a few hours after it is due, except the last-but-one, which
/// is left to go overdue (and open its case).
fn review_month(node: &Evident, now_ms: i64, summary: &mut ResponseSummary) -> anyhow::Result<()> {
    for schedule in &node.config.reviews {
        let dues = schedule.due_times(now_ms).map_err(anyhow::Error::msg)?;
        let skipped = dues.len().checked_sub(2);
        for (i, due) in dues.iter().enumerate() {
            reviews::tick(node, due + HOUR)?;
            if Some(i) == skipped {
                continue;
            }
            let signed_at = due + 3 * HOUR;
            if signed_at >= now_ms {
                continue;
            }
            let by_due: HashMap<i64, i64> = node
                .db
                .reviews()?
                .into_iter()
                .map(|r| (r.due_at_ms, r.id))
                .collect();
            let Some(&id) = by_due.get(due) else {
                continue;
            };
            let review = node
                .db
                .review(id)?
                .ok_or(evident_store::StoreError::UnknownReview(id))?;
            let packet = reviews::packet(node, &review)?;
            let opened = packet["cases"]["opened"].as_u64().unwrap_or(0);
            let open = packet["cases"]["open_at_end"]
                .as_array()
                .map_or(0, Vec::len);
            let findings = format!(
                "Reviewed the week's alerts, {opened} new case(s) and {open} open case(s); source health and control gaps checked. No unexplained activity."
            );
            reviews::sign(node, id, REVIEWER, &findings, Vec::new(), signed_at)?;
            summary.reviews_signed += 1;
        }
    }
    reviews::tick(node, now_ms)?;
    summary.reviews_overdue = reviews::list(node, now_ms)?
        .iter()
        .filter(|r| r.status == reviews::ReviewStatus::Overdue)
        .count() as u64;
    evident_server::audit::seal_audit_trail(&node.ledger, &node.db)?;
    Ok(())
}
