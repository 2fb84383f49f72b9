//! Helpers the format modules share: field access (by dotted path, with the first key
//! matched case-insensitively, non-empty strings, ids sent as numbers or strings), required
//! fields and their errors, time parsing and the `time_not_parsed` mark, the pieces of OCSF
//! attributes several vendors fill alike (users, HTTP activity and status, ARN names, CWEs,
//! the resources and classes of identity events), and the Panther log-type names.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use evident_model::{Class, Event, Format, Status};
use serde_json::{Map, Value};

use crate::parse::{ParseContext, ParseError};

/// The value at a dotted path inside a JSON object.
pub(crate) fn get<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = obj.get(parts.next()?)?;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

/// The string at a dotted path (`None` when absent or not a string).
pub(crate) fn get_str<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a str> {
    get(obj, path).and_then(Value::as_str)
}

/// The non-empty string at a dotted path. Vendors send `""` for "not set"; mapping it would
/// give the event empty attributes (and an empty `actor.user.name` hides the real one a
/// fallback would have found).
pub(crate) fn get_nonempty_str<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a str> {
    get_str(obj, path).filter(|s| !s.is_empty())
}

/// The value at a dotted path whose first key, when not there as written, is matched
/// case-insensitively (the first such key in the object's order). Some exports lower-case the
/// top-level keys (Okta's `eventtype`, Cloud Audit Logs' `protopayload`, Azure Monitor's
/// `operationname`, Atlas's `eventtypename`) but not the nested ones.
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let top = obj.get(head).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(head))
            .map(|(_, v)| v)
    })?;
    match rest {
        None => Some(top),
        Some(rest) => get(top.as_object()?, rest),
    }
}

/// [`get_nonempty_str`] with the first key found as [`get_ci`] finds it.
pub(crate) fn get_ci_nonempty_str<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a str> {
    get_ci(obj, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// An id at a dotted path that the vendor sends as a number or as a string (OneLogin, GitHub
/// and MySQL ids come either way), as a string; an empty string is no id.
pub(crate) fn get_id(obj: &Map<String, Value>, path: &str) -> Option<String> {
    match get(obj, path)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Does the object hold only the given keys, compared case-insensitively, Panther's `p_*`
/// keys aside? Detectors claim a record by its whole key set with it when no single key is
/// telling enough.
pub(crate) fn has_only_keys_ci(obj: &Map<String, Value>, keys: &[&str]) -> bool {
    obj.keys()
        .filter(|k| !k.starts_with("p_"))
        .all(|k| keys.iter().any(|f| f.eq_ignore_ascii_case(k)))
}

/// A required string field, with the shared error messages.
pub(crate) fn require_str<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
) -> Result<&'a str, ParseError> {
    match get(obj, path) {
        None | Some(Value::Null) => Err(ParseError::MissingField {
            field: path.to_owned(),
        }),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ParseError::WrongType {
            field: path.to_owned(),
            expected: "a string",
        }),
    }
}

/// Prefixes the field named by a missing-field or wrong-type error with where the object it
/// was read from sits in the record (`findings.3.`), for records that carry several.
pub(crate) fn within(err: ParseError, prefix: &str) -> ParseError {
    match err {
        ParseError::MissingField { field } => ParseError::MissingField {
            field: format!("{prefix}{field}"),
        },
        ParseError::WrongType { field, expected } => ParseError::WrongType {
            field: format!("{prefix}{field}"),
            expected,
        },
        other => other,
    }
}

/// Inserts a value into a JSON object being assembled (an OCSF object, or the fields a text
/// line keeps in `unmapped`), when there is one.
pub(crate) fn put<V: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<V>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v.into());
    }
}

/// Parses the time formats vendors use into ms since the epoch: RFC 3339 (any fraction,
/// `Z` or offset), `YYYY-MM-DD HH:MM:SS[.fff…]` (taken as UTC), and epoch seconds or
/// milliseconds as numbers or digit strings (a value above 10^11 is taken as ms).
pub(crate) fn parse_time(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(epoch_to_ms),
        Value::String(s) => parse_time_str(s),
        _ => None,
    }
}

/// [`parse_time`] for text.
pub(crate) fn parse_time_str(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.fZ",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&naive).timestamp_millis());
        }
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return s.parse::<f64>().ok().map(|f| epoch_to_ms(f as i64));
    }
    None
}

pub(crate) fn epoch_to_ms(n: i64) -> i64 {
    if n.abs() >= 100_000_000_000 {
        n
    } else {
        n * 1000
    }
}

/// A time field read with the format's time parser, and whether it was absent or a time
/// (false: present but not a time, which [`mark_unparsed_time`] records).
pub(crate) fn time_field(
    obj: &Map<String, Value>,
    key: &str,
    parse: fn(&Value) -> Option<i64>,
) -> (Option<i64>, bool) {
    match obj.get(key) {
        None | Some(Value::Null) => (None, true),
        Some(v) => {
            let t = parse(v);
            (t, t.is_some())
        }
    }
}

/// Event time of a record without a time of its own that parses: Panther's `p_event_time`,
/// else the receive time.
pub(crate) fn fallback_time(obj: &Map<String, Value>, ctx: &ParseContext<'_>) -> i64 {
    obj.get("p_event_time")
        .and_then(parse_time)
        .unwrap_or_else(|| ctx.received_at_ms())
}

/// Marks `unmapped.evident_parse = "time_not_parsed"` unless `time_parsed`: a time field was
/// present but not a time (Panther rows hold `"redacted"`), and the event keeps a fallback
/// time rather than being lost to a parse error. Call it after `unmapped` is set.
pub(crate) fn mark_unparsed_time(e: &mut Event, time_parsed: bool) {
    if !time_parsed {
        e.set("unmapped.evident_parse", "time_not_parsed");
    }
}

/// Does the record start, after white space, with `{`? Formats that come both as a text line
/// and as Panther's JSON row (ALB, S3 access, VPC Flow Logs) choose the reader by it.
pub(crate) fn starts_as_json_object(record: &[u8]) -> bool {
    let start = record
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    record.get(start) == Some(&b'{')
}

/// Sets `{prefix}.uid`, `.name` and `.email_addr` from the non-empty strings at the named keys
/// of a vendor's user object (an empty key name skips that attribute): SaaS audit logs name
/// the same three things with their own keys (`user_id` / `user_name`, `id` / `name` /
/// `login`, `id` / `name` / `email`).
pub(crate) fn set_user(
    e: &mut Event,
    prefix: &str,
    src: &Map<String, Value>,
    uid: &str,
    name: &str,
    email: &str,
) {
    for (key, attr) in [(uid, "uid"), (name, "name"), (email, "email_addr")] {
        if !key.is_empty() {
            e.set_opt(format!("{prefix}.{attr}"), get_nonempty_str(src, key));
        }
    }
}

/// HTTP Activity id of a request method: CONNECT 1, DELETE 2, GET 3, HEAD 4, OPTIONS 5,
/// POST 6, PUT 7, TRACE 8, PATCH 9, another method Other 99. Methods are matched as written
/// (they are case-sensitive); a reader that takes any case upper-cases the method first.
pub(crate) fn http_activity(method: &str) -> u8 {
    match method {
        "CONNECT" => 1,
        "DELETE" => 2,
        "GET" => 3,
        "HEAD" => 4,
        "OPTIONS" => 5,
        "POST" => 6,
        "PUT" => 7,
        "TRACE" => 8,
        "PATCH" => 9,
        _ => 99,
    }
}

/// OCSF status of an HTTP status code: Failure from 400 up, else Success.
pub(crate) fn http_status<T: PartialOrd + From<u16>>(code: T) -> Status {
    if code < T::from(400) {
        Status::Success
    } else {
        Status::Failure
    }
}

/// An OCSF `cwe` object for the first id of a vendor's CWE list (Inspector's `cwes`, Trivy's
/// `CweIDs`): an OCSF vulnerability holds one CWE.
pub(crate) fn first_cwe(list: Option<&Value>) -> Option<Value> {
    let cwe = list?.as_array()?.first()?.as_str()?;
    Some(Value::Object(Map::from_iter([(
        "uid".to_owned(),
        cwe.into(),
    )])))
}

/// The last part of an ARN: after the last `/`, else after the last `:`
/// (`arn:aws:iam::123456789012:root` → `root`).
pub(crate) fn arn_tail(arn: &str) -> &str {
    arn.rsplit_once('/')
        .or_else(|| arn.rsplit_once(':'))
        .map_or(arn, |(_, tail)| tail)
}

/// OCSF `resources` from the targets of an identity provider's audit event: Okta's `target`
/// and Entra ID's `targetResources` entries both name what was acted on by `id`,
/// `displayName` and `type`.
pub(crate) fn target_resources(targets: &[&Map<String, Value>]) -> Vec<Value> {
    targets
        .iter()
        .map(|t| {
            let mut r = Map::new();
            for (from, to) in [("id", "uid"), ("displayName", "name"), ("type", "type")] {
                put(&mut r, to, get_ci_nonempty_str(t, from));
            }
            Value::Object(r)
        })
        .collect()
}

/// The OCSF class, with its activity id, of an identity provider's audit event: what Okta,
/// Google Workspace and Entra ID audit records map to (each module classifies its own event
/// names; this keeps the class and activity together).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdentityKind {
    /// Authentication (3002).
    Authentication(u8),
    /// Account Change (3001).
    AccountChange(u8),
    /// Group Management (3006).
    GroupManagement(u8),
    /// API Activity (6003).
    ApiActivity(u8),
}

impl IdentityKind {
    /// The OCSF class.
    pub(crate) fn class(self) -> Class {
        match self {
            IdentityKind::Authentication(_) => Class::Authentication,
            IdentityKind::AccountChange(_) => Class::AccountChange,
            IdentityKind::GroupManagement(_) => Class::GroupManagement,
            IdentityKind::ApiActivity(_) => Class::ApiActivity,
        }
    }

    /// The OCSF `activity_id`.
    pub(crate) fn activity(self) -> u8 {
        match self {
            IdentityKind::Authentication(a)
            | IdentityKind::AccountChange(a)
            | IdentityKind::GroupManagement(a)
            | IdentityKind::ApiActivity(a) => a,
        }
    }
}

/// Format named by a Panther `p_log_type` value.
pub(crate) fn panther_log_type(t: &str) -> Option<Format> {
    Some(match t {
        "AWS.CloudTrail" => Format::CloudTrail,
        "AWS.GuardDuty" => Format::GuardDuty,
        "AWS.VPCFlow" => Format::VpcFlow,
        "AWS.WAFWebACL" => Format::AwsWaf,
        "AWS.ALB" => Format::AwsAlb,
        "AWS.S3ServerAccess" => Format::S3Access,
        "Azure.Audit" => Format::AzureAudit,
        "Azure.MonitorActivity" => Format::AzureActivity,
        "Azure.SignIn" => Format::EntraSignin,
        "GCP.AuditLog" => Format::GcpAudit,
        "GSuite.ActivityEvent" | "GSuite.Reports" => Format::GoogleWorkspace,
        "Okta.SystemLog" => Format::Okta,
        "GitHub.Audit" => Format::GitHub,
        "Auth0.Events" => Format::Auth0,
        "Duo.Authentication" => Format::DuoAuth,
        "Duo.Administrator" => Format::DuoAdmin,
        "OneLogin.Events" => Format::OneLogin,
        "Slack.AuditLogs" => Format::SlackAudit,
        "Zoom.Operation" => Format::ZoomOperation,
        "Box.Event" => Format::Box,
        "MongoDB.OrganizationEvent" | "MongoDB.ProjectEvent" => Format::MongoAtlas,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vendor_time_formats_become_epoch_ms() {
        let want = 1_764_151_807_123;
        for v in [
            json!("2025-11-26T10:10:07.123Z"),
            json!("2025-11-26T11:10:07.123+01:00"),
            json!("2025-11-26 10:10:07.123"),
            json!("2025-11-26 10:10:07.123000000"),
            json!(1_764_151_807_123i64),
        ] {
            assert_eq!(parse_time(&v), Some(want), "{v}");
        }
        assert_eq!(parse_time(&json!(1_764_151_807)), Some(1_764_151_807_000));
        assert_eq!(parse_time(&json!("1764151807")), Some(1_764_151_807_000));
        assert_eq!(parse_time(&json!("yesterday")), None);
    }

    #[test]
    fn required_strings_name_the_field() {
        let obj = json!({"a": {"b": 3}}).as_object().unwrap().clone();
        assert_eq!(
            require_str(&obj, "a.c"),
            Err(ParseError::MissingField {
                field: "a.c".into()
            })
        );
        assert_eq!(
            require_str(&obj, "a.b"),
            Err(ParseError::WrongType {
                field: "a.b".into(),
                expected: "a string"
            })
        );
    }
}
