//! Every real-shaped vendor event under `../shared/testdata/logs` must be recognised as its
//! format and normalize to a valid OCSF class. Needs the shared test data (CI runs it).
#![cfg(feature = "conformance")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::path::PathBuf;

use evident_model::{Class, Format};
use evident_sources::{ParseContext, Parser, detect};

fn testdata() -> PathBuf {
    let dir = std::env::var_os("EVIDENT_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/testdata"
            ))
        });
    assert!(
        dir.join("logs").is_dir(),
        "shared test data not found at {}; set EVIDENT_TESTDATA",
        dir.display()
    );
    dir.join("logs")
}

/// File name (without .jsonl) → the format its records are.
const FILES: &[(&str, Format)] = &[
    ("auth0_events", Format::Auth0),
    ("aws_alb", Format::AwsAlb),
    ("aws_cloudtrail", Format::CloudTrail),
    ("aws_guardduty", Format::GuardDuty),
    ("aws_s3serveraccess", Format::S3Access),
    ("aws_vpcflow", Format::VpcFlow),
    ("aws_wafwebacl", Format::AwsWaf),
    ("azure_audit", Format::AzureAudit),
    ("azure_monitoractivity", Format::AzureActivity),
    ("box_event", Format::Box),
    ("duo_administrator", Format::DuoAdmin),
    ("duo_authentication", Format::DuoAuth),
    ("gcp_auditlog", Format::GcpAudit),
    ("github_audit", Format::GitHub),
    ("gsuite_activityevent", Format::GoogleWorkspace),
    ("mongodb_organizationevent", Format::MongoAtlas),
    ("okta_systemlog", Format::Okta),
    ("onelogin_events", Format::OneLogin),
    ("slack_auditlogs", Format::SlackAudit),
    ("zoom_operation", Format::ZoomOperation),
];

/// Runs one file through detection (with `p_log_type` removed, so the record's own shape
/// must identify it) and through the auto parser (with it), and returns the failures.
fn check_file(name: &str, want: Format) -> (usize, Vec<String>) {
    let path = testdata().join("panther").join(format!("{name}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    let ctx = ParseContext::new("conformance", 1_764_150_000_000_000_000);
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        count += 1;
        let at = format!("{name}.jsonl:{}", i + 1);
        let mut obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).unwrap();
        obj.retain(|k, _| !k.starts_with("p_"));
        // Some records hold nothing but Panther's enrichment (`p_*` keys): only their
        // `p_log_type` can identify them, which the parse below checks.
        if !obj.is_empty() {
            let bare = serde_json::to_vec(&obj).unwrap();
            match detect(&bare) {
                Some(f) if f == want => {}
                other => failures.push(format!(
                    "{at}: detected {other:?} without p_ fields, want {want:?}"
                )),
            }
        }
        let mut parser = Parser::new(Format::Auto);
        match parser.parse(line.as_bytes(), &ctx) {
            Ok(events) if events.is_empty() => failures.push(format!("{at}: no event")),
            Ok(events) => {
                for e in events {
                    let class = e.class();
                    if class.is_none() || class == Some(Class::BaseEvent) {
                        failures.push(format!("{at}: class {:?}", e.get("class_uid")));
                    }
                    if e.get_str("metadata.evident.format") != Some(want.as_str()) {
                        failures.push(format!(
                            "{at}: parsed as {:?}",
                            e.get_str("metadata.evident.format")
                        ));
                    }
                    if e.get("time").and_then(|t| t.as_i64()).is_none() {
                        failures.push(format!("{at}: no time"));
                    }
                    let activity = e
                        .get("activity_id")
                        .and_then(|a| a.as_u64())
                        .unwrap_or(1000);
                    let type_uid = e.get("type_uid").and_then(|t| t.as_u64());
                    if type_uid != class.map(|c| c.uid() as u64 * 100 + activity) {
                        failures.push(format!(
                            "{at}: type_uid {type_uid:?} != class_uid*100+activity_id"
                        ));
                    }
                }
            }
            Err(e) => failures.push(format!("{at}: {e}")),
        }
    }
    (count, failures)
}

#[test]
fn every_vendor_event_in_the_shared_test_data_is_detected_and_normalized() {
    let mut all = Vec::new();
    let mut total = 0;
    for (name, format) in FILES {
        let (count, failures) = check_file(name, *format);
        println!("{name}.jsonl: {count} records, {} failures", failures.len());
        total += count;
        all.extend(failures);
    }
    assert_eq!(total, 1072, "record count of the shared test data changed");
    assert!(
        all.is_empty(),
        "{} failures:\n{}",
        all.len(),
        all.join("\n")
    );
}

#[test]
fn every_file_in_the_shared_test_data_is_covered() {
    let mut names: Vec<String> = std::fs::read_dir(testdata().join("panther"))
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .into_string()
                .ok()?
                .strip_suffix(".jsonl")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    let covered: Vec<&str> = FILES.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, covered);
}
