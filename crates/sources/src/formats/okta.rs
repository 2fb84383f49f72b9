//! Okta System Log events (the `LogEvent` objects of `/api/v1/logs` and of log streams), as
//! described in Okta's "System Log API" reference and its "Event types" catalog.
//!
//! Mapping by `eventType`:
//! - `user.session.start`, `user.authentication.*` → Authentication Logon (`is_mfa` for
//!   `auth_via_mfa` and factor events); `user.session.end` → Authentication Logoff.
//! - `user.account.lock` / `unlock*`, `user.lifecycle.*`, `user.account.update_password` /
//!   `reset_password`, `user.mfa.factor.activate` / `deactivate` / `reset_all` → Account
//!   Change (the target `User` is `user`).
//! - `group.user_membership.add` / `remove` → Group Management Add / Remove User;
//!   `user.account.privilege.grant` / `revoke`, `group.privilege.grant` / `revoke` → Assign /
//!   Revoke Privileges (`privileges` from `debugContext.debugData.privilegeGranted`, or
//!   `privilegeRevoked` for a revoke).
//! - everything else → API Activity, the activity taken from the verb of the event type.
//!
//! Some exports lower-case the top-level keys (`eventtype`, `debugcontext`); they are read
//! case-insensitively. The whole vendor object is kept in `unmapped`.

use evident_model::{Event, Severity, Status};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{self, IdentityKind, get_ci, get_ci_nonempty_str};
use crate::parse::{ParseContext, ParseError, json_object};

/// Top-level properties of an Okta `LogEvent`.
const LOG_EVENT_FIELDS: &[&str] = &[
    "uuid",
    "published",
    "eventType",
    "version",
    "severity",
    "legacyEventType",
    "displayMessage",
    "actor",
    "client",
    "device",
    "outcome",
    "target",
    "transaction",
    "debugContext",
    "authenticationContext",
    "securityContext",
    "request",
];

/// Does the record look like an Okta `LogEvent`? It needs `eventType` and either an
/// Okta-only companion (`legacyEventType`, `displayMessage`, `actor.alternateId`) or no
/// key outside the `LogEvent` properties (Panther's `p_*` keys aside).
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    if !matches!(get_ci(obj, "eventType"), Some(Value::String(_))) {
        return false;
    }
    get_ci(obj, "legacyEventType").is_some()
        || get_ci(obj, "displayMessage").is_some()
        || get_ci(obj, "actor.alternateId").is_some()
        || util::has_only_keys_ci(obj, LOG_EVENT_FIELDS)
}

/// Normalizes one System Log event.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let event_type = match get_ci(&obj, "eventType") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "eventType".into(),
                expected: "a string",
            });
        }
    };
    let time = get_ci(&obj, "published")
        .and_then(util::parse_time)
        .unwrap_or_else(|| ctx.received_at_ms());
    let kind = classify(event_type);
    let mut e = Event::new(kind.class(), kind.activity(), time);

    e.set("metadata.product.name", "Okta System Log")
        .set("metadata.product.vendor_name", "Okta");
    e.set_opt("metadata.uid", get_ci_nonempty_str(&obj, "uuid"));
    e.set_opt(
        "metadata.correlation_uid",
        get_ci_nonempty_str(&obj, "transaction.id"),
    );
    e.set_opt("message", get_ci_nonempty_str(&obj, "displayMessage"));
    if let Some(sev) = get_ci_nonempty_str(&obj, "severity").and_then(severity) {
        e.set_severity(sev);
    }
    if let Some(actor) = get_ci(&obj, "actor").and_then(Value::as_object) {
        set_principal(&mut e, "actor.user", actor);
        e.set_opt("actor.user.type", get_ci_nonempty_str(actor, "type"));
    }
    e.set_opt(
        "actor.session.uid",
        get_ci_nonempty_str(&obj, "authenticationContext.externalSessionId")
            .filter(|s| *s != "unknown"),
    );
    e.set_opt(
        "src_endpoint.ip",
        get_ci_nonempty_str(&obj, "client.ipAddress"),
    );
    if let Some(geo) = get_ci(&obj, "client.geographicalContext").and_then(Value::as_object) {
        e.set_opt(
            "src_endpoint.location.city",
            get_ci_nonempty_str(geo, "city"),
        );
        e.set_opt(
            "src_endpoint.location.region",
            get_ci_nonempty_str(geo, "state"),
        );
        e.set_opt(
            "src_endpoint.location.country",
            get_ci_nonempty_str(geo, "country"),
        );
        e.set_opt(
            "src_endpoint.location.postal_code",
            get_ci_nonempty_str(geo, "postalCode"),
        );
    }
    e.set_opt(
        "http_request.user_agent",
        get_ci_nonempty_str(&obj, "client.userAgent.rawUserAgent"),
    );
    if let Some(result) = get_ci_nonempty_str(&obj, "outcome.result") {
        e.set_status(outcome_status(result));
    }
    e.set_opt("status_detail", get_ci_nonempty_str(&obj, "outcome.reason"));
    if !event_type.is_empty() {
        e.set("api.operation", event_type);
    }

    let targets = targets(&obj);
    match kind {
        IdentityKind::Authentication(_) => {
            if let Some(actor) = get_ci(&obj, "actor").and_then(Value::as_object) {
                set_principal(&mut e, "user", actor);
            }
            if is_mfa(event_type, &obj) {
                e.set("is_mfa", true);
            }
            if let Some(app) = targets
                .iter()
                .find(|t| get_ci_nonempty_str(t, "type") == Some("AppInstance"))
            {
                e.set_opt("service.name", get_ci_nonempty_str(app, "displayName"));
                e.set_opt("service.uid", get_ci_nonempty_str(app, "id"));
            }
        }
        IdentityKind::AccountChange(_) => {
            if let Some(user) = targets
                .iter()
                .find(|t| get_ci_nonempty_str(t, "type") == Some("User"))
            {
                set_principal(&mut e, "user", user);
            }
        }
        IdentityKind::GroupManagement(activity) => {
            if let Some(user) = targets
                .iter()
                .find(|t| get_ci_nonempty_str(t, "type") == Some("User"))
            {
                set_principal(&mut e, "user", user);
            }
            if let Some(group) = targets
                .iter()
                .find(|t| get_ci_nonempty_str(t, "type") == Some("UserGroup"))
            {
                e.set_opt("group.name", get_ci_nonempty_str(group, "displayName"));
                e.set_opt("group.uid", get_ci_nonempty_str(group, "id"));
            }
            let list = if activity == 2 {
                "debugContext.debugData.privilegeRevoked"
            } else {
                "debugContext.debugData.privilegeGranted"
            };
            if let Some(privileges) = get_ci_nonempty_str(&obj, list) {
                let privileges: Vec<&str> = privileges
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect();
                e.set("privileges", privileges);
            }
        }
        IdentityKind::ApiActivity(_) => {
            e.set_opt(
                "api.request.uid",
                get_ci_nonempty_str(&obj, "debugContext.debugData.requestId"),
            );
            let resources = util::target_resources(&targets);
            if !resources.is_empty() {
                e.set("resources", resources);
            }
        }
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// The OCSF class and activity an event type maps to.
fn classify(event_type: &str) -> IdentityKind {
    match event_type {
        "user.session.start" => IdentityKind::Authentication(1),
        "user.session.end" => IdentityKind::Authentication(2),
        t if t.starts_with("user.authentication.") => IdentityKind::Authentication(1),
        "user.account.lock" | "user.account.lock.limit" => IdentityKind::AccountChange(9),
        "user.account.unlock" | "user.account.unlock_by_admin" => IdentityKind::AccountChange(12),
        "user.lifecycle.create" => IdentityKind::AccountChange(1),
        "user.lifecycle.activate" | "user.lifecycle.reactivate" | "user.lifecycle.unsuspend" => {
            IdentityKind::AccountChange(2)
        }
        "user.lifecycle.deactivate" | "user.lifecycle.suspend" => IdentityKind::AccountChange(5),
        "user.lifecycle.delete"
        | "user.lifecycle.delete.initiated"
        | "user.lifecycle.delete.completed" => IdentityKind::AccountChange(6),
        "user.account.update_password" => IdentityKind::AccountChange(3),
        "user.account.reset_password" => IdentityKind::AccountChange(4),
        "user.mfa.factor.activate" => IdentityKind::AccountChange(10),
        "user.mfa.factor.deactivate" | "user.mfa.factor.reset_all" => {
            IdentityKind::AccountChange(11)
        }
        "group.user_membership.add" => IdentityKind::GroupManagement(3),
        "group.user_membership.remove" => IdentityKind::GroupManagement(4),
        "user.account.privilege.grant" | "group.privilege.grant" => {
            IdentityKind::GroupManagement(1)
        }
        "user.account.privilege.revoke" | "group.privilege.revoke" => {
            IdentityKind::GroupManagement(2)
        }
        t => IdentityKind::ApiActivity(verb_activity(t)),
    }
}

/// API Activity id from the verb ending an event type (`system.api_token.create` → Create,
/// `application.user_membership.show_password` → Read); 0 when there is no event type.
fn verb_activity(event_type: &str) -> u8 {
    if event_type.is_empty() {
        return 0;
    }
    let last = event_type.rsplit('.').next().unwrap_or(event_type);
    match last.split('_').next().unwrap_or(last) {
        "create" | "add" => 1,
        "read" | "view" | "show" | "get" | "list" => 2,
        "update" | "change" => 3,
        "delete" | "remove" => 4,
        _ => 99,
    }
}

/// Is this an authentication with a second factor? `auth_via_mfa`, or a factor event by its
/// legacy type (`core.user.factor.attempt_success`).
fn is_mfa(event_type: &str, obj: &Map<String, Value>) -> bool {
    event_type.ends_with("auth_via_mfa")
        || event_type.contains(".factor")
        || get_ci_nonempty_str(obj, "legacyEventType").is_some_and(|l| l.contains(".factor."))
}

/// OCSF status of an `outcome.result`.
fn outcome_status(result: &str) -> Status {
    match result.to_ascii_uppercase().as_str() {
        "SUCCESS" | "ALLOW" => Status::Success,
        "FAILURE" | "DENY" => Status::Failure,
        "UNKNOWN" => Status::Unknown,
        _ => Status::Other,
    }
}

/// OCSF severity of an Okta severity (DEBUG, INFO, WARN, ERROR).
fn severity(s: &str) -> Option<Severity> {
    Some(match s.to_ascii_uppercase().as_str() {
        "DEBUG" | "INFO" => Severity::Informational,
        "LOW" => Severity::Low,
        "WARN" | "WARNING" | "MEDIUM" => Severity::Medium,
        "ERROR" | "HIGH" => Severity::High,
        "CRITICAL" => Severity::Critical,
        _ => return None,
    })
}

/// Sets `{prefix}.name` (the login, `alternateId`), `uid`, `full_name` and, for an email
/// login, `email_addr` from an Okta actor or target.
fn set_principal(e: &mut Event, prefix: &str, who: &Map<String, Value>) {
    let login = get_ci_nonempty_str(who, "alternateId").filter(|l| *l != "unknown");
    e.set_opt(format!("{prefix}.name"), login);
    e.set_opt(format!("{prefix}.uid"), get_ci_nonempty_str(who, "id"));
    e.set_opt(
        format!("{prefix}.full_name"),
        get_ci_nonempty_str(who, "displayName"),
    );
    e.set_opt(
        format!("{prefix}.email_addr"),
        login.filter(|l| l.contains('@')),
    );
}

/// The `target` objects.
fn targets(obj: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    get_ci(obj, "target")
        .and_then(Value::as_array)
        .map(|ts| ts.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default()
}
