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

use evident_model::{Class, Event, Severity, Status};
use serde_json::{Map, Value};

use super::{Shape, util};
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
    if !matches!(field(obj, "eventType"), Some(Value::String(_))) {
        return false;
    }
    field(obj, "legacyEventType").is_some()
        || field(obj, "displayMessage").is_some()
        || field(obj, "actor.alternateId").is_some()
        || obj
            .keys()
            .filter(|k| !k.starts_with("p_"))
            .all(|k| LOG_EVENT_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k)))
}

/// Normalizes one System Log event.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let event_type = match field(&obj, "eventType") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "eventType".into(),
                expected: "a string",
            });
        }
    };
    let time = field(&obj, "published")
        .and_then(util::parse_time)
        .unwrap_or_else(|| ctx.received_at_ms());
    let kind = Kind::of(event_type);
    let mut e = Event::new(kind.class(), kind.activity(), time);

    e.set("metadata.product.name", "Okta System Log")
        .set("metadata.product.vendor_name", "Okta");
    e.set_opt("metadata.uid", text(&obj, "uuid"));
    e.set_opt("metadata.correlation_uid", text(&obj, "transaction.id"));
    e.set_opt("message", text(&obj, "displayMessage"));
    if let Some(sev) = text(&obj, "severity").and_then(severity) {
        e.set_severity(sev);
    }
    if let Some(actor) = field(&obj, "actor").and_then(Value::as_object) {
        set_principal(&mut e, "actor.user", actor);
        e.set_opt("actor.user.type", text(actor, "type"));
    }
    e.set_opt(
        "actor.session.uid",
        text(&obj, "authenticationContext.externalSessionId").filter(|s| *s != "unknown"),
    );
    e.set_opt("src_endpoint.ip", text(&obj, "client.ipAddress"));
    if let Some(geo) = field(&obj, "client.geographicalContext").and_then(Value::as_object) {
        e.set_opt("src_endpoint.location.city", text(geo, "city"));
        e.set_opt("src_endpoint.location.region", text(geo, "state"));
        e.set_opt("src_endpoint.location.country", text(geo, "country"));
        e.set_opt("src_endpoint.location.postal_code", text(geo, "postalCode"));
    }
    e.set_opt(
        "http_request.user_agent",
        text(&obj, "client.userAgent.rawUserAgent"),
    );
    if let Some(result) = text(&obj, "outcome.result") {
        e.set_status(outcome_status(result));
    }
    e.set_opt("status_detail", text(&obj, "outcome.reason"));
    if !event_type.is_empty() {
        e.set("api.operation", event_type);
    }

    let targets = targets(&obj);
    match kind {
        Kind::Authentication(_) => {
            if let Some(actor) = field(&obj, "actor").and_then(Value::as_object) {
                set_principal(&mut e, "user", actor);
            }
            if is_mfa(event_type, &obj) {
                e.set("is_mfa", true);
            }
            if let Some(app) = targets
                .iter()
                .find(|t| text(t, "type") == Some("AppInstance"))
            {
                e.set_opt("service.name", text(app, "displayName"));
                e.set_opt("service.uid", text(app, "id"));
            }
        }
        Kind::AccountChange(_) => {
            if let Some(user) = targets.iter().find(|t| text(t, "type") == Some("User")) {
                set_principal(&mut e, "user", user);
            }
        }
        Kind::GroupManagement(activity) => {
            if let Some(user) = targets.iter().find(|t| text(t, "type") == Some("User")) {
                set_principal(&mut e, "user", user);
            }
            if let Some(group) = targets
                .iter()
                .find(|t| text(t, "type") == Some("UserGroup"))
            {
                e.set_opt("group.name", text(group, "displayName"));
                e.set_opt("group.uid", text(group, "id"));
            }
            let list = if activity == 2 {
                "debugContext.debugData.privilegeRevoked"
            } else {
                "debugContext.debugData.privilegeGranted"
            };
            if let Some(privileges) = text(&obj, list) {
                let privileges: Vec<&str> = privileges
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect();
                e.set("privileges", privileges);
            }
        }
        Kind::ApiActivity(_) => {
            e.set_opt(
                "api.request.uid",
                text(&obj, "debugContext.debugData.requestId"),
            );
            let resources: Vec<Value> = targets
                .iter()
                .map(|t| {
                    let mut r = Map::new();
                    for (from, to) in [("id", "uid"), ("displayName", "name"), ("type", "type")] {
                        if let Some(v) = text(t, from) {
                            r.insert(to.into(), v.into());
                        }
                    }
                    Value::Object(r)
                })
                .collect();
            if !resources.is_empty() {
                e.set("resources", resources);
            }
        }
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// The OCSF class (and activity) an event type maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Authentication(u8),
    AccountChange(u8),
    GroupManagement(u8),
    ApiActivity(u8),
}

impl Kind {
    /// Classifies an event type.
    fn of(event_type: &str) -> Kind {
        match event_type {
            "user.session.start" => Kind::Authentication(1),
            "user.session.end" => Kind::Authentication(2),
            t if t.starts_with("user.authentication.") => Kind::Authentication(1),
            "user.account.lock" | "user.account.lock.limit" => Kind::AccountChange(9),
            "user.account.unlock" | "user.account.unlock_by_admin" => Kind::AccountChange(12),
            "user.lifecycle.create" => Kind::AccountChange(1),
            "user.lifecycle.activate"
            | "user.lifecycle.reactivate"
            | "user.lifecycle.unsuspend" => Kind::AccountChange(2),
            "user.lifecycle.deactivate" | "user.lifecycle.suspend" => Kind::AccountChange(5),
            "user.lifecycle.delete"
            | "user.lifecycle.delete.initiated"
            | "user.lifecycle.delete.completed" => Kind::AccountChange(6),
            "user.account.update_password" => Kind::AccountChange(3),
            "user.account.reset_password" => Kind::AccountChange(4),
            "user.mfa.factor.activate" => Kind::AccountChange(10),
            "user.mfa.factor.deactivate" | "user.mfa.factor.reset_all" => Kind::AccountChange(11),
            "group.user_membership.add" => Kind::GroupManagement(3),
            "group.user_membership.remove" => Kind::GroupManagement(4),
            "user.account.privilege.grant" | "group.privilege.grant" => Kind::GroupManagement(1),
            "user.account.privilege.revoke" | "group.privilege.revoke" => Kind::GroupManagement(2),
            t => Kind::ApiActivity(verb_activity(t)),
        }
    }

    /// The OCSF class.
    fn class(self) -> Class {
        match self {
            Kind::Authentication(_) => Class::Authentication,
            Kind::AccountChange(_) => Class::AccountChange,
            Kind::GroupManagement(_) => Class::GroupManagement,
            Kind::ApiActivity(_) => Class::ApiActivity,
        }
    }

    /// The OCSF `activity_id`.
    fn activity(self) -> u8 {
        match self {
            Kind::Authentication(a)
            | Kind::AccountChange(a)
            | Kind::GroupManagement(a)
            | Kind::ApiActivity(a) => a,
        }
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
        || text(obj, "legacyEventType").is_some_and(|l| l.contains(".factor."))
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
    let login = text(who, "alternateId").filter(|l| *l != "unknown");
    e.set_opt(&format!("{prefix}.name"), login);
    e.set_opt(&format!("{prefix}.uid"), text(who, "id"));
    e.set_opt(&format!("{prefix}.full_name"), text(who, "displayName"));
    e.set_opt(
        &format!("{prefix}.email_addr"),
        login.filter(|l| l.contains('@')),
    );
}

/// The `target` objects.
fn targets(obj: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    field(obj, "target")
        .and_then(Value::as_array)
        .map(|ts| ts.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default()
}

/// The value at a dotted path, the first key matched case-insensitively.
fn field<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
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
        Some(rest) => util::get(top.as_object()?, rest),
    }
}

/// A non-empty string at a dotted path.
fn text<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a str> {
    field(obj, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}
