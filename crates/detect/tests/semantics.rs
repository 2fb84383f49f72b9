#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too
//! Sigma semantics through the whole detector: every value modifier of the spec, the
//! wildcard escaping rules, each condition form, null and existence, keywords, and the
//! correlation types with group-by, aliases and `generate`, as rule/event pairs with the
//! exact expected outcome.

use evident_detect::{DetectConfig, Detector, EventRef, RuleSet};
use evident_model::Event;
use serde_json::{Value, json};

const T0: i64 = 1_795_687_200_000; // 2026-11-26T10:00:00Z

/// Alerts a one-document rule over normalized events raises for `events` (in order).
fn alerts(rule: &str, events: &[Value]) -> Vec<evident_detect::Alert> {
    let mut rules = RuleSet::new();
    rules.add_yaml("inline.yml", rule);
    assert!(rules.failures().is_empty(), "{:?}", rules.failures());
    let mut config = DetectConfig::default();
    config.detection.suppress = "0s".into();
    config.detection.max_alerts_per_rule_per_hour = 10_000;
    let mut d = Detector::new(&rules, &config).unwrap();
    assert!(d.load_failures().is_empty(), "{:?}", d.load_failures());
    for (i, e) in events.iter().enumerate() {
        let mut e = e.clone();
        if e.get("time").is_none() {
            e["time"] = json!(T0);
        }
        let ev: Event = serde_json::from_value(e).unwrap();
        d.process(ev, None, EventRef::ledger(i as u64));
    }
    d.finish();
    d.take_alerts()
}

/// Does a detection (the YAML under `detection:`) match the event?
fn matches(detection: &str, event: Value) -> bool {
    let rule = format!(
        "title: t\nid: t\nlogsource: {{product: evident}}\ndetection:\n{}\nlevel: low\n",
        detection
            .lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    !alerts(&rule, &[event]).is_empty()
}

/// `sel: {field: 'value'}` as the whole detection.
fn sel(field: &str, value: &str) -> String {
    format!("sel: {{{field}: '{value}'}}\ncondition: sel")
}

/// Checks a table of (detection, event, expected).
fn check<S: AsRef<str>>(cases: &[(S, Value, bool)]) {
    let mut wrong = Vec::new();
    for (det, ev, want) in cases {
        let det = det.as_ref();
        if matches(det, ev.clone()) != *want {
            wrong.push(format!("{det:?} on {ev} should be {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn plain_values_are_case_insensitive_and_cased_is_not() {
    check(&[
        (
            "sel: {f: Hello}\ncondition: sel",
            json!({"f": "hELLO"}),
            true,
        ),
        (
            "sel: {f: Hello}\ncondition: sel",
            json!({"f": "Hello!"}),
            false,
        ),
        (
            "sel: {f|cased: Hello}\ncondition: sel",
            json!({"f": "hello"}),
            false,
        ),
        (
            "sel: {f|cased: Hello}\ncondition: sel",
            json!({"f": "Hello"}),
            true,
        ),
        (
            "sel: {f|contains|cased: ell}\ncondition: sel",
            json!({"f": "hELLo"}),
            false,
        ),
        ("sel: {f: [a, b]}\ncondition: sel", json!({"f": "B"}), true),
        ("sel: {n: 2}\ncondition: sel", json!({"n": 2}), true),
        ("sel: {n: 2}\ncondition: sel", json!({"n": "2"}), true),
        ("sel: {b: true}\ncondition: sel", json!({"b": true}), true),
        ("sel: {b: true}\ncondition: sel", json!({"b": false}), false),
        (
            "sel: {a.b: x}\ncondition: sel",
            json!({"a": {"b": "X"}}),
            true,
        ),
        (
            "sel: {list.name: bob}\ncondition: sel",
            json!({"list": [{"name": "alice"}, {"name": "bob"}]}),
            true,
        ),
        ("sel: {f: ''}\ncondition: sel", json!({"f": ""}), true),
        ("sel: {f: ''}\ncondition: sel", json!({"f": "x"}), false),
    ]);
}

#[test]
fn wildcards_and_their_escapes() {
    check(&[
        (sel("f", "ab*ef"), json!({"f": "abcdef"}), true),
        (sel("f", "a?c"), json!({"f": "abc"}), true),
        (sel("f", "a?c"), json!({"f": "abbc"}), false),
        // `\*` is a literal star.
        (sel("f", r"a\*b"), json!({"f": "a*b"}), true),
        (sel("f", r"a\*b"), json!({"f": "axb"}), false),
        (sel("f", r"a\?"), json!({"f": "a?"}), true),
        (sel("f", r"a\?"), json!({"f": "ab"}), false),
        // A backslash not before a wildcard is itself.
        (
            sel("f", r"C:\Windows\System32"),
            json!({"f": r"c:\windows\system32"}),
            true,
        ),
        // `\\*` is a backslash followed by a wildcard.
        (sel("f", r"dir\\*"), json!({"f": r"dir\file"}), true),
        (sel("f", r"dir\\*"), json!({"f": "dirfile"}), false),
        // `\\\*` is a backslash and a literal star.
        (sel("f", r"dir\\\*"), json!({"f": r"dir\*"}), true),
        (sel("f", r"dir\\\*"), json!({"f": r"dir\x"}), false),
        // `\\\\` is two backslashes.
        (sel("f", r"a\\\\b"), json!({"f": r"a\\b"}), true),
        // Modifiers escape nothing away: contains of a literal star.
        (sel("f|contains", r"\*"), json!({"f": "x*y"}), true),
        (sel("f|contains", r"\*"), json!({"f": "xy"}), false),
    ]);
}

#[test]
fn string_modifiers() {
    check(&[
        (
            "sel: {f|contains: mid}\ncondition: sel",
            json!({"f": "aMIDb"}),
            true,
        ),
        (
            "sel: {f|startswith: ab}\ncondition: sel",
            json!({"f": "abc"}),
            true,
        ),
        (
            "sel: {f|startswith: ab}\ncondition: sel",
            json!({"f": "cab"}),
            false,
        ),
        (
            "sel: {f|endswith: '.exe'}\ncondition: sel",
            json!({"f": "x.EXE"}),
            true,
        ),
        (
            "sel: {f|endswith: '.exe'}\ncondition: sel",
            json!({"f": "x.exe.txt"}),
            false,
        ),
        (
            "sel: {f|contains|all: [a, z]}\ncondition: sel",
            json!({"f": "abz"}),
            true,
        ),
        (
            "sel: {f|contains|all: [a, z]}\ncondition: sel",
            json!({"f": "ab"}),
            false,
        ),
        (
            "sel: {f|windash|contains: ' -enc '}\ncondition: sel",
            json!({"f": "ps /enc x"}),
            true,
        ),
        (
            "sel: {f|windash|contains: ' -enc '}\ncondition: sel",
            json!({"f": "ps \u{2013}enc x"}),
            true,
        ),
        (
            "sel: {f|windash|contains: ' -enc '}\ncondition: sel",
            json!({"f": "ps +enc x"}),
            false,
        ),
        (
            "sel: {f|re: '^a.c$'}\ncondition: sel",
            json!({"f": "abc"}),
            true,
        ),
        // Regular expressions are case-sensitive unless `i`.
        (
            "sel: {f|re: '^a.c$'}\ncondition: sel",
            json!({"f": "ABC"}),
            false,
        ),
        (
            "sel: {f|re|i: '^a.c$'}\ncondition: sel",
            json!({"f": "ABC"}),
            true,
        ),
        (
            "sel: {f|re|m: '^two$'}\ncondition: sel",
            json!({"f": "one\ntwo\nthree"}),
            true,
        ),
        (
            "sel: {f|re: '^two$'}\ncondition: sel",
            json!({"f": "one\ntwo\nthree"}),
            false,
        ),
        (
            "sel: {f|re|s: 'one.two'}\ncondition: sel",
            json!({"f": "one\ntwo"}),
            true,
        ),
        (
            "sel: {f|re: 'one.two'}\ncondition: sel",
            json!({"f": "one\ntwo"}),
            false,
        ),
    ]);
}

#[test]
fn encoding_modifiers() {
    check(&[
        (
            "sel: {f|base64: abc}\ncondition: sel",
            json!({"f": "YWJj"}),
            true,
        ),
        (
            "sel: {f|base64: abc}\ncondition: sel",
            json!({"f": "abc"}),
            false,
        ),
        // "xabc" → eGFiYw==, "xxabc" → eHhhYmM=: the offsets of `abc` inside.
        (
            "sel: {f|base64offset|contains: abc}\ncondition: sel",
            json!({"f": "eGFiYw=="}),
            true,
        ),
        (
            "sel: {f|base64offset|contains: abc}\ncondition: sel",
            json!({"f": "eHhhYmM="}),
            true,
        ),
        (
            "sel: {f|base64offset|contains: abc}\ncondition: sel",
            json!({"f": "eHh4eHg="}),
            false,
        ),
        // UTF-16LE "cmd" base64: YwBtAGQA.
        (
            "sel: {f|wide|base64: cmd}\ncondition: sel",
            json!({"f": "YwBtAGQA"}),
            true,
        ),
        (
            "sel: {f|utf16le|base64: cmd}\ncondition: sel",
            json!({"f": "YwBtAGQA"}),
            true,
        ),
        // UTF-16BE "cmd" base64: AGMAbQBk.
        (
            "sel: {f|utf16be|base64: cmd}\ncondition: sel",
            json!({"f": "AGMAbQBk"}),
            true,
        ),
        // With the little-endian BOM FF FE: //5jAG0AZAA=.
        (
            "sel: {f|utf16|base64: cmd}\ncondition: sel",
            json!({"f": "//5jAG0AZAA="}),
            true,
        ),
    ]);
}

#[test]
fn numeric_time_ip_and_field_modifiers() {
    check(&[
        ("sel: {n|lt: 10}\ncondition: sel", json!({"n": 9}), true),
        ("sel: {n|lt: 10}\ncondition: sel", json!({"n": 10}), false),
        ("sel: {n|lte: 10}\ncondition: sel", json!({"n": 10}), true),
        ("sel: {n|gt: 10}\ncondition: sel", json!({"n": 10.5}), true),
        ("sel: {n|gte: 10}\ncondition: sel", json!({"n": 9}), false),
        ("sel: {n|gte: 10}\ncondition: sel", json!({"n": "11"}), true),
        ("sel: {n|neq: 10}\ncondition: sel", json!({"n": 11}), true),
        ("sel: {n|neq: 10}\ncondition: sel", json!({"n": 10}), false),
        (
            "sel: {ip|cidr: 10.0.0.0/8}\ncondition: sel",
            json!({"ip": "10.20.30.40"}),
            true,
        ),
        (
            "sel: {ip|cidr: 10.0.0.0/8}\ncondition: sel",
            json!({"ip": "11.0.0.1"}),
            false,
        ),
        (
            "sel: {ip|cidr: '2001:db8::/32'}\ncondition: sel",
            json!({"ip": "2001:db8:1::5"}),
            true,
        ),
        (
            "sel: {ip|cidr: '2001:db8::/32'}\ncondition: sel",
            json!({"ip": "2001:db9::5"}),
            false,
        ),
        (
            "sel: {a|fieldref: b}\ncondition: sel",
            json!({"a": "same", "b": "same"}),
            true,
        ),
        (
            "sel: {a|fieldref: b}\ncondition: sel",
            json!({"a": "same", "b": "other"}),
            false,
        ),
        (
            "sel: {t|hour: 23}\ncondition: sel",
            json!({"t": "2026-11-26T23:30:00Z"}),
            true,
        ),
        (
            "sel: {t|hour: 23}\ncondition: sel",
            json!({"t": "2026-11-26T14:00:00Z"}),
            false,
        ),
        (
            "sel: {t|month: 11}\ncondition: sel",
            json!({"t": "2026-11-26T14:00:00Z"}),
            true,
        ),
        (
            "sel: {t|year: 2026}\ncondition: sel",
            json!({"t": "2026-11-26T14:00:00Z"}),
            true,
        ),
    ]);
}

#[test]
fn null_existence_and_keywords() {
    check(&[
        ("sel: {f: null}\ncondition: sel", json!({"f": null}), true),
        ("sel: {f: null}\ncondition: sel", json!({"g": 1}), true),
        ("sel: {f: null}\ncondition: sel", json!({"f": "x"}), false),
        (
            "sel: {f|exists: true}\ncondition: sel",
            json!({"f": ""}),
            true,
        ),
        (
            "sel: {f|exists: true}\ncondition: sel",
            json!({"g": 1}),
            false,
        ),
        (
            "sel: {f|exists: false}\ncondition: sel",
            json!({"g": 1}),
            true,
        ),
        (
            "kw: [needle, other]\ncondition: kw",
            json!({"deep": {"x": "a NEEDLE here"}}),
            true,
        ),
        ("kw: [needle]\ncondition: kw", json!({"f": "hay"}), false),
        (
            "kw:\n  '|all': [dd, 'if=']\ncondition: kw",
            json!({"raw_line": "dd if=/dev/sda"}),
            true,
        ),
        (
            "kw:\n  '|all': [dd, 'if=']\ncondition: kw",
            json!({"raw_line": "dd of=x"}),
            false,
        ),
    ]);
}

#[test]
fn condition_forms() {
    let sels = "sel_a: {a: 1}\nsel_b: {b: 1}\nother: {c: 1}\n";
    let c = |cond: &str, ev: Value, want: bool| (format!("{sels}condition: {cond}"), ev, want);
    let cases = [
        c("1 of sel_*", json!({"b": 1}), true),
        c("1 of sel_*", json!({"c": 1}), false),
        c("all of sel_*", json!({"a": 1, "b": 1}), true),
        c("all of sel_*", json!({"a": 1}), false),
        c("all of them", json!({"a": 1, "b": 1, "c": 1}), true),
        c("all of them", json!({"a": 1, "b": 1}), false),
        c("1 of them", json!({"c": 1}), true),
        c("any of sel_*", json!({"a": 1}), true),
        c("sel_a and not sel_b", json!({"a": 1, "b": 1}), false),
        c("sel_a and not sel_b", json!({"a": 1}), true),
        // `and` binds tighter than `or`.
        c("sel_a or sel_b and other", json!({"a": 1}), true),
        c("(sel_a or sel_b) and other", json!({"a": 1}), false),
        // `not` binds tighter than `and`.
        c("not sel_a and sel_b", json!({"b": 1}), true),
        c("not (sel_a and sel_b)", json!({"a": 1, "b": 1}), false),
        c("sel_a and 1 of sel_* and not other", json!({"a": 1}), true),
        c("not 1 of sel_*", json!({"c": 1}), true),
    ];
    let mut wrong = Vec::new();
    for (det, ev, want) in &cases {
        if matches(det, ev.clone()) != *want {
            wrong.push(format!("{det:?} on {ev} should be {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A list of maps is OR of ANDs.
    check(&[
        (
            "sel:\n  - {a: 1, b: 1}\n  - {c: 1}\ncondition: sel",
            json!({"a": 1}),
            false,
        ),
        (
            "sel:\n  - {a: 1, b: 1}\n  - {c: 1}\ncondition: sel",
            json!({"c": 1}),
            true,
        ),
    ]);
}

fn login(ip: &str, user: &str, t: i64) -> Value {
    json!({"class_uid": 3002, "status_id": 2, "time": t,
           "src_endpoint": {"ip": ip}, "user": {"name": user}})
}

const BASE: &str = "title: Failed
id: failed
name: failed
logsource: {product: evident}
detection:
  sel: {class_uid: 3002, status_id: 2}
  condition: sel
level: low
";

#[test]
fn value_count_counts_distinct_values_per_group() {
    let rule = format!(
        "{BASE}---\ntitle: Spray\nid: spray\ncorrelation:\n  type: value_count\n  rules: [failed]\n  group-by: [src_endpoint.ip]\n  timespan: 10m\n  condition: {{gte: 3, field: user.name}}\nlevel: high\n"
    );
    let three_users: Vec<Value> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, u)| login("1.1.1.1", u, T0 + i as i64 * 1000))
        .collect();
    let got = alerts(&rule, &three_users);
    assert_eq!(got.iter().filter(|a| a.rule_id == "spray").count(), 1);
    let same_user: Vec<Value> = (0..5)
        .map(|i| login("1.1.1.1", "a", T0 + i * 1000))
        .collect();
    assert_eq!(
        alerts(&rule, &same_user)
            .iter()
            .filter(|a| a.rule_id == "spray")
            .count(),
        0
    );
    // generate defaults to false: the base rule raises no alert of its own.
    assert_eq!(
        alerts(&rule, &three_users)
            .iter()
            .filter(|a| a.rule_id == "failed")
            .count(),
        0
    );
}

#[test]
fn temporal_correlations_need_every_rule_and_ordered_ones_the_order() {
    let two = "title: A\nid: ra\nlogsource: {product: evident}\ndetection:\n  sel: {k: a}\n  condition: sel\n---\ntitle: B\nid: rb\nlogsource: {product: evident}\ndetection:\n  sel: {k: b}\n  condition: sel\n";
    let corr = |kind: &str| {
        format!(
            "{two}---\ntitle: Both\nid: both\ncorrelation:\n  type: {kind}\n  rules: [ra, rb]\n  group-by: [u]\n  timespan: 5m\nlevel: high\n"
        )
    };
    let ev = |k: &str, u: &str, t: i64| json!({"k": k, "u": u, "time": t});
    let count = |rule: &str, evs: &[Value]| {
        alerts(rule, evs)
            .iter()
            .filter(|a| a.rule_id == "both")
            .count()
    };
    let ab = [ev("a", "x", T0), ev("b", "x", T0 + 1000)];
    let ba = [ev("b", "x", T0), ev("a", "x", T0 + 1000)];
    let apart = [ev("a", "x", T0), ev("b", "x", T0 + 6 * 60_000)];
    let other_user = [ev("a", "x", T0), ev("b", "y", T0 + 1000)];
    assert_eq!(count(&corr("temporal"), &ab), 1);
    assert_eq!(count(&corr("temporal"), &ba), 1);
    assert_eq!(count(&corr("temporal"), &apart), 0);
    assert_eq!(count(&corr("temporal"), &other_user), 0);
    assert_eq!(count(&corr("temporal_ordered"), &ab), 1);
    assert_eq!(count(&corr("temporal_ordered"), &ba), 0);
}

#[test]
fn aliases_join_differently_named_fields() {
    let rule = "title: A\nid: ra\nlogsource: {product: evident}\ndetection:\n  sel: {k: a}\n  condition: sel\n---\ntitle: B\nid: rb\nlogsource: {product: evident}\ndetection:\n  sel: {k: b}\n  condition: sel\n---\ntitle: Joined\nid: joined\ncorrelation:\n  type: temporal\n  rules: [ra, rb]\n  group-by: [who]\n  timespan: 5m\n  aliases:\n    who:\n      ra: actor.user.name\n      rb: user.name\nlevel: high\n";
    let a = json!({"k": "a", "actor": {"user": {"name": "eve"}}, "time": T0});
    let b = json!({"k": "b", "user": {"name": "eve"}, "time": T0 + 1000});
    let b_other = json!({"k": "b", "user": {"name": "bob"}, "time": T0 + 1000});
    let got = alerts(rule, &[a.clone(), b]);
    let joined: Vec<_> = got.iter().filter(|x| x.rule_id == "joined").collect();
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0].group.get("who").map(String::as_str), Some("eve"));
    assert_eq!(
        alerts(rule, &[a, b_other])
            .iter()
            .filter(|x| x.rule_id == "joined")
            .count(),
        0
    );
}

#[test]
fn generate_true_keeps_the_base_rules_alerts() {
    let rule = format!(
        "{BASE}---\ntitle: Many\nid: many\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [src_endpoint.ip]\n  timespan: 5m\n  generate: true\n  condition: {{gte: 2}}\nlevel: high\n"
    );
    let got = alerts(
        &rule,
        &[login("1.1.1.1", "a", T0), login("1.1.1.1", "b", T0 + 1000)],
    );
    assert_eq!(got.iter().filter(|a| a.rule_id == "failed").count(), 2);
    assert_eq!(got.iter().filter(|a| a.rule_id == "many").count(), 1);
    // The correlation's alert names both matching events.
    let many = got.iter().find(|a| a.rule_id == "many").unwrap();
    assert_eq!(many.events, [EventRef::ledger(0), EventRef::ledger(1)]);
}

#[test]
fn filters_exclude_from_the_rules_they_name() {
    let rule = format!(
        "{BASE}---\ntitle: Not the scanner\nfilter:\n  rules: [failed]\n  selection: {{src_endpoint.ip: 10.0.0.9}}\n  condition: not selection\nlogsource: {{product: evident}}\n"
    );
    let got = alerts(
        &rule,
        &[
            login("10.0.0.9", "a", T0),
            login("10.0.0.8", "a", T0 + 1000),
        ],
    );
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].group.get("src_endpoint.ip").map(String::as_str),
        Some("10.0.0.8")
    );
}

/// Vendor rules see the `evident` enrichment beside the record: a rule whose only field is
/// `evident.time.after_hours` is a candidate for vendor records too (the record has no
/// `evident` key of its own for rsigma's index to find it by).
#[test]
fn vendor_rules_match_the_evident_enrichment() {
    use evident_detect::RawRecord;
    use evident_model::Format;
    use evident_sources::{ParseContext, Parser};

    let rule = "title: After hours API call\nid: after-hours-api\n\
        logsource: {product: aws, service: cloudtrail}\n\
        detection:\n  selection:\n    evident.time.after_hours: true\n  condition: selection\n\
        level: low\n";
    let mut rules = RuleSet::new();
    rules.add_yaml("inline.yml", rule);
    let mut config = DetectConfig::default();
    config.detection.suppress = "0s".into();
    let mut d = Detector::new(&rules, &config).unwrap();
    let ctx = ParseContext::new("test", 1_764_151_200_000_000_000);
    // Thursday 2026-11-26: 14:00 UTC is business hours by default, 23:30 is not.
    for (i, time) in ["2026-11-26T14:00:00Z", "2026-11-26T23:30:00Z"]
        .iter()
        .enumerate()
    {
        let record = json!({
            "eventVersion": "1.08", "eventTime": time, "eventSource": "s3.amazonaws.com",
            "eventName": "ListBuckets", "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2",
            "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "111122223333"},
            "eventID": format!("e{i}"), "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
        })
        .to_string()
        .into_bytes();
        let events = Parser::new(Format::CloudTrail)
            .parse(&record, &ctx)
            .unwrap();
        for e in events {
            let raw = RawRecord {
                format: Format::CloudTrail,
                bytes: Some(&record),
            };
            d.process(e, Some(raw), EventRef::ledger(i as u64));
        }
    }
    d.finish();
    let alerts = d.take_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].events, vec![EventRef::ledger(1)]);
}
