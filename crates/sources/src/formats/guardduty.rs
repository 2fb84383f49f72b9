//! Amazon GuardDuty findings, as the GuardDuty API reference describes a `Finding`
//! (<https://docs.aws.amazon.com/guardduty/latest/APIReference/API_Finding.html>) and as
//! GuardDuty exports them to S3 (one finding object per record). The EventBridge envelope
//! (`"detail-type": "GuardDuty Finding"` with the finding in `detail`) is unwrapped.
//!
//! Every finding becomes a Detection Finding (2004):
//!
//! | finding | activity |
//! |---|---|
//! | `service.archived` is true | Close 3 |
//! | `updatedAt` later than `createdAt` | Update 2 |
//! | otherwise | Create 1 |
//!
//! The event time is `updatedAt`, else `createdAt`, else Panther's `p_event_time` or the
//! receive time; a time field that is present but not a time is marked
//! `unmapped.evident_parse = "time_not_parsed"`.
//! `finding_info.{uid,title,desc,types}` come from `id`, `title`, `description` and `type`;
//! the numeric severity (0–10) maps to OCSF Low (< 4), Medium (< 7), High (< 9) and Critical;
//! `status` is New, or Suppressed for an archived finding. The affected resource
//! (`resource.resourceType` plus its details) becomes `resources`, and the remote IP of an
//! API call or network connection becomes `src_endpoint`.

use evident_model::{Class, Event, Severity};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{fallback_time, get, get_str, mark_unparsed_time, parse_time, time_field};
use crate::parse::{ParseContext, ParseError, json_object};

/// Does the record look like a GuardDuty finding? `service.serviceName` is `guardduty`, or
/// the `arn` is a GuardDuty finding ARN, or it is the EventBridge envelope of one.
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    is_finding(obj)
        || (get_str(obj, "detail-type") == Some("GuardDuty Finding")
            && obj
                .get("detail")
                .and_then(Value::as_object)
                .is_some_and(is_finding))
}

/// Normalizes one finding. `id` is required (except in a Panther row).
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let finding = match obj.get("detail") {
        Some(Value::Object(detail))
            if get_str(&obj, "detail-type") == Some("GuardDuty Finding") =>
        {
            detail
        }
        _ => &obj,
    };
    let (mut e, times_parsed) = normalize(finding, obj.contains_key("p_log_type"), ctx)?;
    e.set("unmapped", Value::Object(obj));
    mark_unparsed_time(&mut e, times_parsed);
    Ok(vec![e])
}

/// The finding's own marks: the GuardDuty service name or finding ARN.
fn is_finding(obj: &Map<String, Value>) -> bool {
    get_str(obj, "service.serviceName") == Some("guardduty")
        || get_str(obj, "arn").is_some_and(|a| a.contains(":guardduty:") && a.contains("/finding/"))
}

/// Builds the event from a finding object; the flag is false when `createdAt` or
/// `updatedAt` was present but not a time.
fn normalize(
    f: &Map<String, Value>,
    panther: bool,
    ctx: &ParseContext<'_>,
) -> Result<(Event, bool), ParseError> {
    let id = match f.get("id") {
        Some(Value::String(s)) => Some(s.as_str()),
        None | Some(Value::Null) if panther => None,
        None | Some(Value::Null) => return Err(ParseError::MissingField { field: "id".into() }),
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "id".into(),
                expected: "a string",
            });
        }
    };
    let (created, created_ok) = time_field(f, "createdAt", parse_time);
    let (updated, updated_ok) = time_field(f, "updatedAt", parse_time);
    let archived = get(f, "service.archived").and_then(Value::as_bool) == Some(true);
    let activity = match (archived, created, updated) {
        (true, _, _) => 3,
        (false, Some(c), Some(u)) if u > c => 2,
        _ => 1,
    };
    let time = updated.or(created).unwrap_or_else(|| fallback_time(f, ctx));
    let mut e = Event::new(Class::DetectionFinding, activity, time);
    e.set("metadata.product.name", "GuardDuty")
        .set("metadata.product.vendor_name", "AWS");
    e.set_opt("metadata.uid", id);
    e.set_opt("metadata.log_version", get_str(f, "schemaVersion"));

    e.set_opt("finding_info.uid", id);
    e.set_opt("finding_info.title", get_str(f, "title"));
    e.set_opt("finding_info.desc", get_str(f, "description"));
    if let Some(t) = get_str(f, "type") {
        e.set("finding_info.types", vec![Value::from(t)]);
    }
    e.set_opt("finding_info.created_time", created);
    e.set_opt("finding_info.modified_time", updated);
    e.set_opt(
        "finding_info.first_seen_time",
        get(f, "service.eventFirstSeen").and_then(parse_time),
    );
    e.set_opt(
        "finding_info.last_seen_time",
        get(f, "service.eventLastSeen").and_then(parse_time),
    );
    e.set_opt("finding_info.product_uid", get_str(f, "service.detectorId"));
    e.set_opt("count", get(f, "service.count").and_then(Value::as_u64));

    if let Some(s) = severity(f.get("severity")) {
        e.set_severity(s);
    }
    let (status_id, status) = if archived {
        (3, "Suppressed")
    } else {
        (1, "New")
    };
    e.set("status_id", status_id).set("status", status);

    e.set("cloud.provider", "AWS");
    e.set_opt("cloud.region", get_str(f, "region"));
    e.set_opt("cloud.account.uid", get_str(f, "accountId"));
    e.set_opt("cloud.cloud_partition", get_str(f, "partition"));

    if let Some(resource) = f.get("resource").and_then(Value::as_object) {
        let list = resources(resource);
        if !list.is_empty() {
            e.set("resources", list);
        }
    }
    if let Some(action) = get(f, "service.action").and_then(Value::as_object) {
        remote_endpoint(&mut e, action);
    }
    Ok((e, created_ok && updated_ok))
}

/// GuardDuty's numeric severity (a number or a numeric string) as an OCSF severity.
fn severity(v: Option<&Value>) -> Option<Severity> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.parse::<f64>().ok()?,
        _ => return None,
    };
    Some(if n < 4.0 {
        Severity::Low
    } else if n < 7.0 {
        Severity::Medium
    } else if n < 9.0 {
        Severity::High
    } else {
        Severity::Critical
    })
}

/// `resources` from the finding's `resource`: one entry of `resourceType` with the
/// identifiers of its details block (instance, access key, buckets, clusters, functions,
/// databases).
fn resources(resource: &Map<String, Value>) -> Vec<Value> {
    let kind = get_str(resource, "resourceType");
    let mut out = Vec::new();
    let mut push = |uid: Option<&str>, name: Option<&str>| {
        let mut r = Map::new();
        if let Some(u) = uid {
            r.insert("uid".into(), u.into());
        }
        if let Some(n) = name {
            r.insert("name".into(), n.into());
        }
        if let Some(k) = kind {
            r.insert("type".into(), k.into());
        }
        if !r.is_empty() {
            out.push(Value::Object(r));
        }
    };
    let detail = |key: &str| resource.get(key).and_then(Value::as_object);
    if let Some(d) = detail("instanceDetails") {
        push(get_str(d, "instanceId"), None);
    } else if let Some(d) = detail("accessKeyDetails") {
        push(get_str(d, "accessKeyId"), get_str(d, "userName"));
    } else if let Some(buckets) = resource.get("s3BucketDetails").and_then(Value::as_array) {
        for b in buckets.iter().filter_map(Value::as_object) {
            push(get_str(b, "arn"), get_str(b, "name"));
        }
    } else if let Some(d) = detail("eksClusterDetails") {
        push(get_str(d, "arn"), get_str(d, "name"));
    } else if let Some(d) = detail("ecsClusterDetails") {
        push(get_str(d, "arn"), get_str(d, "name"));
    } else if let Some(d) = detail("lambdaDetails") {
        push(get_str(d, "functionArn"), get_str(d, "functionName"));
    } else if let Some(d) = detail("rdsDbInstanceDetails") {
        push(
            get_str(d, "dbInstanceArn"),
            get_str(d, "dbInstanceIdentifier"),
        );
    } else {
        push(None, None);
    }
    out
}

/// `src_endpoint` from the remote IP of an API call or inbound network connection
/// (`dst_endpoint` for an outbound one), and
/// `api.operation`/`api.service.name` for an API call.
fn remote_endpoint(e: &mut Event, action: &Map<String, Value>) {
    let detail = [
        "awsApiCallAction",
        "networkConnectionAction",
        "rdsLoginAttemptAction",
    ]
    .iter()
    .find_map(|k| action.get(*k).and_then(Value::as_object));
    let Some(detail) = detail else {
        return;
    };
    if let Some(remote) = detail.get("remoteIpDetails").and_then(Value::as_object) {
        // An outbound connection's remote end is where it went, not where it came from.
        let side = if get_str(detail, "connectionDirection") == Some("OUTBOUND") {
            "dst_endpoint"
        } else {
            "src_endpoint"
        };
        e.set_opt(
            format!("{side}.ip"),
            get_str(remote, "ipAddressV4").or_else(|| get_str(remote, "ipAddressV6")),
        );
        e.set_opt(
            format!("{side}.location.country"),
            get_str(remote, "country.countryName"),
        );
        e.set_opt(
            format!("{side}.location.city"),
            get_str(remote, "city.cityName"),
        );
    }
    e.set_opt("api.operation", get_str(detail, "api"));
    e.set_opt("api.service.name", get_str(detail, "serviceName"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_severity_bands() {
        let band = |v: Value| severity(Some(&v));
        assert_eq!(band(json!(2)), Some(Severity::Low));
        assert_eq!(band(json!(3.9)), Some(Severity::Low));
        assert_eq!(band(json!(4)), Some(Severity::Medium));
        assert_eq!(band(json!("7.0")), Some(Severity::High));
        assert_eq!(band(json!(8.9)), Some(Severity::High));
        assert_eq!(band(json!(9)), Some(Severity::Critical));
        assert_eq!(band(json!(true)), None);
    }
}
