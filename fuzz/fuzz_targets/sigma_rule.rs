//! YAML text through the Sigma rule loader and the detector that compiles the loaded rules.
//! Invariants: no panic; the loader counts exactly one file; every failure names that
//! file and has a reason; a detector builds from whatever loaded (or refuses with an
//! error) and never holds more rules and correlations than loaded.
#![no_main]

use evident_detect::{DetectConfig, Detector, RuleSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut rules = RuleSet::new();
    rules.add_yaml("fuzz.yml", text);
    assert_eq!(rules.file_count(), 1);
    for f in rules.failures() {
        assert_eq!(f.file, "fuzz.yml");
        assert!(!f.reason.is_empty(), "failure without a reason: {f:?}");
    }
    let (rules_loaded, correlations, _) = rules.counts();
    let loaded = rules_loaded + correlations;
    if let Ok(detector) = Detector::new(&rules, &DetectConfig::default()) {
        assert!(
            detector.rule_count() <= loaded,
            "{} rules in the detector, {loaded} loaded",
            detector.rule_count()
        );
    }
});
