//! Azure Monitor activity log and resource log records, as exported to Event Hubs / storage
//! (Microsoft Learn: "Azure Monitor activity log event schema" and "Common and
//! service-specific schemas for Azure resource logs") and as listed by the activity log
//! REST API (`operationName` / `category` / `status` as `{value, localizedValue}`).
//!
//! Every record becomes API Activity:
//! - control-plane operations (`Microsoft.Compute/disks/write`): the activity from the
//!   operation's last segment (`write` → Update, or Create when the result says
//!   `Created`; `delete` → Delete; `read` → Read; `action` → Other), the caller from
//!   `identity.claims` / `caller`, the subscription from `resourceId`;
//! - storage data-plane logs (`GetBlob`, `PutBlob`, `DeleteBlob`): the activity from the
//!   operation's verb, status from `statusCode` / `metricResponseType`;
//! - AKS `kube-audit` logs: the embedded Kubernetes audit event (`properties.log`), the
//!   activity from its verb.
//!
//! Records of the Entra ID diagnostic stream (audit and sign-in categories, resource
//! `Microsoft.aadiam`) share this envelope but belong to `azure_audit`; the envelope helpers
//! below are shared with it and with `entra_signin`. The whole vendor object is kept in
//! `unmapped`.

use std::net::IpAddr;

use evident_model::{Class, Event, Severity, Status};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{self, get_ci, get_ci_nonempty_str};
use crate::parse::{ParseContext, ParseError, json_object};

/// Envelope keys that, beside `operationName`, mark an Azure Monitor record.
const ENVELOPE_KEYS: &[&str] = &[
    "resourceId",
    "category",
    "callerIpAddress",
    "correlationId",
    "resultType",
    "eventDataId",
];

/// Diagnostic-setting categories of Microsoft Entra ID.
const ENTRA_CATEGORIES: &[&str] = &[
    "AuditLogs",
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "ADFSSignInLogs",
    "ProvisioningLogs",
    "RiskyUsers",
    "UserRiskEvents",
    "RiskyServicePrincipals",
    "ServicePrincipalRiskEvents",
    "MicrosoftGraphActivityLogs",
];

/// The sign-in categories among [`ENTRA_CATEGORIES`].
pub(super) const SIGN_IN_CATEGORIES: &[&str] = &[
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "ADFSSignInLogs",
];

/// Does the record look like an Azure Monitor activity or resource log record that is not
/// from Entra ID? It needs `operationName` and one more envelope key.
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    operation_name(obj).is_some()
        && ENVELOPE_KEYS.iter().any(|k| get_ci(obj, k).is_some())
        && !is_entra(obj)
}

/// Normalizes one activity log or resource log record.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let operation = match get_ci(&obj, "operationName") {
        None | Some(Value::Null) => {
            return Err(ParseError::MissingField {
                field: "operationName".into(),
            });
        }
        Some(_) => operation_name(&obj).ok_or_else(|| ParseError::WrongType {
            field: "operationName".into(),
            expected: "a string or an object with a string `value`",
        })?,
    };
    let props = get_ci(&obj, "properties").and_then(Value::as_object);
    let kube = props
        .and_then(|p| p.get("log"))
        .and_then(Value::as_str)
        .filter(|_| {
            category(&obj).is_some_and(|c| c.to_ascii_lowercase().starts_with("kube-audit"))
        })
        .and_then(|log| serde_json::from_str::<Map<String, Value>>(log).ok());
    let storage = !operation.contains('/')
        && (category(&obj).is_some_and(|c| c.to_ascii_lowercase().starts_with("storage"))
            || props.is_some_and(|p| p.contains_key("accountName")));

    let time = envelope_time(&obj)
        .or_else(|| {
            kube.as_ref().and_then(|k| {
                ["stageTimestamp", "requestReceivedTimestamp"]
                    .iter()
                    .find_map(|f| k.get(*f).and_then(util::parse_time))
            })
        })
        .unwrap_or_else(|| ctx.received_at_ms());
    let mut e = match &kube {
        Some(log) => kube_event(log, time),
        None if storage => storage_event(&obj, operation, time),
        None => arm_event(&obj, operation, time),
    };
    e.set("metadata.product.name", "Azure Monitor")
        .set("metadata.product.vendor_name", "Microsoft");
    set_envelope(&mut e, &obj);
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// A control-plane (Azure Resource Manager) operation.
fn arm_event(obj: &Map<String, Value>, operation: &str, time: i64) -> Event {
    let created = get_ci_nonempty_str(obj, "resultSignature")
        .is_some_and(|s| s.contains("Created") || s == "201")
        || matches!(get_ci(obj, "properties.statusCode"), Some(v) if v == "Created" || v == 201);
    let activity = match operation
        .rsplit('/')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("write") if created => 1,
        Some("write") => 3,
        Some("delete") => 4,
        Some("read") => 2,
        _ => 99,
    };
    let mut e = Event::new(Class::ApiActivity, activity, time);
    e.set("api.operation", operation);
    if let Some((provider, _)) = operation.split_once('/') {
        e.set("api.service.name", provider);
    }
    let result = get_ci_nonempty_str(obj, "resultType").or_else(|| value_text(obj, "status"));
    if let Some(result) = result {
        e.set_status(result_status(result));
    }
    e.set_opt(
        "status_code",
        get_ci_nonempty_str(obj, "resultSignature").filter(|s| *s != "None"),
    );
    e.set_opt(
        "status_detail",
        get_ci_nonempty_str(obj, "resultDescription").or_else(|| value_text(obj, "subStatus")),
    );
    e.set_opt(
        "message",
        get_ci_nonempty_str(obj, "description")
            .or_else(|| get_ci_nonempty_str(obj, "properties.message")),
    );
    e.set_opt("metadata.uid", get_ci_nonempty_str(obj, "eventDataId"));
    e.set_opt(
        "http_request.http_method",
        get_ci_nonempty_str(obj, "httpRequest.method"),
    );

    let claims = get_ci(obj, "identity.claims")
        .or_else(|| get_ci(obj, "claims"))
        .and_then(Value::as_object);
    let claim = |name: &str| {
        claims
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let upn =
        claim("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn").or_else(|| claim("upn"));
    let name = upn
        .or_else(|| get_ci_nonempty_str(obj, "caller"))
        .or_else(|| claim("name"));
    e.set_opt("actor.user.name", name);
    e.set_opt("actor.user.email_addr", name.filter(|n| n.contains('@')));
    e.set_opt(
        "actor.user.uid",
        claim("http://schemas.microsoft.com/identity/claims/objectidentifier")
            .or_else(|| claim("oid")),
    );
    e.set_opt(
        "actor.user.full_name",
        claim("name").filter(|n| Some(*n) != name),
    );
    e.set_opt("actor.app_uid", claim("appid"));
    if let Some(ip) =
        get_ci_nonempty_str(obj, "httpRequest.clientIpAddress").or_else(|| claim("ipaddr"))
    {
        set_ip(&mut e, "src_endpoint", ip);
    }
    if let Some(resource) = get_ci_nonempty_str(obj, "resourceId") {
        let name = resource.rsplit('/').find(|s| !s.is_empty());
        let mut r = serde_json::json!({"uid": resource});
        if let Some(name) = name {
            r["name"] = name.into();
        }
        e.set("resources", vec![r]);
    }
    e
}

/// A storage data-plane operation (`GetBlob`, `PutBlob`…).
fn storage_event(obj: &Map<String, Value>, operation: &str, time: i64) -> Event {
    let mut e = Event::new(Class::ApiActivity, storage_activity(operation), time);
    e.set("api.operation", operation);
    let code = get_ci(obj, "statusCode").and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let response = get_ci_nonempty_str(obj, "properties.metricResponseType");
    match (code, response) {
        (Some(code), _) => {
            e.set_status(util::http_status(code));
            e.set("status_code", code.to_string());
        }
        (None, Some("Success")) => {
            e.set_status(Status::Success);
        }
        (None, Some(_)) => {
            e.set_status(Status::Failure);
        }
        (None, None) => {}
    }
    e.set_opt(
        "status_detail",
        get_ci_nonempty_str(obj, "statusText")
            .or(response)
            .filter(|r| *r != "Success"),
    );
    e.set_opt(
        "api.service.name",
        get_ci_nonempty_str(obj, "properties.serviceType"),
    );
    e.set_opt(
        "http_request.url.url_string",
        get_ci_nonempty_str(obj, "uri"),
    );
    e.set_opt(
        "http_request.user_agent",
        get_ci_nonempty_str(obj, "properties.userAgentHeader"),
    );
    e.set_opt(
        "actor.user.name",
        get_ci_nonempty_str(obj, "identity.requester.upn"),
    );
    e.set_opt(
        "actor.user.uid",
        get_ci_nonempty_str(obj, "identity.requester.objectId"),
    );
    e.set_opt(
        "actor.app_uid",
        get_ci_nonempty_str(obj, "identity.requester.appId"),
    );
    let object = get_ci_nonempty_str(obj, "properties.objectKey");
    if let Some(uid) = object.or_else(|| get_ci_nonempty_str(obj, "resourceId")) {
        let mut r = serde_json::json!({"uid": uid});
        if let Some(account) = get_ci_nonempty_str(obj, "properties.accountName") {
            r["name"] = account.into();
        }
        e.set("resources", vec![r]);
    }
    e
}

/// A Kubernetes API server audit event carried in an AKS `kube-audit` record.
fn kube_event(log: &Map<String, Value>, time: i64) -> Event {
    let verb = util::get_str(log, "verb").unwrap_or("");
    let activity = match verb {
        "create" => 1,
        "get" | "list" | "watch" => 2,
        "update" | "patch" => 3,
        "delete" | "deletecollection" => 4,
        _ => 99,
    };
    let mut e = Event::new(Class::ApiActivity, activity, time);
    if !verb.is_empty() {
        e.set("api.operation", verb);
    }
    e.set("api.service.name", "kube-apiserver");
    e.set_opt("api.request.uid", util::get_str(log, "auditID"));
    e.set_opt("metadata.uid", util::get_str(log, "auditID"));
    e.set_opt("actor.user.name", util::get_str(log, "user.username"));
    e.set_opt("actor.user.uid", util::get_str(log, "user.uid"));
    if let Some(ip) = util::get(log, "sourceIPs")
        .and_then(Value::as_array)
        .and_then(|ips| ips.first())
        .and_then(Value::as_str)
    {
        set_ip(&mut e, "src_endpoint", ip);
    }
    e.set_opt("http_request.user_agent", util::get_str(log, "userAgent"));
    e.set_opt("http_request.url.path", util::get_str(log, "requestURI"));
    if let Some(code) = util::get(log, "responseStatus.code").and_then(Value::as_u64) {
        e.set_status(util::http_status(code));
        e.set("status_code", code.to_string());
    }
    e.set_opt(
        "status_detail",
        util::get_str(log, "responseStatus.message"),
    );
    if let Some(object) = util::get(log, "objectRef").and_then(Value::as_object) {
        let mut r = Map::new();
        for (from, to) in [
            ("resource", "type"),
            ("name", "name"),
            ("namespace", "namespace"),
        ] {
            if let Some(v) = object.get(from).and_then(Value::as_str) {
                r.insert(to.into(), v.into());
            }
        }
        e.set("resources", vec![Value::Object(r)]);
    }
    e
}

/// API Activity id from a storage operation's verb (`GetBlob` → Read, `PutBlob` → Create).
fn storage_activity(operation: &str) -> u8 {
    let op = operation.to_ascii_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| op.starts_with(p));
    if starts(&["get", "list", "query", "head", "read"]) {
        2
    } else if starts(&["put", "create", "copy", "append", "upload"]) {
        1
    } else if starts(&["set", "update", "patch", "merge", "lease", "undelete"]) {
        3
    } else if starts(&["delete", "remove", "purge"]) {
        4
    } else {
        99
    }
}

/// Fields every Azure Monitor record has in its envelope: category, correlation id, level,
/// caller IP, subscription and region.
pub(super) fn set_envelope(e: &mut Event, obj: &Map<String, Value>) {
    e.set_opt("metadata.log_name", category(obj));
    e.set_opt(
        "metadata.correlation_uid",
        get_ci_nonempty_str(obj, "correlationId"),
    );
    if let Some(sev) = get_ci(obj, "level").and_then(level_severity) {
        e.set_severity(sev);
    }
    if e.get("src_endpoint.ip").is_none()
        && let Some(ip) = get_ci_nonempty_str(obj, "callerIpAddress")
    {
        set_ip(e, "src_endpoint", ip);
    }
    e.set("cloud.provider", "Azure");
    let subscription = get_ci_nonempty_str(obj, "subscriptionId").or_else(|| {
        let resource = get_ci_nonempty_str(obj, "resourceId")?;
        let mut parts = resource.split('/');
        parts.find(|p| p.eq_ignore_ascii_case("subscriptions"))?;
        parts.next().filter(|s| !s.is_empty())
    });
    e.set_opt("cloud.account.uid", subscription);
    if !is_entra(obj) {
        // Entra ID records put the sign-in country here, not a region.
        e.set_opt("cloud.region", get_ci_nonempty_str(obj, "location"));
    }
}

/// Is this a record of the Entra ID diagnostic stream? An Entra category, the
/// `Microsoft.aadiam` resource, or directory-audit properties.
pub(super) fn is_entra(obj: &Map<String, Value>) -> bool {
    category(obj).is_some_and(|c| ENTRA_CATEGORIES.iter().any(|e| e.eq_ignore_ascii_case(c)))
        || get_ci_nonempty_str(obj, "resourceId").is_some_and(|r| {
            r.to_ascii_lowercase()
                .contains("/providers/microsoft.aadiam")
        })
        || get_ci(obj, "properties")
            .and_then(Value::as_object)
            .is_some_and(|p| {
                [
                    "initiatedBy",
                    "activityDisplayName",
                    "loggedByService",
                    "targetResources",
                ]
                .iter()
                .any(|k| p.contains_key(*k))
            })
}

/// `operationName` as a string, or the `value` of the REST API's `{value, localizedValue}`.
pub(super) fn operation_name(obj: &Map<String, Value>) -> Option<&str> {
    value_text(obj, "operationName")
}

/// `category` as a string, or its `value`.
pub(super) fn category(obj: &Map<String, Value>) -> Option<&str> {
    value_text(obj, "category")
}

/// The record time: `time` (Event Hubs / storage export) or `eventTimestamp` (REST API).
pub(super) fn envelope_time(obj: &Map<String, Value>) -> Option<i64> {
    ["time", "eventTimestamp"]
        .iter()
        .find_map(|k| get_ci(obj, k).and_then(util::parse_time))
}

/// OCSF status of an Azure result (`Success`, `Succeeded`, `Failure`, `Failed`, `Start`…).
pub(super) fn result_status(result: &str) -> Status {
    match result.to_ascii_lowercase().as_str() {
        "success" | "succeeded" | "0" => Status::Success,
        "failure" | "failed" => Status::Failure,
        "" => Status::Unknown,
        _ => Status::Other,
    }
}

/// Sets `{prefix}.ip` (and `port`) from an address that may carry a port (`1.2.3.4:5678`).
pub(super) fn set_ip(e: &mut Event, prefix: &str, addr: &str) {
    if let Ok(ip) = addr.parse::<IpAddr>() {
        e.set(format!("{prefix}.ip"), ip.to_string());
        return;
    }
    let trimmed = addr.trim_start_matches('[');
    if let Some((host, port)) = trimmed.rsplit_once(':')
        && let (Ok(ip), Ok(port)) = (
            host.trim_end_matches(']').parse::<IpAddr>(),
            port.parse::<u16>(),
        )
    {
        e.set(format!("{prefix}.ip"), ip.to_string());
        e.set(format!("{prefix}.port"), port);
    }
}

/// A string field, or the `value` of a `{value, localizedValue}` object.
fn value_text<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    match get_ci(obj, key)? {
        Value::String(s) => Some(s.as_str()),
        Value::Object(o) => o.get("value").and_then(Value::as_str),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// OCSF severity of an Azure level: a name (`Critical`, `Error`, `Warning`,
/// `Informational`, `Verbose`) or its number (1–5).
fn level_severity(level: &Value) -> Option<Severity> {
    let level = match level {
        Value::String(s) => s.to_ascii_lowercase(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(match level.as_str() {
        "critical" | "1" => Severity::Critical,
        "error" | "2" => Severity::High,
        "warning" | "3" => Severity::Medium,
        "informational" | "information" | "verbose" | "4" | "5" => Severity::Informational,
        _ => return None,
    })
}
