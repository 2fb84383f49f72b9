//! Rule tests (`evident rules test`): for a rule file `rules/<dir>/<stem>.yml`, the file
//! `rules/tests/<stem>.yml` lists cases, each a handful of events and the exact number of
//! alerts the rule must raise for them (format in `rules/README.md`). A case runs the whole
//! rule set (so correlations and filters behave as in production) with its own enrichment
//! config and change tickets, and counts the alerts of the rule under test — of its
//! correlation when the file has one. Raw vendor records are normalized by a parser the
//! caller supplies (`evident-sources` in the CLI), keeping this crate free of it.

use std::collections::BTreeSet;

use evident_model::{Event, Format};
use serde::Deserialize;
use serde_json::Value;

use crate::ruleset::Doc;
use crate::{ChangeTicket, DetectConfig, DetectError, Detector, EventRef, RawRecord, RuleSet};

/// Config keys a case may override.
const CONFIG_KEYS: &[&str] = &[
    "business_hours",
    "assets",
    "privileged_groups",
    "change_tickets",
    "detection",
];

/// One `rules/tests/<stem>.yml` file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The rule file's stem.
    pub rule: String,
    /// The cases.
    pub cases: Vec<TestCase>,
}

/// One case: events in, an exact alert count out.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// What the case shows.
    pub name: String,
    /// Alerts the rule must raise, exactly.
    pub expect: u64,
    /// The events are raw records of this Evident format (normalized first); without
    /// it they are normalized OCSF events.
    #[serde(default)]
    pub format: Option<String>,
    /// Enrichment config overrides (`business_hours`, `assets`, …, as in `evident.toml`).
    #[serde(default)]
    pub config: Option<Value>,
    /// Change tickets known before the events.
    #[serde(default)]
    pub change_tickets: Vec<Value>,
    /// JSON objects, or strings (one raw line each) for text formats.
    pub events: Vec<Value>,
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CaseResult {
    /// The test file.
    pub file: String,
    /// The rule stem.
    pub rule: String,
    /// The case name.
    pub case: String,
    /// Alerts expected.
    pub expected: u64,
    /// Alerts raised (`None` when the case could not run).
    pub actual: Option<u64>,
    /// Why the case could not run.
    pub error: Option<String>,
}

impl CaseResult {
    /// Ran, and raised exactly the expected alerts.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.actual == Some(self.expected)
    }
}

/// Normalizes a raw record of a format: the caller's parser.
pub type ParseFn<'a> = dyn FnMut(Format, &[u8]) -> Result<Vec<Event>, String> + 'a;

/// Parses a test file.
pub fn parse_test_file(file: &str, text: &str) -> Result<TestFile, DetectError> {
    yaml_serde::from_str(text).map_err(|e| DetectError::TestFile {
        file: file.to_owned(),
        message: e.to_string(),
    })
}

/// Runs every case of a test file against `rules`.
pub fn run_test_file(
    rules: &RuleSet,
    file: &str,
    tests: &TestFile,
    parse: &mut ParseFn<'_>,
) -> Vec<CaseResult> {
    let keys = rule_keys(rules, &tests.rule);
    tests
        .cases
        .iter()
        .map(|case| {
            let outcome = if keys.is_empty() {
                Err(format!(
                    "no loaded rule file named {}.yml (a failed rule is reported by `evident rules lint`)",
                    tests.rule
                ))
            } else {
                run_case(rules, &keys, file, case, parse)
            };
            let (actual, error) = match outcome {
                Ok(n) => (Some(n), None),
                Err(e) => (None, Some(e)),
            };
            CaseResult {
                file: file.to_owned(),
                rule: tests.rule.clone(),
                case: case.name.clone(),
                expected: case.expect,
                actual,
                error,
            }
        })
        .collect()
}

/// Rule files (stems) in a set, for reporting rules without tests.
pub fn rule_stems(rules: &RuleSet) -> BTreeSet<String> {
    rules.docs.iter().map(|(f, _)| stem(f).to_owned()).collect()
}

/// The alert keys the tests of rule file `stem` count: its correlations, or else its
/// detection rules.
fn rule_keys(rules: &RuleSet, wanted: &str) -> Vec<String> {
    let mut detections = Vec::new();
    let mut correlations = Vec::new();
    for (file, doc) in &rules.docs {
        if stem(file) != wanted {
            continue;
        }
        match doc {
            Doc::Rule(r) => detections.push(r.id.clone().unwrap_or_else(|| r.title.clone())),
            Doc::Correlation(c) => {
                correlations.push(c.id.clone().unwrap_or_else(|| c.title.clone()))
            }
            Doc::Filter(_) => {}
        }
    }
    if correlations.is_empty() {
        detections
    } else {
        correlations
    }
}

fn stem(file: &str) -> &str {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .unwrap_or(name)
}

fn run_case(
    rules: &RuleSet,
    keys: &[String],
    file: &str,
    case: &TestCase,
    parse: &mut ParseFn<'_>,
) -> Result<u64, String> {
    let config = case_config(case.config.as_ref())?;
    let mut detector = Detector::new(rules, &config).map_err(|e| e.to_string())?;
    for (i, t) in case.change_tickets.iter().enumerate() {
        let ticket = ChangeTicket::from_json(&t.to_string())
            .map_err(|e| format!("change_tickets[{i}]: {e}"))?;
        detector.add_ticket(ticket);
    }
    let format = match &case.format {
        Some(f) => Some(f.parse::<Format>().map_err(|e| e.to_string())?),
        None => None,
    };
    for (i, raw) in case.events.iter().enumerate() {
        let origin = EventRef::file_line(file, i as u64 + 1);
        match format {
            Some(format) => {
                let bytes = match raw {
                    Value::String(s) => s.clone().into_bytes(),
                    other => other.to_string().into_bytes(),
                };
                let events = parse(format, &bytes).map_err(|e| format!("events[{i}]: {e}"))?;
                for e in events {
                    let raw = RawRecord {
                        format,
                        bytes: Some(&bytes),
                    };
                    detector.process(e, Some(raw), origin.clone());
                }
            }
            None => {
                let event: Event = match raw {
                    Value::Object(_) => serde_json::from_value(raw.clone())
                        .map_err(|e| format!("events[{i}]: {e}"))?,
                    _ => {
                        return Err(format!(
                            "events[{i}]: a normalized event must be a JSON object (give `format` for raw records)"
                        ));
                    }
                };
                detector.process(event, None, origin);
            }
        }
    }
    detector.finish();
    Ok(detector
        .take_alerts()
        .iter()
        .filter(|a| keys.contains(&a.rule_id))
        .count() as u64)
}

fn case_config(overrides: Option<&Value>) -> Result<DetectConfig, String> {
    let Some(v) = overrides else {
        return Ok(DetectConfig::default());
    };
    let Value::Object(m) = v else {
        return Err("`config` must be a mapping".into());
    };
    if let Some(k) = m.keys().find(|k| !CONFIG_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "config: unknown key {k:?} (use {})",
            CONFIG_KEYS.join(", ")
        ));
    }
    serde_json::from_value(v.clone()).map_err(|e| format!("config: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "title: Failed logon
id: failed
logsource: {product: evident}
detection:
  sel: {class_uid: 3002, status_id: 2}
  condition: sel
level: low
";

    #[test]
    fn cases_count_the_rules_alerts_exactly() {
        let mut rules = RuleSet::new();
        rules.add_yaml("rules/auth/failed.yml", RULE);
        let tests = parse_test_file(
            "rules/tests/failed.yml",
            r#"
rule: failed
cases:
  - name: one failure
    expect: 1
    events:
      - {class_uid: 3002, activity_id: 1, status_id: 2, time: 1000, actor: {user: {name: a}}}
  - name: wrong expectation
    expect: 2
    events:
      - {class_uid: 3002, activity_id: 1, status_id: 2, time: 1000}
  - name: bad config
    expect: 0
    config: {business_hour: {}}
    events: []
"#,
        )
        .unwrap();
        let mut parse = |_: Format, _: &[u8]| -> Result<Vec<Event>, String> { Ok(vec![]) };
        let results = run_test_file(&rules, "rules/tests/failed.yml", &tests, &mut parse);
        assert_eq!(results.len(), 3);
        assert!(results[0].passed());
        assert_eq!((results[1].actual, results[1].passed()), (Some(1), false));
        assert_eq!(
            results[2].error.as_deref(),
            Some(
                "config: unknown key \"business_hour\" (use business_hours, assets, privileged_groups, change_tickets, detection)"
            )
        );
    }

    #[test]
    fn a_test_for_a_missing_rule_fails_with_the_reason() {
        let rules = RuleSet::new();
        let tests = parse_test_file(
            "t.yml",
            "rule: nope\ncases:\n  - {name: x, expect: 0, events: []}\n",
        )
        .unwrap();
        let mut parse = |_: Format, _: &[u8]| -> Result<Vec<Event>, String> { Ok(vec![]) };
        let r = run_test_file(&rules, "t.yml", &tests, &mut parse);
        assert_eq!(
            r[0].error.as_deref(),
            Some(
                "no loaded rule file named nope.yml (a failed rule is reported by `evident rules lint`)"
            )
        );
        let bad = parse_test_file("t.yml", "rule: x\ncases: 3\n").unwrap_err();
        assert!(
            bad.to_string().starts_with("t.yml: cases: invalid type"),
            "{bad}"
        );
    }
}
