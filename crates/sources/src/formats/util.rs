//! Helpers every format module shares: field access by dotted path, time parsing, and the
//! Panther log-type names.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use evident_model::Format;
use serde_json::{Map, Value};

use crate::parse::ParseError;

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

fn epoch_to_ms(n: i64) -> i64 {
    if n.abs() >= 100_000_000_000 {
        n
    } else {
        n * 1000
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
