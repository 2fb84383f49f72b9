//! Number and boolean literals of normalized-event rules, written as text so rsigma's
//! candidate index can use them.
//!
//! rsigma picks, for each rule, one necessary condition ("witness") to index, and the
//! most selective kind is an exact text value. A number (`class_uid: 3002`) or boolean
//! (`evident.asset.sensitive: true`) literal compiles to a numeric or boolean comparison,
//! which the index can only read as "the field is present". Our pack's rules are mostly
//! `class_uid`, `activity_id`, `status_id` and `evident.*` conditions, and every normalized
//! event has a `class_uid`: seven rules were evaluated against every event, a VPC flow
//! record as much as a failed logon (issue 5).
//!
//! On the normalized event the types of these fields are Evident's own: OCSF `*_id` enums
//! and the `class_uid`/`category_uid`/`type_uid` numbers are integers, OCSF `is_*` flags
//! and Evident's enrichment (`evident.*`) are booleans. On an integer or boolean value an
//! exact text match (`"3002"`, `"true"`, compared with the value's text form) answers as
//! the numeric or boolean comparison does, so the rewrite changes which rules are
//! *evaluated*, never what matches. Only plain items (no modifier) are rewritten; values
//! under `unmapped` (the vendor's own types) and array-member scopes are left alone.

use rsigma_parser::{Detection, SigmaRule, SigmaString, SigmaValue};

/// Rewrites `rule`'s plain integer literals on OCSF id fields and boolean literals on
/// OCSF flag and `evident.*` fields as text (see the module documentation).
pub(crate) fn index_typed_literals(rule: &mut SigmaRule) {
    for detection in rule.detection.named.values_mut() {
        rewrite(detection);
    }
}

fn rewrite(detection: &mut Detection) {
    match detection {
        Detection::AllOf(items) => {
            for item in items {
                let Some(field) = item.field.name.as_deref() else {
                    continue;
                };
                if !item.field.modifiers.is_empty() || field.starts_with("unmapped.") {
                    continue;
                }
                let (integers, booleans) = (integer_field(field), boolean_field(field));
                for value in &mut item.values {
                    let text = match value {
                        SigmaValue::Integer(n) if integers => n.to_string(),
                        SigmaValue::Bool(b) if booleans => b.to_string(),
                        _ => continue,
                    };
                    *value = SigmaValue::String(SigmaString::new(&text));
                }
            }
        }
        Detection::AnyOf(subs) | Detection::And(subs) => subs.iter_mut().for_each(rewrite),
        // Member-scoped fields and keywords name no field of the event itself.
        Detection::Keywords(_) | Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {}
    }
}

/// OCSF's enum ids (`activity_id`, `user.type_id`) and class numbers.
fn integer_field(field: &str) -> bool {
    let last = field.rsplit('.').next().unwrap_or(field);
    last.ends_with("_id") || matches!(last, "class_uid" | "category_uid" | "type_uid")
}

/// OCSF's flags (`is_mfa`, `actor.session.is_mfa`) and Evident's enrichment.
fn boolean_field(field: &str) -> bool {
    let last = field.rsplit('.').next().unwrap_or(field);
    field.starts_with("evident.") || last.starts_with("is_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(detection: &str) -> String {
        let yaml = format!(
            "title: t\nlogsource: {{product: evident}}\ndetection:\n{detection}\n  condition: sel\n"
        );
        let mut collection = rsigma_parser::parse_sigma_yaml(&yaml).unwrap();
        let mut rule = collection.rules.remove(0);
        index_typed_literals(&mut rule);
        format!("{:?}", rule.detection.named["sel"])
    }

    #[test]
    fn ids_and_flags_become_text_and_nothing_else_does() {
        let d = rewritten(
            "  sel:\n    class_uid: 3002\n    user.type_id: [1, 2]\n    evident.asset.sensitive: true\n    is_mfa: false\n    src_endpoint.port: 22\n    severity_id|gte: 4\n    unmapped.status_id: 7\n    disposition: true",
        );
        for text in ["\"3002\"", "\"1\"", "\"2\"", "\"true\"", "\"false\""] {
            assert!(d.contains(text), "{text} missing in {d}");
        }
        assert!(d.contains("Integer(22)"), "{d}");
        assert!(d.contains("Integer(4)"), "{d}");
        assert!(d.contains("Integer(7)"), "{d}");
        assert!(d.contains("Bool(true)"), "{d}");
        assert_eq!(d.matches("Integer(").count(), 3, "{d}");
    }

    #[test]
    fn nested_selections_are_rewritten() {
        let d = rewritten("  sel:\n    - class_uid: 3002\n    - activity_id: 1");
        assert!(!d.contains("Integer("), "{d}");
    }
}
