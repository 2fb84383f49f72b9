//! Amazon S3 server access logs: the native space-separated line that "Amazon S3 server
//! access log format" documents
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html>) — bucket owner,
//! bucket, `[06/Feb/2019:00:00:38 +0000]`, remote IP, requester, request id, operation, key,
//! `"GET /key HTTP/1.1"`, status, error code, bytes, sizes, times, `"referer"`,
//! `"user agent"`, version id, host id, signature version, cipher suite, authentication type,
//! host header, TLS version, access point ARN, ACL required — and Panther's JSON row of the
//! same fields (`bucketowner`, `remoteip`, `httpstatus`, …). `-` means absent.
//!
//! Both shapes become an API Activity (6003). The activity comes from the operation
//! (`REST.GET.OBJECT`, `WEBSITE.HEAD.OBJECT`, `BATCH.DELETE.OBJECT`, `S3.EXPIRE.OBJECT`):
//!
//! | operation verb | activity |
//! |---|---|
//! | GET, HEAD, OPTIONS | Read 2 |
//! | PUT, POST, COPY of an object or upload | Create 1 |
//! | PUT, POST of bucket configuration (policy, ACL, tagging…) | Update 3 |
//! | DELETE, `S3.EXPIRE.*`, `S3.CREATE.DELETEMARKER` | Delete 4 |
//! | `S3.TRANSITION*`, `S3.RESTORE.*` | Update 3 |
//! | anything else | Other 99 |
//!
//! The status is Failure for an HTTP status of 400 or more (`errorcode` in `status_detail`
//! and `api.response.error`), Success below. The text line's fields go to `unmapped` under
//! Panther's names, the same as the JSON row's, so one rule matches both shapes.

use chrono::DateTime;
use evident_model::{Class, Event, Status};
use serde_json::{Map, Value};

use super::Shape;
use super::access_log::{insert_additional_fields, set_http_response, split_fields, split_line};
use super::util::{
    arn_tail, fallback_time, get_str, mark_unparsed_time, parse_time_str, starts_as_json_object,
};
use crate::parse::{ParseContext, ParseError, json_object, text};

/// Field names of the text line in order, as Panther names them in its JSON rows.
const FIELDS: &[&str] = &[
    "bucketowner",
    "bucket",
    "time",
    "remoteip",
    "requester",
    "requestid",
    "operation",
    "key",
    "requesturi",
    "httpstatus",
    "errorcode",
    "bytessent",
    "objectsize",
    "totaltime",
    "turnaroundtime",
    "referrer",
    "useragent",
    "versionid",
    "hostid",
    "signatureversion",
    "ciphersuite",
    "authenticationtype",
    "hostheader",
    "tlsVersion",
    "accesspointarn",
    "aclrequired",
];

/// Fields held as numbers.
const NUMERIC: &[&str] = &[
    "httpstatus",
    "bytessent",
    "objectsize",
    "totaltime",
    "turnaroundtime",
];

/// Keys of Panther's JSON row (its lower-case `tlsversion` variant too).
const JSON_KEYS: &[&str] = &["tlsversion", "additionalFields"];

/// Fields up to and including the HTTP status: fewer is not an access log line.
const MIN_FIELDS: usize = 10;

/// Does the record look like an S3 access log? Text: a bracketed time as the third field and
/// an S3 operation as the seventh. JSON: a `bucket` and no key outside the access log's
/// fields (Panther's `p_*` aside).
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    match shape {
        Shape::Json(obj) => {
            obj.get("bucket").is_some_and(Value::is_string)
                && obj.keys().all(|k| {
                    k.starts_with("p_")
                        || FIELDS.contains(&k.as_str())
                        || JSON_KEYS.contains(&k.as_str())
                })
        }
        Shape::Text(line) => {
            if !line.contains(" [") {
                return false;
            }
            let Ok(fields) = split_fields(line, "s3-access") else {
                return false;
            };
            fields.len() >= MIN_FIELDS && line_time(fields[2]).is_some() && is_operation(fields[6])
        }
    }
}

/// Normalizes one line or JSON row. A line needs at least the fields up to the HTTP status
/// and a valid time; a JSON row needs `bucket` (except in a Panther row), and a `time` that is
/// not a time leaves Panther's `p_event_time` or the receive time, marked
/// `unmapped.evident_parse = "time_not_parsed"`.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let fields = if starts_as_json_object(record) {
        let obj = json_object(record)?;
        if !obj.contains_key("p_log_type") {
            match obj.get("bucket") {
                Some(Value::String(_)) => {}
                None | Some(Value::Null) => {
                    return Err(ParseError::MissingField {
                        field: "bucket".into(),
                    });
                }
                Some(_) => {
                    return Err(ParseError::WrongType {
                        field: "bucket".into(),
                        expected: "a string",
                    });
                }
            }
        }
        obj
    } else {
        from_line(text(record)?)?
    };
    let stamp = fields.get("time").filter(|v| !v.is_null());
    let parsed = stamp
        .and_then(Value::as_str)
        .and_then(|s| parse_time_str(s).or_else(|| line_time(s)));
    let time = parsed.unwrap_or_else(|| fallback_time(&fields, ctx));
    let time_parsed = stamp.is_none() || parsed.is_some();
    let mut e = normalize(&fields, time);
    e.set("unmapped", Value::Object(fields));
    mark_unparsed_time(&mut e, time_parsed);
    Ok(vec![e])
}

/// The fields of a text line by Panther's names: `-` fields left out, numbers as numbers,
/// fields past the documented ones in `additionalFields`.
fn from_line(line: &str) -> Result<Map<String, Value>, ParseError> {
    let values = split_line(line, "s3-access", MIN_FIELDS)?;
    if line_time(values[2]).is_none() {
        return Err(ParseError::WrongType {
            field: "time".into(),
            expected: "a time like [06/Feb/2019:00:00:38 +0000]",
        });
    }
    let mut map = Map::new();
    for (name, value) in FIELDS.iter().zip(&values) {
        if *value == "-" {
            continue;
        }
        let v = if NUMERIC.contains(name) {
            match value.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    return Err(ParseError::WrongType {
                        field: (*name).to_owned(),
                        expected: "an integer",
                    });
                }
            }
        } else {
            Value::from(*value)
        };
        map.insert((*name).to_owned(), v);
    }
    insert_additional_fields(&mut map, &values, FIELDS.len());
    Ok(map)
}

/// Builds the event from fields under Panther's names.
fn normalize(f: &Map<String, Value>, time: i64) -> Event {
    let operation = get_str(f, "operation");
    let mut e = Event::new(Class::ApiActivity, operation.map_or(0, activity), time);
    e.set("metadata.product.name", "Amazon S3")
        .set("metadata.product.vendor_name", "AWS");
    e.set_opt("metadata.uid", get_str(f, "requestid"));
    e.set_opt("api.operation", operation);
    e.set("api.service.name", "s3.amazonaws.com");
    e.set_opt("api.request.uid", get_str(f, "requestid"));
    e.set("cloud.provider", "AWS");

    if let Some(requester) = get_str(f, "requester") {
        e.set("actor.user.uid", requester);
        if requester.starts_with("arn:") {
            e.set("actor.user.name", arn_tail(requester));
        }
    }
    e.set_opt("src_endpoint.ip", get_str(f, "remoteip"));
    e.set_opt("dst_endpoint.hostname", get_str(f, "hostheader"));
    e.set_opt("http_request.user_agent", get_str(f, "useragent"));
    e.set_opt("http_request.referrer", get_str(f, "referrer"));
    if let Some(uri) = get_str(f, "requesturi") {
        let mut parts = uri.split(' ');
        if let (Some(method), Some(target)) = (parts.next(), parts.next()) {
            e.set("http_request.http_method", method);
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            e.set("http_request.url.path", path);
            if !query.is_empty() {
                e.set("http_request.url.query_string", query);
            }
            e.set_opt("http_request.version", parts.next());
        }
    }
    e.set_opt("duration", f.get("totaltime").and_then(Value::as_i64));

    let status = f.get("httpstatus").and_then(Value::as_i64);
    let error = get_str(f, "errorcode");
    if let Some(code) = status {
        set_http_response(&mut e, code);
    } else if error.is_some() {
        e.set_status(Status::Failure);
    }
    e.set_opt("status_detail", error);
    e.set_opt("api.response.error", error);

    if let Some(bucket) = get_str(f, "bucket") {
        let mut list = vec![resource(
            &format!("arn:aws:s3:::{bucket}"),
            bucket,
            "AWS::S3::Bucket",
        )];
        if let Some(key) = get_str(f, "key") {
            list.push(resource(
                &format!("arn:aws:s3:::{bucket}/{key}"),
                key,
                "AWS::S3::Object",
            ));
        }
        e.set("resources", list);
    }
    e
}

/// API Activity id of an S3 operation (see the module table).
fn activity(operation: &str) -> u8 {
    let mut parts = operation.splitn(3, '.');
    let (kind, verb, object) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if kind == "S3" {
        return match verb {
            "EXPIRE" | "CREATE" => 4,
            v if v.starts_with("TRANSITION") || v == "RESTORE" => 3,
            _ => 99,
        };
    }
    match verb {
        "GET" | "HEAD" | "OPTIONS" => 2,
        "PUT" | "POST" | "COPY" => {
            if matches!(
                object,
                "OBJECT" | "PART" | "UPLOAD" | "UPLOADS" | "OBJECT_PART"
            ) {
                1
            } else {
                3
            }
        }
        "DELETE" => 4,
        _ => 99,
    }
}

/// An OCSF resource.
fn resource(uid: &str, name: &str, kind: &str) -> Value {
    Value::Object(Map::from_iter([
        ("uid".to_owned(), uid.into()),
        ("name".to_owned(), name.into()),
        ("type".to_owned(), kind.into()),
    ]))
}

/// Does the field name an S3 operation (`REST.`, `SOAP.`, `WEBSITE.`, `BATCH.`, `S3.`)?
fn is_operation(field: &str) -> bool {
    ["REST.", "SOAP.", "WEBSITE.", "BATCH.", "S3."]
        .iter()
        .any(|p| field.starts_with(p))
}

/// The access log's time (`06/Feb/2019:00:00:38 +0000`, brackets already removed) in ms.
fn line_time(s: &str) -> Option<i64> {
    DateTime::parse_from_str(s, "%d/%b/%Y:%H:%M:%S %z")
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_quoted_spaces_and_inner_quotes() {
        let f = split_fields(
            r#"a [01/Feb/2019:00:00:38 +0000] "GET /x HTTP/1.1" "ua "q"x v1" -"#,
            "s3-access",
        )
        .unwrap();
        assert_eq!(
            f,
            vec![
                "a",
                "01/Feb/2019:00:00:38 +0000",
                "GET /x HTTP/1.1",
                r#"ua "q"x v1"#,
                "-"
            ]
        );
        assert_eq!(
            split_fields("[2001:db8::7]:443 x", "aws-alb").unwrap(),
            vec!["[2001:db8::7]:443", "x"]
        );
        assert_eq!(
            split_fields(r#"a "open"#, "s3-access")
                .unwrap_err()
                .to_string(),
            "not a valid s3-access record: unterminated quoted field at byte 2"
        );
    }

    #[test]
    fn operations_pick_the_activity() {
        assert_eq!(activity("REST.GET.OBJECT"), 2);
        assert_eq!(activity("REST.PUT.OBJECT"), 1);
        assert_eq!(activity("REST.PUT.BUCKETPOLICY"), 3);
        assert_eq!(activity("BATCH.DELETE.OBJECT"), 4);
        assert_eq!(activity("S3.CREATE.DELETEMARKER"), 4);
        assert_eq!(activity("S3.TRANSITION_SIA.OBJECT"), 3);
        assert_eq!(activity("SOAP.FOO"), 99);
    }
}
