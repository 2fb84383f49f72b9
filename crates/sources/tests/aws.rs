//! AWS and scanner formats: CloudTrail, GuardDuty, WAF, ALB, S3 server access, VPC Flow
//! Logs, Inspector2 and Trivy. Golden tests run our own fixtures (tests/fixtures/<format>/,
//! written from each vendor's documentation) through the public parser and compare the whole
//! OCSF event; the rest check detection against other formats' records, the exact parse
//! errors, and (ignored by default) CloudTrail throughput.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::path::Path;

use evident_model::{Class, Event, Format};
use evident_sources::{ParseContext, Parser, detect};
use serde_json::{Map, Value, json};

/// Receive time of every test record (2026-03-03T01:06:40Z), in ns and ms.
const RECEIVED_NS: u64 = 1_772_500_000_000_000_000;
const RECEIVED_MS: i64 = 1_772_500_000_000;

/// The bytes of a fixture file.
fn fixture(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The non-empty lines of a fixture file.
fn fixture_lines(rel: &str) -> Vec<Vec<u8>> {
    fixture(rel)
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// A fixture file that holds one record (trailing newline removed).
fn fixture_record(rel: &str) -> Vec<u8> {
    let mut bytes = fixture(rel);
    while bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    bytes
}

/// Parses records in order with one parser for `format` and returns every event as JSON.
fn parse_all(format: Format, records: &[Vec<u8>]) -> Vec<Map<String, Value>> {
    let mut parser = Parser::new(format);
    let ctx = ParseContext::new("aws-test", RECEIVED_NS);
    records
        .iter()
        .flat_map(|r| parser.parse(r, &ctx).unwrap())
        .map(|e| e.to_json())
        .collect()
}

/// Parses one record that yields one event.
fn parse_one(format: Format, record: &[u8]) -> Map<String, Value> {
    let mut events = parse_all(format, &[record.to_vec()]);
    assert_eq!(events.len(), 1, "one event per record");
    events.remove(0)
}

/// The error of parsing one record.
fn parse_err(format: Format, record: &[u8]) -> String {
    let ctx = ParseContext::new("aws-test", RECEIVED_NS);
    Parser::new(format)
        .parse(record, &ctx)
        .unwrap_err()
        .to_string()
}

/// The event without `raw_data` and `unmapped` (the input, asserted separately), after
/// checking `raw_data` is a string and the event names the format.
fn essential(mut event: Map<String, Value>, format: Format) -> Value {
    assert!(
        event.remove("raw_data").is_some_and(|r| r.is_string()),
        "raw_data is set"
    );
    event.remove("unmapped");
    assert_eq!(event["metadata"]["evident"]["format"], format.as_str());
    Value::Object(event)
}

/// What an event of `class`/`activity` at `time` must be: the attributes every event has
/// (from `Event::new`), `metadata.evident.format`, and `fields` merged over them.
fn expected(format: Format, class: Class, activity: u8, time: i64, fields: Value) -> Value {
    let mut base = serde_json::to_value(Event::new(class, activity, time)).unwrap();
    merge(
        &mut base,
        json!({"metadata": {"evident": {"format": format.as_str()}}}),
    );
    merge(&mut base, fields);
    base
}

/// Deep-merges `over` into `base` (objects merge, anything else replaces).
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// Asserts two JSON values are equal, printing both in full on failure.
fn assert_json(got: &Value, want: &Value) {
    assert!(
        got == want,
        "got:\n{}\nwant:\n{}",
        serde_json::to_string_pretty(got).unwrap(),
        serde_json::to_string_pretty(want).unwrap()
    );
}

/// The `actor` of the fixtures' administrator session (PlatformAdmin role, MFA).
fn platform_admin() -> Value {
    json!({
        "user": {
            "type": "AssumedRole",
            "uid": "AROAQRSTUVWXYZ7654321:oliver",
            "uid_alt": "arn:aws:sts::111122223333:assumed-role/PlatformAdmin/oliver",
            "name": "PlatformAdmin",
            "account": {"uid": "111122223333"}
        },
        "session": {
            "credential_uid": "ASIAQRSTUVWXYZ111111",
            "is_mfa": true,
            "created_time": 1_772_442_011_000i64,
            "issuer": "arn:aws:iam::111122223333:role/PlatformAdmin"
        }
    })
}

/// `metadata` of a CloudTrail event.
fn cloudtrail_metadata(uid: &str, name: &str, version: &str) -> Value {
    json!({"product": {"name": "CloudTrail", "vendor_name": "AWS"}, "uid": uid, "event_code": name, "log_version": version})
}

// ---------------------------------------------------------------- CloudTrail

#[test]
fn cloudtrail_console_login_with_mfa_is_a_successful_logon() {
    let record = fixture_record("cloudtrail/console_login_mfa.json");
    let event = parse_one(Format::CloudTrail, &record);
    assert_eq!(
        event["unmapped"],
        serde_json::from_slice::<Value>(&record).unwrap(),
        "unmapped is the record"
    );
    let dana = json!({
        "type": "IAMUser",
        "uid": "AIDAQRSTUVWXYZ2345678",
        "uid_alt": "arn:aws:iam::111122223333:user/dana",
        "name": "dana",
        "account": {"uid": "111122223333"}
    });
    let want = expected(
        Format::CloudTrail,
        Class::Authentication,
        1,
        1_772_439_342_000,
        json!({
            "metadata": cloudtrail_metadata("3f8a1c2e-5b7d-4e9f-a1b2-c3d4e5f60718", "ConsoleLogin", "1.09"),
            "status_id": 1, "status": "Success",
            "is_mfa": true,
            "user": dana.clone(),
            "actor": {"user": dana},
            "api": {"operation": "ConsoleLogin", "service": {"name": "signin.amazonaws.com"}},
            "cloud": {"provider": "AWS", "region": "us-east-1", "account": {"uid": "111122223333"}},
            "src_endpoint": {"ip": "198.51.100.23"},
            "http_request": {"user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
        }),
    );
    assert_json(&essential(event, Format::CloudTrail), &want);
}

#[test]
fn cloudtrail_failed_console_login_is_a_failed_logon_without_mfa() {
    let event = parse_one(
        Format::CloudTrail,
        &fixture_record("cloudtrail/console_login_failure.json"),
    );
    let hidden = json!({"type": "IAMUser", "name": "HIDDEN_DUE_TO_SECURITY_REASONS", "account": {"uid": "111122223333"}});
    let want = expected(
        Format::CloudTrail,
        Class::Authentication,
        1,
        1_772_439_243_000,
        json!({
            "metadata": cloudtrail_metadata("9b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "ConsoleLogin", "1.09"),
            "status_id": 2, "status": "Failure", "status_detail": "Failed authentication",
            "is_mfa": false,
            "user": hidden.clone(),
            "actor": {"user": hidden},
            "api": {
                "operation": "ConsoleLogin",
                "service": {"name": "signin.amazonaws.com"},
                "response": {"message": "Failed authentication"}
            },
            "cloud": {"provider": "AWS", "region": "us-east-1", "account": {"uid": "111122223333"}},
            "src_endpoint": {"ip": "203.0.113.77"},
            "http_request": {"user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}
        }),
    );
    assert_json(&essential(event, Format::CloudTrail), &want);
}

#[test]
fn cloudtrail_create_user_is_an_account_change_for_the_new_user() {
    let event = parse_one(
        Format::CloudTrail,
        &fixture_record("cloudtrail/create_user.json"),
    );
    let want = expected(
        Format::CloudTrail,
        Class::AccountChange,
        1,
        1_772_442_750_000,
        json!({
            "metadata": cloudtrail_metadata("0a1b2c3d-4e5f-4607-8192-a3b4c5d6e7f8", "CreateUser", "1.09"),
            "status_id": 1, "status": "Success",
            "user": {"name": "erin", "uid": "AIDAQRSTUVWXYZ9999999"},
            "actor": platform_admin(),
            "api": {
                "operation": "CreateUser",
                "service": {"name": "iam.amazonaws.com"},
                "request": {"uid": "5d7e9f10-2a3b-4c5d-9e6f-708192a3b4c5"}
            },
            "cloud": {"provider": "AWS", "region": "us-east-1", "account": {"uid": "111122223333"}},
            "src_endpoint": {"ip": "198.51.100.40"},
            "http_request": {"user_agent": "aws-cli/2.22.4 md/awscrt#0.23.4 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe sid/9b1e command/iam.create-user"}
        }),
    );
    assert_json(&essential(event, Format::CloudTrail), &want);
}

#[test]
fn cloudtrail_add_user_to_group_names_group_and_user() {
    let event = parse_one(
        Format::CloudTrail,
        &fixture_record("cloudtrail/add_user_to_group.json"),
    );
    let want = expected(
        Format::CloudTrail,
        Class::GroupManagement,
        3,
        1_772_442_785_000,
        json!({
            "metadata": cloudtrail_metadata("1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809", "AddUserToGroup", "1.09"),
            "status_id": 1, "status": "Success",
            "group": {"name": "Admins"},
            "user": {"name": "erin"},
            "actor": platform_admin(),
            "api": {
                "operation": "AddUserToGroup",
                "service": {"name": "iam.amazonaws.com"},
                "request": {"uid": "6e8f0a21-3b4c-4d5e-8f70-8192a3b4c5d6"}
            },
            "cloud": {"provider": "AWS", "region": "us-east-1", "account": {"uid": "111122223333"}},
            "src_endpoint": {"ip": "198.51.100.40"},
            "http_request": {"user_agent": "aws-cli/2.22.4 md/awscrt#0.23.4 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6 command/iam.add-user-to-group"}
        }),
    );
    assert_json(&essential(event, Format::CloudTrail), &want);
}

#[test]
fn cloudtrail_attach_user_policy_names_the_policy() {
    let event = parse_one(
        Format::CloudTrail,
        &fixture_record("cloudtrail/attach_user_policy.json"),
    );
    let want = expected(
        Format::CloudTrail,
        Class::AccountChange,
        7,
        1_772_442_887_000,
        json!({
            "metadata": cloudtrail_metadata("2c3d4e5f-6071-4829-a3b4-c5d6e7f8091a", "AttachUserPolicy", "1.09"),
            "status_id": 1, "status": "Success",
            "user": {"name": "erin"},
            "policy": {"uid": "arn:aws:iam::aws:policy/AdministratorAccess", "name": "AdministratorAccess"},
            "actor": platform_admin(),
            "api": {
                "operation": "AttachUserPolicy",
                "service": {"name": "iam.amazonaws.com"},
                "request": {"uid": "7f901b32-4c5d-4e6f-9081-92a3b4c5d6e7"}
            },
            "cloud": {"provider": "AWS", "region": "us-east-1", "account": {"uid": "111122223333"}},
            "src_endpoint": {"ip": "198.51.100.40"},
            "http_request": {"user_agent": "aws-cli/2.22.4 command/iam.attach-user-policy"}
        }),
    );
    assert_json(&essential(event, Format::CloudTrail), &want);
}

#[test]
fn cloudtrail_denied_call_is_a_failed_api_create() {
    let event = parse_one(
        Format::CloudTrail,
        &fixture_record("cloudtrail/run_instances_denied.json"),
    );
    let message = "You are not authorized to perform this operation. User: arn:aws:sts::111122223333:assumed-role/ci-deployer/ci-deploy is not authorized to perform: ec2:RunInstances";
    let want = expected(
        Format::CloudTrail,
        Class::ApiActivity,
        1,
        1_772_446_874_000,
        json!({
            "metadata": cloudtrail_metadata("3d4e5f60-7182-493a-b4c5-d6e7f8091a2b", "RunInstances", "1.10"),
            "status_id": 2, "status": "Failure", "status_detail": "Client.UnauthorizedOperation",
            "actor": {
                "user": {
                    "type": "AssumedRole",
                    "uid": "AROAQRSTUVWXYZ3333333:ci-deploy",
                    "uid_alt": "arn:aws:sts::111122223333:assumed-role/ci-deployer/ci-deploy",
                    "name": "ci-deployer",
                    "account": {"uid": "111122223333"}
                },
                "session": {
                    "credential_uid": "ASIAQRSTUVWXYZ222222",
                    "is_mfa": false,
                    "created_time": 1_772_446_800_000i64,
                    "issuer": "arn:aws:iam::111122223333:role/ci-deployer"
                }
            },
            "api": {
                "operation": "RunInstances",
                "service": {"name": "ec2.amazonaws.com"},
                "request": {"uid": "8a0b2c43-5d6e-4f70-a192-a3b4c5d6e7f8"},
                "response": {"error": "Client.UnauthorizedOperation", "message": message}
            },
            "cloud": {"provider": "AWS", "region": "eu-west-1", "account": {"uid": "111122223333"}},
            "src_endpoint": {"ip": "192.0.2.15"},
            "http_request": {"user_agent": "Boto3/1.35.80 md/Botocore#1.35.80 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.12.8 Botocore/1.35.80"}
        }),
    );
    assert_json(&essential(event, Format::CloudTrail), &want);
}

#[test]
fn cloudtrail_service_call_from_a_host_name_uses_the_domain_and_read_only_flag() {
    let event = parse_one(
        Format::CloudTrail,
        &fixture_record("cloudtrail/service_assume_role.json"),
    );
    let want = expected(
        Format::CloudTrail,
        Class::ApiActivity,
        2,
        1_772_449_200_000,
        json!({
            "metadata": cloudtrail_metadata("4e5f6071-8293-4a4b-c5d6-e7f8091a2b3c", "AssumeRole", "1.08"),
            "status_id": 1, "status": "Success",
            "actor": {"user": {"type": "AWSService"}, "invoked_by": "ec2.amazonaws.com"},
            "api": {
                "operation": "AssumeRole",
                "service": {"name": "sts.amazonaws.com"},
                "request": {"uid": "9b1c3d54-6e7f-4081-b2a3-b4c5d6e7f809"}
            },
            "cloud": {"provider": "AWS", "region": "eu-west-1", "account": {"uid": "111122223333"}},
            "src_endpoint": {"domain": "ec2.amazonaws.com"},
            "http_request": {"user_agent": "ec2.amazonaws.com"},
            "resources": [{
                "uid": "arn:aws:iam::111122223333:role/app-server",
                "type": "AWS::IAM::Role",
                "owner": {"account": {"uid": "111122223333"}}
            }]
        }),
    );
    assert_json(&essential(event, Format::CloudTrail), &want);
}

#[test]
fn cloudtrail_activity_follows_the_operation_verb() {
    let cases = [
        ("PutBucketPolicy", Class::ApiActivity, 1),
        ("DescribeInstances", Class::ApiActivity, 2),
        ("StopLogging", Class::ApiActivity, 3),
        ("DeleteTrail", Class::ApiActivity, 4),
        ("ConsoleLogin", Class::Authentication, 1),
        ("DeleteUser", Class::AccountChange, 6),
        ("UpdateLoginProfile", Class::AccountChange, 4),
        ("DeactivateMFADevice", Class::AccountChange, 11),
        ("RemoveUserFromGroup", Class::GroupManagement, 4),
        ("AssumeRoleWithSAML", Class::ApiActivity, 99),
    ];
    for (name, class, activity) in cases {
        let record = json!({"eventName": name, "eventSource": "iam.amazonaws.com", "eventTime": "2026-03-02T12:00:00Z"});
        let event = parse_one(Format::CloudTrail, record.to_string().as_bytes());
        assert_eq!(
            (event["class_uid"].clone(), event["activity_id"].clone()),
            (json!(class.uid()), json!(activity)),
            "{name}"
        );
    }
    // Another service's CreateUser is not an IAM account.
    let record = json!({"eventName": "CreateUser", "eventSource": "transfer.amazonaws.com", "eventTime": "2026-03-02T12:00:00Z"});
    assert_eq!(
        parse_one(Format::CloudTrail, record.to_string().as_bytes())["class_uid"],
        6003
    );
}

#[test]
fn cloudtrail_lower_case_panther_keys_and_redacted_times_are_tolerated() {
    let record = br#"{"eventname":"GetRecords","eventsource":"dynamodb.amazonaws.com","eventtime":"2026-03-02 10:00:00","awsregion":"eu-west-1","eventid":"e-1","useridentity":{"arn":"arn:aws:iam::111122223333:user/svc/reader"}}"#;
    let event = essential(parse_one(Format::CloudTrail, record), Format::CloudTrail);
    assert_eq!(event["time"], 1_772_445_600_000i64);
    assert_eq!(event["activity_id"], 2);
    assert_eq!(event["api"]["service"]["name"], "dynamodb.amazonaws.com");
    assert_eq!(event["actor"]["user"]["name"], "reader");
    assert_eq!(event["cloud"]["region"], "eu-west-1");

    let redacted =
        br#"{"eventName":"ListBuckets","eventSource":"s3.amazonaws.com","eventTime":"redacted"}"#;
    let event = parse_one(Format::CloudTrail, redacted);
    assert_eq!(event["time"], RECEIVED_MS);
    assert_eq!(event["unmapped"]["evident_parse"], "time_not_parsed");
    assert_eq!(event["unmapped"]["eventTime"], "redacted");

    // A Panther row with only Panther's fields still becomes an event, at p_event_time.
    let bare = br#"{"p_log_type":"AWS.CloudTrail","p_event_time":"2026-03-02 09:00:00.000"}"#;
    let event = parse_one(Format::CloudTrail, bare);
    assert_eq!(
        (event["class_uid"].clone(), event["activity_id"].clone()),
        (json!(6003), json!(99))
    );
    assert_eq!(event["time"], 1_772_442_000_000i64);
}

#[test]
fn cloudtrail_errors_name_the_field() {
    assert_eq!(
        parse_err(
            Format::CloudTrail,
            br#"{"eventSource":"s3.amazonaws.com","eventTime":"2026-03-02T12:00:00Z"}"#
        ),
        "missing field `eventName`"
    );
    assert_eq!(
        parse_err(Format::CloudTrail, br#"{"eventName":42}"#),
        "field `eventName` should be a string"
    );
    assert_eq!(
        parse_err(
            Format::CloudTrail,
            br#"{"eventName":"GetObject","eventSource":"s3.amaz"#
        ),
        "invalid JSON: EOF while parsing a string at line 1 column 47"
    );
    assert_eq!(
        parse_err(Format::CloudTrail, b"[1,2]"),
        "expected a JSON object, found an array"
    );
}

// ---------------------------------------------------------------- GuardDuty

#[test]
fn guardduty_updated_finding_maps_api_call_and_access_key() {
    let record = fixture_record("guardduty/tor_api_call.json");
    let event = parse_one(Format::GuardDuty, &record);
    assert_eq!(
        event["unmapped"],
        serde_json::from_slice::<Value>(&record).unwrap(),
        "unmapped is the finding"
    );
    let mut want = expected(
        Format::GuardDuty,
        Class::DetectionFinding,
        2,
        1_772_455_502_318,
        json!({
            "metadata": {"product": {"name": "GuardDuty", "vendor_name": "AWS"}, "uid": "76c9b5a3d2e1f0a9b8c7d6e5f4a3b2c1", "log_version": "2.0"},
            "status_id": 1, "status": "New",
            "count": 7,
            "finding_info": {
                "uid": "76c9b5a3d2e1f0a9b8c7d6e5f4a3b2c1",
                "title": "The API ListBuckets was invoked from a Tor exit node IP address.",
                "desc": "The API ListBuckets was invoked by IAM user dana from a Tor exit node IP address 198.51.100.99.",
                "types": ["UnauthorizedAccess:IAMUser/TorIPCaller"],
                "created_time": 1_772_453_144_120i64,
                "modified_time": 1_772_455_502_318i64,
                "first_seen_time": 1_772_452_805_000i64,
                "last_seen_time": 1_772_455_217_000i64,
                "product_uid": "4ac8f1d2e3b4a5968778695a4b3c2d1e"
            },
            "cloud": {"provider": "AWS", "region": "us-east-1", "account": {"uid": "111122223333"}, "cloud_partition": "aws"},
            "resources": [{"uid": "AKIAQRSTUVWXYZ444444", "name": "dana", "type": "AccessKey"}],
            "src_endpoint": {"ip": "198.51.100.99", "location": {"country": "Netherlands", "city": "Amsterdam"}},
            "api": {"operation": "ListBuckets", "service": {"name": "s3.amazonaws.com"}}
        }),
    );
    merge(&mut want, json!({"severity_id": 3, "severity": "Medium"}));
    assert_json(&essential(event, Format::GuardDuty), &want);
}

#[test]
fn guardduty_archived_eventbridge_finding_is_closed_and_outbound() {
    let event = parse_one(
        Format::GuardDuty,
        &fixture_record("guardduty/eventbridge_c2_archived.json"),
    );
    assert_eq!(
        event["unmapped"]["detail-type"], "GuardDuty Finding",
        "unmapped keeps the envelope"
    );
    let want = expected(
        Format::GuardDuty,
        Class::DetectionFinding,
        3,
        1_772_521_272_000,
        json!({
            "severity_id": 4, "severity": "High",
            "metadata": {"product": {"name": "GuardDuty", "vendor_name": "AWS"}, "uid": "0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7", "log_version": "2.0"},
            "status_id": 3, "status": "Suppressed",
            "count": 3,
            "finding_info": {
                "uid": "0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7",
                "title": "EC2 instance i-0123456789abcdef0 is querying an IP address associated with a known command and control server.",
                "desc": "EC2 instance i-0123456789abcdef0 is communicating with 203.0.113.200, a known command and control server.",
                "types": ["Backdoor:EC2/C&CActivity.B"],
                "created_time": 1_772_521_272_000i64,
                "modified_time": 1_772_521_272_000i64,
                "first_seen_time": 1_772_521_080_000i64,
                "last_seen_time": 1_772_521_920_000i64,
                "product_uid": "4ac8f1d2e3b4a5968778695a4b3c2d1e"
            },
            "cloud": {"provider": "AWS", "region": "eu-west-1", "account": {"uid": "111122223333"}, "cloud_partition": "aws"},
            "resources": [{"uid": "i-0123456789abcdef0", "type": "Instance"}],
            "dst_endpoint": {"ip": "203.0.113.200", "location": {"country": "Germany", "city": "Frankfurt am Main"}}
        }),
    );
    assert_json(&essential(event, Format::GuardDuty), &want);
}

#[test]
fn guardduty_severity_bands_and_errors() {
    for (severity, want) in [
        (1.0, "Low"),
        (3.9, "Low"),
        (4.0, "Medium"),
        (6.9, "Medium"),
        (7.0, "High"),
        (8.9, "High"),
        (9.0, "Critical"),
    ] {
        let record = json!({"id": "f", "type": "T", "severity": severity, "service": {"serviceName": "guardduty"}});
        assert_eq!(
            parse_one(Format::GuardDuty, record.to_string().as_bytes())["severity"],
            want,
            "{severity}"
        );
    }
    assert_eq!(
        parse_err(
            Format::GuardDuty,
            br#"{"type":"Recon:EC2/PortProbeUnprotectedPort","severity":2}"#
        ),
        "missing field `id`"
    );
    assert_eq!(
        parse_err(Format::GuardDuty, br#"{"id":["x"]}"#),
        "field `id` should be a string"
    );
    assert_eq!(
        parse_err(Format::GuardDuty, br#"{"id":"x""#),
        "invalid JSON: EOF while parsing an object at line 1 column 9"
    );
}

// ---------------------------------------------------------------- Inspector2

/// The expected event of the fixtures' openssh package finding.
fn openssh_finding() -> Value {
    expected(
        Format::Inspector2,
        Class::VulnerabilityFinding,
        2,
        1_772_445_900_000,
        json!({
            "severity_id": 4, "severity": "High",
            "metadata": {"product": {"name": "Inspector", "vendor_name": "AWS"}, "uid": "arn:aws:inspector2:eu-west-1:111122223333:finding/0f1e2d3c4b5a69788796a5b4c3d2e1f0"},
            "status_id": 1, "status": "New",
            "finding_info": {
                "uid": "arn:aws:inspector2:eu-west-1:111122223333:finding/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "title": "CVE-2024-6387 - openssh-server",
                "desc": "A signal handler race condition was found in OpenSSH's server (sshd).",
                "types": ["PACKAGE_VULNERABILITY"],
                "created_time": 1_771_581_600_000i64,
                "first_seen_time": 1_771_581_600_000i64,
                "last_seen_time": 1_772_445_600_000i64,
                "modified_time": 1_772_445_900_000i64
            },
            "cloud": {"provider": "AWS", "region": "eu-west-1", "account": {"uid": "111122223333"}},
            "resources": [{
                "uid": "arn:aws:ecr:eu-west-1:111122223333:repository/shop-api/sha256:5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "type": "AWS_ECR_CONTAINER_IMAGE",
                "region": "eu-west-1",
                "cloud_partition": "aws"
            }],
            "vulnerabilities": [{
                "cve": {
                    "uid": "CVE-2024-6387",
                    "cvss": [{"base_score": 8.1, "vector_string": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", "version": "3.1"}],
                    "created_time": 1_719_839_700_000i64,
                    "modified_time": 1_723_680_000_000i64
                },
                "title": "CVE-2024-6387 - openssh-server",
                "desc": "A signal handler race condition was found in OpenSSH's server (sshd).",
                "severity": "High",
                "vendor_name": "DEBIAN_CVE",
                "references": ["https://www.openwall.com/lists/oss-security/2024/07/01/3"],
                "is_fix_available": true,
                "is_exploit_available": true,
                "first_seen_time": 1_771_581_600_000i64,
                "last_seen_time": 1_772_445_600_000i64,
                "affected_packages": [{
                    "name": "openssh-server",
                    "version": "9.2p1",
                    "release": "2+deb12u2",
                    "epoch": 1,
                    "architecture": "AMD64",
                    "package_manager": "OS",
                    "fixed_in_version": "1:9.2p1-2+deb12u3"
                }]
            }]
        }),
    )
}

#[test]
fn inspector2_package_finding_lists_the_vulnerable_package() {
    let record = fixture_record("inspector2/package_finding.json");
    let event = parse_one(Format::Inspector2, &record);
    assert_eq!(
        event["unmapped"],
        serde_json::from_slice::<Value>(&record).unwrap(),
        "unmapped is the finding"
    );
    assert_json(&essential(event, Format::Inspector2), &openssh_finding());
}

#[test]
fn inspector2_closed_eventbridge_finding_reads_eventbridge_times() {
    let event = parse_one(
        Format::Inspector2,
        &fixture_record("inspector2/eventbridge_closed.json"),
    );
    assert_eq!(
        event["unmapped"]["source"], "aws.inspector2",
        "unmapped keeps the envelope"
    );
    let want = expected(
        Format::Inspector2,
        Class::VulnerabilityFinding,
        3,
        1_772_443_800_250,
        json!({
            "severity_id": 3, "severity": "Medium",
            "metadata": {"product": {"name": "Inspector", "vendor_name": "AWS"}, "uid": "arn:aws:inspector2:eu-west-1:111122223333:finding/1a2b3c4d5e6f708192a3b4c5d6e7f809"},
            "status_id": 4, "status": "Resolved",
            "finding_info": {
                "uid": "arn:aws:inspector2:eu-west-1:111122223333:finding/1a2b3c4d5e6f708192a3b4c5d6e7f809",
                "title": "CVE-2025-0001 - libexample",
                "desc": "An out-of-bounds read in libexample.",
                "types": ["PACKAGE_VULNERABILITY"],
                "created_time": 1_772_182_800_000i64,
                "first_seen_time": 1_772_182_800_000i64,
                "last_seen_time": 1_772_442_000_000i64,
                "modified_time": 1_772_443_800_250i64
            },
            "cloud": {"provider": "AWS", "region": "eu-west-1", "account": {"uid": "111122223333"}},
            "resources": [{"uid": "i-0123456789abcdef0", "type": "AWS_EC2_INSTANCE", "region": "eu-west-1", "cloud_partition": "aws"}],
            "vulnerabilities": [{
                "cve": {"uid": "CVE-2025-0001"},
                "title": "CVE-2025-0001 - libexample",
                "desc": "An out-of-bounds read in libexample.",
                "severity": "Medium",
                "vendor_name": "NVD",
                "is_fix_available": true,
                "is_exploit_available": false,
                "first_seen_time": 1_772_182_800_000i64,
                "last_seen_time": 1_772_442_000_000i64,
                "affected_packages": [{"name": "libexample", "version": "2.4.1", "package_manager": "OS", "fixed_in_version": "2.4.2"}]
            }]
        }),
    );
    assert_json(&essential(event, Format::Inspector2), &want);
}

#[test]
fn inspector2_list_findings_page_yields_one_event_per_finding() {
    let events = parse_all(
        Format::Inspector2,
        &[fixture_record("inspector2/list_findings.json")],
    );
    assert_eq!(events.len(), 2);
    let page: Value =
        serde_json::from_slice(&fixture_record("inspector2/list_findings.json")).unwrap();
    for (event, finding) in events.iter().zip(page["findings"].as_array().unwrap()) {
        assert_eq!(
            &event["unmapped"], finding,
            "each event's unmapped is its own finding"
        );
        assert_eq!(
            serde_json::from_str::<Value>(event["raw_data"].as_str().unwrap()).unwrap(),
            *finding
        );
    }
    assert_json(
        &essential(events[0].clone(), Format::Inspector2),
        &openssh_finding(),
    );
    let code = essential(events[1].clone(), Format::Inspector2);
    assert_eq!(
        (code["activity_id"].clone(), code["severity"].clone()),
        (json!(1), json!("Critical"))
    );
    assert_json(
        &code["vulnerabilities"],
        &json!([{
            "cwe": {"uid": "CWE-798"},
            "affected_code": [{"file": {"path": "src/handler.py", "name": "handler.py"}, "start_line": 12, "end_line": 12}],
            "vendor_name": "Hardcoded credentials",
            "title": "CWE-798 - Hardcoded credentials",
            "desc": "Credentials are hardcoded in the function code.",
            "severity": "Critical",
            "first_seen_time": 1_772_352_000_000i64,
            "last_seen_time": 1_772_352_000_000i64
        }]),
    );
}

#[test]
fn inspector2_errors_name_the_field() {
    assert_eq!(
        parse_err(
            Format::Inspector2,
            br#"{"awsAccountId":"111122223333","type":"PACKAGE_VULNERABILITY"}"#
        ),
        "missing field `findingArn`"
    );
    assert_eq!(
        parse_err(Format::Inspector2, br#"{"findings":[{"findingArn":7}]}"#),
        "field `findings.0.findingArn` should be a string"
    );
    assert_eq!(
        parse_err(Format::Inspector2, br#"{"findings":{}}"#),
        "field `findings` should be an array"
    );
    assert_eq!(
        parse_err(Format::Inspector2, br#"{"findingArn":"arn:aws:inspector2:"#),
        "invalid JSON: EOF while parsing a string at line 1 column 34"
    );
}

// ---------------------------------------------------------------- Trivy

#[test]
fn trivy_report_yields_one_finding_per_vulnerability() {
    let events = parse_all(Format::Trivy, &[fixture_record("trivy/image_report.json")]);
    assert_eq!(events.len(), 3);
    let image = json!({
        "name": "registry.example.com/shop/api:1.14.2",
        "type": "container_image",
        "uid": "sha256:8e2f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7"
    });
    let trivy = |activity: u8, fields: Value| {
        let mut want = expected(
            Format::Trivy,
            Class::VulnerabilityFinding,
            activity,
            1_772_460_191_402,
            fields,
        );
        merge(
            &mut want,
            json!({"metadata": {"product": {"name": "Trivy", "vendor_name": "Aqua Security"}}, "resources": [image.clone()], "status_id": 1, "status": "New"}),
        );
        want
    };
    let want = trivy(
        1,
        json!({
            "severity_id": 3, "severity": "Medium",
            "finding_info": {
                "uid": "registry.example.com/shop/api:1.14.2|registry.example.com/shop/api:1.14.2 (alpine 3.19.1)|libcrypto3@3.1.4-r2|CVE-2024-0727",
                "title": "CVE-2024-0727 in libcrypto3",
                "desc": "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash.",
                "types": ["os-pkgs"]
            },
            "vulnerabilities": [{
                "cve": {
                    "uid": "CVE-2024-0727",
                    "cvss": [{"base_score": 5.5, "vector_string": "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", "version": "3.1", "vendor_name": "nvd"}],
                    "created_time": 1_706_260_507_637i64,
                    "modified_time": 1_707_387_313_173i64
                },
                "title": "openssl: denial of service via null dereference",
                "desc": "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash.",
                "severity": "Medium",
                "vendor_name": "Alpine Secdb",
                "cwe": {"uid": "CWE-476"},
                "references": ["https://www.openssl.org/news/secadv/20240125.txt"],
                "is_fix_available": true,
                "affected_packages": [{
                    "name": "libcrypto3",
                    "version": "3.1.4-r2",
                    "fixed_in_version": "3.1.4-r5",
                    "purl": "pkg:apk/alpine/libcrypto3@3.1.4-r2?arch=x86_64&distro=3.19.1",
                    "package_manager": "alpine"
                }]
            }]
        }),
    );
    assert_json(&essential(events[0].clone(), Format::Trivy), &want);
    let want = trivy(
        1,
        json!({
            "severity_id": 5, "severity": "Critical",
            "finding_info": {
                "uid": "registry.example.com/shop/api:1.14.2|app/requirements.txt|requests|GHSA-9wx4-h78v-vm56",
                "title": "GHSA-9wx4-h78v-vm56 in requests",
                "types": ["lang-pkgs"]
            },
            "vulnerabilities": [{
                "cve": {"uid": "GHSA-9wx4-h78v-vm56"},
                "title": "Requests session object does not verify requests after making first request with verify=False",
                "severity": "Critical",
                "is_fix_available": false,
                "affected_packages": [{"name": "requests", "version": "2.31.0", "path": "app/requirements.txt", "package_manager": "pip"}]
            }]
        }),
    );
    assert_json(&essential(events[2].clone(), Format::Trivy), &want);

    // unmapped: the report's own fields, the result's, and the vulnerability; raw_data: the
    // vulnerability.
    let report: Value = serde_json::from_slice(&fixture_record("trivy/image_report.json")).unwrap();
    let vuln = &report["Results"][0]["Vulnerabilities"][1];
    let unmapped = &events[1]["unmapped"];
    assert_eq!(unmapped["Vulnerability"], *vuln);
    assert_eq!(unmapped["Metadata"], report["Metadata"]);
    assert_eq!(
        (
            unmapped["Target"].clone(),
            unmapped["Class"].clone(),
            unmapped["Type"].clone()
        ),
        (
            json!("registry.example.com/shop/api:1.14.2 (alpine 3.19.1)"),
            json!("os-pkgs"),
            json!("alpine")
        )
    );
    assert!(unmapped.get("Results").is_none());
    assert_eq!(
        serde_json::from_str::<Value>(events[1]["raw_data"].as_str().unwrap()).unwrap(),
        *vuln
    );
}

#[test]
fn trivy_clean_report_is_one_visible_scan_record() {
    let record = fixture_record("trivy/clean_report.json");
    let event = parse_one(Format::Trivy, &record);
    assert_eq!(
        event["unmapped"],
        serde_json::from_slice::<Value>(&record).unwrap(),
        "unmapped is the report"
    );
    let want = expected(
        Format::Trivy,
        Class::VulnerabilityFinding,
        99,
        1_772_460_300_000,
        json!({
            "metadata": {"product": {"name": "Trivy", "vendor_name": "Aqua Security"}},
            "finding_info": {
                "uid": "registry.example.com/shop/web:2.0.0|2026-03-02T14:05:00Z",
                "title": "Trivy scan of registry.example.com/shop/web:2.0.0: no vulnerabilities"
            },
            "message": "Trivy found no vulnerabilities in registry.example.com/shop/web:2.0.0",
            "resources": [{
                "name": "registry.example.com/shop/web:2.0.0",
                "type": "container_image",
                "uid": "sha256:9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
            }]
        }),
    );
    assert_json(&essential(event, Format::Trivy), &want);
}

#[test]
fn trivy_errors_name_the_field() {
    assert_eq!(
        parse_err(Format::Trivy, br#"{"SchemaVersion":2,"Results":[]}"#),
        "missing field `ArtifactName`"
    );
    assert_eq!(
        parse_err(
            Format::Trivy,
            br#"{"SchemaVersion":2,"ArtifactName":"x","Results":{}}"#
        ),
        "field `Results` should be an array"
    );
    assert_eq!(
        parse_err(Format::Trivy, br#"{"SchemaVersion":2,"ArtifactName":"x","Results":[{"Vulnerabilities":[{"PkgName":"zlib"}]}]}"#),
        "missing field `Results.0.Vulnerabilities.0.VulnerabilityID`"
    );
    assert_eq!(
        parse_err(Format::Trivy, br#"{"SchemaVersion":2,"ArtifactName":"#),
        "invalid JSON: EOF while parsing a value at line 1 column 34"
    );
}

// ---------------------------------------------------------------- AWS WAF

#[test]
fn waf_blocked_request_names_rule_client_and_request() {
    let record = fixture_record("aws_waf/block_sqli.json");
    let event = parse_one(Format::AwsWaf, &record);
    assert_eq!(
        event["unmapped"],
        serde_json::from_slice::<Value>(&record).unwrap(),
        "unmapped is the record"
    );
    let want = expected(
        Format::AwsWaf,
        Class::HttpActivity,
        3,
        1_772_460_000_123,
        json!({
            "metadata": {"product": {"name": "AWS WAF", "vendor_name": "AWS"}, "uid": "1-67c4a3e0-0a1b2c3d4e5f607182930a1b", "log_version": "1"},
            "action_id": 2, "action": "Denied",
            "disposition_id": 2, "disposition": "Blocked",
            "firewall_rule": {"uid": "AWS-AWSManagedRulesSQLiRuleSet", "type": "MANAGED_RULE_GROUP"},
            "src_endpoint": {"ip": "203.0.113.45", "location": {"country": "BR"}},
            "dst_endpoint": {"hostname": "shop.example.com", "svc_name": "ALB"},
            "http_request": {
                "http_method": "GET",
                "version": "HTTP/1.1",
                "uid": "1-67c4a3e0-0a1b2c3d4e5f607182930a1b",
                "user_agent": "sqlmap/1.8.2#stable (https://sqlmap.org)",
                "url": {"path": "/products", "query_string": "id=1%20OR%201=1", "hostname": "shop.example.com"},
                "http_headers": [
                    {"name": "Host", "value": "shop.example.com"},
                    {"name": "User-Agent", "value": "sqlmap/1.8.2#stable (https://sqlmap.org)"},
                    {"name": "Accept", "value": "*/*"}
                ]
            },
            "http_response": {"code": 403},
            "cloud": {"provider": "AWS", "region": "eu-west-1", "account": {"uid": "111122223333"}},
            "resources": [{
                "uid": "arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/shop-prod/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
                "name": "shop-prod",
                "type": "AWS::WAFv2::WebACL"
            }]
        }),
    );
    assert_json(&essential(event, Format::AwsWaf), &want);
}

#[test]
fn waf_count_action_is_observed_not_blocked() {
    let event = essential(
        parse_one(Format::AwsWaf, &fixture_record("aws_waf/count_post.json")),
        Format::AwsWaf,
    );
    assert_eq!(event["activity_id"], 6);
    assert_eq!(event["time"], 1_772_460_060_456i64);
    assert_eq!(
        [
            &event["action_id"],
            &event["action"],
            &event["disposition_id"],
            &event["disposition"]
        ],
        [&json!(3), &json!("Observed"), &json!(20), &json!("Count")]
    );
    assert_eq!(event["src_endpoint"]["ip"], "2001:db8::42");
    assert_eq!(event["http_request"]["user_agent"], "curl/8.5.0");
    assert_eq!(
        event["http_request"]["url"],
        json!({"path": "/login", "hostname": "www.example.com"})
    );
    assert_eq!(
        event["firewall_rule"],
        json!({"uid": "RateLimitLogin", "type": "RATE_BASED"})
    );
}

#[test]
fn waf_errors_name_the_field() {
    assert_eq!(
        parse_err(
            Format::AwsWaf,
            br#"{"timestamp":1772460000123,"webaclId":"arn:x","action":"ALLOW"}"#
        ),
        "missing field `httpRequest`"
    );
    assert_eq!(
        parse_err(
            Format::AwsWaf,
            br#"{"timestamp":1772460000123,"httpRequest":"GET /"}"#
        ),
        "field `httpRequest` should be an object"
    );
    assert_eq!(
        parse_err(Format::AwsWaf, br#"{"action":"ALLOW","httpRequest":{}}"#),
        "missing field `timestamp`"
    );
    assert_eq!(
        parse_err(Format::AwsWaf, br#"{"timestamp":17724600"#),
        "invalid JSON: EOF while parsing an object at line 1 column 21"
    );
}

// ---------------------------------------------------------------- ALB

#[test]
fn alb_text_lines_become_http_activity() {
    let events = parse_all(Format::AwsAlb, &fixture_lines("aws_alb/access.log"));
    assert_eq!(events.len(), 2);
    let want = expected(
        Format::AwsAlb,
        Class::HttpActivity,
        3,
        1_772_460_001_123,
        json!({
            "metadata": {"product": {"name": "Elastic Load Balancing", "vendor_name": "AWS"}, "uid": "Root=1-67c46391-1a2b3c4d5e6f708192a3b4c5"},
            "status_id": 1, "status": "Success", "status_code": "200",
            "cloud": {"provider": "AWS"},
            "src_endpoint": {"ip": "198.51.100.23", "port": 51234},
            "dst_endpoint": {"ip": "10.0.2.14", "port": 8080},
            "http_request": {
                "http_method": "GET",
                "version": "HTTP/1.1",
                "uid": "Root=1-67c46391-1a2b3c4d5e6f708192a3b4c5",
                "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "url": {
                    "url_string": "https://shop.example.com:443/api/cart?session=abc",
                    "scheme": "https",
                    "hostname": "shop.example.com",
                    "port": 443,
                    "path": "/api/cart",
                    "query_string": "session=abc"
                }
            },
            "http_response": {"code": 200},
            "traffic": {"bytes_out": 412, "bytes_in": 5120},
            "tls": {"cipher": "ECDHE-RSA-AES128-GCM-SHA256", "version": "TLSv1.2", "sni": "shop.example.com"},
            "resources": [
                {"uid": "app/shop-prod-alb/50dc6c495c0c9188", "type": "AWS::ElasticLoadBalancingV2::LoadBalancer"},
                {"uid": "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop-api/73e2d6bc24d8a067", "type": "AWS::ElasticLoadBalancingV2::TargetGroup"}
            ]
        }),
    );
    assert_json(&essential(events[0].clone(), Format::AwsAlb), &want);

    // HTTP/2, IPv6 client, no target, a 502 with an error reason, and a field past the
    // documented ones.
    let unmapped = &events[1]["unmapped"];
    let second = essential(events[1].clone(), Format::AwsAlb);
    assert_eq!(second["activity_id"], 6);
    assert_eq!(
        second["src_endpoint"],
        json!({"ip": "2001:db8::7", "port": 443})
    );
    assert!(second.get("dst_endpoint").is_none());
    assert_eq!(
        [
            &second["status"],
            &second["status_code"],
            &second["status_detail"]
        ],
        [
            &json!("Failure"),
            &json!("502"),
            &json!("Target.ResponseCodeMismatch")
        ]
    );
    assert_json(
        unmapped,
        &json!({
            "type": "h2",
            "timestamp": "2026-03-02T14:00:02.500000Z",
            "elb": "app/shop-prod-alb/50dc6c495c0c9188",
            "clientIp": "2001:db8::7",
            "clientPort": 443,
            "requestProcessingTime": -1.0,
            "targetProcessingTime": -1.0,
            "responseProcessingTime": -1.0,
            "elbStatusCode": 502,
            "receivedBytes": 260,
            "sentBytes": 272,
            "requestHttpMethod": "POST",
            "requestUrl": "https://shop.example.com:443/api/orders",
            "requestHttpVersion": "HTTP/2.0",
            "userAgent": "okhttp/4.12.0",
            "sslCipher": "TLS_AES_128_GCM_SHA256",
            "sslProtocol": "TLSv1.3",
            "targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop-api/73e2d6bc24d8a067",
            "traceId": "Root=1-67c46392-2b3c4d5e6f708192a3b4c5d6",
            "domainName": "shop.example.com",
            "chosenCertArn": "session-reused",
            "matchedRulePriority": 2,
            "requestCreationTime": "2026-03-02T14:00:02.490000Z",
            "actionsExecuted": ["forward"],
            "errorReason": "Target.ResponseCodeMismatch",
            "classification": "Ambiguous",
            "classificationReason": "UndefinedContentLengthSemantics",
            "connTraceId": "TID_1b2c3d4e5f607182",
            "additionalFields": ["extra-field"]
        }),
    );
}

#[test]
fn alb_panther_json_row_maps_like_the_line() {
    let record = fixture_record("aws_alb/panther_row.json");
    let event = parse_one(Format::AwsAlb, &record);
    assert_eq!(
        event["unmapped"],
        serde_json::from_slice::<Value>(&record).unwrap(),
        "unmapped is the row"
    );
    let event = essential(event, Format::AwsAlb);
    assert_eq!(
        (event["activity_id"].clone(), event["time"].clone()),
        (json!(2), json!(1_772_460_003_000i64))
    );
    assert_eq!(
        (
            event["status"].clone(),
            event["http_response"]["code"].clone()
        ),
        (json!("Failure"), json!(403))
    );
    assert_eq!(
        event["src_endpoint"],
        json!({"ip": "10.0.9.8", "port": 40000})
    );
    assert_eq!(event["http_request"]["url"]["path"], "/admin/users/7");
    assert_eq!(event["http_request"]["url"]["port"], 80);
}

#[test]
fn alb_errors_name_the_field() {
    assert_eq!(
        parse_err(
            Format::AwsAlb,
            b"http 2026-03-02T14:00:01Z app/x/1 1.2.3.4:5 - 0.1"
        ),
        "not a valid aws-alb record: expected at least 13 space-separated fields, found 6"
    );
    assert_eq!(
        parse_err(
            Format::AwsAlb,
            br#"http yesterday app/x/1 1.2.3.4:5 - 0 0 0 200 200 1 1 "GET http://a/ HTTP/1.1""#
        ),
        "field `timestamp` should be an RFC 3339 timestamp"
    );
    assert_eq!(
        parse_err(Format::AwsAlb, br#"http 2026-03-02T14:00:01Z app/x/1 1.2.3.4:5 - 0 0 0 OK 200 1 1 "GET http://a/ HTTP/1.1""#),
        "field `elbStatusCode` should be an integer"
    );
    assert_eq!(
        parse_err(
            Format::AwsAlb,
            b"http 2026-03-02T14:00:01Z app/x/1 \xff\xfe"
        ),
        "invalid UTF-8 at byte 34"
    );
    assert_eq!(
        parse_err(Format::AwsAlb, br#"{"elb":"app/x/1","clientIp":"1.2.3.4"}"#),
        "missing field `timestamp`"
    );
}

// ---------------------------------------------------------------- S3 server access

#[test]
fn s3_text_lines_become_api_activity() {
    let events = parse_all(Format::S3Access, &fixture_lines("s3_access/access.log"));
    assert_eq!(events.len(), 2);
    let want = expected(
        Format::S3Access,
        Class::ApiActivity,
        2,
        1_772_460_605_000,
        json!({
            "metadata": {"product": {"name": "Amazon S3", "vendor_name": "AWS"}, "uid": "3E57427F3EXAMPLE"},
            "status_id": 1, "status": "Success", "status_code": "200",
            "api": {"operation": "REST.GET.OBJECT", "service": {"name": "s3.amazonaws.com"}, "request": {"uid": "3E57427F3EXAMPLE"}},
            "cloud": {"provider": "AWS"},
            "actor": {"user": {"uid": "arn:aws:sts::111122223333:assumed-role/billing-export/export-job", "name": "export-job"}},
            "src_endpoint": {"ip": "198.51.100.40"},
            "dst_endpoint": {"hostname": "shop-invoices.s3.eu-west-1.amazonaws.com"},
            "http_request": {
                "http_method": "GET",
                "version": "HTTP/1.1",
                "user_agent": "aws-sdk-java/2.29.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/21.0.5",
                "url": {"path": "/shop-invoices/2026/03/invoice-0042.pdf", "query_string": "versionId=3HL4kqtJvjVBH40Nrjfkd"}
            },
            "http_response": {"code": 200},
            "duration": 27,
            "resources": [
                {"uid": "arn:aws:s3:::shop-invoices", "name": "shop-invoices", "type": "AWS::S3::Bucket"},
                {"uid": "arn:aws:s3:::shop-invoices/2026/03/invoice-0042.pdf", "name": "2026/03/invoice-0042.pdf", "type": "AWS::S3::Object"}
            ]
        }),
    );
    assert_json(&essential(events[0].clone(), Format::S3Access), &want);

    // An anonymous upload refused with 403.
    let unmapped = events[1]["unmapped"].clone();
    let denied = essential(events[1].clone(), Format::S3Access);
    assert_eq!(denied["activity_id"], 1);
    assert_eq!(
        [
            &denied["status"],
            &denied["status_detail"],
            &denied["api"]["response"]["error"]
        ],
        [
            &json!("Failure"),
            &json!("AccessDenied"),
            &json!("AccessDenied")
        ]
    );
    assert!(
        denied.get("actor").is_none(),
        "an anonymous request has no actor"
    );
    assert_json(
        &unmapped,
        &json!({
            "bucketowner": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
            "bucket": "shop-invoices",
            "time": "02/Mar/2026:14:11:59 +0000",
            "remoteip": "203.0.113.77",
            "requestid": "4F68538G4FEXAMPLE",
            "operation": "REST.PUT.OBJECT",
            "key": "upload/evil.php",
            "requesturi": "PUT /upload/evil.php HTTP/1.1",
            "httpstatus": 403,
            "errorcode": "AccessDenied",
            "bytessent": 243,
            "totaltime": 8,
            "useragent": "curl/8.5.0",
            "hostid": "hS8Jd2PfKl0YmN1qR6tUvWxYz3ABCDEFGHIJKLMNOPQRSTUVWXYZabcd==",
            "ciphersuite": "ECDHE-RSA-AES128-GCM-SHA256",
            "hostheader": "shop-invoices.s3.amazonaws.com",
            "tlsVersion": "TLSv1.2",
            "aclrequired": "Yes"
        }),
    );
}

#[test]
fn s3_panther_json_row_maps_like_the_line() {
    let record = fixture_record("s3_access/panther_row.json");
    let event = parse_one(Format::S3Access, &record);
    assert_eq!(
        event["unmapped"],
        serde_json::from_slice::<Value>(&record).unwrap(),
        "unmapped is the row"
    );
    let event = essential(event, Format::S3Access);
    assert_eq!(
        (event["activity_id"].clone(), event["time"].clone()),
        (json!(4), json!(1_772_460_750_000i64))
    );
    assert_eq!(
        event["actor"]["user"],
        json!({"uid": "arn:aws:iam::111122223333:user/ops/olga", "name": "olga"})
    );
    assert_eq!(
        (
            event["status"].clone(),
            event["http_response"]["code"].clone()
        ),
        (json!("Success"), json!(204))
    );
}

#[test]
fn s3_errors_name_the_field() {
    assert_eq!(
        parse_err(
            Format::S3Access,
            b"owner bucket [02/Mar/2026:14:11:59 +0000] 1.2.3.4 - id REST.GET.OBJECT"
        ),
        "not a valid s3-access record: expected at least 10 space-separated fields, found 7"
    );
    assert_eq!(
        parse_err(
            Format::S3Access,
            br#"owner bucket [yesterday] 1.2.3.4 - id REST.GET.OBJECT k "GET /k HTTP/1.1" 200"#
        ),
        "field `time` should be a time like [06/Feb/2019:00:00:38 +0000]"
    );
    assert_eq!(
        parse_err(Format::S3Access, br#"owner bucket [02/Mar/2026:14:11:59 +0000] 1.2.3.4 - id REST.GET.OBJECT k "GET /k HTTP/1.1" OK"#),
        "field `httpstatus` should be an integer"
    );
    assert_eq!(
        parse_err(Format::S3Access, br#"owner bucket [02/Mar/2026:14:11:59 +0000] 1.2.3.4 - id REST.GET.OBJECT k "GET /k HTTP/1.1 200"#),
        "not a valid s3-access record: unterminated quoted field at byte 73"
    );
    assert_eq!(
        parse_err(Format::S3Access, b"owner bucket \xc3\x28"),
        "invalid UTF-8 at byte 13"
    );
    assert_eq!(
        parse_err(Format::S3Access, br#"{"remoteip":"10.0.0.1"}"#),
        "missing field `bucket`"
    );
    assert_eq!(
        parse_err(Format::S3Access, br#"{"bucket":["a"]}"#),
        "field `bucket` should be a string"
    );
}

// ---------------------------------------------------------------- VPC Flow Logs

#[test]
fn vpcflow_default_lines_accept_reject_and_nodata() {
    let events = parse_all(Format::VpcFlow, &fixture_lines("vpcflow/default_v2.log"));
    assert_eq!(events.len(), 3);
    let want = expected(
        Format::VpcFlow,
        Class::NetworkActivity,
        6,
        1_772_460_000_000,
        json!({
            "metadata": {"product": {"name": "Amazon VPC", "vendor_name": "AWS"}, "log_name": "VPC Flow Logs"},
            "action_id": 1, "action": "Allowed",
            "disposition_id": 1, "disposition": "Allowed",
            "status_detail": "OK",
            "start_time": 1_772_460_000_000i64,
            "end_time": 1_772_460_060_000i64,
            "cloud": {"provider": "AWS", "account": {"uid": "111122223333"}},
            "src_endpoint": {"ip": "198.51.100.23", "port": 51234, "interface_uid": "eni-0a1b2c3d4e5f60718"},
            "dst_endpoint": {"ip": "10.0.1.20", "port": 443},
            "connection_info": {"protocol_num": 6, "protocol_name": "tcp"},
            "traffic": {"packets": 12, "bytes": 4820}
        }),
    );
    assert_json(&essential(events[0].clone(), Format::VpcFlow), &want);
    assert_json(
        &events[0]["unmapped"],
        &json!({
            "version": 2, "account-id": "111122223333", "interface-id": "eni-0a1b2c3d4e5f60718",
            "srcaddr": "198.51.100.23", "dstaddr": "10.0.1.20", "srcport": 51234, "dstport": 443,
            "protocol": 6, "packets": 12, "bytes": 4820, "start": 1_772_460_000, "end": 1_772_460_060,
            "action": "ACCEPT", "log-status": "OK"
        }),
    );

    let rejected = essential(events[1].clone(), Format::VpcFlow);
    assert_eq!(
        [
            &rejected["activity_id"],
            &rejected["action"],
            &rejected["disposition"],
            &rejected["dst_endpoint"]["port"]
        ],
        [&json!(5), &json!("Denied"), &json!("Blocked"), &json!(22)]
    );

    let nodata = essential(events[2].clone(), Format::VpcFlow);
    let want = expected(
        Format::VpcFlow,
        Class::NetworkActivity,
        99,
        1_772_460_000_000,
        json!({
            "metadata": {"product": {"name": "Amazon VPC", "vendor_name": "AWS"}, "log_name": "VPC Flow Logs"},
            "status_detail": "NODATA",
            "start_time": 1_772_460_000_000i64,
            "end_time": 1_772_460_060_000i64,
            "cloud": {"provider": "AWS", "account": {"uid": "111122223333"}}
        }),
    );
    assert_json(&nodata, &want);
}

#[test]
fn vpcflow_header_sets_the_field_order_of_custom_lines() {
    let lines = fixture_lines("vpcflow/custom_v5.log");
    let mut parser = Parser::new(Format::VpcFlow);
    let ctx = ParseContext::new("aws-test", RECEIVED_NS);
    assert!(
        parser.parse(&lines[0], &ctx).unwrap().is_empty(),
        "a header yields no event"
    );
    let egress = parser.parse(&lines[1], &ctx).unwrap().remove(0).to_json();
    let want = expected(
        Format::VpcFlow,
        Class::NetworkActivity,
        6,
        1_772_460_100_000,
        json!({
            "metadata": {"product": {"name": "Amazon VPC", "vendor_name": "AWS"}, "log_name": "VPC Flow Logs"},
            "action_id": 1, "action": "Allowed",
            "disposition_id": 1, "disposition": "Allowed",
            "status_detail": "OK",
            "start_time": 1_772_460_100_000i64,
            "end_time": 1_772_460_160_000i64,
            "cloud": {"provider": "AWS", "account": {"uid": "111122223333"}, "region": "eu-west-1", "zone": "euw1-az1"},
            "src_endpoint": {
                "ip": "10.0.1.20", "port": 44321,
                "interface_uid": "eni-0a1b2c3d4e5f60718",
                "instance_uid": "i-0123456789abcdef0",
                "vpc_uid": "vpc-0a1b2c3d4e5f60718",
                "subnet_uid": "subnet-0f1e2d3c4b5a69788"
            },
            "dst_endpoint": {"ip": "52.94.5.100", "port": 443},
            "connection_info": {
                "protocol_num": 6, "protocol_name": "tcp", "tcp_flags": 19,
                "direction_id": 2, "direction": "Outbound",
                "boundary_id": 10
            },
            "traffic": {"packets": 20, "bytes": 9000}
        }),
    );
    assert_eq!(egress["unmapped"]["pkt-dst-aws-service"], "S3");
    assert_eq!(egress["unmapped"]["traffic-path"], 7);
    assert!(
        egress["unmapped"].get("sublocation-type").is_none(),
        "`-` fields are absent"
    );
    assert_json(&essential(egress, Format::VpcFlow), &want);

    // Ingress: the interface is on the destination side.
    let ingress = essential(
        parser.parse(&lines[2], &ctx).unwrap().remove(0).to_json(),
        Format::VpcFlow,
    );
    assert_eq!(ingress["activity_id"], 5);
    assert_eq!(ingress["connection_info"]["direction"], "Inbound");
    assert_eq!(ingress["connection_info"]["protocol_name"], "udp");
    assert_eq!(
        ingress["dst_endpoint"]["interface_uid"],
        "eni-0a1b2c3d4e5f60718"
    );
    assert_eq!(
        ingress["src_endpoint"],
        json!({"ip": "192.0.2.77", "port": 3389})
    );

    // The header's order stays with this parser: a 14-field line no longer fits it.
    let default_line = &fixture_lines("vpcflow/default_v2.log")[0];
    assert_eq!(
        parser.parse(default_line, &ctx).unwrap_err().to_string(),
        "not a valid vpcflow record: the line has 14 fields, the header names 29"
    );
}

#[test]
fn vpcflow_panther_json_row_maps_like_the_line() {
    let record = fixture_record("vpcflow/panther_row.json");
    let event = parse_one(Format::VpcFlow, &record);
    assert_eq!(
        event["unmapped"],
        serde_json::from_slice::<Value>(&record).unwrap(),
        "unmapped is the row"
    );
    let event = essential(event, Format::VpcFlow);
    assert_eq!(
        (event["activity_id"].clone(), event["time"].clone()),
        (json!(6), json!(1_772_460_000_000i64))
    );
    assert_eq!(
        event["src_endpoint"],
        json!({"ip": "10.0.1.20", "port": 40000, "interface_uid": "eni-0a1b2c3d4e5f60718"})
    );
    assert_eq!(
        event["dst_endpoint"],
        json!({"ip": "10.0.3.3", "port": 5432})
    );
    assert_eq!(event["traffic"], json!({"packets": 10, "bytes": 2000}));
    // A row without `start` takes p_event_time, then the receive time.
    let bare = parse_one(
        Format::VpcFlow,
        br#"{"srcAddr":"10.0.0.1","dstAddr":"10.0.0.2"}"#,
    );
    assert_eq!(bare["time"], RECEIVED_MS);
}

#[test]
fn vpcflow_errors_name_the_field() {
    assert_eq!(
        parse_err(
            Format::VpcFlow,
            b"2 111122223333 eni-0a1b2c3d4e5f60718 10.0.0.1 10.0.0.2 443"
        ),
        "not a valid vpcflow record: expected the 14 fields of the default format (or a header line first), found 6"
    );
    assert_eq!(
        parse_err(Format::VpcFlow, b"2 111122223333 eni-0a1b2c3d4e5f60718 10.0.0.1 10.0.0.2 https 443 6 1 40 1772460000 1772460060 ACCEPT OK"),
        "field `srcport` should be an integer"
    );
    assert_eq!(
        parse_err(Format::VpcFlow, b"2 111122223333 eni-0a1b\x80 -"),
        "invalid UTF-8 at byte 23"
    );
    assert_eq!(
        parse_err(
            Format::VpcFlow,
            br#"{"srcAddr":"10.0.0.1","dstPort":"ssh"}"#
        ),
        "field `dstPort` should be an integer"
    );
    assert_eq!(
        parse_err(Format::VpcFlow, br#"{"srcAddr":"10.0.0.1""#),
        "invalid JSON: EOF while parsing an object at line 1 column 21"
    );
}

// ---------------------------------------------------------------- detection and limits

#[test]
fn fixtures_are_detected_as_their_format() {
    let cases: &[(&str, Format)] = &[
        ("cloudtrail/console_login_mfa.json", Format::CloudTrail),
        ("cloudtrail/console_login_failure.json", Format::CloudTrail),
        ("cloudtrail/create_user.json", Format::CloudTrail),
        ("cloudtrail/add_user_to_group.json", Format::CloudTrail),
        ("cloudtrail/attach_user_policy.json", Format::CloudTrail),
        ("cloudtrail/run_instances_denied.json", Format::CloudTrail),
        ("cloudtrail/service_assume_role.json", Format::CloudTrail),
        ("guardduty/tor_api_call.json", Format::GuardDuty),
        ("guardduty/eventbridge_c2_archived.json", Format::GuardDuty),
        ("inspector2/package_finding.json", Format::Inspector2),
        ("inspector2/eventbridge_closed.json", Format::Inspector2),
        ("inspector2/list_findings.json", Format::Inspector2),
        ("trivy/image_report.json", Format::Trivy),
        ("trivy/clean_report.json", Format::Trivy),
        ("aws_waf/block_sqli.json", Format::AwsWaf),
        ("aws_waf/count_post.json", Format::AwsWaf),
        ("aws_alb/access.log", Format::AwsAlb),
        ("aws_alb/panther_row.json", Format::AwsAlb),
        ("s3_access/access.log", Format::S3Access),
        ("s3_access/panther_row.json", Format::S3Access),
        ("vpcflow/default_v2.log", Format::VpcFlow),
        ("vpcflow/custom_v5.log", Format::VpcFlow),
        ("vpcflow/panther_row.json", Format::VpcFlow),
    ];
    for (file, format) in cases {
        for line in fixture_lines(file) {
            assert_eq!(
                detect(&line),
                Some(*format),
                "{file}: {}",
                String::from_utf8_lossy(&line)
            );
        }
    }
}

#[test]
fn other_formats_are_not_taken_for_these() {
    let ours = [
        Format::CloudTrail,
        Format::GuardDuty,
        Format::Inspector2,
        Format::Trivy,
        Format::AwsWaf,
        Format::AwsAlb,
        Format::S3Access,
        Format::VpcFlow,
    ];
    let others: &[&[u8]] = &[
        // Okta System Log
        br#"{"uuid":"a1b2","published":"2026-03-02T12:00:00.000Z","eventType":"user.session.start","version":"0","severity":"INFO","actor":{"id":"00u1","type":"User","alternateId":"dana@example.com"},"outcome":{"result":"SUCCESS"},"client":{"ipAddress":"198.51.100.23"}}"#,
        // GitHub audit log
        br#"{"@timestamp":1772452800000,"action":"org.add_member","actor":"dana","org":"example","user":"erin"}"#,
        // Azure Activity Log (has `status` and `category`)
        br#"{"time":"2026-03-02T12:00:00Z","resourceId":"/subscriptions/x","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE","category":"Administrative","resultType":"Success","status":"Succeeded","callerIpAddress":"198.51.100.23"}"#,
        // GCP audit log
        br#"{"protoPayload":{"methodName":"v1.compute.instances.insert","serviceName":"compute.googleapis.com"},"insertId":"abc","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2026-03-02T12:00:00Z"}"#,
        // A generic application log that happens to have a `status` and an `action`
        br#"{"level":"info","status":"OK","action":"ACCEPT","msg":"order accepted"}"#,
        // auth.log, syslog, iptables
        b"Mar  2 12:00:01 bastion sshd[4242]: Accepted publickey for dana from 198.51.100.23 port 51234 ssh2: ED25519 SHA256:abc",
        b"<34>1 2026-03-02T12:00:00Z host app 42 ID47 - session opened for user 2 eni-0a1b2c3d4e5f60718",
        b"Mar  2 12:00:01 fw kernel: [12345.678] IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.1.20 PROTO=TCP SPT=40211 DPT=22",
        // Apache combined log (bracketed time, quoted request) is not S3 or ALB
        br#"198.51.100.23 - - [02/Mar/2026:12:00:00 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8.5.0""#,
    ];
    for record in others {
        let got = detect(record);
        assert!(
            !got.is_some_and(|f| ours.contains(&f)),
            "{got:?} for {}",
            String::from_utf8_lossy(record)
        );
    }
}

#[test]
fn records_over_the_parser_limit_are_refused() {
    let mut record =
        br#"{"eventName":"GetObject","eventSource":"s3.amazonaws.com","pad":""#.to_vec();
    record.resize(1_048_575, b'a');
    record.extend_from_slice(b"\"}");
    assert_eq!(record.len(), 1_048_577);
    for format in [
        Format::CloudTrail,
        Format::Trivy,
        Format::VpcFlow,
        Format::S3Access,
    ] {
        assert_eq!(
            parse_err(format, &record),
            "record of 1048577 bytes exceeds the parser limit of 1048576 bytes"
        );
    }
}

// ---------------------------------------------------------------- throughput

/// CloudTrail parse + normalize throughput on the fixtures (~1.1 KiB each), repeated to
/// 100,000 records. Run with
/// `cargo test -p evident-sources --release --test aws -- --ignored --nocapture bench_cloudtrail`.
#[test]
#[ignore = "a measurement, not a check; run in release"]
fn bench_cloudtrail_throughput() {
    let names = [
        "console_login_mfa",
        "console_login_failure",
        "create_user",
        "add_user_to_group",
        "attach_user_policy",
        "run_instances_denied",
        "service_assume_role",
    ];
    let fixtures: Vec<Vec<u8>> = names
        .iter()
        .map(|n| fixture_record(&format!("cloudtrail/{n}.json")))
        .collect();
    let records: Vec<&[u8]> = fixtures
        .iter()
        .cycle()
        .take(100_000)
        .map(Vec::as_slice)
        .collect();
    let bytes: usize = records.iter().map(|r| r.len()).sum();
    let ctx = ParseContext::new("bench", RECEIVED_NS);
    let mut parser = Parser::new(Format::CloudTrail);
    // Warm up.
    for r in records.iter().take(10_000) {
        std::hint::black_box(parser.parse(r, &ctx).unwrap());
    }
    let cpu_before = thread_cpu_ns();
    let started = std::time::Instant::now();
    let mut events = 0;
    for r in &records {
        events += std::hint::black_box(parser.parse(r, &ctx).unwrap()).len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "cloudtrail: {events} events in {elapsed:.3} s wall = {:.0} events/s, {:.1} MiB/s (mean record {} bytes)",
        events as f64 / elapsed,
        bytes as f64 / elapsed / 1_048_576.0,
        bytes / records.len()
    );
    // On a shared machine the thread's own CPU time is the fairer per-core figure.
    if let (Some(before), Some(after)) = (cpu_before, thread_cpu_ns()) {
        let cpu = (after - before) as f64 / 1e9;
        println!(
            "cloudtrail: {cpu:.3} s on CPU = {:.0} events/s per core",
            events as f64 / cpu
        );
    }
}

/// CPU time of this thread in ns (Linux `/proc/thread-self/schedstat`), if available.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Regression (fuzzing, parse_vpcflow): a start time too large to convert to milliseconds
/// overflowed; now the record still parses, with the receive time and no start_time.
#[test]
fn regression_vpcflow_start_time_overflow() {
    let line = b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 9223372036854776 1418530070 ACCEPT OK";
    let ctx = ParseContext::new("vpc", 1_764_150_000_000_000_000);
    let events = Parser::new(Format::VpcFlow).parse(line, &ctx).unwrap();
    assert_eq!(events[0].time_ms(), Some(1_764_150_000_000));
    assert_eq!(events[0].get("start_time"), None);
    assert_eq!(
        events[0].get("end_time").and_then(|v| v.as_i64()),
        Some(1_418_530_070_000)
    );
}
