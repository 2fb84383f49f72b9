//! Cases in the server: every change is validated and stored by the state DB, then sealed
//! into the ledger as an audit entry ([`crate::audit::seal_audit_trail`]), so the case trail an auditor
//! sees is tamper-evident; [`check_case_history`] proves the database still says what the
//! ledger sealed. Also the `/api/v1/cases` routes.

use std::collections::{BTreeMap, HashMap};

use evident_ledger::{Entry, EntryKind, Ledger, now_ns};

use crate::audit::{audit_record_id, seal_audit_trail};
use evident_model::{Case, CaseChange, CaseRecord, Sla, SlaBreaches, Stage};
use evident_store::{CASE_AUDIT_KIND, CaseFilter, SealState, StateDb, StoreError};
use serde::{Deserialize, Serialize};

use crate::Error;

/// `[cases]` in evident.toml: response-time targets per severity.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CasesConfig {
    /// Severity caption (`Critical`, `High`, `Medium`, `Low`) → targets.
    pub sla: BTreeMap<String, SlaConfig>,
}

/// One severity's targets, as durations like `15m`, `4h`, `3d`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// A human acts within this long.
    pub acknowledge: String,
    /// The case closes within this long.
    pub resolve: String,
}

impl Default for CasesConfig {
    fn default() -> Self {
        let sla = |a: &str, r: &str| SlaConfig {
            acknowledge: a.into(),
            resolve: r.into(),
        };
        CasesConfig {
            sla: BTreeMap::from([
                ("Critical".into(), sla("15m", "1d")),
                ("High".into(), sla("1h", "3d")),
                ("Medium".into(), sla("4h", "7d")),
                ("Low".into(), sla("1d", "30d")),
            ]),
        }
    }
}

impl CasesConfig {
    /// The parsed targets by severity, or the first bad duration.
    pub fn slas(&self) -> Result<HashMap<String, Sla>, String> {
        self.sla
            .iter()
            .map(|(sev, c)| {
                let parse = |what: &'static str, text: &str| {
                    evident_detect::parse_duration_ms(what, text)
                        .map_err(|e| format!("cases.sla.{sev}: {e}"))
                };
                Ok((
                    sev.clone(),
                    Sla {
                        acknowledge_ms: parse("acknowledge", &c.acknowledge)?,
                        resolve_ms: parse("resolve", &c.resolve)?,
                    },
                ))
            })
            .collect()
    }
}

/// A case with its measured response times and SLA state, as the API and CLI show it.
#[derive(Clone, Debug, Serialize)]
pub struct CaseView {
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// Time to acknowledge so far, seconds.
    pub time_to_acknowledge_secs: i64,
    /// Time to resolve so far, seconds.
    pub time_to_resolve_secs: i64,
    /// The targets of its severity, if any are configured.
    pub sla: Option<Sla>,
    /// Which targets it missed.
    pub sla_breached: SlaBreaches,
}

impl CaseView {
    /// Measures `case` at `now_ms` against `slas`.
    pub fn new(case: Case, slas: &HashMap<String, Sla>, now_ms: i64) -> CaseView {
        let sla = slas.get(&case.severity).copied();
        CaseView {
            time_to_acknowledge_secs: case.time_to_acknowledge_ms(now_ms) / 1000,
            time_to_resolve_secs: case.time_to_resolve_ms(now_ms) / 1000,
            sla_breached: sla
                .map(|s| case.sla_breaches(&s, now_ms))
                .unwrap_or_default(),
            sla,
            case,
        }
    }
}

/// One disagreement between the case tables and the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseFinding {
    /// The case, when known.
    pub case: Option<i64>,
    /// What is wrong, in words.
    pub message: String,
}

/// What [`check_case_history`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CaseCheck {
    /// Cases checked.
    pub cases: u64,
    /// History rows checked against their ledger entries.
    pub sealed_rows: u64,
    /// Rows not sealed yet (not damage: the server seals them within a second).
    pub unsealed_rows: u64,
    /// Disagreements: any one means the database was changed behind Evident's back.
    pub findings: Vec<CaseFinding>,
}

/// Checks that the database's case history is what the ledger sealed, and that every
/// case's stored state is what its history adds up to.
pub fn check_case_history(ledger: &Ledger, db: &StateDb) -> Result<CaseCheck, Error> {
    let mut check = CaseCheck::default();
    let rows = db.all_case_history()?;
    let mut by_case: BTreeMap<i64, Vec<CaseRecord>> = BTreeMap::new();
    let mut known_rows: HashMap<String, ()> = HashMap::new();
    for row in &rows {
        known_rows.insert(row.id.to_string(), ());
        by_case
            .entry(row.record.case)
            .or_default()
            .push(row.record.clone());
        let Some(index) = row.ledger_index.filter(|_| row.seal == SealState::Sealed) else {
            check.unsealed_rows += 1;
            continue;
        };
        if index >= ledger.size() && ledger.is_read_only() {
            // Beside a running server the ledger is read as of its latest checkpoint; a row
            // the server sealed after it is checked by the next run, not damage now.
            check.unsealed_rows += 1;
            continue;
        }
        check.sealed_rows += 1;
        let finding = |message: String| CaseFinding {
            case: Some(row.record.case),
            message,
        };
        let what = format!(
            "case {} record {} (history row {})",
            row.record.case, row.record.seq, row.id
        );
        if index >= ledger.size() {
            check.findings.push(finding(format!(
                "{what} names ledger entry {index}, beyond the ledger's {} entries",
                ledger.size()
            )));
            continue;
        }
        match ledger.entry(index) {
            Ok(e)
                if e.kind == EntryKind::Audit
                    && audit_record_id(&e) == Some(&row.id.to_string()) =>
            {
                if e.body != row.body.as_bytes() {
                    check.findings.push(finding(format!(
                        "{what} differs from what ledger entry {index} sealed: database has {}, ledger has {}",
                        row.body,
                        String::from_utf8_lossy(&e.body)
                    )));
                }
            }
            Ok(_) => check.findings.push(finding(format!(
                "{what} names ledger entry {index}, which is not its audit entry"
            ))),
            Err(e) => check.findings.push(finding(format!(
                "{what}: cannot read ledger entry {index}: {e}"
            ))),
        }
    }
    for (id, stored) in db.case_states()? {
        check.cases += 1;
        let finding = |message: String| CaseFinding {
            case: Some(id),
            message,
        };
        let Some(history) = by_case.get(&id) else {
            check
                .findings
                .push(finding(format!("case {id} has no history")));
            continue;
        };
        match (Case::replay(history), stored) {
            (Ok(replayed), Ok(stored)) if replayed == stored => {}
            (Ok(replayed), Ok(stored)) => check.findings.push(finding(format!(
                "case {id}: the stored case differs from its history (stored stage {}, history says {}; stored seq {}, history has {})",
                stored.stage, replayed.stage, stored.seq, replayed.seq
            ))),
            (Err(e), _) => check
                .findings
                .push(finding(format!("case {id}: history does not replay: {e}"))),
            (_, Err(e)) => check
                .findings
                .push(finding(format!("case {id}: stored state unreadable: {e}"))),
        }
    }
    ledger.for_each_entry(0, ledger.size(), |index, bytes| {
        if let Ok(e) = Entry::decode(bytes)
            && e.kind == EntryKind::Audit
            && e.metadata.iter().any(|(k, v)| k == "audit" && v == CASE_AUDIT_KIND)
            && let Some(id) = audit_record_id(&e)
            && !known_rows.contains_key(id)
        {
            check.findings.push(CaseFinding {
                case: serde_json::from_slice::<CaseRecord>(&e.body)
                    .ok()
                    .map(|r| r.case),
                message: format!(
                    "ledger entry {index} seals case history record {id}, which the database no longer has"
                ),
            });
        }
    })?;
    Ok(check)
}

/// A case change made by `actor` now, stored and — when this process holds the ledger —
/// sealed at once.
pub fn change_case(
    ledger: &Ledger,
    db: &StateDb,
    id: i64,
    actor: &str,
    change: &CaseChange,
) -> Result<Case, Error> {
    let case = db.change_case(id, actor, now_ms(), change, ledger.size())?;
    seal_audit_trail(ledger, db)?;
    Ok(case)
}

/// Opens or joins a case for every alert that has none yet — the step after detection
/// that makes "every alert has a case" true. A case opens at its alert's first event time
/// and is grouped by the alert's dedup key (rule + group-by fields), so repeats of one
/// pattern gather in one open case. Idempotent: a replayed alert is already in a case.
/// Returns how many alerts it placed.
pub fn open_cases_for_alerts(ledger: &Ledger, db: &StateDb) -> Result<u64, Error> {
    let mut placed = 0;
    loop {
        let alerts = db.alerts_without_case(1_000)?;
        if alerts.is_empty() {
            break;
        }
        for a in alerts {
            let text = |k: &str| a.alert.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let opened = CaseChange::Opened {
                title: text("rule_title").unwrap_or_else(|| a.rule_id.clone()),
                severity: text("severity").unwrap_or_else(|| "Medium".into()),
                rule: Some(a.rule_id.clone()),
                group_key: a.dedup_key.clone(),
                alert: Some(a.id),
            };
            db.open_case("evident", a.first_seen_ms, opened, ledger.size())?;
            placed += 1;
        }
    }
    seal_audit_trail(ledger, db)?;
    Ok(placed)
}

/// Opens (or joins) a case now; see [`StateDb::open_case`].
pub fn open_case(
    ledger: &Ledger,
    db: &StateDb,
    actor: &str,
    opened: CaseChange,
) -> Result<(Case, bool), Error> {
    let out = db.open_case(actor, now_ms(), opened, ledger.size())?;
    seal_audit_trail(ledger, db)?;
    Ok(out)
}

fn now_ms() -> i64 {
    (now_ns() / 1_000_000) as i64
}

/// Parses `?stage=` / `?open=` into a filter.
pub fn case_filter(stage: Option<&str>, open: bool) -> Result<CaseFilter, StoreError> {
    match (stage, open) {
        (Some(s), _) => Ok(CaseFilter::Stage(s.parse::<Stage>()?)),
        (None, true) => Ok(CaseFilter::Open),
        (None, false) => Ok(CaseFilter::All),
    }
}
