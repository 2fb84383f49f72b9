//! Google Cloud Audit Logs: `LogEntry` objects whose `protoPayload` is a
//! `type.googleapis.com/google.cloud.audit.AuditLog` (Google Cloud: "Understanding audit
//! logs", the `LogEntry` and `AuditLog` references), for every service including GKE
//! (`io.k8s.*` methods).
//!
//! Every entry becomes API Activity, the activity from the method's verb (`SetIamPolicy`,
//! `*.update`, `*.patch` → Update; `*.insert`, `Create*` → Create; `get`, `list` → Read;
//! `delete` → Delete; anything else → Other). The principal is the actor, the caller IP
//! and user agent come from `requestMetadata`, the project from the monitored resource's
//! labels (or `logName`), status is Failure when `protoPayload.status.code` is not 0. For
//! IAM policy changes, the roles added by the policy delta (`bindingDeltas` with action
//! `ADD`) go to `privileges`.
//!
//! Some exports lower-case the top-level keys (`protopayload`, `logname`); they are read
//! case-insensitively. The whole vendor object is kept in `unmapped`.

use evident_model::{Class, Event, Severity, Status};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{self, get_ci, get_ci_nonempty_str};
use crate::parse::{ParseContext, ParseError, json_object};

/// Top-level `LogEntry` fields, and the `AuditLog` fields some exports lift to the top.
const LOG_ENTRY_FIELDS: &[&str] = &[
    "insertId",
    "logName",
    "operation",
    "protoPayload",
    "receiveTimestamp",
    "resource",
    "severity",
    "timestamp",
    "labels",
    "trace",
    "spanId",
    "sourceLocation",
    "methodName",
    "serviceName",
    "resourceName",
    "status",
    "authenticationInfo",
    "authorizationInfo",
    "requestMetadata",
];

/// Does the record look like a Cloud Audit Log entry? It has a `protoPayload` object, or a
/// `cloudaudit.googleapis.com` log name, or it holds only `LogEntry` / `AuditLog` fields
/// with a `methodName` or an `operation.producer` (Panther's `p_*` keys aside).
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    if get_ci(obj, "protoPayload").is_some_and(Value::is_object)
        || get_ci_nonempty_str(obj, "logName")
            .is_some_and(|l| l.contains("cloudaudit.googleapis.com"))
    {
        return true;
    }
    (get_ci_nonempty_str(obj, "methodName").is_some()
        || get_ci_nonempty_str(obj, "operation.producer").is_some())
        && util::has_only_keys_ci(obj, LOG_ENTRY_FIELDS)
}

/// Normalizes one audit log entry.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let payload = match get_ci(&obj, "protoPayload") {
        None | Some(Value::Null) => &obj,
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "protoPayload".into(),
                expected: "an object",
            });
        }
    };
    let method = get_ci_nonempty_str(payload, "methodName").unwrap_or("");
    let time = ["timestamp", "receiveTimestamp"]
        .iter()
        .find_map(|k| get_ci(&obj, k).and_then(util::parse_time))
        .or_else(|| {
            ["requestMetadata.requestAttributes.time", "timestamp"]
                .iter()
                .find_map(|k| util::get(payload, k).and_then(util::parse_time))
        })
        .unwrap_or_else(|| ctx.received_at_ms());
    let mut e = Event::new(Class::ApiActivity, method_activity(method), time);

    e.set("metadata.product.name", "Cloud Audit Logs")
        .set("metadata.product.vendor_name", "Google");
    e.set_opt("metadata.uid", get_ci_nonempty_str(&obj, "insertId"));
    e.set_opt("metadata.log_name", get_ci_nonempty_str(&obj, "logName"));
    e.set_opt(
        "metadata.correlation_uid",
        get_ci_nonempty_str(&obj, "operation.id"),
    );
    if let Some(sev) = get_ci_nonempty_str(&obj, "severity").and_then(severity) {
        e.set_severity(sev);
    }
    if !method.is_empty() {
        e.set("api.operation", method);
    }
    e.set_opt(
        "api.service.name",
        get_ci_nonempty_str(payload, "serviceName"),
    );

    let principal = get_ci_nonempty_str(payload, "authenticationInfo.principalEmail");
    e.set_opt("actor.user.name", principal);
    e.set_opt(
        "actor.user.email_addr",
        principal.filter(|p| p.contains('@')),
    );
    e.set_opt(
        "actor.user.uid",
        get_ci_nonempty_str(payload, "authenticationInfo.principalSubject"),
    );
    e.set_opt(
        "src_endpoint.ip",
        get_ci_nonempty_str(payload, "requestMetadata.callerIp")
            .or_else(|| get_ci_nonempty_str(payload, "requestMetadata.callerIP")),
    );
    e.set_opt(
        "http_request.user_agent",
        get_ci_nonempty_str(payload, "requestMetadata.callerSuppliedUserAgent"),
    );

    match util::get(payload, "status") {
        Some(Value::Object(status)) => {
            let code = status.get("code").and_then(Value::as_i64).unwrap_or(0);
            if code == 0 {
                e.set_status(Status::Success);
            } else {
                e.set_status(Status::Failure);
                e.set("status_code", code.to_string());
                e.set_opt("status_detail", get_ci_nonempty_str(status, "message"));
            }
        }
        Some(Value::Null) | None => {}
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "protoPayload.status".into(),
                expected: "an object",
            });
        }
    }

    e.set("cloud.provider", "GCP");
    let project = get_ci_nonempty_str(&obj, "resource.labels.project_id").or_else(|| {
        let log = get_ci_nonempty_str(&obj, "logName")?;
        log.strip_prefix("projects/")?.split('/').next()
    });
    e.set_opt("cloud.project_uid", project);
    e.set_opt(
        "cloud.region",
        get_ci_nonempty_str(&obj, "resource.labels.location")
            .or_else(|| get_ci_nonempty_str(&obj, "resource.labels.region"))
            .or_else(|| get_ci_nonempty_str(&obj, "resource.labels.zone")),
    );
    if let Some(name) = get_ci_nonempty_str(payload, "resourceName") {
        let mut r = serde_json::json!({"uid": name});
        if let Some(kind) = get_ci_nonempty_str(&obj, "resource.type") {
            r["type"] = kind.into();
        }
        e.set("resources", vec![r]);
    }
    let added = added_roles(payload);
    if !added.is_empty() {
        e.set("privileges", added);
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// API Activity id from a method's verb: the last dotted segment
/// (`v1.compute.instances.insert`, `google.iam.admin.v1.CreateRole`), its leading word
/// (`CreateRole` → create, `setIamPolicy` → set) or a trailing participle
/// (`inboundSsoProfileDeleted`).
fn method_activity(method: &str) -> u8 {
    if method.is_empty() {
        return 0;
    }
    let last = method.rsplit('.').next().unwrap_or(method);
    let word: String = last
        .char_indices()
        .take_while(|(i, c)| *i == 0 || !c.is_ascii_uppercase())
        .map(|(_, c)| c.to_ascii_lowercase())
        .collect();
    match word.as_str() {
        "create" | "insert" | "add" => 1,
        "get" | "list" | "read" | "search" | "lookup" | "watch" => 2,
        "update" | "patch" | "set" | "modify" | "replace" | "change" | "edit" | "move"
        | "rename" | "enable" | "disable" => 3,
        "delete" | "remove" | "destroy" | "purge" => 4,
        _ if last.ends_with("Created") => 1,
        _ if last.ends_with("Updated") => 3,
        _ if last.ends_with("Deleted") => 4,
        _ => 99,
    }
}

/// Roles bound by the entry's IAM policy delta (`serviceData.policyDelta` or
/// `metadata.policyDelta`), action `ADD`, in order and without repeats.
fn added_roles(payload: &Map<String, Value>) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for path in [
        "serviceData.policyDelta.bindingDeltas",
        "metadata.policyDelta.bindingDeltas",
    ] {
        let Some(deltas) = util::get(payload, path).and_then(Value::as_array) else {
            continue;
        };
        for delta in deltas.iter().filter_map(Value::as_object) {
            if get_ci_nonempty_str(delta, "action") == Some("ADD")
                && let Some(role) = get_ci_nonempty_str(delta, "role")
                && !roles.iter().any(|r| r == role)
            {
                roles.push(role.to_owned());
            }
        }
    }
    roles
}

/// OCSF severity of a `LogEntry` severity.
fn severity(s: &str) -> Option<Severity> {
    Some(match s.to_ascii_uppercase().as_str() {
        "DEFAULT" | "DEBUG" | "INFO" | "NOTICE" => Severity::Informational,
        "WARNING" => Severity::Medium,
        "ERROR" => Severity::High,
        "CRITICAL" | "ALERT" => Severity::Critical,
        "EMERGENCY" => Severity::Fatal,
        _ => return None,
    })
}
