#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too
//! Inputs the fuzz targets (fuzz/, docs/fuzzing.md) found, with the exact outcome each must
//! give.

use evident_detect::{DetectConfig, Detector, RuleSet};

/// `sigma_rule`, session 4: a correlation whose `rules:` list is empty (the key was mangled
/// into another) indexed the first referenced rule of an empty list and panicked while the
/// detector was built. It is now refused by name, and the detection rule beside it loads.
#[test]
fn a_correlation_over_no_rules_is_refused_not_a_panic() {
    let yaml = "\
title: Logins from many countries
id: corr-1
correlation:
    type: value_count
    group-by:
        - user.name
    timespan: 1h
    condition:
        field: src_endpoint.location.country
        gte: 3
level: high
---
title: Geolocated logon
id: rule-1
name: geolocated_logon
logsource:
    product: evident
    category: authentication
detection:
    selection:
        class_uid: 3002
    condition: selection
level: low
";
    let mut rules = RuleSet::new();
    rules.add_yaml("fuzz.yml", yaml);
    let detector = Detector::new(&rules, &DetectConfig::default()).unwrap();
    let failures: Vec<(String, Option<String>, String)> = detector
        .load_failures()
        .iter()
        .map(|f| (f.file.clone(), f.title.clone(), f.reason.clone()))
        .collect();
    assert_eq!(
        failures,
        vec![(
            "fuzz.yml".to_owned(),
            Some("Logins from many countries".to_owned()),
            "correlation names no rules (`correlation.rules` is empty)".to_owned()
        )]
    );
    assert_eq!(detector.rule_count(), 1);
}
