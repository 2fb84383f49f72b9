//! Incident cases: the paper trail SOC 2 CC7.3–CC7.5 asks for. A case moves through the
//! incident-response stages in order; every change is a [`CaseChange`] applied to a
//! [`Case`] by [`Case::apply`], which refuses what the process does not allow (skipping a
//! stage, closing a false positive without a justification, closing without a
//! post-mortem). The same function rebuilds a case from its history, which is how a case
//! row edited behind Evident's back is caught.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The incident-response stages, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Is it real? Decide a disposition.
    Triage,
    /// Scope and impact.
    Investigation,
    /// Stop the spread.
    Containment,
    /// Remove the cause and restore service.
    EradicationRecovery,
    /// What happened, why, and what prevents it next time.
    PostMortem,
    /// Done.
    Closed,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 6] = [
        Stage::Triage,
        Stage::Investigation,
        Stage::Containment,
        Stage::EradicationRecovery,
        Stage::PostMortem,
        Stage::Closed,
    ];

    /// The name used in the API, the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Triage => "triage",
            Stage::Investigation => "investigation",
            Stage::Containment => "containment",
            Stage::EradicationRecovery => "eradication_recovery",
            Stage::PostMortem => "post_mortem",
            Stage::Closed => "closed",
        }
    }

    /// The stage after this one (`None` for closed).
    pub fn next(self) -> Option<Stage> {
        let i = Stage::ALL.iter().position(|s| *s == self)?;
        Stage::ALL.get(i + 1).copied()
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = CaseError;
    fn from_str(s: &str) -> Result<Stage, CaseError> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Stage::ALL
            .iter()
            .copied()
            .find(|st| {
                st.as_str() == s || (s == "eradication" && *st == Stage::EradicationRecovery)
            })
            .ok_or(CaseError::UnknownStage(s))
    }
}

/// The triage verdict; per-rule quality counts these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// A real incident: the case goes on through the stages.
    TruePositive,
    /// The rule was wrong: the case closes, with a justification.
    FalsePositive,
    /// Real but expected or harmless: the case closes, with a justification.
    Benign,
}

impl Disposition {
    /// The name used in the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::TruePositive => "true_positive",
            Disposition::FalsePositive => "false_positive",
            Disposition::Benign => "benign",
        }
    }
}

impl FromStr for Disposition {
    type Err = CaseError;
    fn from_str(s: &str) -> Result<Disposition, CaseError> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "true_positive" | "tp" => Ok(Disposition::TruePositive),
            "false_positive" | "fp" => Ok(Disposition::FalsePositive),
            "benign" => Ok(Disposition::Benign),
            other => Err(CaseError::UnknownDisposition(other.to_owned())),
        }
    }
}

/// One change to a case: the body of a case history row and of its ledger audit entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CaseChange {
    /// The case was opened (by an alert, or by hand).
    Opened {
        /// Short title (the rule's title for alert cases).
        title: String,
        /// OCSF severity caption: Low, Medium, High, Critical.
        severity: String,
        /// The rule that raised it, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        /// Alerts with the same key join the open case instead of opening another.
        group_key: String,
        /// The alert that opened it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alert: Option<i64>,
    },
    /// Another alert with the case's grouping key.
    AlertJoined {
        /// The alert's id.
        alert: i64,
    },
    /// Triage decided what the alert is.
    Triaged {
        /// The verdict.
        disposition: Disposition,
        /// Why; required for false positives and benign alerts, which close the case.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        justification: Option<String>,
    },
    /// The case moved to the next stage.
    Advanced {
        /// The stage it moved to.
        to: Stage,
    },
    /// Someone owns it now.
    Assigned {
        /// Who.
        assignee: String,
    },
    /// A free-text note.
    Noted {
        /// The note.
        text: String,
    },
    /// Something was done (disabled an account, rotated a key, blocked an IP).
    ActionTaken {
        /// What was done.
        description: String,
    },
    /// Ledger entries that belong to the case.
    EventsLinked {
        /// Their ledger indexes.
        indexes: Vec<u64>,
    },
    /// The post-mortem's findings.
    PostMortemRecorded {
        /// Why it happened.
        root_cause: String,
        /// What stops it happening again.
        preventive_measures: String,
        /// Work items that follow.
        #[serde(default)]
        follow_ups: Vec<String>,
    },
}

impl CaseChange {
    /// The change's type name, as in its JSON `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            CaseChange::Opened { .. } => "opened",
            CaseChange::AlertJoined { .. } => "alert_joined",
            CaseChange::Triaged { .. } => "triaged",
            CaseChange::Advanced { .. } => "advanced",
            CaseChange::Assigned { .. } => "assigned",
            CaseChange::Noted { .. } => "noted",
            CaseChange::ActionTaken { .. } => "action_taken",
            CaseChange::EventsLinked { .. } => "events_linked",
            CaseChange::PostMortemRecorded { .. } => "post_mortem_recorded",
        }
    }

    /// Does this change count as a human acknowledging the case?
    fn acknowledges(&self) -> bool {
        matches!(
            self,
            CaseChange::Triaged { .. }
                | CaseChange::Advanced { .. }
                | CaseChange::Assigned { .. }
                | CaseChange::Noted { .. }
                | CaseChange::ActionTaken { .. }
        )
    }
}

/// One recorded change: who, when, what. Serialized as the ledger audit entry's body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseRecord {
    /// The case's id.
    pub case: i64,
    /// 1 for `opened`, then one more per change.
    pub seq: u32,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// Who (user, API token name, `evident` for automatic changes).
    pub actor: String,
    /// What.
    pub change: CaseChange,
}

/// The post-mortem's findings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostMortem {
    /// Why it happened.
    pub root_cause: String,
    /// What stops it happening again.
    pub preventive_measures: String,
    /// Work items that follow.
    pub follow_ups: Vec<String>,
}

/// A case's current state: what its history adds up to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// The case's id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// OCSF severity caption.
    pub severity: String,
    /// The rule that raised it.
    pub rule: Option<String>,
    /// Grouping key of alerts joining it.
    pub group_key: String,
    /// Current stage.
    pub stage: Stage,
    /// Triage verdict.
    pub disposition: Option<Disposition>,
    /// Why a false positive or benign case closed.
    pub justification: Option<String>,
    /// Owner.
    pub assignee: Option<String>,
    /// Alerts in the case.
    pub alerts: Vec<i64>,
    /// Ledger indexes of linked events.
    pub linked_events: Vec<u64>,
    /// Post-mortem findings.
    pub post_mortem: Option<PostMortem>,
    /// Opened, ms since the epoch.
    pub opened_at_ms: i64,
    /// First human action, ms since the epoch.
    pub acknowledged_at_ms: Option<i64>,
    /// Closed, ms since the epoch.
    pub closed_at_ms: Option<i64>,
    /// Changes applied (the last record's `seq`).
    pub seq: u32,
}

/// Why a case change is refused (the message is shown to the user as is).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    /// A stage name Evident does not know.
    #[error(
        "unknown stage {0:?}; stages are triage, investigation, containment, eradication_recovery, post_mortem, closed"
    )]
    UnknownStage(String),
    /// A disposition name Evident does not know.
    #[error("unknown disposition {0:?}; use true_positive, false_positive or benign")]
    UnknownDisposition(String),
    /// Stages go forward one at a time.
    #[error("case {case} is in stage {from}; it can only advance to {allowed}, not to {to}")]
    IllegalTransition {
        /// The case.
        case: i64,
        /// Its stage.
        from: Stage,
        /// Where it was asked to go.
        to: Stage,
        /// Where it may go.
        allowed: String,
    },
    /// Leaving triage needs a verdict.
    #[error(
        "case {0} has no triage disposition; triage it as true_positive before it advances (false_positive and benign close it)"
    )]
    NotTriaged(i64),
    /// Triage happens in triage.
    #[error("case {case} is in stage {stage}; a disposition is decided in triage")]
    TriageOutsideTriage {
        /// The case.
        case: i64,
        /// Its stage.
        stage: Stage,
    },
    /// False positives and benign alerts close with a reason an auditor can read.
    #[error("case {case}: a {disposition} disposition closes the case and needs a justification")]
    JustificationRequired {
        /// The case.
        case: i64,
        /// The disposition given.
        disposition: &'static str,
    },
    /// Closing a true positive needs the post-mortem's findings.
    #[error(
        "case {0} has no post-mortem; record the root cause and preventive measures before closing it"
    )]
    PostMortemRequired(i64),
    /// A closed case is the record; it does not change.
    #[error("case {0} is closed; a closed case does not change (open a new case instead)")]
    Closed(i64),
    /// `opened` only starts a case.
    #[error("case {0} is already open")]
    AlreadyOpen(i64),
    /// A required text was empty.
    #[error("case {case}: {field} must not be empty")]
    Empty {
        /// The case.
        case: i64,
        /// Which field.
        field: &'static str,
    },
    /// A history that does not start with `opened`, or whose records are out of order.
    #[error("case {case} history record {seq}: {message}")]
    BadHistory {
        /// The case.
        case: i64,
        /// The record.
        seq: u32,
        /// What is wrong.
        message: String,
    },
}

impl Case {
    /// A case from its first record, which must be `opened`.
    pub fn open(record: &CaseRecord) -> Result<Case, CaseError> {
        let CaseChange::Opened {
            title,
            severity,
            rule,
            group_key,
            alert,
        } = &record.change
        else {
            return Err(CaseError::BadHistory {
                case: record.case,
                seq: record.seq,
                message: format!(
                    "a case starts with `opened`, not `{}`",
                    record.change.kind()
                ),
            });
        };
        if record.seq != 1 {
            return Err(CaseError::BadHistory {
                case: record.case,
                seq: record.seq,
                message: "`opened` must be record 1".into(),
            });
        }
        if title.trim().is_empty() {
            return Err(CaseError::Empty {
                case: record.case,
                field: "title",
            });
        }
        Ok(Case {
            id: record.case,
            title: title.clone(),
            severity: severity.clone(),
            rule: rule.clone(),
            group_key: group_key.clone(),
            stage: Stage::Triage,
            disposition: None,
            justification: None,
            assignee: None,
            alerts: alert.iter().copied().collect(),
            linked_events: Vec::new(),
            post_mortem: None,
            opened_at_ms: record.at_ms,
            acknowledged_at_ms: None,
            closed_at_ms: None,
            seq: 1,
        })
    }

    /// Rebuilds a case from its whole history, checking every step.
    pub fn replay(history: &[CaseRecord]) -> Result<Case, CaseError> {
        let (first, rest) = history.split_first().ok_or(CaseError::BadHistory {
            case: 0,
            seq: 0,
            message: "empty history".into(),
        })?;
        let mut case = Case::open(first)?;
        for r in rest {
            if r.case != case.id || r.seq != case.seq + 1 {
                return Err(CaseError::BadHistory {
                    case: case.id,
                    seq: r.seq,
                    message: format!(
                        "expected record {} of case {}, found record {} of case {}",
                        case.seq + 1,
                        case.id,
                        r.seq,
                        r.case
                    ),
                });
            }
            case.apply(&r.change, r.at_ms)?;
        }
        Ok(case)
    }

    /// Applies one change at `at_ms`, or refuses it with the reason; a refused change
    /// leaves the case as it was.
    pub fn apply(&mut self, change: &CaseChange, at_ms: i64) -> Result<(), CaseError> {
        let id = self.id;
        let nonempty = |s: &str, field| {
            if s.trim().is_empty() {
                Err(CaseError::Empty { case: id, field })
            } else {
                Ok(())
            }
        };
        if self.stage == Stage::Closed {
            return Err(CaseError::Closed(id));
        }
        match change {
            CaseChange::Opened { .. } => return Err(CaseError::AlreadyOpen(id)),
            CaseChange::AlertJoined { alert } => {
                if !self.alerts.contains(alert) {
                    self.alerts.push(*alert);
                }
            }
            CaseChange::Triaged {
                disposition,
                justification,
            } => {
                if self.stage != Stage::Triage {
                    return Err(CaseError::TriageOutsideTriage {
                        case: id,
                        stage: self.stage,
                    });
                }
                let justification = justification
                    .as_deref()
                    .map(str::trim)
                    .filter(|j| !j.is_empty());
                if *disposition != Disposition::TruePositive {
                    let Some(j) = justification else {
                        return Err(CaseError::JustificationRequired {
                            case: id,
                            disposition: disposition.as_str(),
                        });
                    };
                    self.justification = Some(j.to_owned());
                    self.stage = Stage::Closed;
                    self.closed_at_ms = Some(at_ms);
                } else {
                    self.justification = justification.map(str::to_owned);
                }
                self.disposition = Some(*disposition);
            }
            CaseChange::Advanced { to } => {
                let allowed = self.stage.next().ok_or(CaseError::Closed(id))?;
                if *to != allowed {
                    return Err(CaseError::IllegalTransition {
                        case: id,
                        from: self.stage,
                        to: *to,
                        allowed: allowed.to_string(),
                    });
                }
                if self.stage == Stage::Triage && self.disposition.is_none() {
                    return Err(CaseError::NotTriaged(id));
                }
                if *to == Stage::Closed && self.post_mortem.is_none() {
                    return Err(CaseError::PostMortemRequired(id));
                }
                self.stage = *to;
                if *to == Stage::Closed {
                    self.closed_at_ms = Some(at_ms);
                }
            }
            CaseChange::Assigned { assignee } => {
                nonempty(assignee, "assignee")?;
                self.assignee = Some(assignee.trim().to_owned());
            }
            CaseChange::Noted { text } => nonempty(text, "note")?,
            CaseChange::ActionTaken { description } => nonempty(description, "action")?,
            CaseChange::EventsLinked { indexes } => {
                for i in indexes {
                    if !self.linked_events.contains(i) {
                        self.linked_events.push(*i);
                    }
                }
            }
            CaseChange::PostMortemRecorded {
                root_cause,
                preventive_measures,
                follow_ups,
            } => {
                nonempty(root_cause, "root_cause")?;
                nonempty(preventive_measures, "preventive_measures")?;
                self.post_mortem = Some(PostMortem {
                    root_cause: root_cause.trim().to_owned(),
                    preventive_measures: preventive_measures.trim().to_owned(),
                    follow_ups: follow_ups.clone(),
                });
            }
        }
        if change.acknowledges() && self.acknowledged_at_ms.is_none() {
            self.acknowledged_at_ms = Some(at_ms);
        }
        self.seq += 1;
        Ok(())
    }

    /// Time to acknowledge, ms (until now when not yet acknowledged).
    pub fn time_to_acknowledge_ms(&self, now_ms: i64) -> i64 {
        self.acknowledged_at_ms.unwrap_or(now_ms) - self.opened_at_ms
    }

    /// Time to resolve, ms (until now when still open).
    pub fn time_to_resolve_ms(&self, now_ms: i64) -> i64 {
        self.closed_at_ms.unwrap_or(now_ms) - self.opened_at_ms
    }

    /// Which SLA targets this case missed (or is missing) at `now_ms`.
    pub fn sla_breaches(&self, sla: &Sla, now_ms: i64) -> SlaBreaches {
        SlaBreaches {
            acknowledge: self.time_to_acknowledge_ms(now_ms) > sla.acknowledge_ms,
            resolve: self.time_to_resolve_ms(now_ms) > sla.resolve_ms,
        }
    }
}

/// Response-time targets for one severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sla {
    /// A human must act within this many ms of opening.
    pub acknowledge_ms: i64,
    /// The case must close within this many ms of opening.
    pub resolve_ms: i64,
}

/// Which targets were missed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaBreaches {
    /// Acknowledged late (or not yet, and already late).
    pub acknowledge: bool,
    /// Resolved late (or not yet, and already late).
    pub resolve: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened() -> CaseRecord {
        CaseRecord {
            case: 7,
            seq: 1,
            at_ms: 1_000,
            actor: "evident".into(),
            change: CaseChange::Opened {
                title: "Brute force".into(),
                severity: "High".into(),
                rule: Some("brute_force".into()),
                group_key: "brute_force|10.0.0.1".into(),
                alert: Some(3),
            },
        }
    }

    fn advance(c: &mut Case, to: Stage, at: i64) -> Result<(), CaseError> {
        c.apply(&CaseChange::Advanced { to }, at)
    }

    #[test]
    fn a_true_positive_walks_every_stage_and_closes_after_its_post_mortem() {
        let mut c = Case::open(&opened()).unwrap();
        let tp = CaseChange::Triaged {
            disposition: Disposition::TruePositive,
            justification: None,
        };
        c.apply(&tp, 61_000).unwrap();
        assert_eq!(c.acknowledged_at_ms, Some(61_000));
        for (i, s) in [
            Stage::Investigation,
            Stage::Containment,
            Stage::EradicationRecovery,
            Stage::PostMortem,
        ]
        .into_iter()
        .enumerate()
        {
            advance(&mut c, s, 100_000 + i as i64).unwrap();
        }
        assert_eq!(
            advance(&mut c, Stage::Closed, 200_000)
                .unwrap_err()
                .to_string(),
            "case 7 has no post-mortem; record the root cause and preventive measures before closing it"
        );
        c.apply(
            &CaseChange::PostMortemRecorded {
                root_cause: "weak password".into(),
                preventive_measures: "MFA everywhere".into(),
                follow_ups: vec!["OPS-1".into()],
            },
            210_000,
        )
        .unwrap();
        advance(&mut c, Stage::Closed, 220_000).unwrap();
        assert_eq!(
            (c.stage, c.closed_at_ms, c.seq),
            (Stage::Closed, Some(220_000), 8)
        );
        assert_eq!(c.time_to_resolve_ms(999_999), 219_000);
        assert_eq!(
            c.apply(
                &CaseChange::Noted {
                    text: "late".into()
                },
                230_000
            )
            .unwrap_err()
            .to_string(),
            "case 7 is closed; a closed case does not change (open a new case instead)"
        );
    }

    #[test]
    fn illegal_transitions_are_refused_and_leave_the_case_unchanged() {
        let mut c = Case::open(&opened()).unwrap();
        let before = c.clone();
        assert_eq!(
            advance(&mut c, Stage::Containment, 2_000)
                .unwrap_err()
                .to_string(),
            "case 7 is in stage triage; it can only advance to investigation, not to containment"
        );
        assert_eq!(
            advance(&mut c, Stage::Investigation, 2_000)
                .unwrap_err()
                .to_string(),
            "case 7 has no triage disposition; triage it as true_positive before it advances (false_positive and benign close it)"
        );
        assert_eq!(c, before);
    }

    #[test]
    fn a_false_positive_needs_a_justification_and_closes_the_case() {
        let mut c = Case::open(&opened()).unwrap();
        let fp = |j: Option<&str>| CaseChange::Triaged {
            disposition: Disposition::FalsePositive,
            justification: j.map(str::to_owned),
        };
        assert_eq!(
            c.apply(&fp(Some("  ")), 5_000).unwrap_err().to_string(),
            "case 7: a false_positive disposition closes the case and needs a justification"
        );
        c.apply(&fp(Some("pen test from the agreed IP")), 5_000)
            .unwrap();
        assert_eq!(c.stage, Stage::Closed);
        assert_eq!(
            c.justification.as_deref(),
            Some("pen test from the agreed IP")
        );
        assert_eq!(c.time_to_acknowledge_ms(0), 4_000);
    }

    #[test]
    fn replay_rebuilds_the_case_and_rejects_gaps() {
        let mut history = vec![opened()];
        history.push(CaseRecord {
            seq: 2,
            at_ms: 2_000,
            change: CaseChange::AlertJoined { alert: 4 },
            ..opened()
        });
        let c = Case::replay(&history).unwrap();
        assert_eq!(c.alerts, vec![3, 4]);
        history[1].seq = 3;
        assert_eq!(
            Case::replay(&history).unwrap_err().to_string(),
            "case 7 history record 3: expected record 2 of case 7, found record 3 of case 7"
        );
    }

    #[test]
    fn sla_breaches_count_open_time_until_now() {
        let c = Case::open(&opened()).unwrap();
        let sla = Sla {
            acknowledge_ms: 60_000,
            resolve_ms: 3_600_000,
        };
        assert_eq!(c.sla_breaches(&sla, 30_000), SlaBreaches::default());
        assert_eq!(
            c.sla_breaches(&sla, 70_000),
            SlaBreaches {
                acknowledge: true,
                resolve: false
            }
        );
    }

    #[test]
    fn changes_round_trip_through_their_json_form() {
        let r = opened();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"case":7,"seq":1,"at_ms":1000,"actor":"evident","change":{"type":"opened","title":"Brute force","severity":"High","rule":"brute_force","group_key":"brute_force|10.0.0.1","alert":3}}"#
        );
        assert_eq!(serde_json::from_str::<CaseRecord>(&json).unwrap(), r);
        assert_eq!(
            "Eradication & Recovery"
                .replace(" & ", "_")
                .parse::<Stage>()
                .unwrap(),
            Stage::EradicationRecovery
        );
        assert_eq!(
            "fp".parse::<Disposition>().unwrap(),
            Disposition::FalsePositive
        );
    }
}
