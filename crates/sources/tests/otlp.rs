//! OpenTelemetry log records (format `otlp`): OTLP/JSON `LogsData` documents, as Evident's
//! OTLP receiver stores them and the Collector's file exporter writes them, through the public
//! parser. Golden tests compare every OCSF attribute; the rest check detection and the exact
//! parse errors, which name the field by its path in the document.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use evident_model::Format;
use evident_sources::{ParseContext, ParseError, Parser, detect};
use serde_json::{Value, json};

/// Receive time of every test record (2025-11-26T09:40:00Z).
const RECEIVED_NS: u64 = 1_764_150_000_000_000_000;

/// A record as the receiver stores it: one HTTP request log of the `checkout` service, with
/// every kind of attribute value, a trace context, and a structured attribute.
const CHECKOUT: &str = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},{"key":"service.version","value":{"stringValue":"2.4.1"}},{"key":"host.name","value":{"stringValue":"web-3"}}]},"schemaUrl":"https://opentelemetry.io/schemas/1.26.0","scopeLogs":[{"scope":{"name":"checkout.http","version":"1.0"},"logRecords":[{"timeUnixNano":"1764150000123456789","observedTimeUnixNano":"1764150000200000000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"payment declined"},"attributes":[{"key":"http.request.method","value":{"stringValue":"post"}},{"key":"url.path","value":{"stringValue":"/api/pay"}},{"key":"http.response.status_code","value":{"intValue":"402"}},{"key":"client.address","value":{"stringValue":"198.51.100.7"}},{"key":"user.id","value":{"stringValue":"u-42"}},{"key":"retry","value":{"boolValue":false}},{"key":"ratio","value":{"doubleValue":0.25}},{"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"7"}]}}},{"key":"cart","value":{"kvlistValue":{"values":[{"key":"items","value":{"intValue":3}}]}}},{"key":"digest","value":{"bytesValue":"3q2+7w=="}}],"droppedAttributesCount":1,"flags":1,"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","eventName":"payment.failed"}]}]}]}"#;

fn parse(format: Format, record: &str) -> Result<Vec<Value>, ParseError> {
    let mut parser = Parser::new(format);
    let ctx = ParseContext::new("otel-app", RECEIVED_NS);
    parser.parse(record.as_bytes(), &ctx).map(|events| {
        events
            .into_iter()
            .map(|e| Value::Object(e.to_json()))
            .collect()
    })
}

#[test]
fn a_stored_record_becomes_api_activity_with_every_field_kept() {
    let mut events = parse(Format::Otlp, CHECKOUT).unwrap();
    assert_eq!(events.len(), 1);
    let mut e = events.remove(0);
    assert_eq!(e["raw_data"], CHECKOUT);
    e.as_object_mut().unwrap().remove("raw_data");
    assert_eq!(
        e,
        json!({
            "class_uid": 6003, "class_name": "API Activity",
            "category_uid": 6, "category_name": "Application Activity",
            "activity_id": 99, "activity_name": "Other",
            "type_uid": 600399, "type_name": "API Activity: Other",
            "time": 1_764_150_000_123i64,
            "severity_id": 4, "severity": "High",
            "status_id": 2, "status": "Failure",
            "message": "payment declined",
            "metadata": {
                "version": "1.8.0",
                "product": {"name": "checkout", "version": "2.4.1"},
                "log_name": "checkout.http",
                "correlation_uid": "5b8efff798038103d269b633813fc60c",
                "evident": {"format": "otlp"}
            },
            "api": {"service": {"name": "checkout"}, "operation": "payment.failed"},
            "device": {"hostname": "web-3"},
            "http_request": {"http_method": "POST", "url": {"path": "/api/pay"}},
            "http_response": {"code": 402},
            "src_endpoint": {"ip": "198.51.100.7"},
            "actor": {"user": {"uid": "u-42"}},
            "unmapped": {
                "resource": {"service.name": "checkout", "service.version": "2.4.1", "host.name": "web-3"},
                "scope": {"name": "checkout.http", "version": "1.0", "attributes": {}},
                "attributes": {
                    "http.request.method": "post",
                    "url.path": "/api/pay",
                    "http.response.status_code": 402,
                    "client.address": "198.51.100.7",
                    "user.id": "u-42",
                    "retry": false,
                    "ratio": 0.25,
                    "tags": ["a", 7],
                    "cart": {"items": 3},
                    "digest": "3q2+7w=="
                },
                "body": "payment declined",
                "timeUnixNano": 1_764_150_000_123_456_789u64,
                "observedTimeUnixNano": 1_764_150_000_200_000_000u64,
                "severityNumber": 17,
                "severityText": "ERROR",
                "eventName": "payment.failed",
                "traceId": "5B8EFFF798038103D269B633813FC60C",
                "spanId": "EEE19B7EC3C1B174",
                "flags": 1,
                "droppedAttributesCount": 1
            }
        })
    );
}

#[test]
fn a_minimal_record_falls_back_to_observed_time_source_name_and_unknown_severity() {
    let record = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"observedTimeUnixNano":1764150001000000000,"body":{"kvlistValue":{"values":[{"key":"msg","value":{"stringValue":"hi"}}]}}}]}]}]}"#;
    let e = parse(Format::Otlp, record).unwrap().remove(0);
    assert_eq!(e["time"], 1_764_150_001_000i64);
    assert_eq!(e["severity_id"], 0);
    assert_eq!(e["severity"], "Unknown");
    assert_eq!(e["metadata"]["product"], json!({"name": "otel-app"}));
    assert_eq!(e.get("message"), None, "a structured body is not a message");
    assert_eq!(e.get("api"), None);
    assert_eq!(
        e["unmapped"],
        json!({
            "resource": {},
            "scope": {"attributes": {}},
            "attributes": {},
            "body": {"msg": "hi"},
            "observedTimeUnixNano": 1_764_150_001_000_000_000u64
        })
    );
    // No time at all: the receive time.
    let e = parse(
        Format::Otlp,
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]}"#,
    )
    .unwrap()
    .remove(0);
    assert_eq!(e["time"], 1_764_150_000_000i64);
}

#[test]
fn severity_comes_from_the_number_else_the_text() {
    let cases = [
        (1, "", 1),
        (9, "", 1),
        (12, "", 1),
        (13, "", 3),
        (16, "", 3),
        (20, "", 4),
        (21, "", 5),
        (24, "", 5),
        (25, "", 99),
        (0, "WARN2", 3),
        (0, "info", 1),
        (0, "Fatal", 5),
        (0, "chatty", 99),
    ];
    for (number, text, want) in cases {
        let record = json!({"resourceLogs":[{"scopeLogs":[{"logRecords":[
            {"severityNumber": number, "severityText": text}
        ]}]}]})
        .to_string();
        let e = parse(Format::Otlp, &record).unwrap().remove(0);
        assert_eq!(e["severity_id"], want, "{number} {text:?}");
    }
}

#[test]
fn every_record_of_a_collector_file_line_is_an_event() {
    // The Collector's file exporter batches: two resources, one with two scopes.
    let record = r#"{"resourceLogs":[
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},
         "scopeLogs":[{"scope":{"name":"s1"},"logRecords":[{"body":{"stringValue":"1"}},{"body":{"stringValue":"2"}}]},
                      {"scope":{"name":"s2"},"logRecords":[{"body":{"stringValue":"3"}}]}]},
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"b"}}]},
         "scopeLogs":[{"logRecords":[{"body":{"stringValue":"4"}}]}]}]}"#;
    let events = parse(Format::Otlp, record).unwrap();
    let seen: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["metadata"]["product"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                e["metadata"]["log_name"].as_str().unwrap_or("-").to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("a", "s1", "1"),
        ("a", "s1", "2"),
        ("a", "s2", "3"),
        ("b", "-", "4"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(seen, want);
    // A document with no records is no event and no error.
    assert_eq!(
        parse(Format::Otlp, r#"{"resourceLogs":[]}"#).unwrap(),
        Vec::<Value>::new()
    );
}

#[test]
fn detected_by_its_resource_logs_and_nothing_else_claims_it() {
    assert_eq!(detect(CHECKOUT.as_bytes()), Some(Format::Otlp));
    let events = parse(Format::Auto, CHECKOUT).unwrap();
    assert_eq!(events[0]["metadata"]["evident"]["format"], "otlp");
    for other in [
        r#"{"resourceLogs":{}}"#,
        r#"{"level":"info","msg":"resourceLogs"}"#,
        "resourceLogs plain text",
    ] {
        assert_ne!(detect(other.as_bytes()), Some(Format::Otlp), "{other}");
    }
}

#[test]
fn bad_documents_name_the_field_by_its_path() {
    let err = |record: &str| parse(Format::Otlp, record).unwrap_err().to_string();
    assert_eq!(err(r#"{"logs":[]}"#), "missing field `resourceLogs`");
    assert_eq!(err("[1]"), "expected a JSON object, found an array");
    assert_eq!(
        err(r#"{"resourceLogs":{}}"#),
        "field `resourceLogs` should be an array"
    );
    assert_eq!(
        err(r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{},{"timeUnixNano":"soon"}]}]}]}"#),
        "field `resourceLogs.0.scopeLogs.0.logRecords.1.timeUnixNano` should be an unsigned integer (decimal string or number)"
    );
    assert_eq!(
        err(
            r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"k","value":{"intValue":"x"}}]}]}]}]}"#
        ),
        "field `resourceLogs.0.scopeLogs.0.logRecords.0.attributes.0.value.intValue` should be a 64-bit integer (decimal string or number)"
    );
    assert_eq!(
        err(r#"{"resourceLogs":[{"resource":{"attributes":[{"key":1}]}}]}"#),
        "field `resourceLogs.0.resource.attributes.0.key` should be a string"
    );
}
