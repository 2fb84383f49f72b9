//! Which normalized events some rule of a bucket could match at all.
//!
//! rsigma finds the rules worth evaluating for each event by probing the event's fields
//! against its index: ~7,000 instructions per normalized event with our pack, spent in
//! full on the events no normalized rule can match — network flows, Evident's bench
//! records — which are most of the volume of a real deployment (issue 5). A [`Gate`] holds,
//! for a whole bucket, a necessary condition read from the rules themselves: "the event's
//! `class_uid` is one of these, or one of these fields is present". An event it turns
//! away skips the engine; one it admits is evaluated as before.
//!
//! Sound by construction: a condition is only read from what rsigma's evaluator makes
//! necessary (a field item is false on an absent field unless it tests for null or
//! absence; `and` needs each operand, `or` one of them), and whatever the analysis does
//! not understand (keywords, array scopes, `not`, `exists: false`) leaves the bucket
//! without a gate.

use std::collections::HashMap;

use evident_model::{Event, TopLevelKey};
use rsigma_eval::EventValue;
use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SigmaRule, SigmaValue,
};

/// A necessary condition for one rule: one of these holds on every event it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    /// `class_uid` is one of these.
    Class(Vec<i64>),
    /// The field is present (rsigma's `get_field` finds it).
    Present(String),
    /// The field's text matches one of these (lowercase) the way the rule's plain,
    /// `contains`, `startswith` or `endswith` item compares; a value that is not text
    /// (a number, an array) counts as a match, for the rule to decide.
    Text(String, TextOp, Vec<String>),
}

/// How an [`Atom::Text`] compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TextOp {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

impl Atom {
    fn rank(&self) -> u8 {
        match self {
            Atom::Class(_) => 0,
            Atom::Text(..) => 1,
            Atom::Present(_) => 2,
        }
    }
}

/// What a gate checks of one field: that it is there (`tests` `None`), or that its text
/// passes one of `tests`.
#[derive(Debug)]
struct FieldTest {
    field: String,
    tests: Option<Vec<(TextOp, String)>>,
    /// The event key the field is under, when the path is plain (no index, no escape):
    /// an event without it has no such field, which is cheaper to ask than the field.
    root: Option<TopLevelKey>,
}

impl PartialEq for FieldTest {
    fn eq(&self, other: &FieldTest) -> bool {
        (&self.field, &self.tests) == (&other.field, &other.tests)
    }
}

impl FieldTest {
    fn new(field: String, tests: Option<Vec<(TextOp, String)>>) -> FieldTest {
        let plain = !field.contains(['[', '\\']);
        let root = plain.then(|| TopLevelKey::new(field.split('.').next().unwrap_or(&field)));
        FieldTest { field, tests, root }
    }

    /// A value that is not text (a number, an array) passes: the rules decide.
    fn passes(&self, event: &Event, view: &dyn rsigma_eval::Event) -> bool {
        if self
            .root
            .as_ref()
            .is_some_and(|r| !event.has_top_level_key(r))
        {
            return false;
        }
        // An attribute set at exactly this path is read straight from the event; anything
        // else (a path into an attribute's value or the vendor record, an object path) as
        // the engine reads it.
        let Some(value) = (match event.attribute_at(&self.field) {
            Some((at, value)) if at == self.field => Some(EventValue::from(value)),
            _ => view.get_field(&self.field),
        }) else {
            return false;
        };
        let (Some(tests), EventValue::Str(text)) = (&self.tests, &value) else {
            return true;
        };
        if text.is_ascii() {
            tests.iter().any(|(op, n)| ascii_text_matches(*op, text, n))
        } else {
            let lower = text.to_lowercase();
            tests.iter().any(|(op, n)| match op {
                TextOp::Equals => lower == *n,
                TextOp::Contains => lower.contains(n.as_str()),
                TextOp::StartsWith => lower.starts_with(n.as_str()),
                TextOp::EndsWith => lower.ends_with(n.as_str()),
            })
        }
    }
}

/// `op` over ASCII `text` and a lowercase `needle`, as comparing `text`'s lowercase
/// would (without building it).
fn ascii_text_matches(op: TextOp, text: &str, needle: &str) -> bool {
    let (text, n) = (text.as_bytes(), needle.as_bytes());
    match op {
        TextOp::Equals => text.eq_ignore_ascii_case(n),
        TextOp::Contains => {
            n.is_empty() || text.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
        }
        TextOp::StartsWith => text
            .get(..n.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(n)),
        TextOp::EndsWith => text
            .len()
            .checked_sub(n.len())
            .is_some_and(|at| text[at..].eq_ignore_ascii_case(n)),
    }
}

/// A bucket's necessary condition; see the module documentation.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Gate {
    classes: Vec<i64>,
    /// One test per field (read once per event however many rules name it).
    fields: Vec<FieldTest>,
}

impl Gate {
    /// The gate of a bucket with these rules, or `None` when some rule may match an event
    /// of any class without any field the gate could check.
    pub(crate) fn of(rules: &[SigmaRule]) -> Option<Gate> {
        let mut gate = Gate::default();
        for rule in rules {
            for atom in rule_atoms(rule)? {
                let (field, tests) = match atom {
                    Atom::Class(classes) => {
                        gate.classes.extend(classes);
                        continue;
                    }
                    Atom::Present(field) => (field, None),
                    Atom::Text(field, op, needles) => {
                        (field, Some(needles.into_iter().map(|n| (op, n)).collect()))
                    }
                };
                match gate.fields.iter_mut().find(|t| t.field == field) {
                    None => gate.fields.push(FieldTest::new(field, tests)),
                    Some(known) => match (&mut known.tests, tests) {
                        (Some(old), Some(new)) => {
                            for test in new {
                                if !old.contains(&test) {
                                    old.push(test);
                                }
                            }
                        }
                        (old, _) => *old = None,
                    },
                }
            }
        }
        gate.classes.sort_unstable();
        gate.classes.dedup();
        Some(gate)
    }

    /// Whether some rule could match `event`, read through `view` (the view the engine
    /// is given).
    pub(crate) fn admits(&self, event: &Event, view: &dyn rsigma_eval::Event) -> bool {
        match event.get("class_uid").and_then(|c| c.as_i64()) {
            Some(class) if self.classes.binary_search(&class).is_err() => {
                self.fields.iter().any(|test| test.passes(event, view))
            }
            // No class number to compare: let the rules decide.
            _ => true,
        }
    }
}

fn rule_atoms(rule: &SigmaRule) -> Option<Vec<Atom>> {
    let named = &rule.detection.named;
    any_of(
        rule.detection
            .conditions
            .iter()
            .map(|c| condition_atoms(c, named)),
    )
}

/// `or`: each branch must bring a condition.
fn any_of(parts: impl IntoIterator<Item = Option<Vec<Atom>>>) -> Option<Vec<Atom>> {
    let mut atoms = Vec::new();
    for part in parts {
        atoms.extend(part?);
    }
    Some(atoms)
}

/// `and`: any operand's condition is necessary; keep the most selective (a class set
/// before field values, field values before mere presence; then the fewest).
fn all_of(parts: impl IntoIterator<Item = Option<Vec<Atom>>>) -> Option<Vec<Atom>> {
    let score = |atoms: &[Atom]| (atoms.iter().map(Atom::rank).max(), atoms.len());
    parts
        .into_iter()
        .flatten()
        .filter(|atoms| !atoms.is_empty())
        .min_by_key(|atoms| score(atoms))
}

fn condition_atoms(cond: &ConditionExpr, named: &HashMap<String, Detection>) -> Option<Vec<Atom>> {
    match cond {
        ConditionExpr::Identifier(name) => detection_atoms(named.get(name)?),
        ConditionExpr::And(parts) => all_of(parts.iter().map(|p| condition_atoms(p, named))),
        ConditionExpr::Or(parts) => any_of(parts.iter().map(|p| condition_atoms(p, named))),
        ConditionExpr::Not(_) => None,
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let mut matching: Vec<(&String, &Detection)> = named
                .iter()
                .filter(|(name, _)| pattern.matches_detection_name(name))
                .collect();
            matching.sort_by_key(|(name, _)| *name);
            if matching.is_empty() {
                return None;
            }
            let parts = matching.into_iter().map(|(_, d)| detection_atoms(d));
            match quantifier {
                Quantifier::Any => any_of(parts),
                Quantifier::Count(n) if *n >= 1 => any_of(parts),
                Quantifier::All => all_of(parts),
                Quantifier::Count(_) => None,
            }
        }
    }
}

fn detection_atoms(detection: &Detection) -> Option<Vec<Atom>> {
    match detection {
        Detection::AllOf(items) => all_of(items.iter().map(item_atom).map(|a| a.map(|a| vec![a]))),
        Detection::AnyOf(subs) if !subs.is_empty() => any_of(subs.iter().map(detection_atoms)),
        Detection::And(subs) => all_of(subs.iter().map(detection_atoms)),
        _ => None,
    }
}

/// What a field item makes necessary: its class numbers for a plain `class_uid` item,
/// else its field's presence (false on an absent field unless it tests for null or
/// absence).
fn item_atom(item: &DetectionItem) -> Option<Atom> {
    let field = item.field.name.as_deref()?;
    let modifiers = &item.field.modifiers;
    if item.values.is_empty()
        || modifiers.contains(&Modifier::Exists)
        || item.values.iter().any(|v| matches!(v, SigmaValue::Null))
    {
        return None;
    }
    if field == "class_uid" && modifiers.is_empty() {
        let classes: Option<Vec<i64>> = item
            .values
            .iter()
            .map(|v| match v {
                SigmaValue::Integer(n) => Some(*n),
                SigmaValue::String(s) => s.as_plain()?.parse().ok(),
                _ => None,
            })
            .collect();
        if let Some(classes) = classes {
            return Some(Atom::Class(classes));
        }
    }
    let op = match modifiers.as_slice() {
        [] => TextOp::Equals,
        [Modifier::Contains] => TextOp::Contains,
        [Modifier::StartsWith] => TextOp::StartsWith,
        [Modifier::EndsWith] => TextOp::EndsWith,
        _ => return Some(Atom::Present(field.to_owned())),
    };
    let needles: Option<Vec<String>> = item
        .values
        .iter()
        .map(|v| match v {
            SigmaValue::String(s) => s.as_plain().map(|p| p.to_lowercase()),
            _ => None,
        })
        .collect();
    Some(match needles {
        Some(needles) => Atom::Text(field.to_owned(), op, needles),
        None => Atom::Present(field.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::OcsfView;
    use evident_model::Class;

    fn gate(rules: &[&str]) -> Option<Gate> {
        let rules: Vec<SigmaRule> = rules
            .iter()
            .map(|d| {
                let yaml = format!("title: t\nlogsource: {{product: evident}}\ndetection:\n{d}\n");
                rsigma_parser::parse_sigma_yaml(&yaml)
                    .unwrap()
                    .rules
                    .remove(0)
            })
            .collect();
        Gate::of(&rules)
    }

    #[test]
    fn classes_and_fields_are_read_from_what_each_rule_needs() {
        let g = gate(&[
            "  sel: {class_uid: 3002, status_id: 2}\n  condition: sel",
            "  sel_a: {class_uid: [3001, 3006]}\n  sel_b: {class_uid: '6003'}\n  condition: 1 of sel_*",
            "  sel: {evident.user.terminated: true}\n  f: {status_id: 2}\n  condition: sel and not f",
            "  sel: {metadata.product.name|contains: [Postgre, MySQL]}\n  c: {class_uid|gte: 1}\n  condition: all of them",
            "  sel: {api.operation|re: 'Get.*', actor.user.name: 'adm*'}\n  condition: sel",
            "  sel: {api.operation: GetObject}\n  condition: sel",
            "  sel: {metadata.product.name: [Evident, MySQL]}\n  condition: sel",
        ])
        .unwrap();
        assert_eq!(g.classes, [3001, 3002, 3006, 6003]);
        assert_eq!(
            g.fields,
            [
                FieldTest::new("evident.user.terminated".into(), None),
                FieldTest::new(
                    "metadata.product.name".into(),
                    Some(vec![
                        (TextOp::Contains, "postgre".into()),
                        (TextOp::Contains, "mysql".into()),
                        (TextOp::Equals, "evident".into()),
                        (TextOp::Equals, "mysql".into()),
                    ])
                ),
                FieldTest::new("api.operation".into(), None),
            ]
        );
    }

    #[test]
    fn a_rule_without_a_checkable_condition_leaves_the_bucket_open() {
        for open in [
            "  sel: {class_uid: 3002}\n  f: {status_id: 2}\n  condition: sel or not f",
            "  sel: {class_uid|exists: false}\n  condition: sel",
            "  sel: {user.name: null}\n  condition: sel",
            "  keywords: [root]\n  condition: keywords",
            "  sel: {class_uid: 3002}\n  condition: 0 of sel",
        ] {
            assert_eq!(
                gate(&["  s: {class_uid: 1}\n  condition: s", open]),
                None,
                "{open}"
            );
        }
    }

    #[test]
    fn events_of_other_classes_pass_only_when_a_field_condition_holds() {
        let g = gate(&[
            "  sel: {class_uid: 3002}\n  condition: sel",
            "  sel: {evident.user.terminated: true}\n  condition: sel",
            "  sel: {metadata.product.name|endswith: ' VPC'}\n  condition: sel",
            "  sel: {metadata.product.name: Evident}\n  condition: sel",
            "  sel: {unmapped.eventName: PutBucketPolicy}\n  condition: sel",
        ])
        .unwrap();
        let admits = |e: &Event| g.admits(e, &OcsfView::new(e));
        let auth = Event::new(Class::Authentication, 1, 0);
        assert!(admits(&auth));
        let mut flow = Event::new(Class::NetworkActivity, 6, 0);
        assert!(!admits(&flow));
        flow.set("metadata.product.name", "Zeek");
        assert!(!admits(&flow));
        flow.set("metadata.product.name", "EVIDENT");
        assert!(
            admits(&flow),
            "compared as the rule does: case-insensitively"
        );
        flow.set("metadata.product.name", "Amazon vpc");
        assert!(admits(&flow));
        flow.set("metadata.product.name", 7);
        assert!(
            admits(&flow),
            "a value that is not text is left to the rules"
        );
        let mut terminated = Event::new(Class::NetworkActivity, 6, 0);
        terminated.set("evident.user.terminated", true);
        assert!(admits(&terminated));
        let mut record = Event::new(Class::NetworkActivity, 6, 0);
        record.set("raw_data", r#"{"eventName":"PutBucketPolicy"}"#);
        record.set_unmapped_record();
        assert!(admits(&record), "`unmapped` read from the vendor record");
        record.set("raw_data", r#"{"eventName":"GetObject"}"#);
        record.set_unmapped_record();
        assert!(!admits(&record));
        assert!(
            admits(&Event::default()),
            "no class number: the rules decide"
        );
    }
}
