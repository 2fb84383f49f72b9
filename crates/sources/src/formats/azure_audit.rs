//! Microsoft Entra ID (Azure AD) audit logs: the Microsoft Graph `directoryAudit` resource
//! (Microsoft Learn: "directoryAudit resource type" and the "Microsoft Entra audit log
//! activity reference"), bare or in the Azure Monitor diagnostic envelope
//! (`category: "AuditLogs"`, the audit record under `properties`).
//!
//! The Entra ID diagnostic stream also carries the sign-in categories (`SignInLogs`,
//! `NonInteractiveUserSignInLogs`, `ServicePrincipalSignInLogs`…); those records become
//! Authentication events exactly as `entra_signin` maps them.
//!
//! Audit records map by activity (`activityDisplayName`, else `operationName`):
//! - user lifecycle (`Add user`, `Invite external user`, `Delete user`, `Restore user`,
//!   `Disable account`, `Update user` changing `AccountEnabled`), password changes and
//!   resets, security-info (MFA) registration and deletion → Account Change;
//! - `Add member to group` / `Remove member from group`, `Add group` / `Delete group` →
//!   Group Management Add / Remove User, Create / Delete; role membership (`Add member to
//!   role`, `Add eligible member to role`…), role assignments, group ownership and
//!   elevated access → Assign / Revoke Privileges;
//! - everything else → API Activity, the activity from `operationType` (Add, Update,
//!   Delete) or the activity's leading verb.
//!
//! The initiator (`initiatedBy.user` / `.app`) is the actor, the `User` target is `user`,
//! the `Group` target (or the group named in the user's modified properties) is `group`.
//! The whole vendor object is kept in `unmapped`.

use evident_model::{Class, Event};
use serde_json::{Map, Value};

use super::Shape;
use super::azure_activity::{self, field, is_entra, operation_name, text};
use super::entra_signin;
use crate::parse::{ParseContext, ParseError, json_object};

/// Does the record look like an Entra ID audit record? A record of the Entra ID diagnostic
/// stream (Entra category or `Microsoft.aadiam` resource, with `operationName`), or a bare
/// Graph `directoryAudit` (`activityDisplayName` with `initiatedBy`, `targetResources` or
/// `loggedByService`).
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    (is_entra(obj) && operation_name(obj).is_some())
        || (obj.get("activityDisplayName").is_some_and(Value::is_string)
            && ["initiatedBy", "targetResources", "loggedByService"]
                .iter()
                .any(|k| obj.contains_key(*k)))
}

/// Normalizes one audit (or sign-in) record.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let mut e = if entra_signin::is_sign_in_envelope(&obj) {
        entra_signin::sign_in_event(&obj, ctx)?
    } else {
        audit_event(&obj, ctx)?
    };
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// The event of a directory audit record, bare or in its envelope.
fn audit_event(obj: &Map<String, Value>, ctx: &ParseContext<'_>) -> Result<Event, ParseError> {
    let envelope = operation_name(obj);
    let inner = match field(obj, "properties") {
        Some(Value::Object(p)) if envelope.is_some() => p,
        _ => obj,
    };
    let Some(activity_name) = text(inner, "activityDisplayName")
        .or(envelope)
        .or_else(|| text(inner, "operationName"))
    else {
        return Err(ParseError::MissingField {
            field: if envelope.is_some() || field(obj, "properties").is_some() {
                "operationName"
            } else {
                "activityDisplayName"
            }
            .into(),
        });
    };
    let time = inner
        .get("activityDateTime")
        .and_then(super::util::parse_time)
        .or_else(|| azure_activity::envelope_time(obj))
        .unwrap_or_else(|| ctx.received_at_ms());
    let targets: Vec<&Map<String, Value>> = inner
        .get("targetResources")
        .and_then(Value::as_array)
        .map(|ts| ts.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let user = targets
        .iter()
        .copied()
        .find(|t| text(t, "type").is_some_and(|k| k.eq_ignore_ascii_case("User")));
    let kind = Kind::of(activity_name, text(inner, "operationType"), user);

    let mut e = Event::new(kind.class(), kind.activity(), time);
    e.set("metadata.product.name", "Microsoft Entra ID")
        .set("metadata.product.vendor_name", "Microsoft");
    e.set_opt("metadata.uid", text(inner, "id"));
    e.set("api.operation", activity_name);
    e.set("message", activity_name);
    e.set_opt("api.service.name", text(inner, "loggedByService"));
    let result = text(inner, "result")
        .or_else(|| text(obj, "resultType"))
        .or_else(|| text(obj, "result"));
    if let Some(result) = result {
        e.set_status(azure_activity::result_status(result));
    }
    e.set_opt("status_detail", text(inner, "resultReason"));

    if let Some(by) = field(inner, "initiatedBy.user").and_then(Value::as_object) {
        let upn = text(by, "userPrincipalName");
        e.set_opt("actor.user.name", upn.or_else(|| text(by, "displayName")));
        e.set_opt("actor.user.email_addr", upn.filter(|u| u.contains('@')));
        e.set_opt("actor.user.uid", text(by, "id"));
        e.set_opt("actor.user.full_name", text(by, "displayName"));
        if let Some(ip) = text(by, "ipAddress") {
            azure_activity::set_ip(&mut e, "src_endpoint", ip);
        }
    }
    if let Some(app) = field(inner, "initiatedBy.app").and_then(Value::as_object) {
        e.set_opt(
            "actor.app_name",
            text(app, "displayName").or_else(|| text(app, "servicePrincipalName")),
        );
        e.set_opt("actor.app_uid", text(app, "appId"));
    }

    if !matches!(kind, Kind::Api(_))
        && let Some(user) = user
    {
        let upn = text(user, "userPrincipalName");
        e.set_opt("user.name", upn.or_else(|| text(user, "displayName")));
        e.set_opt("user.email_addr", upn.filter(|u| u.contains('@')));
        e.set_opt("user.uid", text(user, "id"));
        e.set_opt("user.full_name", text(user, "displayName"));
    }
    if let Kind::Group(activity) = kind {
        let group = targets
            .iter()
            .find(|t| text(t, "type").is_some_and(|k| k.eq_ignore_ascii_case("Group")));
        let name = group
            .and_then(|g| text(g, "displayName"))
            .map(str::to_owned)
            .or_else(|| user.and_then(|u| modified(u, "Group.DisplayName")));
        e.set_opt("group.name", name);
        e.set_opt(
            "group.uid",
            group
                .and_then(|g| text(g, "id"))
                .map(str::to_owned)
                .or_else(|| user.and_then(|u| modified(u, "Group.ObjectID"))),
        );
        if activity <= 2 {
            e.set_opt(
                "privileges",
                privilege(activity_name, inner, &targets).map(|p| vec![p]),
            );
        }
    }
    if matches!(kind, Kind::Api(_)) && !targets.is_empty() {
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
        e.set("resources", resources);
    }
    if envelope.is_some() {
        azure_activity::set_envelope(&mut e, obj);
    } else {
        e.set("cloud.provider", "Azure");
        e.set_opt("metadata.correlation_uid", text(inner, "correlationId"));
    }
    Ok(e)
}

/// The OCSF class and activity of an audit activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Account(u8),
    Group(u8),
    Api(u8),
}

impl Kind {
    /// Classifies an activity by name (`operationType` and the user target's modified
    /// properties settle `Update user` and the fallback).
    fn of(name: &str, operation_type: Option<&str>, user: Option<&Map<String, Value>>) -> Kind {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "add user" | "invite external user" => Kind::Account(1),
            "delete user" | "hard delete user" => Kind::Account(6),
            "restore user" | "enable account" => Kind::Account(2),
            "disable account" => Kind::Account(5),
            "update user" => match user.and_then(|u| modified(u, "AccountEnabled")).as_deref() {
                Some(v) if v.contains("false") => Kind::Account(5),
                Some(v) if v.contains("true") => Kind::Account(2),
                _ => Kind::Api(3),
            },
            "reset password (by admin)"
            | "reset user password"
            | "reset password (self-service)"
            | "reset password" => Kind::Account(4),
            "change user password" | "change password (self-service)" => Kind::Account(3),
            "user registered security info"
            | "user registered all required security info"
            | "admin registered security info" => Kind::Account(10),
            "user deleted security info" | "admin deleted security info" => Kind::Account(11),
            "add member to group" => Kind::Group(3),
            "remove member from group" => Kind::Group(4),
            "add group" => Kind::Group(6),
            "delete group" | "hard delete group" => Kind::Group(5),
            "add owner to group" | "add role assignment" => Kind::Group(1),
            "remove owner from group" | "delete role assignment" | "remove role assignment" => {
                Kind::Group(2)
            }
            l if l.starts_with("user has elevated their access") => Kind::Group(1),
            l if l.contains("member to role") => Kind::Group(1),
            l if l.contains("member from role") => Kind::Group(2),
            l => Kind::Api(
                match operation_type.map(str::to_ascii_lowercase).as_deref() {
                    Some("add") => 1,
                    Some("update") => 3,
                    Some("delete") => 4,
                    _ => match l.split(' ').next().unwrap_or("") {
                        "add" | "create" | "invite" | "register" => 1,
                        "get" | "list" | "read" => 2,
                        "update" | "set" | "change" | "enable" | "disable" | "reset" => 3,
                        "delete" | "remove" | "hard" => 4,
                        _ => 99,
                    },
                },
            ),
        }
    }

    /// The OCSF class.
    fn class(self) -> Class {
        match self {
            Kind::Account(_) => Class::AccountChange,
            Kind::Group(_) => Class::GroupManagement,
            Kind::Api(_) => Class::ApiActivity,
        }
    }

    /// The OCSF `activity_id`.
    fn activity(self) -> u8 {
        match self {
            Kind::Account(a) | Kind::Group(a) | Kind::Api(a) => a,
        }
    }
}

/// The privilege a role or ownership change grants or revokes: `Owner` for group
/// ownership, `User Access Administrator` for elevated access, else the role's name (the
/// user's `Role.DisplayName` modified property, a `Role` target, or the `RoleName`
/// additional detail).
fn privilege(
    name: &str,
    inner: &Map<String, Value>,
    targets: &[&Map<String, Value>],
) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    if lower.contains("owner") {
        return Some("Owner".into());
    }
    if lower.starts_with("user has elevated their access") {
        return Some("User Access Administrator".into());
    }
    targets
        .iter()
        .find_map(|t| modified(t, "Role.DisplayName"))
        .or_else(|| {
            targets
                .iter()
                .find(|t| text(t, "type").is_some_and(|k| k.eq_ignore_ascii_case("Role")))
                .and_then(|t| text(t, "displayName"))
                .map(str::to_owned)
        })
        .or_else(|| {
            inner
                .get("additionalDetails")
                .and_then(Value::as_array)?
                .iter()
                .filter_map(Value::as_object)
                .find(|d| {
                    text(d, "key").is_some_and(|k| k == "RoleName" || k == "RoleDefinitionName")
                })
                .and_then(|d| text(d, "value"))
                .map(str::to_owned)
        })
}

/// A modified property of a target (`newValue`, else `oldValue`), without the JSON quotes
/// Entra wraps values in (`"\"Sales\""` → `Sales`).
fn modified(target: &Map<String, Value>, property: &str) -> Option<String> {
    let entry = target
        .get("modifiedProperties")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_object)
        .find(|p| text(p, "displayName") == Some(property))?;
    let value = text(entry, "newValue").or_else(|| text(entry, "oldValue"))?;
    let value = value.trim().trim_matches('"').trim();
    (!value.is_empty()).then(|| value.to_owned())
}
